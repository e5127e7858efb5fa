/* Built against the 1.0 headers: minor 0 and the 1.0 sizes, written as the
 * numbers they were (LP64), not as sizeof of today's structs. Every later
 * 1.x host must load it. */
#define ABI_TEST_TYPE "abiV10"
#define ABI_TEST_MAJOR 1
#define ABI_TEST_MINOR 0
#define ABI_TEST_SIZE 56u
#define ABI_TEST_TYPE_SIZE 64u
#include "descriptor.h"
