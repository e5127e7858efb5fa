/* doc.c - nodes: reading, building in an arena, copies. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "doc.h"

uint32_t doc_hash(const char *key, size_t klen)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < klen; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- reading ---- */

const char *doc_str(const doc *v, size_t *len)
{
    if (!v || v->type != DOC_STRING)
        return NULL;
    if (len)
        *len = v->n;
    return v->u.s;
}

int doc_bool(const doc *v)
{
    switch (doc_type_of(v)) {
    case DOC_BOOL: return v->u.b;
    case DOC_INT: return v->u.i != 0;
    case DOC_DOUBLE: return v->u.d != 0;
    case DOC_STRING: return v->n != 0;
    default: return 0;
    }
}

static int64_t sat_int(double d)
{
    if (isnan(d))
        return 0;
    if (d >= (double)INT64_MAX)
        return INT64_MAX;
    if (d <= (double)INT64_MIN)
        return INT64_MIN;
    return (int64_t)d;
}

int64_t doc_int(const doc *v)
{
    switch (doc_type_of(v)) {
    case DOC_BOOL: return v->u.b;
    case DOC_INT: return v->u.i;
    case DOC_DOUBLE: return sat_int(v->u.d);
    case DOC_STRING: {
        /* json-c parses the whole string as a number, 0 when it is not one. */
        char *end;
        long long x = strtoll(v->u.s, &end, 10);
        if (end == v->u.s)
            return 0;
        return (int64_t)x;
    }
    default: return 0;
    }
}

double doc_double(const doc *v)
{
    switch (doc_type_of(v)) {
    case DOC_BOOL: return v->u.b;
    case DOC_INT: return (double)v->u.i;
    case DOC_DOUBLE: return v->u.d;
    case DOC_STRING: {
        char *end;
        double d = strtod(v->u.s, &end);
        return end == v->u.s ? 0.0 : d;
    }
    default: return 0.0;
    }
}

size_t doc_len(const doc *v)
{
    if (!v || (v->type != DOC_ARRAY && v->type != DOC_OBJECT))
        return 0;
    return v->n;
}

const doc *doc_at(const doc *arr, size_t i)
{
    if (!arr || arr->type != DOC_ARRAY || i >= arr->n)
        return NULL;
    return arr->u.items[i];
}

static int key_is(const doc_member *m, const char *key, size_t klen, uint32_t hash)
{
    return m->hash == hash && m->klen == klen && memcmp(m->key, key, klen) == 0;
}

/* The member number of key, or -1. */
static long find(const doc *obj, const char *key, size_t klen, uint32_t hash)
{
    if (obj->aux.index) {
        uint32_t mask = obj->imask;
        for (uint32_t s = hash & mask;; s = (s + 1) & mask) {
            uint32_t slot = obj->aux.index[s];
            if (!slot)
                return -1;
            if (key_is(&obj->u.members[slot - 1], key, klen, hash))
                return (long)slot - 1;
        }
    }
    for (uint32_t i = 0; i < obj->n; i++)
        if (key_is(&obj->u.members[i], key, klen, hash))
            return (long)i;
    return -1;
}

const doc *doc_get_h(const doc *obj, const char *key, size_t klen, uint32_t hash, int *found)
{
    long i = -1;
    if (obj && obj->type == DOC_OBJECT && klen <= UINT32_MAX)
        i = find(obj, key, klen, hash);
    if (found)
        *found = i >= 0;
    return i >= 0 ? obj->u.members[i].val : NULL;
}

const doc *doc_get(const doc *obj, const char *key, size_t klen, int *found)
{
    if (!obj || obj->type != DOC_OBJECT) {
        if (found)
            *found = 0;
        return NULL;
    }
    return doc_get_h(obj, key, klen, doc_hash(key, klen), found);
}

int doc_equal(const doc *a, const doc *b)
{
    if (a == b)
        return 1;
    if (!a || !b || a->type != b->type)
        return 0;
    switch (a->type) {
    case DOC_BOOL: return !a->u.b == !b->u.b;
    case DOC_INT: return a->u.i == b->u.i;
    case DOC_DOUBLE: return a->u.d == b->u.d;
    case DOC_STRING: return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
    case DOC_ARRAY:
        if (a->n != b->n)
            return 0;
        for (uint32_t i = 0; i < a->n; i++)
            if (!doc_equal(a->u.items[i], b->u.items[i]))
                return 0;
        return 1;
    case DOC_OBJECT:
        if (a->n != b->n)
            return 0;
        for (uint32_t i = 0; i < a->n; i++) {
            const doc_member *m = &a->u.members[i];
            int found;
            const doc *bv = doc_get_h(b, m->key, m->klen, m->hash, &found);
            if (!found || !doc_equal(m->val, bv))
                return 0;
        }
        return 1;
    default: return 0;
    }
}

/* ---- building ---- */

static doc *node(struct arena *a, doc_type t)
{
    doc *v = arena_alloc(a, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)t;
    v->flags = DOC_MUTABLE;
    return v;
}

doc *doc_new_bool(struct arena *a, int b)
{
    doc *v = node(a, DOC_BOOL);
    if (v)
        v->u.b = b != 0;
    return v;
}

doc *doc_new_int(struct arena *a, int64_t i)
{
    doc *v = node(a, DOC_INT);
    if (v)
        v->u.i = i;
    return v;
}

doc *doc_new_double(struct arena *a, double d)
{
    doc *v = node(a, DOC_DOUBLE);
    if (v)
        v->u.d = d;
    return v;
}

static char *copy_bytes(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

doc *doc_new_str(struct arena *a, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return NULL;
    doc *v = node(a, DOC_STRING);
    if (!v)
        return NULL;
    char *p = copy_bytes(a, s ? s : "", s ? len : 0);
    if (!p)
        return NULL;
    v->u.s = p;
    v->n = s ? (uint32_t)len : 0;
    return v;
}

doc *doc_new_str_ref(struct arena *a, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return NULL;
    doc *v = node(a, DOC_STRING);
    if (!v)
        return NULL;
    v->u.s = s;
    v->n = (uint32_t)len;
    return v;
}

static int grow(struct arena *a, doc *c, size_t elem, void **slots, size_t want)
{
    if (want <= c->cap)
        return 0;
    if (want > UINT32_MAX / 2)
        return -1;
    size_t cap = c->cap ? (size_t)c->cap * 2 : 4;
    while (cap < want)
        cap *= 2;
    void *p = arena_alloc(a, cap * elem);
    if (!p)
        return -1;
    if (c->n)
        memcpy(p, *slots, (size_t)c->n * elem);
    *slots = p;
    c->cap = (uint32_t)cap;
    return 0;
}

doc *doc_new_object(struct arena *a, size_t cap_hint)
{
    doc *v = node(a, DOC_OBJECT);
    if (v && cap_hint && grow(a, v, sizeof(doc_member), (void **)&v->u.members, cap_hint))
        return NULL;
    return v;
}

doc *doc_new_array(struct arena *a, size_t cap_hint)
{
    doc *v = node(a, DOC_ARRAY);
    if (v && cap_hint && grow(a, v, sizeof(doc *), (void **)&v->u.items, cap_hint))
        return NULL;
    return v;
}

/* (Re)builds the index for obj's members with room for twice as many. */
static int reindex(struct arena *a, doc *obj)
{
    uint32_t slots = 16;
    while (slots < (uint32_t)obj->n * 2 + 2)
        slots *= 2;
    uint32_t *ix = arena_alloc(a, (size_t)slots * sizeof *ix);
    if (!ix)
        return -1;
    memset(ix, 0, (size_t)slots * sizeof *ix);
    uint32_t mask = slots - 1;
    for (uint32_t i = 0; i < obj->n; i++) {
        uint32_t s = obj->u.members[i].hash & mask;
        while (ix[s])
            s = (s + 1) & mask;
        ix[s] = i + 1;
    }
    obj->aux.index = ix;
    obj->imask = mask;
    return 0;
}

/* Keeps the index in step with a member just appended at obj->n - 1. */
static int index_added(struct arena *a, doc *obj)
{
    if (obj->n <= DOC_INDEX_MIN)
        return 0;
    if (!obj->aux.index || (uint64_t)obj->n * 2 > (uint64_t)obj->imask + 1)
        return reindex(a, obj);
    uint32_t mask = obj->imask;
    uint32_t s = obj->u.members[obj->n - 1].hash & mask;
    while (obj->aux.index[s])
        s = (s + 1) & mask;
    obj->aux.index[s] = obj->n;
    return 0;
}

static int append_member(struct arena *a, doc *obj, const char *key, size_t klen,
                         uint32_t hash, int copy_key, const doc *val)
{
    if (klen > UINT32_MAX - 1 ||
        grow(a, obj, sizeof(doc_member), (void **)&obj->u.members, (size_t)obj->n + 1))
        return -1;
    const char *k = copy_key ? copy_bytes(a, key, klen) : key;
    if (!k)
        return -1;
    doc_member *m = &obj->u.members[obj->n++];
    m->key = k;
    m->klen = (uint32_t)klen;
    m->hash = hash;
    m->val = val;
    return index_added(a, obj);
}

static int set(struct arena *a, doc *obj, const char *key, size_t klen, uint32_t hash,
               int copy_key, const doc *val)
{
    if (!obj || obj->type != DOC_OBJECT || !(obj->flags & DOC_MUTABLE) || klen > UINT32_MAX - 1)
        return -1;
    long i = find(obj, key, klen, hash);
    if (i >= 0) {
        obj->u.members[i].val = val;
        return 0;
    }
    return append_member(a, obj, key, klen, hash, copy_key, val);
}

int doc_set(struct arena *a, doc *obj, const char *key, size_t klen, const doc *val)
{
    return set(a, obj, key, klen, doc_hash(key, klen), 1, val);
}

int doc_set_ref(struct arena *a, doc *obj, const char *key, size_t klen, uint32_t hash,
                const doc *val)
{
    return set(a, obj, key, klen, hash, 0, val);
}

int doc_add_new(struct arena *a, doc *obj, const char *key, size_t klen, uint32_t hash,
                int copy_key, const doc *val)
{
    if (!obj || obj->type != DOC_OBJECT || !(obj->flags & DOC_MUTABLE))
        return -1;
    return append_member(a, obj, key, klen, hash, copy_key, val);
}

int doc_dedupe(struct arena *a, doc *obj)
{
    if (!obj || obj->type != DOC_OBJECT)
        return -1;
    if (obj->n < 2)
        return 0;
    /* Walk the members with a fresh index of the distinct keys seen so far:
     * a repeat overwrites the first's value, others move down. */
    uint32_t n = obj->n;
    uint32_t slots = 16;
    while (slots < n * 2 + 2)
        slots *= 2;
    uint32_t *ix = NULL;
    if (n > DOC_INDEX_MIN) {
        ix = arena_alloc(a, (size_t)slots * sizeof *ix);
        if (!ix)
            return -1;
        memset(ix, 0, (size_t)slots * sizeof *ix);
    }
    uint32_t mask = slots - 1, out = 0;
    for (uint32_t i = 0; i < n; i++) {
        doc_member m = obj->u.members[i];
        long at = -1;
        if (ix) {
            uint32_t s = m.hash & mask;
            for (; ix[s]; s = (s + 1) & mask)
                if (key_is(&obj->u.members[ix[s] - 1], m.key, m.klen, m.hash)) {
                    at = (long)ix[s] - 1;
                    break;
                }
            if (at < 0)
                ix[s] = out + 1;
        } else {
            for (uint32_t j = 0; j < out; j++)
                if (key_is(&obj->u.members[j], m.key, m.klen, m.hash)) {
                    at = (long)j;
                    break;
                }
        }
        if (at >= 0)
            obj->u.members[at].val = m.val;
        else
            obj->u.members[out++] = m;
    }
    obj->n = out;
    if (ix) {
        obj->aux.index = NULL;
        if (out > DOC_INDEX_MIN)
            return reindex(a, obj);
    }
    return 0;
}

int doc_append(struct arena *a, doc *arr, const doc *val)
{
    if (!arr || arr->type != DOC_ARRAY || !(arr->flags & DOC_MUTABLE) ||
        grow(a, arr, sizeof(doc *), (void **)&arr->u.items, (size_t)arr->n + 1))
        return -1;
    arr->u.items[arr->n++] = val;
    return 0;
}

static void seal(doc *v, int depth)
{
    if (!v || !(v->flags & DOC_MUTABLE) || depth > DOC_MAX_DEPTH)
        return;
    v->flags &= (uint8_t)~DOC_MUTABLE;
    if (v->type == DOC_ARRAY)
        for (uint32_t i = 0; i < v->n; i++)
            seal((doc *)v->u.items[i], depth + 1);
    else if (v->type == DOC_OBJECT)
        for (uint32_t i = 0; i < v->n; i++)
            seal((doc *)v->u.members[i].val, depth + 1);
}

void doc_seal(doc *v) { seal(v, 0); }

/* ---- copies ---- */

static doc *copy(struct arena *a, const doc *v, int depth, uint8_t flags);

/* Fills c (zeroed) with a deep copy of v. */
static doc *copy_into(struct arena *a, doc *c, const doc *v, int depth, uint8_t flags)
{
    if (depth > DOC_MAX_DEPTH)
        return NULL;
    c->type = v->type;
    c->flags = flags;
    switch (v->type) {
    case DOC_BOOL: c->u.b = v->u.b; break;
    case DOC_INT: c->u.i = v->u.i; break;
    case DOC_DOUBLE:
        c->u.d = v->u.d;
        if (v->aux.text && !(c->aux.text = copy_bytes(a, v->aux.text, strlen(v->aux.text))))
            return NULL;
        break;
    case DOC_STRING:
        if (!(c->u.s = copy_bytes(a, v->u.s, v->n)))
            return NULL;
        c->n = v->n;
        break;
    case DOC_ARRAY:
        if (v->n && grow(a, c, sizeof(doc *), (void **)&c->u.items, v->n))
            return NULL;
        for (uint32_t i = 0; i < v->n; i++) {
            const doc *it = v->u.items[i];
            doc *ci = NULL;
            if (it && !(ci = copy(a, it, depth + 1, flags)))
                return NULL;
            c->u.items[i] = ci;
        }
        c->n = v->n;
        break;
    case DOC_OBJECT:
        if (v->n && grow(a, c, sizeof(doc_member), (void **)&c->u.members, v->n))
            return NULL;
        for (uint32_t i = 0; i < v->n; i++) {
            const doc_member *m = &v->u.members[i];
            doc *cv = NULL;
            if (m->val && !(cv = copy(a, m->val, depth + 1, flags)))
                return NULL;
            doc_member *cm = &c->u.members[i];
            if (!(cm->key = copy_bytes(a, m->key, m->klen)))
                return NULL;
            cm->klen = m->klen;
            cm->hash = m->hash;
            cm->val = cv;
        }
        c->n = v->n;
        if (c->n > DOC_INDEX_MIN && reindex(a, c))
            return NULL;
        break;
    default: return NULL;
    }
    return c;
}

static doc *copy(struct arena *a, const doc *v, int depth, uint8_t flags)
{
    doc *c = node(a, (doc_type)v->type);
    return c ? copy_into(a, c, v, depth, flags) : NULL;
}

doc *doc_copy(struct arena *a, const doc *v, int *err)
{
    if (err)
        *err = 0;
    if (!v)
        return NULL;
    doc *c = copy(a, v, 0, DOC_MUTABLE);
    if (!c && err)
        *err = 1;
    return c;
}

static size_t r8(size_t n) { return (n + 7) & ~(size_t)7; }

/* The slots grow() allocates for want items. */
static size_t slots_for(size_t want)
{
    size_t cap = 4;
    while (cap < want)
        cap *= 2;
    return cap;
}

/* What copy() takes from an arena for v, allocation by allocation. */
static size_t bytes(const doc *v, int depth)
{
    if (!v || depth > DOC_MAX_DEPTH)
        return 0;
    size_t n = r8(sizeof *v);
    switch (v->type) {
    case DOC_STRING: n += r8((size_t)v->n + 1); break;
    case DOC_DOUBLE: n += v->aux.text ? r8(strlen(v->aux.text) + 1) : 0; break;
    case DOC_ARRAY:
        if (v->n)
            n += r8(slots_for(v->n) * sizeof(doc *));
        for (uint32_t i = 0; i < v->n; i++)
            n += bytes(v->u.items[i], depth + 1);
        break;
    case DOC_OBJECT:
        if (v->n)
            n += r8(slots_for(v->n) * sizeof(doc_member));
        if (v->n > DOC_INDEX_MIN) {
            size_t slots = 16;
            while (slots < (size_t)v->n * 2 + 2)
                slots *= 2;
            n += r8(slots * sizeof(uint32_t));
        }
        for (uint32_t i = 0; i < v->n; i++)
            n += r8((size_t)v->u.members[i].klen + 1) + bytes(v->u.members[i].val, depth + 1);
        break;
    default: break;
    }
    return n;
}

size_t doc_bytes(const doc *v) { return bytes(v, 0); }

/* ---- shared documents ---- */

struct doc_shared {
    atomic_uint refs;
    struct arena a;
    doc root; /* here, so that doc_shared_of finds the header from the root */
};

doc_shared *doc_share(const doc *v)
{
    if (!v)
        return NULL;
    doc_shared *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    /* One block of the right size: the root node is in the header, the
     * rest is exactly what the copy allocates. */
    size_t need = doc_bytes(v) - sizeof(doc);
    arena_init_first(&s->a, 0, need ? need : 8);
    memset(&s->root, 0, sizeof s->root);
    if (!copy_into(&s->a, &s->root, v, 0, DOC_SHARED)) {
        arena_free(&s->a);
        free(s);
        return NULL;
    }
    s->root.flags |= DOC_ROOT;
    return s;
}

const doc *doc_shared_root(const doc_shared *s) { return &s->root; }

doc_shared *doc_shared_of(const doc *v)
{
    if (!v || !(v->flags & DOC_ROOT))
        return NULL;
    return (doc_shared *)((char *)v - offsetof(doc_shared, root));
}

doc_shared *doc_shared_ref(doc_shared *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void doc_shared_unref(doc_shared *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    arena_free(&s->a);
    free(s);
}

size_t doc_shared_bytes(const doc_shared *s)
{
    return s ? arena_capacity(&s->a) + sizeof *s : 0;
}
