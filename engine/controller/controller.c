/* The controller: one informer thread over AuthConfigs and one over Secrets
 * (for apiKey and the like). Their callbacks take one lock around the
 * AuthConfig set, the Secret set and the snapshot they install; requests
 * read only snapshots. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config/resset.h"
#include "kube/kube.h"
#include "util/log.h"
#include "util/strmap.h"
#include "controller.h"
#include "ctl_authconfigs.h"
#include "ctl_lease.h"
#include "ctl_watch.h"

#define AC_API "/apis/authorino.kuadrant.io/v1beta3"
#define CTL_SECRETS_WAIT_S 10

static struct {
    pthread_t thread, sthread, lthread;
    int running, srunning, lrunning;
    ctl_lease lease;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t secrets_cv;  /* the first Secret list arrived */
    controller_opts opts;
    char path[512], prefix[512], spath[512];
    ctl_informer inf, sinf;
    ctl_acset *set;
    strmap *secret_objs;  /* namespace/name -> Secret (a reference) */
    resset secrets;       /* the same, as handed to compiles */
    int synced, ssynced;
} g;

/* Status is written by this replica alone, or by the leader. */
static int may_write_status(void)
{
    return g.opts.write_status &&
           (!g.opts.leader_election || atomic_load(&g.lease.leader));
}

static void on_leader(void *arg, int leader)
{
    (void)arg;
    if (!leader)
        return;
    /* What the last leader wrote may be stale: compare everything. */
    pthread_mutex_lock(&g.mu);
    ctl_acset_mark_dirty(g.set);
    if (may_write_status())
        ctl_acset_write_status(g.set, g.prefix);
    pthread_mutex_unlock(&g.mu);
}

static void *run_lease(void *arg)
{
    ctl_lease_run(arg);
    return NULL;
}

static void put_obj(void *p)
{
    json_object_put(p);
}

static int add_secret(void *arg, const char *k, size_t l, void *v)
{
    (void)arg, (void)k, (void)l;
    resset_add(&g.secrets, v);
    return 0;
}

static void rebuild_secrets(void)
{
    resset_free(&g.secrets);
    strmap_iterate(g.secret_objs, add_secret, NULL);
}

static void maybe_synced(void)
{
    if (g.synced == 1 && g.ssynced) {
        g.synced = 2;
        if (g.opts.on_synced)
            g.opts.on_synced(g.opts.arg);
    }
}

static int secret_key(struct json_object *obj, char *key, size_t len)
{
    struct json_object *meta = NULL, *ns = NULL, *name = NULL;
    json_object_object_get_ex(obj, "metadata", &meta);
    if (!json_object_object_get_ex(meta, "namespace", &ns) ||
        !json_object_object_get_ex(meta, "name", &name))
        return -1;
    snprintf(key, len, "%s/%s", json_object_get_string(ns), json_object_get_string(name));
    /* List items carry no kind; compiles look Secrets up by it. */
    struct json_object *kind = NULL;
    if (!json_object_object_get_ex(obj, "kind", &kind))
        json_object_object_add(obj, "kind", json_object_new_string("Secret"));
    return 0;
}

/* ns: the namespace of the one Secret that changed, NULL after a list. */
static void secrets_changed(const char *ns)
{
    rebuild_secrets();
    int n = ctl_acset_recompile_secret_users(g.set, &g.secrets, ns);
    if (n)
        ctl_acset_publish(g.set, &g.secrets);
    if (n && may_write_status())
        ctl_acset_write_status(g.set, g.prefix);
}

static void on_secret_list(void *arg, struct json_object *items)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    strmap_free(g.secret_objs, put_obj);
    g.secret_objs = strmap_new(64);
    for (size_t i = 0; g.secret_objs && i < json_object_array_length(items); i++) {
        struct json_object *o = json_object_array_get_idx(items, i);
        char key[512];
        void *old = NULL;
        if (secret_key(o, key, sizeof key) == 0 &&
            strmap_put(g.secret_objs, key, json_object_get(o), &old) >= 0)
            json_object_put(old);
    }
    secrets_changed(NULL);
    g.ssynced = 1;
    pthread_cond_broadcast(&g.secrets_cv);
    maybe_synced();
    pthread_mutex_unlock(&g.mu);
}

static void on_secret_event(void *arg, const char *type, struct json_object *obj)
{
    (void)arg;
    char key[512];
    if (secret_key(obj, key, sizeof key) < 0)
        return;
    pthread_mutex_lock(&g.mu);
    void *old = NULL;
    if (strcmp(type, "DELETED") == 0)
        strmap_del(g.secret_objs, key, &old);
    else
        strmap_put(g.secret_objs, key, json_object_get(obj), &old);
    json_object_put(old);
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)strcspn(key, "/"), key);
    secrets_changed(ns);
    pthread_mutex_unlock(&g.mu);
}

/* The first compile waits (a while) for the first Secret list, so that
 * AuthConfigs reading Secrets are compiled once, with them, not twice. A
 * Secret list that does not come (no rights, API errors) only delays them:
 * they are compiled again when it does. */
static void wait_for_secrets(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CTL_SECRETS_WAIT_S;
    while (!g.ssynced && !atomic_load(&g.stop)) {
        struct timespec step;
        clock_gettime(CLOCK_REALTIME, &step);
        if (step.tv_sec > until.tv_sec ||
            (step.tv_sec == until.tv_sec && step.tv_nsec >= until.tv_nsec)) {
            plog(PC_LOG_WARN, "controller", "no Secret list after %d s: compiling "
                                            "AuthConfigs without Secrets for now",
                 CTL_SECRETS_WAIT_S);
            return;
        }
        step.tv_nsec += 100000000L;
        if (step.tv_nsec >= 1000000000L) {
            step.tv_sec++;
            step.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g.secrets_cv, &g.mu, &step);
    }
}

static void on_list(void *arg, struct json_object *items)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    if (!g.synced)
        wait_for_secrets();
    ctl_acset_replace(g.set, items, &g.secrets);
    ctl_acset_publish(g.set, &g.secrets);
    plog(PC_LOG_INFO, "controller", "%zu AuthConfigs listed and compiled",
         ctl_acset_count(g.set));
    if (!g.synced)
        g.synced = 1;
    maybe_synced();
    if (may_write_status())
        ctl_acset_write_status(g.set, g.prefix);
    pthread_mutex_unlock(&g.mu);
}

static void on_event(void *arg, const char *type, struct json_object *obj)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    if (ctl_acset_apply(g.set, type, obj, &g.secrets))
        ctl_acset_publish(g.set, &g.secrets);
    if (may_write_status())
        ctl_acset_write_status(g.set, g.prefix);
    pthread_mutex_unlock(&g.mu);
}

static void *run(void *arg)
{
    ctl_informer_run(arg);
    return NULL;
}

int controller_start(const controller_opts *o, char *err, size_t errlen)
{
    if (!kube_configured()) {
        snprintf(err, errlen, "watching AuthConfigs needs a Kubernetes API server "
                              "(--kubeconfig, or run in a cluster)");
        return -1;
    }
    memset(&g, 0, sizeof g);
    g.opts = *o;
    const char *ns = o->namespace_ && *o->namespace_ ? o->namespace_ : NULL;
    snprintf(g.prefix, sizeof g.prefix, "%s", AC_API);
    if (ns)
        snprintf(g.path, sizeof g.path, "%s/namespaces/%s/authconfigs", AC_API, ns);
    else
        snprintf(g.path, sizeof g.path, "%s/authconfigs", AC_API);
    if (ns)
        snprintf(g.spath, sizeof g.spath, "/api/v1/namespaces/%s/secrets", ns);
    else
        snprintf(g.spath, sizeof g.spath, "/api/v1/secrets");
    resset_init(&g.secrets);
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.secrets_cv, NULL);
    g.secret_objs = strmap_new(64);
    if (!(g.set = ctl_acset_new(o->host, &g.stop)) || !g.secret_objs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g.inf = (ctl_informer){
        .what = "AuthConfigs", .path = g.path, .label_selector = o->label_selector,
        .on_list = on_list, .on_event = on_event, .stop = &g.stop,
    };
    g.sinf = (ctl_informer){
        .what = "Secrets", .path = g.spath, .label_selector = o->secret_selector,
        .on_list = on_secret_list, .on_event = on_secret_event, .stop = &g.stop,
    };
    atomic_init(&g.stop, 0);
    if (pthread_create(&g.sthread, NULL, run, &g.sinf) != 0) {
        snprintf(err, errlen, "cannot start the controller thread");
        return -1;
    }
    g.srunning = 1;
    if (o->leader_election) {
        ctl_lease_init(&g.lease, o->lease_namespace && *o->lease_namespace ? o->lease_namespace
                                 : ns ? ns : "default", "portcullis-controller", &g.stop);
        if (o->lease_duration_ms > 0) {
            g.lease.duration_ms = o->lease_duration_ms;
            g.lease.retry_ms = o->lease_duration_ms / 7 > 100 ? o->lease_duration_ms / 7 : 100;
        }
        g.lease.on_change = on_leader;
        if (pthread_create(&g.lthread, NULL, run_lease, &g.lease) != 0) {
            controller_stop();
            snprintf(err, errlen, "cannot start the leader election thread");
            return -1;
        }
        g.lrunning = 1;
    }
    if (pthread_create(&g.thread, NULL, run, &g.inf) != 0) {
        controller_stop();
        snprintf(err, errlen, "cannot start the controller thread");
        return -1;
    }
    g.running = 1;
    plog(PC_LOG_INFO, "controller", "watching AuthConfigs %s%s%s%s",
         ns ? "in namespace " : "in all namespaces", ns ? ns : "",
         o->label_selector && *o->label_selector ? " with labels " : "",
         o->label_selector && *o->label_selector ? o->label_selector : "");
    return 0;
}

void controller_stop(void)
{
    if (!g.running && !g.srunning && !g.lrunning)
        return;
    atomic_store(&g.stop, 1);
    if (g.running)
        pthread_join(g.thread, NULL);
    if (g.srunning)
        pthread_join(g.sthread, NULL);
    if (g.lrunning)
        pthread_join(g.lthread, NULL);
    g.running = g.srunning = g.lrunning = 0;
    ctl_acset_free(g.set);
    g.set = NULL;
    strmap_free(g.secret_objs, put_obj);
    g.secret_objs = NULL;
    resset_free(&g.secrets);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.secrets_cv);
}
