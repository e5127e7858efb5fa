/* loader.c - dlopen, ABI checks, the type registry.
 *
 * Checks follow Varnish's rule that the first fields "protect the rest":
 * magic, then major, then minor, then the size of the descriptor, before
 * anything else in it is read. Refusals are one line naming the file and
 * both versions, so the author knows what to rebuild. */
#include <dirent.h>
#include <stddef.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loader.h"
#include "schema.h"

/* The layouts of every minor, as numbers (LP64): a plugin built with 1.m
 * headers has exactly the sizes of row m, whatever later minors append, so
 * sizeof of today's structs must never stand in for an older row. A minor
 * that grows a struct adds a row with the new numbers; rows never change.
 * `host` is where pc_host ended in that minor (plugins check it with
 * PC_HOST_HAS); the assertions below keep every service at its offset. */
typedef struct abi_sizes {
    uint32_t plugin, evaluator, frontend, host;
    uint32_t config_hook;          /* 0: the minor has no config hooks */
} abi_sizes;

static const abi_sizes k_abi_sizes[PC_ABI_MINOR + 1] = {
    /* 1.0 */ {56, 64, 56, 488, 0},
    /* 1.1 value_keep_json, value_release */ {56, 64, 56, 504, 0},
    /* 1.2 base64_decode */ {56, 64, 56, 512, 0},
    /* 1.3 eval_can_block */ {56, 64, 56, 520, 0},
    /* 1.4 http_fetch, cc_foreach_resource_in; pc_request_view.metadata_emit */
    {56, 64, 56, 536, 0},
    /* 1.5 readiness_render */ {56, 64, 56, 544, 0},
    /* 1.6 cc_authconfig_spec */ {56, 64, 56, 552, 0},
    /* 1.7 pc_plugin.config_hooks, pc_config_hook_type */ {64, 64, 56, 552, 48},
};

_Static_assert(sizeof(void *) == 8, "the ABI size table is recorded for LP64");
_Static_assert(sizeof k_abi_sizes / sizeof k_abi_sizes[0] == PC_ABI_MINOR + 1,
               "one row per minor");
/* The current minor's row is what the headers compile to. */
_Static_assert(sizeof(pc_plugin) == 64 && sizeof(pc_evaluator_type) == 64 &&
               sizeof(pc_frontend_type) == 56 && sizeof(pc_host) == 552 &&
               sizeof(pc_config_hook_type) == 48,
               "a struct changed size: add a row for the new minor");
_Static_assert(offsetof(pc_plugin, config_hooks) == 56,
               "pc_plugin only grows at its end");
_Static_assert(offsetof(pc_host, value_keep_json) == 488 &&
               offsetof(pc_host, base64_decode) == 504 &&
               offsetof(pc_host, eval_can_block) == 512 &&
               offsetof(pc_host, http_fetch) == 520 &&
               offsetof(pc_host, cc_foreach_resource_in) == 528 &&
               offsetof(pc_host, readiness_render) == 536 &&
               offsetof(pc_host, cc_authconfig_spec) == 544,
               "a pc_host service moved: the table only grows at its end");

uint32_t loader_abi_host_size(unsigned minor)
{
    return minor <= PC_ABI_MINOR ? k_abi_sizes[minor].host : 0;
}

static loader_type **g_types;
static size_t g_ntypes;
static loader_frontend **g_fronts;
static size_t g_nfronts;
static loader_hook **g_hooks;
static size_t g_nhooks;

static const char *const phase_names[PC_PHASE_COUNT_] = {
    "authentication", "metadata", "authorization", "response", "callbacks"};

const char *loader_phase_name(pc_phase phase)
{
    return (unsigned)phase < PC_PHASE_COUNT_ ? phase_names[phase] : "?";
}

static void report(loader_err_fn err, void *arg, const char *fmt, ...)
    PC_PRINTF(3, 4);
static void report(loader_err_fn err, void *arg, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err)
        err(arg, msg);
}

int loader_check_descriptor(const pc_plugin *p, const char *path, char *err,
                            size_t errlen)
{
    if (!p) {
        snprintf(err, errlen, "%s: %s() returned NULL", path,
                 PC_PLUGIN_ENTRY_NAME);
        return -1;
    }
    if (p->magic != PC_PLUGIN_MAGIC) {
        snprintf(err, errlen,
                 "%s: not a Portcullis plugin (bad magic 0x%08x, want 0x%08x)",
                 path, p->magic, PC_PLUGIN_MAGIC);
        return -1;
    }
    if (p->abi_major != PC_ABI_MAJOR) {
        snprintf(err, errlen,
                 "%s: built for plugin ABI %u.%u, this host speaks %d.%d: "
                 "rebuild the plugin against the %d.x SDK",
                 path, p->abi_major, p->abi_minor, PC_ABI_MAJOR, PC_ABI_MINOR,
                 PC_ABI_MAJOR);
        return -1;
    }
    if (p->abi_minor > PC_ABI_MINOR) {
        snprintf(err, errlen,
                 "%s: built for plugin ABI %u.%u, newer than this host's %d.%d: "
                 "upgrade Portcullis or rebuild the plugin against SDK %d.%d",
                 path, p->abi_major, p->abi_minor, PC_ABI_MAJOR, PC_ABI_MINOR,
                 PC_ABI_MAJOR, PC_ABI_MINOR);
        return -1;
    }
    /* Each minor's layout is known exactly (k_abi_sizes): anything else was
     * built with headers that do not match the version they claim. */
    const uint32_t want = k_abi_sizes[p->abi_minor].plugin;
    if (p->struct_size != want) {
        snprintf(err, errlen,
                 "%s: descriptor size %u does not match ABI %u.%u (host expects "
                 "%u): rebuild the plugin with the installed SDK headers",
                 path, p->struct_size, p->abi_major, p->abi_minor, want);
        return -1;
    }
    if (!p->name || !*p->name) {
        snprintf(err, errlen, "%s: plugin descriptor has no name", path);
        return -1;
    }
    return 0;
}

static int check_type(const pc_evaluator_type *t, const pc_plugin *p,
                      const char *path, char *err, size_t errlen)
{
    const uint32_t want = k_abi_sizes[p->abi_minor].evaluator;
    if (t->struct_size != want) {
        snprintf(err, errlen,
                 "%s: evaluator type struct size %u, ABI %u.%u has %u: rebuild "
                 "the plugin with the installed SDK headers",
                 path, t->struct_size, p->abi_major, p->abi_minor, want);
        return -1;
    }
    if (!t->name || !*t->name || !t->evaluate ||
        (unsigned)t->phase >= PC_PHASE_COUNT_) {
        snprintf(err, errlen,
                 "%s: evaluator type %s lacks a name, a valid phase or evaluate()",
                 path, t->name ? t->name : "(unnamed)");
        return -1;
    }
    return 0;
}

static int add_types(const pc_plugin *p, const char *path, loader_err_fn errf,
                     void *arg)
{
    char err[1024];
    size_t n = 0;
    for (const pc_evaluator_type *const *tp = p->evaluators; tp && *tp; tp++)
        n++;
    /* Check everything first: a plugin is taken whole or not at all. */
    for (size_t i = 0; i < n; i++) {
        const pc_evaluator_type *t = p->evaluators[i];
        if (check_type(t, p, path, err, sizeof err) < 0) {
            report(errf, arg, "%s", err);
            return -1;
        }
        const loader_type *dup = loader_find(t->phase, t->name);
        if (dup) {
            report(errf, arg,
                   "%s: %s method \"%s\" is already provided by %s (%s); "
                   "refusing the second plugin",
                   path, phase_names[t->phase], t->name, dup->path,
                   dup->plugin_name);
            return -1;
        }
    }
    struct schema **schemas = calloc(n ? n : 1, sizeof *schemas);
    if (!schemas)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const pc_evaluator_type *t = p->evaluators[i];
        if (t->config_schema) {
            schemas[i] = schema_compile(t->config_schema, err, sizeof err);
            if (!schemas[i]) {
                report(errf, arg, "%s: %s method \"%s\": bad config schema: %s",
                       path, phase_names[t->phase], t->name, err);
                for (size_t j = 0; j < i; j++)
                    schema_free(schemas[j]);
                free(schemas);
                return -1;
            }
        }
    }
    loader_type **nt = realloc(g_types, (g_ntypes + n) * sizeof *nt);
    if (!nt && n) {
        free(schemas);
        return -1;
    }
    g_types = nt;
    for (size_t i = 0; i < n; i++) {
        loader_type *lt = calloc(1, sizeof *lt);
        if (!lt)
            break;
        const pc_evaluator_type *t = p->evaluators[i];
        size_t sz = t->struct_size < sizeof lt->t ? t->struct_size : sizeof lt->t;
        memcpy(&lt->t, t, sz);
        lt->plugin_name = p->name;
        lt->path = strdup(path);
        lt->schema = schemas[i];
        g_types[g_ntypes++] = lt;
    }
    free(schemas);
    return 0;
}

static int add_frontends(const pc_plugin *p, const char *path,
                         loader_err_fn errf, void *arg)
{
    char err[1024];
    for (const pc_frontend_type *const *fp = p->frontends; fp && *fp; fp++) {
        const pc_frontend_type *f = *fp;
        if (f->struct_size != k_abi_sizes[p->abi_minor].frontend || !f->name || !f->create ||
            !f->start || !f->stop || !f->destroy) {
            report(errf, arg, "%s: frontend %s has a bad layout or lacks hooks",
                   path, f->name ? f->name : "(unnamed)");
            return -1;
        }
        if (loader_find_frontend(f->name)) {
            report(errf, arg, "%s: frontend \"%s\" is already provided by %s",
                   path, f->name, loader_find_frontend(f->name)->path);
            return -1;
        }
        loader_frontend **nf = realloc(g_fronts, (g_nfronts + 1) * sizeof *nf);
        if (!nf)
            return -1;
        g_fronts = nf;
        loader_frontend *lf = calloc(1, sizeof *lf);
        if (!lf)
            return -1;
        size_t sz = f->struct_size < sizeof lf->t ? f->struct_size : sizeof lf->t;
        memcpy(&lf->t, f, sz);
        lf->plugin_name = p->name;
        lf->path = strdup(path);
        if (f->config_schema) {
            lf->schema = schema_compile(f->config_schema, err, sizeof err);
            if (!lf->schema)
                report(errf, arg, "%s: frontend %s: bad config schema: %s", path,
                       f->name, err);
        }
        g_fronts[g_nfronts++] = lf;
    }
    return 0;
}

static int add_hooks(const pc_plugin *p, const char *path, loader_err_fn errf,
                     void *arg)
{
    char err[1024];
    /* The field exists only in descriptors of 1.6 and later. */
    if (!k_abi_sizes[p->abi_minor].config_hook || !p->config_hooks)
        return 0;
    for (const pc_config_hook_type *const *hp = p->config_hooks; *hp; hp++) {
        const pc_config_hook_type *h = *hp;
        if (h->struct_size != k_abi_sizes[p->abi_minor].config_hook || !h->name ||
            !*h->name || !h->on_load) {
            report(errf, arg,
                   "%s: config hook %s has a bad layout (struct size %u, ABI %u.%u "
                   "has %u) or lacks a name or on_load()",
                   path, h->name ? h->name : "(unnamed)", h->struct_size,
                   p->abi_major, p->abi_minor, k_abi_sizes[p->abi_minor].config_hook);
            return -1;
        }
        if (loader_find_hook(h->name)) {
            report(errf, arg, "%s: config hook \"%s\" is already provided by %s",
                   path, h->name, loader_find_hook(h->name)->path);
            return -1;
        }
        loader_hook **nh = realloc(g_hooks, (g_nhooks + 1) * sizeof *nh);
        if (!nh)
            return -1;
        g_hooks = nh;
        loader_hook *lh = calloc(1, sizeof *lh);
        if (!lh)
            return -1;
        size_t sz = h->struct_size < sizeof lh->t ? h->struct_size : sizeof lh->t;
        memcpy(&lh->t, h, sz);
        lh->plugin_name = p->name;
        lh->path = strdup(path);
        if (h->config_schema) {
            lh->schema = schema_compile(h->config_schema, err, sizeof err);
            if (!lh->schema) {
                report(errf, arg, "%s: config hook %s: bad config schema: %s", path,
                       h->name, err);
                free((char *)lh->path);
                free(lh);
                return -1;
            }
        }
        g_hooks[g_nhooks++] = lh;
    }
    return 0;
}

int loader_load_file(const char *path, loader_err_fn errf, void *arg)
{
    char err[1024];
    /* RTLD_LOCAL: plugins must not see each other's symbols. RTLD_NOW:
     * missing symbols are found at load, not mid-request. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        report(errf, arg, "%s: cannot load: %s", path, why ? why : "unknown error");
        return -1;
    }
    pc_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, PC_PLUGIN_ENTRY_NAME);
    if (!entry) {
        report(errf, arg, "%s: not a Portcullis plugin (no %s() entry point)",
               path, PC_PLUGIN_ENTRY_NAME);
        dlclose(h);
        return -1;
    }
    const pc_plugin *p = entry();
    if (loader_check_descriptor(p, path, err, sizeof err) < 0) {
        report(errf, arg, "%s", err);
        dlclose(h);
        return -1;
    }
    if (add_types(p, path, errf, arg) < 0 || add_frontends(p, path, errf, arg) < 0 ||
        add_hooks(p, path, errf, arg) < 0) {
        /* Types already registered point into h: keep it mapped. */
        return -1;
    }
    /* Never dlclose a loaded plugin: instances and callbacks may outlive
     * any moment we could prove safe. */
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int loader_load_dir(const char *dir, loader_err_fn errf, void *arg)
{
    DIR *d = opendir(dir);
    if (!d) {
        report(errf, arg, "%s: cannot open plugin directory: %m", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 4 || strcmp(de->d_name + l - 3, ".so"))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (loader_load_file(path, errf, arg) < 0)
            refused++;
        free(names[i]);
    }
    free(names);
    return refused;
}

const loader_type *loader_find(pc_phase phase, const char *name)
{
    for (size_t i = 0; i < g_ntypes; i++)
        if (g_types[i]->t.phase == phase && strcmp(g_types[i]->t.name, name) == 0)
            return g_types[i];
    return NULL;
}

const loader_frontend *loader_find_frontend(const char *name)
{
    for (size_t i = 0; i < g_nfronts; i++)
        if (strcmp(g_fronts[i]->t.name, name) == 0)
            return g_fronts[i];
    return NULL;
}

const loader_hook *loader_find_hook(const char *name)
{
    for (size_t i = 0; i < g_nhooks; i++)
        if (strcmp(g_hooks[i]->t.name, name) == 0)
            return g_hooks[i];
    return NULL;
}

size_t loader_count_hooks(void)
{
    return g_nhooks;
}

const loader_hook *loader_hook_at(size_t i)
{
    return i < g_nhooks ? g_hooks[i] : NULL;
}

size_t loader_count_types(void)
{
    return g_ntypes;
}

const loader_type *loader_type_at(size_t i)
{
    return i < g_ntypes ? g_types[i] : NULL;
}

static char g_default_dir[PATH_MAX];

static void find_default_dir(void)
{
    /* <prefix>/bin/portcullis -> <prefix>/PORTCULLIS_PLUGIN_SUBDIR; the build
     * tree mirrors this layout so tests need no flags. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(g_default_dir, sizeof g_default_dir, "/usr/local/%s",
                 PORTCULLIS_PLUGIN_SUBDIR);
        return;
    }
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(g_default_dir, sizeof g_default_dir, "%s/%s", exe[0] ? exe : "",
             PORTCULLIS_PLUGIN_SUBDIR);
}

const char *loader_default_dir(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_default_dir);
    return g_default_dir;
}

void loader_reset(void)
{
    for (size_t i = 0; i < g_ntypes; i++) {
        schema_free(g_types[i]->schema);
        free((char *)g_types[i]->path);
        free(g_types[i]);
    }
    free(g_types);
    g_types = NULL;
    g_ntypes = 0;
    for (size_t i = 0; i < g_nfronts; i++) {
        schema_free(g_fronts[i]->schema);
        free((char *)g_fronts[i]->path);
        free(g_fronts[i]);
    }
    free(g_fronts);
    g_fronts = NULL;
    g_nfronts = 0;
    for (size_t i = 0; i < g_nhooks; i++) {
        schema_free(g_hooks[i]->schema);
        free((char *)g_hooks[i]->path);
        free(g_hooks[i]);
    }
    free(g_hooks);
    g_hooks = NULL;
    g_nhooks = 0;
}
