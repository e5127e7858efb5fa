/* The controller's AuthConfig set. Entries are keyed by namespace/name and
 * keep the spec they were compiled from, so events that change only status,
 * labels or the resourceVersion cost a comparison, not a compile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config/authconfig.h"
#include "config/cfgerr.h"
#include "kube/kube.h"
#include "metrics/metrics.h"
#include "server/readiness.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strmap.h"
#include "ctl_authconfigs.h"

typedef struct ctl_ac {
    char *key;                  /* namespace/name */
    char *ns, *name, *created;  /* created: RFC 3339, sorts by time */
    int64_t generation;
    struct json_object *spec;   /* what compiled was built from (a reference) */
    struct json_object *obj;    /* the whole object, to compile again */
    struct json_object *api_status; /* the status the API server holds */
    ac_config *compiled;        /* NULL: broken */
    char *error;                /* the first problem, when broken */
    char **linked;              /* hosts this AuthConfig won in the last publish */
    size_t n_linked, n_hosts;
    char *taken_by;             /* who holds a host it lost */
    char *ready_since, *available_since; /* lastTransitionTime of each */
    int last_ready, last_available;
    int seen;                   /* mark for replace() */
    int dirty;                  /* its status may need a write */
    int uses_secrets;           /* its compile looked at Secrets: */
    int uses_all;               /* of every namespace, or */
    char *uses_ns;              /* of this one */
} ctl_ac;

struct ctl_acset {
    strmap *by_key;
    const pc_host *host;      /* evaluators are created with it */
    const atomic_int *stop;   /* shutdown: no more status writes */
};

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static void entry_unlink(ctl_ac *e)
{
    for (size_t i = 0; i < e->n_linked; i++)
        free(e->linked[i]);
    free(e->linked);
    e->linked = NULL;
    e->n_linked = 0;
    free(e->taken_by);
    e->taken_by = NULL;
}

static void entry_free(void *p)
{
    ctl_ac *e = p;
    if (!e)
        return;
    free(e->key);
    free(e->ns);
    free(e->name);
    free(e->created);
    json_object_put(e->spec);
    json_object_put(e->obj);
    json_object_put(e->api_status);
    ac_free(e->compiled);
    free(e->error);
    free(e->uses_ns);
    entry_unlink(e);
    free(e->ready_since);
    free(e->available_since);
    free(e);
}

ctl_acset *ctl_acset_new(const pc_host *host, const atomic_int *stop)
{
    ctl_acset *s = calloc(1, sizeof *s);
    if (s && !(s->by_key = strmap_new(64))) {
        free(s);
        return NULL;
    }
    if (s) {
        s->host = host;
        s->stop = stop;
    }
    return s;
}

void ctl_acset_free(ctl_acset *s)
{
    if (!s)
        return;
    strmap_free(s->by_key, entry_free);
    free(s);
}

size_t ctl_acset_count(const ctl_acset *s)
{
    return strmap_count(s->by_key);
}

static void keep_error(void *arg, const char *line)
{
    ctl_ac *e = arg;
    plog(PC_LOG_ERROR, "config", "%s", line);
    if (!e->error)
        e->error = strdup(line);
}

static void log_warning(void *arg, const char *line)
{
    (void)arg;
    plog(PC_LOG_WARN, "config", "%s", line);
}

/* Compiles e from obj. The messages name the resource: "NS/NAME: path: …". */
static void compile(const pc_host *host, ctl_ac *e, struct json_object *obj,
                    const resset *secrets)
{
    ac_free(e->compiled);
    e->compiled = NULL;
    free(e->error);
    e->error = NULL;
    char origin[512];
    snprintf(origin, sizeof origin, "authconfigs/%s", e->key);
    cfgerr ce = {.file = origin, .doc_line = 0, .on_error = keep_error,
                 .on_warning = log_warning, .arg = e};
    unsigned long before = secrets ? secrets->lookups : 0;
    unsigned long scans = secrets ? secrets->scans : 0;
    e->compiled = ac_compile(host, obj, (resset *)secrets, &ce);
    e->uses_secrets = secrets && secrets->lookups != before;
    e->uses_all = secrets && secrets->scans != scans;
    free(e->uses_ns);
    e->uses_ns = e->uses_secrets && !e->uses_all ? strdup(secrets->lookup_ns) : NULL;
    if (!e->compiled && !e->error)
        e->error = strdup("the AuthConfig could not be compiled");
    struct json_object *spec = NULL, *hosts = NULL;
    json_object_object_get_ex(obj, "spec", &spec);
    json_object_object_get_ex(spec, "hosts", &hosts);
    e->n_hosts = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
}

typedef struct gather {
    ctl_ac **v;
    size_t n;
} gather;

static int collect(void *arg, const char *k, size_t l, void *v)
{
    (void)k, (void)l;
    gather *g = arg;
    g->v[g->n++] = v;
    return 0;
}

static gather all_entries(ctl_acset *s)
{
    gather g = {calloc(strmap_count(s->by_key) + 1, sizeof(ctl_ac *)), 0};
    if (g.v)
        strmap_iterate(s->by_key, collect, &g);
    return g;
}

static ctl_ac *upsert(ctl_acset *s, struct json_object *obj, const resset *secrets,
                      int *changed)
{
    struct json_object *meta = NULL, *spec = NULL, *gen = NULL, *st = NULL;
    json_object_object_get_ex(obj, "metadata", &meta);
    const char *ns = jstr(meta, "namespace"), *name = jstr(meta, "name");
    if (!ns || !name)
        return NULL;
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    json_object_object_get_ex(obj, "spec", &spec);
    json_object_object_get_ex(meta, "generation", &gen);
    ctl_ac *e = strmap_get(s->by_key, key);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || !(e->key = strdup(key)) || strmap_put(s->by_key, key, e, NULL) < 0) {
            entry_free(e);
            return NULL;
        }
        e->ns = strdup(ns);
        e->name = strdup(name);
        const char *ct = jstr(meta, "creationTimestamp");
        e->created = strdup(ct ? ct : "");
        e->last_ready = e->last_available = -1;
    }
    json_object_put(e->api_status);
    e->api_status = json_object_object_get_ex(obj, "status", &st) ? json_object_get(st) : NULL;
    e->dirty = 1;
    int64_t g = gen ? json_object_get_int64(gen) : 0;
    if (e->spec && g == e->generation && json_object_equal(spec, e->spec))
        return e;
    e->generation = g;
    json_object_put(e->spec);
    e->spec = json_object_get(spec);
    json_object_put(e->obj);
    e->obj = json_object_get(obj);
    compile(s->host, e, obj, secrets);
    *changed = 1;
    return e;
}

int ctl_acset_recompile_secret_users(ctl_acset *s, const resset *secrets,
                                     const char *ns)
{
    gather g = all_entries(s);
    int n = 0;
    for (size_t i = 0; g.v && i < g.n; i++)
        if (g.v[i]->uses_secrets && g.v[i]->obj &&
            (!ns || g.v[i]->uses_all || !g.v[i]->uses_ns || strcmp(g.v[i]->uses_ns, ns) == 0)) {
            compile(s->host, g.v[i], g.v[i]->obj, secrets);
            g.v[i]->dirty = 1;
            n++;
        }
    free(g.v);
    return n;
}

int ctl_acset_apply(ctl_acset *s, const char *type, struct json_object *obj,
                    const resset *secrets)
{
    int changed = 0;
    if (strcmp(type, "DELETED") == 0) {
        struct json_object *meta = NULL;
        json_object_object_get_ex(obj, "metadata", &meta);
        const char *ns = jstr(meta, "namespace"), *name = jstr(meta, "name");
        char key[512];
        snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name ? name : "");
        void *old = NULL;
        if (strmap_del(s->by_key, key, &old)) {
            entry_free(old);
            changed = 1;
        }
        return changed;
    }
    upsert(s, obj, secrets, &changed);
    return changed;
}

static int clear_seen(void *arg, const char *k, size_t l, void *v)
{
    (void)arg, (void)k, (void)l;
    ((ctl_ac *)v)->seen = 0;
    return 0;
}

void ctl_acset_replace(ctl_acset *s, struct json_object *items, const resset *secrets)
{
    strmap_iterate(s->by_key, clear_seen, NULL);
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
        int changed = 0;
        ctl_ac *e = upsert(s, json_object_array_get_idx(items, i), secrets, &changed);
        if (e)
            e->seen = 1;
    }
    gather g = all_entries(s);
    for (size_t i = 0; i < g.n; i++)
        if (!g.v[i]->seen) {
            strmap_del(s->by_key, g.v[i]->key, NULL);
            entry_free(g.v[i]);
        }
    free(g.v);
}

static int by_age(const void *a, const void *b)
{
    const ctl_ac *x = *(ctl_ac *const *)a, *y = *(ctl_ac *const *)b;
    int c = strcmp(x->created, y->created);
    return c ? c : strcmp(x->key, y->key);
}

/* What /readyz/authconfigs lists: the reasons of the Ready condition. */
static void publish_readiness(const gather *g)
{
    const char **ids = calloc(g->n + 1, sizeof *ids);
    const char **why = calloc(g->n + 1, sizeof *why);
    if (ids && why) {
        for (size_t i = 0; i < g->n; i++) {
            const ctl_ac *e = g->v[i];
            ids[i] = e->key;
            why[i] = !e->compiled ? "Invalid"
                     : e->n_linked != e->n_hosts ? "HostsNotLinked" : READY_REASON;
        }
        readiness_publish(ids, why, g->n);
    }
    free(ids);
    free(why);
}

void ctl_acset_publish(ctl_acset *s, const resset *secrets)
{
    gather g = all_entries(s);
    if (!g.v)
        return;
    qsort(g.v, g.n, sizeof *g.v, by_age);
    ac_config **cs = calloc(g.n + 1, sizeof *cs);
    strmap *claimed = strmap_new(g.n * 2 + 16);
    if (!cs || !claimed) {
        free(cs);
        strmap_free(claimed, NULL);
        free(g.v);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < g.n; i++) {
        ctl_ac *e = g.v[i];
        size_t was_linked = e->n_linked;
        int was_taken = e->taken_by != NULL;
        entry_unlink(e);
        if (!e->compiled)
            continue;
        cs[n++] = e->compiled;
        e->linked = calloc(e->compiled->n_hosts + 1, sizeof *e->linked);
        for (size_t h = 0; e->linked && h < e->compiled->n_hosts; h++) {
            const char *host = e->compiled->hosts[h];
            void *holder = NULL;
            int rc = strmap_addn(claimed, host, strlen(host), e, &holder);
            if (rc == 0 || (rc == 1 && holder == e))
                e->linked[e->n_linked++] = strdup(host);
            else if (rc == 1 && !e->taken_by)
                e->taken_by = strdup(((ctl_ac *)holder)->key);
        }
        if (e->n_linked != was_linked || (e->taken_by != NULL) != was_taken)
            e->dirty = 1;
    }
    snapshot_sink sink = {NULL, log_warning, NULL};
    snapshot *snap = snapshot_assemble(cs, n, secrets, &sink);
    if (snap) {
        snapshot_install(snap);
        metrics_set_authconfigs(snap->n_configs);
    }
    publish_readiness(&g);
    strmap_free(claimed, NULL);
    free(cs);
    free(g.v);
}

/* ---- status ---- */

static char *now_rfc3339(void)
{
    char t[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(t);
}

static struct json_object *condition(const char *type, int ok, const char *reason,
                                     const char *message, const char *since)
{
    struct json_object *c = json_object_new_object();
    json_object_object_add(c, "type", json_object_new_string(type));
    json_object_object_add(c, "status", json_object_new_string(ok ? "True" : "False"));
    json_object_object_add(c, "reason", json_object_new_string(reason));
    if (message && *message)
        json_object_object_add(c, "message", json_object_new_string(message));
    if (since)
        json_object_object_add(c, "lastTransitionTime", json_object_new_string(since));
    return c;
}

/* The status Authorino would write for e; times are left out when bare
 * (for comparing with what the API server holds). */
static struct json_object *status_of(ctl_ac *e, int with_times)
{
    const ac_config *c = e->compiled;
    int available = c && e->n_linked > 0;
    int ready = c && e->n_linked == e->n_hosts;
    char msg[1024] = "";
    const char *reason;
    if (!c) {
        reason = "Invalid";
        snprintf(msg, sizeof msg, "%s", e->error ? e->error : "invalid AuthConfig");
    } else if (!ready) {
        reason = "HostsNotLinked";
        snprintf(msg, sizeof msg, "one or more hosts are taken by %s",
                 e->taken_by ? e->taken_by : "another AuthConfig");
    } else {
        reason = "Reconciled";
    }
    struct json_object *st = json_object_new_object(), *conds = json_object_new_array();
    json_object_array_add(conds, condition("Available", available,
                                           available ? "HostsLinked" : "HostsNotLinked",
                                           NULL, with_times ? e->available_since : NULL));
    json_object_array_add(conds, condition("Ready", ready, reason, msg,
                                           with_times ? e->ready_since : NULL));
    json_object_object_add(st, "conditions", conds);
    struct json_object *sum = json_object_new_object(), *hosts = json_object_new_array();
    for (size_t i = 0; i < e->n_linked; i++)
        json_object_array_add(hosts, json_object_new_string(e->linked[i]));
    char nh[64];
    snprintf(nh, sizeof nh, "%zu/%zu", e->n_linked, e->n_hosts);
    json_object_object_add(sum, "ready", json_object_new_boolean(ready));
    json_object_object_add(sum, "hostsReady", hosts);
    json_object_object_add(sum, "numHostsReady", json_object_new_string(nh));
    json_object_object_add(sum, "numIdentitySources",
                           json_object_new_int(c ? (int)c->n_evs[PC_PHASE_IDENTITY] : 0));
    json_object_object_add(sum, "numMetadataSources",
                           json_object_new_int(c ? (int)c->n_evs[PC_PHASE_METADATA] : 0));
    json_object_object_add(sum, "numAuthorizationPolicies",
                           json_object_new_int(c ? (int)c->n_evs[PC_PHASE_AUTHORIZATION] : 0));
    json_object_object_add(sum, "numResponseItems",
                           json_object_new_int(c ? (int)c->n_evs[PC_PHASE_RESPONSE] : 0));
    json_object_object_add(sum, "festivalWristbandEnabled", json_object_new_boolean(0));
    json_object_object_add(st, "summary", sum);
    json_object_object_add(st, "observedGeneration", json_object_new_int64(e->generation));
    return st;
}

/* The API's status without transition times, for comparison. */
static struct json_object *bare(struct json_object *api)
{
    if (!api)
        return NULL;
    struct json_object *copy = NULL, *conds = NULL;
    if (json_object_deep_copy(api, &copy, NULL) < 0)
        return NULL;
    if (json_object_object_get_ex(copy, "conditions", &conds) &&
        json_object_is_type(conds, json_type_array))
        for (size_t i = 0; i < json_object_array_length(conds); i++)
            json_object_object_del(json_object_array_get_idx(conds, i), "lastTransitionTime");
    return copy;
}

static void write_one(const ctl_acset *s, ctl_ac *e, const char *prefix)
{
    struct json_object *want = status_of(e, 0), *have = bare(e->api_status);
    int same = have && json_object_equal(want, have);
    json_object_put(want);
    json_object_put(have);
    if (same)
        return;
    int ready = e->compiled && e->n_linked == e->n_hosts;
    int available = e->compiled && e->n_linked > 0;
    if (ready != e->last_ready || !e->ready_since) {
        free(e->ready_since);
        e->ready_since = now_rfc3339();
        e->last_ready = ready;
    }
    if (available != e->last_available || !e->available_since) {
        free(e->available_since);
        e->available_since = now_rfc3339();
        e->last_available = available;
    }
    struct json_object *patch = json_object_new_object();
    json_object_object_add(patch, "status", status_of(e, 1));
    const char *body = json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN);
    buf path, out;
    buf_init(&path);
    buf_init(&out);
    buf_printf(&path, "%s/namespaces/%s/authconfigs/%s/status", prefix, e->ns, e->name);
    long code = 0;
    char err[256] = "";
    if (kube_call("PATCH", path.data, "application/merge-patch+json", body, strlen(body),
                  10000, s->stop, &code, &out, err, sizeof err) != PC_OK) {
        if (!s->stop || !atomic_load(s->stop))
            plog(PC_LOG_WARN, "controller", "status of %s: %s", e->key, err);
    }
    else if (code != 200)
        plog(PC_LOG_WARN, "controller", "status of %s: HTTP %ld", e->key, code);
    json_object_put(patch);
    buf_free(&path);
    buf_free(&out);
}

void ctl_acset_mark_dirty(ctl_acset *s)
{
    gather g = all_entries(s);
    for (size_t i = 0; g.v && i < g.n; i++)
        g.v[i]->dirty = 1;
    free(g.v);
}

void ctl_acset_write_status(ctl_acset *s, const char *prefix)
{
    gather g = all_entries(s);
    if (!g.v)
        return;
    qsort(g.v, g.n, sizeof *g.v, by_age);
    /* At shutdown the rest is left to the next process (or leader). */
    for (size_t i = 0; i < g.n && !(s->stop && atomic_load(s->stop)); i++)
        if (g.v[i]->dirty) {
            g.v[i]->dirty = 0;
            write_one(s, g.v[i], prefix);
        }
    free(g.v);
}
