/* Built twice (dup_a, dup_b): two plugins providing the same type. */
#include <portcullis/plugin.h>

static pc_status dup_eval(void *inst, pc_eval *ev)
{
    (void)inst;
    (void)ev;
    return PC_OK;
}

static const pc_evaluator_type dup_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .phase = PC_PHASE_IDENTITY,
    .name = "abiDuplicate",
    .evaluate = dup_eval,
};
static const pc_evaluator_type *const dup_types[] = {&dup_type, NULL};
PC_PLUGIN_DEFINE(DUP_NAME, "1.0.0", "provides abiDuplicate", dup_types, NULL)
