/* resset.h - Kubernetes resources found beside the AuthConfigs (Secrets
 * for apiKey, ...), handed to plugins at create time. */
#ifndef PC_CONFIG_RESSET_H
#define PC_CONFIG_RESSET_H
#include <json-c/json.h>
#include "util/arena.h"

struct strmap;
struct doc;

/* Called with each resource as loaded (json-c, with lines) and as the doc
 * plugins read (a read-only copy made when it was added). */
typedef int (*resset_fn)(void *arg, struct json_object *res, const struct doc *d);

typedef struct resset {
    struct json_object **docs; /* owned references */
    const struct doc **as_doc; /* docs[i] as a doc, in mem */
    struct arena mem;
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
/* Keeps a reference to doc, and a doc copy of it. */
int resset_add(resset *r, struct json_object *doc);
/* Calls fn for each resource of kind; stops at fn's non-zero result.
 * Counts the call in r->lookups. */
int resset_foreach(const resset *r, const char *kind, resset_fn fn, void *arg);
/* The same for the resources of kind in one namespace, through an index:
 * N AuthConfigs each reading their namespace's Secrets cost N times that
 * namespace, not N times every Secret. Not for concurrent use with
 * resset_add. */
int resset_foreach_ns(const resset *r, const char *kind, const char *ns, resset_fn fn,
                      void *arg);
#endif
