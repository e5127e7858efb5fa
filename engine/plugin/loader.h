/* loader.h - finds plugins, checks their ABI and keeps a registry of the
 * evaluator types, frontends and config hooks they provide. */
#ifndef PC_PLUGIN_LOADER_H
#define PC_PLUGIN_LOADER_H
#include <portcullis/plugin.h>

struct schema;

/* One evaluator type as the host sees it: the plugin's descriptor (copied
 * up to the size the host knows) plus where it came from. */
typedef struct loader_type {
    pc_evaluator_type t;       /* normalised: unknown tail zeroed */
    const char *plugin_name;   /* descriptor name */
    const char *path;          /* the .so it came from */
    struct schema *schema;     /* compiled config_schema, or NULL */
} loader_type;

typedef struct loader_frontend {
    pc_frontend_type t;
    const char *plugin_name;
    const char *path;
    struct schema *schema;
} loader_frontend;

typedef struct loader_hook {
    pc_config_hook_type t;
    const char *plugin_name;
    const char *path;
    struct schema *schema;
} loader_hook;

/* Callback for problems: one line naming the file. */
typedef void (*loader_err_fn)(void *arg, const char *msg);

/* Loads one .so. Returns 0 on success, -1 when refused (reported). */
int loader_load_file(const char *path, loader_err_fn err, void *arg);
/* Loads every *.so in dir (sorted). Returns the number refused. A missing
 * directory is reported and counts as one. */
int loader_load_dir(const char *dir, loader_err_fn err, void *arg);
/* Where pc_host ended in ABI 1.minor (its struct_size for a host of that
 * minor), 0 for a minor this host does not know. */
uint32_t loader_abi_host_size(unsigned minor);
/* Checks a descriptor as the loader would; 0 or -1 with a message. Exposed
 * for tests. */
int loader_check_descriptor(const pc_plugin *p, const char *path, char *err,
                            size_t errlen);

const loader_type *loader_find(pc_phase phase, const char *name);
const loader_frontend *loader_find_frontend(const char *name);
const loader_hook *loader_find_hook(const char *name);
size_t loader_count_hooks(void);
const loader_hook *loader_hook_at(size_t i);
size_t loader_count_types(void);
/* Iterates over every type (for `portcullis plugins`). */
const loader_type *loader_type_at(size_t i);
/* The default plugin directory: <prefix>/lib/portcullis/plugins next to
 * the running executable. Returns a static string. */
const char *loader_default_dir(void);
/* Unloads nothing (plugins stay mapped, as code may still run) but frees the
 * registry; for tests and clean exits under ASan. */
void loader_reset(void);

const char *loader_phase_name(pc_phase phase);
#endif
