/* Loads fine; its create refuses every config. The refusal must reach the
 * AuthConfig's load errors with the plugin's reason. */
#include <stdio.h>
#include <portcullis/plugin.h>

static void *cf_create(const pc_host *host, pc_create_ctx *cc,
                       const pc_value *config, char *err, size_t errlen)
{
    (void)host;
    (void)cc;
    (void)config;
    snprintf(err, errlen, "abiCreateFails refuses every config");
    return NULL;
}

static pc_status cf_eval(void *inst, pc_eval *ev)
{
    (void)inst;
    (void)ev;
    return PC_OK;
}

static const pc_evaluator_type cf_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "abiCreateFails",
    .create = cf_create,
    .evaluate = cf_eval,
};
static const pc_evaluator_type *const cf_types[] = {&cf_type, NULL};
PC_PLUGIN_DEFINE("abi_create_fails", "1.0.0", "create always fails", cf_types, NULL)
