#include <stdlib.h>
#include <string.h>
#include "resset.h"

void resset_init(resset *r)
{
    r->docs = NULL;
    r->n = r->cap = 0;
    r->lookups = 0;
}

void resset_free(resset *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_object_put(r->docs[i]);
    free(r->docs);
    resset_init(r);
}

int resset_add(resset *r, struct json_object *doc)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct json_object **d = realloc(r->docs, cap * sizeof *d);
        if (!d)
            return -1;
        r->docs = d;
        r->cap = cap;
    }
    r->docs[r->n++] = json_object_get(doc);
    return 0;
}

int resset_foreach(const resset *r, const char *kind,
                   int (*fn)(void *arg, struct json_object *res), void *arg)
{
    if (r)
        ((resset *)r)->lookups++; /* never a const object: a usage count */
    for (size_t i = 0; r && i < r->n; i++) {
        struct json_object *k;
        if (!json_object_object_get_ex(r->docs[i], "kind", &k) ||
            strcmp(json_object_get_string(k), kind) != 0)
            continue;
        int rc = fn(arg, r->docs[i]);
        if (rc)
            return rc;
    }
    return 0;
}
