#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/cfgerr.h"
#include "config/ydoc.h"
#include "index/hostidx.h"
#include "util/strmap.h"
#include "snapshot.h"

typedef struct loadctx {
    snapshot *s;
    const snapshot_sink *sink;
    ydoc_file **files;
    size_t n_files;
} loadctx;

static void sink_error(void *arg, const char *msg)
{
    loadctx *lc = arg;
    lc->s->errors++;
    if (lc->sink && lc->sink->on_error)
        lc->sink->on_error(lc->sink->arg, msg);
}

static int on_file(void *arg, const char *file)
{
    loadctx *lc = arg;
    char err[1024];
    ydoc_file *f = NULL;
    lc->s->files++;
    if (ydoc_load_file(file, &f, err, sizeof err) < 0) {
        sink_error(lc, err);
        return 0;
    }
    ydoc_file **nf = realloc(lc->files, (lc->n_files + 1) * sizeof *nf);
    if (!nf) {
        ydoc_file_free(f);
        return 0;
    }
    lc->files = nf;
    lc->files[lc->n_files++] = f;
    return 0;
}

static const char *kind_of(struct json_object *doc)
{
    struct json_object *k;
    if (!json_object_object_get_ex(doc, "kind", &k) ||
        !json_object_is_type(k, json_type_string))
        return NULL;
    return json_object_get_string(k);
}

static void index_hosts(snapshot *s, ac_config *c, struct json_object *doc,
                        cfgerr *ce)
{
    struct json_object *spec = NULL, *hosts = NULL;
    json_object_object_get_ex(doc, "spec", &spec);
    json_object_object_get_ex(spec, "hosts", &hosts);
    for (size_t i = 0; i < c->n_hosts; i++) {
        void *holder = NULL;
        char path[64];
        snprintf(path, sizeof path, "spec.hosts[%zu]", i);
        struct json_object *node = hosts ? json_object_array_get_idx(hosts, i) : NULL;
        int rc = hostidx_add(s->idx, c->hosts[i], c, &holder);
        if (rc == 1) {
            const ac_config *h = holder;
            if (h == c)
                continue;
            if (h->line > 0)
                cfgerr_warn(ce, node, path,
                            "host \"%s\" is already taken by %s (%s:%d); not linked "
                            "to this AuthConfig",
                            c->hosts[i], h->id, h->file, h->line);
            else
                cfgerr_warn(ce, node, path,
                            "host \"%s\" is already taken by %s; not linked to this "
                            "AuthConfig", c->hosts[i], h->id);
        } else if (rc < 0) {
            cfgerr_error(ce, node, path, "invalid host \"%s\"", c->hosts[i]);
        }
    }
}


snapshot *snapshot_load(const char *const *paths, size_t n,
                        const snapshot_sink *sink)
{
    snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    resset_init(&s->res);
    s->idx = hostidx_new();
    loadctx lc = {s, sink, NULL, 0};
    ydoc_walk(paths, n, on_file, sink_error, &lc);

    /* Secrets first: apiKey instances need all of them at create. */
    for (size_t f = 0; f < lc.n_files; f++)
        for (size_t d = 0; d < lc.files[f]->n_docs; d++) {
            struct json_object *doc = lc.files[f]->docs[d].root;
            const char *k = kind_of(doc);
            if (k && strcmp(k, "Secret") == 0)
                resset_add(&s->res, doc);
        }
    strmap *ids = strmap_new(64);
    cfgerr ce = {0};
    ce.on_error = sink ? sink->on_error : NULL;
    ce.on_warning = sink ? sink->on_warning : NULL;
    ce.arg = sink ? sink->arg : NULL;
    for (size_t f = 0; f < lc.n_files; f++) {
        ce.file = lc.files[f]->path;
        for (size_t d = 0; d < lc.files[f]->n_docs; d++) {
            struct json_object *doc = lc.files[f]->docs[d].root;
            ce.doc_line = lc.files[f]->docs[d].line;
            if (!json_object_is_type(doc, json_type_object)) {
                cfgerr_warn(&ce, doc, NULL, "skipping a document that is not a map");
                continue;
            }
            if (!ac_is_authconfig(doc)) {
                const char *k = kind_of(doc);
                if (k && strcmp(k, "AuthConfig") == 0)
                    ac_compile(doc, &s->res, &ce); /* reports the apiVersion */
                continue;
            }
            ac_config *c = ac_compile(doc, &s->res, &ce);
            if (!c)
                continue;
            void *first = NULL;
            if (!ids || strmap_addn(ids, c->id, strlen(c->id), c, &first) != 0) {
                struct json_object *meta = NULL, *name = NULL;
                json_object_object_get_ex(doc, "metadata", &meta);
                json_object_object_get_ex(meta, "name", &name);
                cfgerr_error(&ce, name ? name : doc, "metadata.name",
                             "AuthConfig %s is defined twice; keeping the first", c->id);
                ac_free(c);
                continue;
            }
            ac_config **nc = realloc(s->configs, (s->n_configs + 1) * sizeof *nc);
            if (!nc) {
                ac_free(c);
                continue;
            }
            s->configs = nc;
            s->configs[s->n_configs++] = c;
            index_hosts(s, c, doc, &ce);
        }
    }
    strmap_free(ids, NULL);
    s->errors += ce.errors;
    s->warnings += ce.warnings;
    for (size_t f = 0; f < lc.n_files; f++)
        ydoc_file_free(lc.files[f]);
    free(lc.files);
    return s;
}

snapshot *snapshot_assemble(ac_config **configs, size_t n, const resset *res,
                            const snapshot_sink *sink)
{
    snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    resset_init(&s->res);
    s->idx = hostidx_new();
    s->configs = n ? calloc(n, sizeof *s->configs) : NULL;
    if (!s->idx || (n && !s->configs)) {
        snapshot_unref(s);
        return NULL;
    }
    if (res)
        for (size_t i = 0; i < res->n; i++)
            resset_add(&s->res, res->docs[i]);
    cfgerr ce = {0};
    ce.on_error = sink ? sink->on_error : NULL;
    ce.on_warning = sink ? sink->on_warning : NULL;
    ce.arg = sink ? sink->arg : NULL;
    for (size_t i = 0; i < n; i++) {
        ac_config *c = ac_ref(configs[i]);
        s->configs[s->n_configs++] = c;
        ce.file = c->file;
        ce.doc_line = c->line;
        index_hosts(s, c, NULL, &ce);
    }
    s->errors = ce.errors;
    s->warnings = ce.warnings;
    return s;
}

snapshot *snapshot_ref(snapshot *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void snapshot_unref(snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n_configs; i++)
        ac_free(s->configs[i]);
    free(s->configs);
    hostidx_free(s->idx);
    resset_free(&s->res);
    free(s);
}

const ac_config *snapshot_lookup(const snapshot *s, const pc_request_view *v)
{
    for (size_t i = 0; i < v->n_context_extensions; i++) {
        const pc_kv *kv = &v->context_extensions[i];
        if (kv->key.len == 4 && memcmp(kv->key.ptr, "host", 4) == 0)
            return hostidx_lookup(s->idx, kv->value.ptr, kv->value.len);
    }
    return hostidx_lookup(s->idx, v->host.ptr, v->host.len);
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static snapshot *g_current;

snapshot *snapshot_current(void)
{
    pthread_mutex_lock(&g_mu);
    snapshot *s = snapshot_ref(g_current);
    pthread_mutex_unlock(&g_mu);
    return s;
}

void snapshot_install(snapshot *s)
{
    pthread_mutex_lock(&g_mu);
    snapshot *old = g_current;
    g_current = s;
    pthread_mutex_unlock(&g_mu);
    snapshot_unref(old);
}
