/* cel_value.c - values: document views, list and map access, equality and
 * ordering with CEL's heterogeneous numeric rules, type names, errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cel/cel_int.h"

cel_value cel_from_doc(const cel_doc_ops *ops, const void *node)
{
    cel_value v = {CEL_NULL, 0, 0, {.i = 0}};
    if (!node) return v;
    switch (ops->type(node)) {
    case CEL_DOC_NULL: break;
    case CEL_DOC_BOOL: v = cel_bool(ops->boolean(node)); break;
    case CEL_DOC_NUMBER: v = cel_double(ops->number(node)); break;
    case CEL_DOC_STRING: {
        size_t n;
        const char *s = ops->string(node, &n);
        v = cel_str(s, n); /* may hold a NUL (JSON "\u0000") */
        break;
    }
    case CEL_DOC_ARRAY:
        v.kind = CEL_LIST; v.sub = 1; v.u.node = node;
        break;
    case CEL_DOC_OBJECT:
        v.kind = CEL_MAP; v.sub = 1; v.u.node = node;
        break;
    }
    return v;
}

cel_value cel_errv(cel_ctx *c, const char *fmt, ...)
{
    cel_value v = {CEL_ERROR, 0, 0, {.err = "evaluation cost limit exceeded: allocation"}};
    char *m = cel_alloc(c->a, 160);
    if (m) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, 160, fmt, ap);
        va_end(ap);
        v.u.err = m;
    }
    return v;
}

cel_value cel_nomem(cel_ctx *c)
{
    (void)c;
    cel_value v = {CEL_ERROR, 1, 0, {.err = "evaluation cost limit exceeded: allocation"}};
    return v;
}

cel_value cel_optional(cel_ctx *c, const cel_value *in)
{
    cel_value v = {CEL_OPTIONAL, 0, 0, {.opt = NULL}};
    if (!in) return v;
    cel_value *box = cel_alloc(c->a, sizeof *box);
    if (!box) return cel_nomem(c);
    *box = *in;
    v.n = 1;
    v.u.opt = box;
    return v;
}

cel_value cel_str_dup(cel_ctx *c, cel_kind kind, const char *s, size_t n)
{
    char *d = cel_alloc(c->a, n + 1);
    if (!d) return cel_nomem(c);
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return kind == CEL_BYTES ? cel_bytes(d, n) : cel_str(d, n);
}

size_t cel_list_len(cel_ctx *c, cel_value l)
{
    return l.sub ? c->act->ops->length(l.u.node) : l.n;
}

cel_value cel_list_get(cel_ctx *c, cel_value l, size_t i)
{
    if (l.sub) return cel_from_doc(c->act->ops, c->act->ops->index(l.u.node, i));
    return l.u.l[i];
}

size_t cel_map_len(cel_ctx *c, cel_value m)
{
    return m.sub ? c->act->ops->length(m.u.node) : m.n;
}

/* Map keys compare numerically across int, uint and double (an integral double
 * finds the int key), so {1: x}[1u] and {1: x}[1.0] both find x. */
static int key_eq(cel_value a, cel_value b)
{
    if (a.kind == CEL_STRING && b.kind == CEL_STRING)
        return a.n == b.n && memcmp(a.u.s, b.u.s, a.n) == 0;
    if (a.kind == CEL_BOOL && b.kind == CEL_BOOL) return a.u.b == b.u.b;
    int an = a.kind == CEL_INT || a.kind == CEL_UINT || a.kind == CEL_DOUBLE;
    int bn = b.kind == CEL_INT || b.kind == CEL_UINT || b.kind == CEL_DOUBLE;
    return an && bn && cel_compare(a, b) == 0;
}

int cel_map_find(cel_ctx *c, cel_value m, cel_value key, cel_value *out)
{
    if (key.kind != CEL_STRING && key.kind != CEL_INT && key.kind != CEL_UINT &&
        key.kind != CEL_BOOL && key.kind != CEL_DOUBLE) {
        *out = cel_errv(c, "unsupported key type: %s", cel_type_name(key));
        return -1;
    }
    if (m.sub) {
        if (key.kind != CEL_STRING) return 0; /* JSON object keys are strings */
        const char *k = key.u.s;
        if (!(key.sub & CEL_Z)) { /* the interface takes C strings */
            if (memchr(key.u.s, '\0', key.n)) return 0; /* no JSON key holds a NUL */
            char *z = cel_alloc(c->a, (size_t)key.n + 1);
            if (!z) {
                *out = cel_nomem(c);
                return -1;
            }
            memcpy(z, key.u.s, key.n);
            z[key.n] = '\0';
            k = z;
        }
        int found = 0;
        const void *v = c->act->ops->member(m.u.node, k, key.n, &found);
        if (!found) return 0;
        *out = cel_from_doc(c->act->ops, v);
        return 1;
    }
    for (uint32_t i = 0; i < m.n; i++)
        if (key_eq(m.u.m[i].k, key)) {
            *out = m.u.m[i].v;
            return 1;
        }
    return 0;
}

typedef struct { cel_ctx *c; cel_value *keys; size_t n; } keys_acc;

static int take_key(void *ctx, const char *key, size_t klen, const void *val)
{
    (void)val;
    keys_acc *k = ctx;
    k->keys[k->n++] = cel_strz(key, klen); /* a C string: json-c keys have no NUL inside */
    return 0;
}

const cel_value *cel_map_keys(cel_ctx *c, cel_value m, size_t *n)
{
    size_t cnt = cel_map_len(c, m);
    cel_value *keys = cel_alloc(c->a, (cnt ? cnt : 1) * sizeof *keys);
    if (!keys) return NULL;
    if (m.sub) {
        keys_acc k = {c, keys, 0};
        c->act->ops->each(m.u.node, take_key, &k);
        *n = k.n;
    } else {
        for (size_t i = 0; i < cnt; i++) keys[i] = m.u.m[i].k;
        *n = cnt;
    }
    return keys;
}

static int is_num(cel_value v) { return v.kind == CEL_INT || v.kind == CEL_UINT || v.kind == CEL_DOUBLE; }

/* An integer meets a double as a double (so 9223372036854775807 == 9223372036854775808.0,
 * as cel-go and the conformance tests have it). */
static int cmp_d(double x, double y)
{
    if (isnan(x) || isnan(y)) return 2;
    return x < y ? -1 : x > y;
}

int cel_compare(cel_value a, cel_value b)
{
    if (is_num(a) && is_num(b)) {
        if (a.kind == CEL_DOUBLE || b.kind == CEL_DOUBLE) {
            double x = a.kind == CEL_DOUBLE ? a.u.d : a.kind == CEL_INT ? (double)a.u.i : (double)a.u.u;
            double y = b.kind == CEL_DOUBLE ? b.u.d : b.kind == CEL_INT ? (double)b.u.i : (double)b.u.u;
            return cmp_d(x, y);
        }
        if (a.kind == CEL_INT && b.kind == CEL_INT) return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
        if (a.kind == CEL_UINT && b.kind == CEL_UINT) return a.u.u < b.u.u ? -1 : a.u.u > b.u.u;
        if (a.kind == CEL_INT) return a.u.i < 0 ? -1 : ((uint64_t)a.u.i < b.u.u ? -1 : (uint64_t)a.u.i > b.u.u);
        return b.u.i < 0 ? 1 : (a.u.u < (uint64_t)b.u.i ? -1 : a.u.u > (uint64_t)b.u.i);
    }
    if (a.kind != b.kind) return -2;
    switch (a.kind) {
    case CEL_STRING:
    case CEL_BYTES: {
        size_t n = a.n < b.n ? a.n : b.n;
        int r = n ? memcmp(a.u.s, b.u.s, n) : 0;
        if (r) return r < 0 ? -1 : 1;
        return a.n < b.n ? -1 : a.n > b.n;
    }
    case CEL_BOOL: return a.u.b < b.u.b ? -1 : a.u.b > b.u.b;
    case CEL_DURATION:
    case CEL_TIMESTAMP:
        if (a.u.sec != b.u.sec) return a.u.sec < b.u.sec ? -1 : 1;
        return a.n < b.n ? -1 : a.n > b.n;
    default: return -2;
    }
}

int cel_equal(cel_ctx *c, cel_value a, cel_value b)
{
    if (is_num(a) && is_num(b)) return cel_compare(a, b) == 0;
    if (a.kind != b.kind) return 0;
    switch (a.kind) {
    case CEL_NULL: return 1;
    case CEL_TYPE: return a.sub == b.sub;
    case CEL_OPTIONAL:
        if (a.n != b.n) return 0;
        return !a.n || cel_equal(c, *a.u.opt, *b.u.opt);
    case CEL_LIST: {
        size_t n = cel_list_len(c, a);
        if (n != cel_list_len(c, b)) return 0;
        for (size_t i = 0; i < n; i++)
            if (!cel_equal(c, cel_list_get(c, a, i), cel_list_get(c, b, i))) return 0;
        return 1;
    }
    case CEL_MAP: {
        size_t n = cel_map_len(c, a);
        if (n != cel_map_len(c, b)) return 0;
        size_t nk;
        const cel_value *keys = cel_map_keys(c, a, &nk);
        if (!keys) return 0;
        for (size_t i = 0; i < nk; i++) {
            cel_value va, vb;
            if (cel_map_find(c, a, keys[i], &va) != 1 || cel_map_find(c, b, keys[i], &vb) != 1) return 0;
            if (!cel_equal(c, va, vb)) return 0;
        }
        return 1;
    }
    default: return cel_compare(a, b) == 0;
    }
}

const char *cel_kind_name(cel_kind k)
{
    static const char *const names[] = {"null_type", "bool", "int", "uint", "double", "string",
                                        "bytes", "list", "map", "type", "google.protobuf.Duration",
                                        "google.protobuf.Timestamp", "optional_type", "error"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *cel_type_name(cel_value v) { return cel_kind_name((cel_kind)v.kind); }
