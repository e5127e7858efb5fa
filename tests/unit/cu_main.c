/* Shared main for the CUnit suites: each test file defines
 * cu_register(), this runs them and closes with CUnit's summary. */
#include <stdlib.h>
#include <CUnit/Basic.h>
#include "cu_main.h"

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (cu_register() != 0) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
