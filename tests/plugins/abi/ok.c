/* A well-formed plugin: the control case that must load. */
#include <portcullis/plugin.h>

static pc_status ok_eval(void *inst, pc_eval *ev)
{
    (void)inst;
    (void)ev;
    return PC_OK;
}

static const pc_evaluator_type ok_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "abiOk",
    .evaluate = ok_eval,
};
static const pc_evaluator_type *const ok_types[] = {&ok_type, NULL};
PC_PLUGIN_DEFINE("abi_ok", "1.0.0", "loads", ok_types, NULL)
