/* The controller thread: one informer over AuthConfigs. Everything it
 * changes (the AuthConfig set, the installed snapshot, status writes) happens
 * on this thread, so the set needs no lock; requests read only snapshots. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/resset.h"
#include "kube/kube.h"
#include "util/log.h"
#include "controller.h"
#include "ctl_authconfigs.h"
#include "ctl_watch.h"

#define AC_API "/apis/authorino.kuadrant.io/v1beta3"

static struct {
    pthread_t thread;
    int running;
    atomic_int stop;
    controller_opts opts;
    char path[512], prefix[512];
    ctl_informer inf;
    ctl_acset *set;
    resset secrets;     /* Secrets given to apiKey instances (none listed yet) */
    int synced;
} g;

static void on_list(void *arg, struct json_object *items)
{
    (void)arg;
    ctl_acset_replace(g.set, items, &g.secrets);
    ctl_acset_publish(g.set, &g.secrets);
    plog(PC_LOG_INFO, "controller", "%zu AuthConfigs listed and compiled",
         ctl_acset_count(g.set));
    if (!g.synced) {
        g.synced = 1;
        if (g.opts.on_synced)
            g.opts.on_synced(g.opts.arg);
    }
    if (g.opts.write_status)
        ctl_acset_write_status(g.set, g.prefix);
}

static void on_event(void *arg, const char *type, struct json_object *obj)
{
    (void)arg;
    if (ctl_acset_apply(g.set, type, obj, &g.secrets))
        ctl_acset_publish(g.set, &g.secrets);
    if (g.opts.write_status)
        ctl_acset_write_status(g.set, g.prefix);
}

static void *run(void *arg)
{
    (void)arg;
    ctl_informer_run(&g.inf);
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
    resset_init(&g.secrets);
    if (!(g.set = ctl_acset_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g.inf = (ctl_informer){
        .what = "AuthConfigs", .path = g.path, .label_selector = o->label_selector,
        .on_list = on_list, .on_event = on_event, .stop = &g.stop,
    };
    atomic_init(&g.stop, 0);
    if (pthread_create(&g.thread, NULL, run, NULL) != 0) {
        ctl_acset_free(g.set);
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
    if (!g.running)
        return;
    atomic_store(&g.stop, 1);
    pthread_join(g.thread, NULL);
    g.running = 0;
    ctl_acset_free(g.set);
    g.set = NULL;
    resset_free(&g.secrets);
}
