/* Claims a minor newer than the host's: it may call services the host lacks. */
#define ABI_TEST_TYPE "abiNewerMinor"
#define ABI_TEST_MAJOR PC_ABI_MAJOR
#define ABI_TEST_MINOR (PC_ABI_MINOR + 1)
#define ABI_TEST_SIZE ((uint32_t)sizeof(pc_plugin) + 8u)
#include "descriptor.h"
