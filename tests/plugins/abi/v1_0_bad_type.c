/* Claims 1.0 but its evaluator type has a size 1.0 never had. */
#define ABI_TEST_TYPE "abiV10BadType"
#define ABI_TEST_MAJOR 1
#define ABI_TEST_MINOR 0
#define ABI_TEST_SIZE 56u
#define ABI_TEST_TYPE_SIZE 72u
#include "descriptor.h"
