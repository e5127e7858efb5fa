/* resset.h - Kubernetes resources found beside the AuthConfigs (Secrets
 * for apiKey, ...), handed to plugins at create time. */
#ifndef PC_CONFIG_RESSET_H
#define PC_CONFIG_RESSET_H
#include <json-c/json.h>

struct strmap;

typedef struct resset {
    struct json_object **docs; /* owned references */
    size_t n, cap;
    struct strmap *by_ns;      /* "kind/namespace" -> docs index, built on
                                  first use, dropped by resset_add */
    unsigned long lookups;     /* resset_foreach(_ns) calls, and of them */
    unsigned long scans;       /* resset_foreach calls (every namespace):
                                  tell the controller which AuthConfigs
                                  depend on which Secrets */
    char lookup_ns[256];       /* the namespace of the last _ns call */
} resset;

void resset_init(resset *r);
void resset_free(resset *r);
/* Keeps a reference to doc. */
int resset_add(resset *r, struct json_object *doc);
/* Calls fn for each resource of kind; stops at fn's non-zero result.
 * Counts the call in r->lookups. */
int resset_foreach(const resset *r, const char *kind,
                   int (*fn)(void *arg, struct json_object *res), void *arg);
/* The same for the resources of kind in one namespace, through an index:
 * N AuthConfigs each reading their namespace's Secrets cost N times that
 * namespace, not N times every Secret. Not for concurrent use with
 * resset_add. */
int resset_foreach_ns(const resset *r, const char *kind, const char *ns,
                      int (*fn)(void *arg, struct json_object *res), void *arg);
#endif
