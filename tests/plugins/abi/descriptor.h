/* Shared by the ABI test plugins that hand-write their descriptor to claim
 * a version or size the SDK headers would never produce. ABI_TEST_MAJOR,
 * ABI_TEST_MINOR and ABI_TEST_SIZE are set per plugin (ABI_TEST_TYPE_SIZE,
 * the evaluator type's struct_size, defaults to today's). */
#ifndef ABI_TEST_DESCRIPTOR_H
#define ABI_TEST_DESCRIPTOR_H
#include <portcullis/plugin.h>

#ifndef ABI_TEST_TYPE_SIZE
#define ABI_TEST_TYPE_SIZE ((uint32_t)sizeof(pc_evaluator_type))
#endif

static pc_status abi_eval(void *inst, pc_eval *ev)
{
    (void)inst;
    (void)ev;
    return PC_OK;
}

static const pc_evaluator_type abi_type = {
    .struct_size = ABI_TEST_TYPE_SIZE,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = ABI_TEST_TYPE,
    .evaluate = abi_eval,
};
static const pc_evaluator_type *const abi_types[] = {&abi_type, NULL};

PC_EXPORT const pc_plugin *portcullis_plugin_v1(void);
const pc_plugin *portcullis_plugin_v1(void)
{
    static const pc_plugin desc = {
        PC_PLUGIN_MAGIC, ABI_TEST_MAJOR, ABI_TEST_MINOR, ABI_TEST_SIZE, 0u,
        ABI_TEST_TYPE, "1.0.0", "ABI test plugin", abi_types, NULL};
    return &desc;
}
#endif
