/* ctl_watch.h - an informer for one Kubernetes resource: list, then watch
 * from the list's resourceVersion (with bookmarks), relist on 410 Gone, and
 * reconnect after errors with client-go's backoff (800 ms doubling to 30 s,
 * jittered). Runs on its caller's thread until stopped. */
#ifndef PC_CONTROLLER_CTL_WATCH_H
#define PC_CONTROLLER_CTL_WATCH_H
#include <stdatomic.h>
#include <stdint.h>
#include <json-c/json.h>

/* A watch line longer than this ends the watch (the API server's own object
 * limit is 1.5 MiB). */
#define CTL_MAX_EVENT (16u << 20)
/* Objects per list page (client-go's pager uses 500). */
#define CTL_LIST_PAGE 500

typedef struct ctl_informer {
    const char *what;            /* for logs: "AuthConfigs" */
    const char *path;            /* the collection, e.g. /apis/G/V/authconfigs */
    const char *label_selector;  /* sent as labelSelector; NULL or "": all */
    /* A complete, consistent set (a list's items): replaces everything. */
    void (*on_list)(void *arg, struct json_object *items);
    /* ADDED, MODIFIED or DELETED with the object. */
    void (*on_event)(void *arg, const char *type, struct json_object *obj);
    void *arg;
    atomic_int *stop;            /* non-zero: return as soon as possible */
    int64_t watch_timeout_s;     /* server-side timeoutSeconds per watch (0: 300) */
    /* Filled in as it runs (read by the owner's thread only after stop). */
    uint64_t lists, watches, relists_gone, errors;
} ctl_informer;

void ctl_informer_run(ctl_informer *inf);

/* client-go's wait.Backoff as informers use it: step n (0-based) of
 * 800 ms * 2^n capped at 30 s, with up to 10% jitter from r in [0, 1). */
int64_t ctl_backoff_ms(unsigned step, double r);
#endif
