/* Built against the 1.5 headers: a 56-byte descriptor, which has no
 * config_hooks field. What follows it in memory is not a list, so a host
 * that read the field anyway would crash or find a hook. */
#include <portcullis/plugin.h>

static pc_status abi_eval(void *inst, pc_eval *ev)
{
    (void)inst;
    (void)ev;
    return PC_OK;
}

static const pc_evaluator_type abi_type = {
    .struct_size = 64u,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "abiV15",
    .evaluate = abi_eval,
};
static const pc_evaluator_type *const abi_types[] = {&abi_type, NULL};

/* The 1.5 layout, then a word where 1.7 has config_hooks. */
static const struct {
    uint32_t magic;
    uint16_t abi_major, abi_minor;
    uint32_t struct_size, reserved_;
    const char *name, *version, *description;
    const pc_evaluator_type *const *evaluators;
    const pc_frontend_type *const *frontends;
    uintptr_t not_a_field;
} desc = {PC_PLUGIN_MAGIC, 1, 5, 56u, 0u, "abi_hook_v1_5", "1.0.0", "ABI test plugin",
          abi_types, NULL, (uintptr_t)0x5a5a5a5a5a5a5a5aull};

PC_EXPORT const pc_plugin *portcullis_plugin_v1(void);
const pc_plugin *portcullis_plugin_v1(void)
{
    return (const pc_plugin *)(const void *)&desc;
}
