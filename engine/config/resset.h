/* resset.h - Kubernetes resources found beside the AuthConfigs (Secrets
 * for apiKey, ...), handed to plugins at create time. */
#ifndef PC_CONFIG_RESSET_H
#define PC_CONFIG_RESSET_H
#include <json-c/json.h>

typedef struct resset {
    struct json_object **docs; /* owned references */
    size_t n, cap;
    unsigned long lookups;     /* resset_foreach calls: tells the controller
                                  which AuthConfigs depend on Secrets */
} resset;

void resset_init(resset *r);
void resset_free(resset *r);
/* Keeps a reference to doc. */
int resset_add(resset *r, struct json_object *doc);
/* Calls fn for each resource of kind; stops at fn's non-zero result.
 * Counts the call in r->lookups. */
int resset_foreach(const resset *r, const char *kind,
                   int (*fn)(void *arg, struct json_object *res), void *arg);
#endif
