#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/cfgerr.h"
#include "index/hostidx.h"
#include "fileset.h"
#include "snapshot.h"

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


snapshot *snapshot_load(const pc_host *host, const char *const *paths, size_t n,
                        const snapshot_sink *sink)
{
    fileset *fs = fileset_new(host, paths, n);
    snapshot *s = fs ? fileset_reload(fs, 1, sink, NULL) : NULL;
    fileset_free(fs);
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
