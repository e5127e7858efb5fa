#ifndef PC_TESTS_CU_MAIN_H
#define PC_TESTS_CU_MAIN_H
#include <CUnit/CUnit.h>

/* Each suite file implements this: add suites and tests, return 0. */
int cu_register(void);

/* Helper: add one suite with a NULL-terminated table of tests. */
typedef struct { const char *name; CU_TestFunc fn; } cu_case;
static inline int cu_add_suite(const char *name, const cu_case *cases)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) return -1;
    for (; cases->name; cases++)
        if (!CU_add_test(s, cases->name, cases->fn)) return -1;
    return 0;
}
#endif
