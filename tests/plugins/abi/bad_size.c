/* The host's own version but another descriptor size: built with headers
 * that do not match the version they claim. */
#define ABI_TEST_TYPE "abiBadSize"
#define ABI_TEST_MAJOR PC_ABI_MAJOR
#define ABI_TEST_MINOR PC_ABI_MINOR
#define ABI_TEST_SIZE ((uint32_t)sizeof(pc_plugin) + 16u)
#include "descriptor.h"
