/* A 1.7 plugin whose config hook type claims a size 1.7 never had. */
#include <portcullis/plugin.h>

static pc_status abi_on_load(void *hook, pc_eval *ev)
{
    (void)hook;
    (void)ev;
    return PC_OK;
}

static const pc_config_hook_type abi_hook = {
    .struct_size = 40u,
    .name = "abiBadHook",
    .on_load = abi_on_load,
};
static const pc_config_hook_type *const abi_hooks[] = {&abi_hook, NULL};

PC_PLUGIN_DEFINE_HOOKS("abi_hook_bad_size", "1.0.0", "ABI test plugin", NULL, NULL,
                       abi_hooks)
