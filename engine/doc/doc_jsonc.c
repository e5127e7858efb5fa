/* doc_jsonc.c - copies between json-c trees (configuration, as loaded with
 * lines) and doc nodes, and the map from a copied node back to its source. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "doc.h"

/* ---- the source map: an open-addressing table keyed by node address ---- */

struct doc_srcmap {
    const doc **keys;
    struct json_object **vals;
    size_t n, cap; /* cap: a power of two, or 0 */
};

doc_srcmap *doc_srcmap_new(void)
{
    return calloc(1, sizeof(doc_srcmap));
}

void doc_srcmap_free(doc_srcmap *m)
{
    if (!m)
        return;
    free(m->keys);
    free(m->vals);
    free(m);
}

static size_t slot_of(const void *p, size_t mask)
{
    uintptr_t x = (uintptr_t)p >> 3;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 16) & mask;
}

static int map_put(doc_srcmap *m, const doc *k, struct json_object *v);

static int map_grow(doc_srcmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    doc_srcmap bigger = {calloc(cap, sizeof *bigger.keys), calloc(cap, sizeof *bigger.vals), 0,
                         cap};
    if (!bigger.keys || !bigger.vals) {
        free(bigger.keys);
        free(bigger.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            map_put(&bigger, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = bigger;
    return 0;
}

static int map_put(doc_srcmap *m, const doc *k, struct json_object *v)
{
    if ((m->n + 1) * 2 > m->cap && map_grow(m))
        return -1;
    size_t mask = m->cap - 1;
    size_t s = slot_of(k, mask);
    while (m->keys[s] && m->keys[s] != k)
        s = (s + 1) & mask;
    if (!m->keys[s])
        m->n++;
    m->keys[s] = k;
    m->vals[s] = v;
    return 0;
}

struct json_object *doc_srcmap_find(const doc_srcmap *m, const doc *v)
{
    if (!m || !m->cap || !v)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t s = slot_of(v, mask); m->keys[s]; s = (s + 1) & mask)
        if (m->keys[s] == v)
            return m->vals[s];
    return NULL;
}

/* ---- json-c -> doc ---- */

static doc *from(struct arena *a, struct json_object *j, doc_srcmap *map, int depth)
{
    if (depth > DOC_MAX_DEPTH)
        return NULL;
    doc *d = NULL;
    switch (json_object_get_type(j)) {
    case json_type_boolean: d = doc_new_bool(a, json_object_get_boolean(j)); break;
    case json_type_int:
        /* json-c keeps values above INT64_MAX as uint64; they read back
         * saturated, as json_object_get_int64 gives them. */
        d = doc_new_int(a, json_object_get_int64(j));
        break;
    case json_type_double: {
        d = doc_new_double(a, json_object_get_double(j));
        /* Written back as json-c writes it (the parsed text, when there). */
        const char *t = d ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : NULL;
        if (d && t) {
            size_t n = strlen(t);
            char *p = arena_alloc(a, n + 1);
            if (!p)
                return NULL;
            memcpy(p, t, n + 1);
            d->aux.text = p;
        }
        break;
    }
    case json_type_string:
        d = doc_new_str(a, json_object_get_string(j), (size_t)json_object_get_string_len(j));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(j);
        if (!(d = doc_new_array(a, n)))
            return NULL;
        for (size_t i = 0; i < n; i++) {
            struct json_object *it = json_object_array_get_idx(j, i);
            doc *c = NULL;
            if (it && !(c = from(a, it, map, depth + 1)))
                return NULL;
            if (doc_append(a, d, c))
                return NULL;
        }
        break;
    }
    case json_type_object: {
        if (!(d = doc_new_object(a, (size_t)json_object_object_length(j))))
            return NULL;
        json_object_object_foreach(j, k, v) {
            doc *c = NULL;
            if (v && !(c = from(a, v, map, depth + 1)))
                return NULL;
            size_t kl = strlen(k);
            /* json-c keys are distinct already. */
            if (doc_add_new(a, d, k, kl, doc_hash(k, kl), 1, c))
                return NULL;
        }
        break;
    }
    default: return NULL;
    }
    if (d) {
        d->flags &= (uint8_t)~DOC_MUTABLE;
        if (map && map_put(map, d, j))
            return NULL;
    }
    return d;
}

doc *doc_from_jsonc(struct arena *a, const struct json_object *j, doc_srcmap *map, int *err)
{
    if (err)
        *err = 0;
    if (!j)
        return NULL;
    doc *d = from(a, (struct json_object *)j, map, 0);
    if (!d && err)
        *err = 1;
    return d;
}

/* ---- doc -> json-c ---- */

static struct json_object *to(const doc *v, int depth, int *bad)
{
    if (!v)
        return NULL;
    if (depth > DOC_MAX_DEPTH) {
        *bad = 1;
        return NULL;
    }
    struct json_object *j = NULL;
    switch (v->type) {
    case DOC_BOOL: j = json_object_new_boolean(v->u.b); break;
    case DOC_INT: j = json_object_new_int64(v->u.i); break;
    case DOC_DOUBLE:
        j = v->aux.text ? json_object_new_double_s(v->u.d, v->aux.text)
                        : json_object_new_double(v->u.d);
        break;
    case DOC_STRING: j = json_object_new_string_len(v->u.s, (int)v->n); break;
    case DOC_ARRAY:
        if (!(j = json_object_new_array_ext((int)v->n)))
            break;
        for (uint32_t i = 0; i < v->n; i++) {
            struct json_object *c = to(v->u.items[i], depth + 1, bad);
            if (*bad || json_object_array_add(j, c)) {
                json_object_put(c);
                *bad = 1;
                break;
            }
        }
        break;
    case DOC_OBJECT:
        if (!(j = json_object_new_object()))
            break;
        for (uint32_t i = 0; i < v->n; i++) {
            const doc_member *m = &v->u.members[i];
            struct json_object *c = to(m->val, depth + 1, bad);
            if (*bad || json_object_object_add(j, m->key, c)) {
                json_object_put(c);
                *bad = 1;
                break;
            }
        }
        break;
    default: break;
    }
    if (!j)
        *bad = 1;
    if (*bad) {
        json_object_put(j);
        return NULL;
    }
    return j;
}

int doc_to_jsonc(const doc *v, struct json_object **out)
{
    int bad = 0;
    *out = to(v, 0, &bad);
    return bad ? -1 : 0;
}
