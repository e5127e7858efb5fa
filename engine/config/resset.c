#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "doc/doc.h"
#include "util/strmap.h"
#include "resset.h"

typedef struct ns_list {
    size_t n, cap;
    size_t *at; /* indexes into the set */
} ns_list;

static void ns_list_free(void *p)
{
    ns_list *l = p;
    if (l)
        free(l->at);
    free(l);
}

void resset_init(resset *r)
{
    r->docs = NULL;
    r->as_doc = NULL;
    arena_init(&r->mem, 0);
    r->n = r->cap = 0;
    r->by_ns = NULL;
    r->lookups = r->scans = 0;
    r->lookup_ns[0] = '\0';
}

void resset_free(resset *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_object_put(r->docs[i]);
    free(r->docs);
    free(r->as_doc);
    arena_free(&r->mem);
    strmap_free(r->by_ns, ns_list_free);
    resset_init(r);
}

int resset_add(resset *r, struct json_object *res)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct json_object **d = realloc(r->docs, cap * sizeof *d);
        if (!d)
            return -1;
        r->docs = d;
        const struct doc **dd = realloc(r->as_doc, cap * sizeof *dd);
        if (!dd)
            return -1;
        r->as_doc = dd;
        r->cap = cap;
    }
    int err = 0;
    const doc *copy = doc_from_jsonc(&r->mem, res, NULL, &err);
    if (err)
        return -1;
    r->as_doc[r->n] = copy;
    r->docs[r->n++] = json_object_get(res);
    strmap_free(r->by_ns, ns_list_free);
    r->by_ns = NULL;
    return 0;
}

int resset_foreach(const resset *r, const char *kind, resset_fn fn, void *arg)
{
    if (r) {
        ((resset *)r)->lookups++; /* never a const object: usage counts */
        ((resset *)r)->scans++;
    }
    for (size_t i = 0; r && i < r->n; i++) {
        struct json_object *k;
        if (!json_object_object_get_ex(r->docs[i], "kind", &k) ||
            strcmp(json_object_get_string(k), kind) != 0)
            continue;
        int rc = fn(arg, r->docs[i], r->as_doc[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *str_at(struct json_object *o, const char *k1, const char *k2)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && !json_object_object_get_ex(v, k2, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int index_key(char *out, size_t len, const char *kind, const char *ns)
{
    int n = snprintf(out, len, "%s/%s", kind, ns);
    return n > 0 && (size_t)n < len ? n : -1;
}

static strmap *build_index(const resset *r)
{
    strmap *m = strmap_new(r->n / 4 + 16);
    for (size_t i = 0; m && i < r->n; i++) {
        const char *kind = str_at(r->docs[i], "kind", NULL);
        const char *ns = str_at(r->docs[i], "metadata", "namespace");
        char key[512];
        int kl = kind ? index_key(key, sizeof key, kind, ns ? ns : "default") : -1;
        if (kl < 0)
            continue;
        ns_list *l = strmap_getn(m, key, (size_t)kl);
        if (!l) {
            if (!(l = calloc(1, sizeof *l)) || strmap_putn(m, key, (size_t)kl, l, NULL) < 0) {
                free(l);
                strmap_free(m, ns_list_free);
                return NULL;
            }
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 4;
            size_t *d = realloc(l->at, cap * sizeof *d);
            if (!d) {
                strmap_free(m, ns_list_free);
                return NULL;
            }
            l->at = d;
            l->cap = cap;
        }
        l->at[l->n++] = i;
    }
    return m;
}

int resset_foreach_ns(const resset *r, const char *kind, const char *ns, resset_fn fn,
                      void *arg)
{
    if (!r)
        return 0;
    resset *w = (resset *)r; /* never a const object: the index and the counts */
    w->lookups++;
    snprintf(w->lookup_ns, sizeof w->lookup_ns, "%s", ns && *ns ? ns : "default");
    if (!w->by_ns && !(w->by_ns = build_index(r)))
        return resset_foreach(r, kind, fn, arg); /* out of memory: the slow way */
    char key[512];
    int kl = index_key(key, sizeof key, kind, ns && *ns ? ns : "default");
    ns_list *l = kl < 0 ? NULL : strmap_getn(w->by_ns, key, (size_t)kl);
    for (size_t i = 0; l && i < l->n; i++) {
        int rc = fn(arg, r->docs[l->at[i]], r->as_doc[l->at[i]]);
        if (rc)
            return rc;
    }
    return 0;
}
