/* Claims the next major: its layout and rules cannot be trusted. */
#define ABI_TEST_TYPE "abiOtherMajor"
#define ABI_TEST_MAJOR (PC_ABI_MAJOR + 1)
#define ABI_TEST_MINOR 0
#define ABI_TEST_SIZE ((uint32_t)sizeof(pc_plugin))
#include "descriptor.h"
