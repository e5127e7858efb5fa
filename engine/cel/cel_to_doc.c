/* cel_to_doc.c - a value as engine/doc nodes, for `expression` values on the
 * request path. The conversions are cel_json.c's; what differs is ownership:
 * new nodes go into the caller's arena, and the document's own lists and maps
 * are returned as they are instead of being rebuilt. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "cel/cel_int.h"
#include "doc/doc.h"
#include "util/base64.h"

typedef struct {
    const cel_doc_ops *ops;
    struct arena *a;
    cel_error *err;
} to_doc;

static int conv(to_doc *t, const cel_value *v, int depth, const doc **out);

static int nomem(to_doc *t)
{
    if (!t->err->msg[0]) cel_err_at(t->err, NULL, 0, "out of memory converting the value");
    return -1;
}

static int str_node(to_doc *t, const char *s, size_t n, const doc **out)
{
    return (*out = doc_new_str(t->a, s, n)) ? 0 : nomem(t);
}

typedef struct { to_doc *t; int depth; doc *obj; } each_ctx;

static int add_member(void *ctx, const char *key, size_t klen, const void *val)
{
    each_ctx *e = ctx;
    cel_value v = cel_from_doc(e->t->ops, val);
    const doc *d;
    if (conv(e->t, &v, e->depth + 1, &d)) return -1;
    return doc_set(e->t->a, e->obj, key, klen, d) ? nomem(e->t) : 0;
}

/* A document view read through another implementation of cel_doc_ops: rebuilt. */
static int view_conv(to_doc *t, const cel_value *v, int depth, const doc **out)
{
    const cel_doc_ops *ops = t->ops;
    if (v->kind == CEL_LIST) {
        size_t n = ops->length(v->u.node);
        doc *arr = doc_new_array(t->a, n);
        if (!arr) return nomem(t);
        for (size_t i = 0; i < n; i++) {
            cel_value e = cel_from_doc(ops, ops->index(v->u.node, i));
            const doc *d;
            if (conv(t, &e, depth + 1, &d)) return -1;
            if (doc_append(t->a, arr, d)) return nomem(t);
        }
        *out = arr;
        return 0;
    }
    each_ctx e = {t, depth, doc_new_object(t->a, ops->length(v->u.node))};
    if (!e.obj) return nomem(t);
    if (ops->each(v->u.node, add_member, &e)) return -1;
    *out = e.obj;
    return 0;
}

/* A uint64 past INT64_MAX: a double that is written back as its exact digits. */
static int uint_node(to_doc *t, uint64_t u, const doc **out)
{
    if (u <= INT64_MAX) return (*out = doc_new_int(t->a, (int64_t)u)) ? 0 : nomem(t);
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, u);
    char *text = arena_alloc(t->a, (size_t)n + 1);
    doc *d = text ? doc_new_double(t->a, (double)u) : NULL;
    if (!d) return nomem(t);
    memcpy(text, buf, (size_t)n + 1);
    d->aux.text = text;
    *out = d;
    return 0;
}

static int conv(to_doc *t, const cel_value *v, int depth, const doc **out)
{
    char buf[64];
    size_t n;
    *out = NULL;
    if (depth > DOC_MAX_DEPTH) {
        cel_err_at(t->err, NULL, 0, "value nested too deeply for JSON");
        return -1;
    }
    switch (v->kind) {
    case CEL_NULL: return 0;
    case CEL_BOOL: return (*out = doc_new_bool(t->a, v->u.b)) ? 0 : nomem(t);
    case CEL_INT: return (*out = doc_new_int(t->a, v->u.i)) ? 0 : nomem(t);
    case CEL_UINT: return uint_node(t, v->u.u, out);
    case CEL_DOUBLE: {
        const char *special;
        int64_t whole;
        switch (cel_json_double(v->u.d, &special, &whole)) {
        case CEL_JD_STRING: return str_node(t, special, strlen(special), out);
        case CEL_JD_WHOLE: return (*out = doc_new_int(t->a, whole)) ? 0 : nomem(t);
        default: return (*out = doc_new_double(t->a, v->u.d)) ? 0 : nomem(t);
        }
    }
    case CEL_STRING: return str_node(t, v->u.s, v->n, out);
    case CEL_BYTES: {
        char *b = b64_encode(v->u.s, v->n, &n);
        if (!b) return nomem(t);
        int rc = str_node(t, b, n, out);
        free(b);
        return rc;
    }
    case CEL_DURATION:
        n = cel_fmt_duration(buf, sizeof buf, v->u.sec, (int32_t)v->n);
        return str_node(t, buf, n, out);
    case CEL_TIMESTAMP:
        n = cel_fmt_timestamp(buf, sizeof buf, v->u.sec, (int32_t)v->n);
        return str_node(t, buf, n, out);
    case CEL_TYPE: {
        const char *name = cel_kind_name((cel_kind)v->sub);
        return str_node(t, name, strlen(name), out);
    }
    case CEL_OPTIONAL: return v->n ? conv(t, v->u.opt, depth + 1, out) : 0;
    case CEL_LIST:
    case CEL_MAP:
        if (v->sub) {
            if (t->ops != &cel_doc_tree) return view_conv(t, v, depth, out);
            *out = v->u.node; /* the document's node: it outlives the value */
            return 0;
        }
        break;
    default:
        cel_err_at(t->err, NULL, 0, "%s has no JSON form", cel_type_name(*v));
        return -1;
    }
    if (v->kind == CEL_LIST) {
        doc *arr = doc_new_array(t->a, v->n);
        if (!arr) return nomem(t);
        for (uint32_t i = 0; i < v->n; i++) {
            const doc *d;
            if (conv(t, &v->u.l[i], depth + 1, &d)) return -1;
            if (doc_append(t->a, arr, d)) return nomem(t);
        }
        *out = arr;
        return 0;
    }
    doc *obj = doc_new_object(t->a, v->n);
    if (!obj) return nomem(t);
    for (uint32_t i = 0; i < v->n; i++) {
        const char *ks;
        size_t kn;
        char kb[32];
        if (cel_key_text(&v->u.m[i].k, kb, sizeof kb, &ks, &kn) || kn >= CEL_JSON_MAX_KEY) {
            cel_err_at(t->err, NULL, 0, "map key has no JSON form");
            return -1;
        }
        const doc *d;
        if (conv(t, &v->u.m[i].v, depth + 1, &d)) return -1;
        if (doc_set(t->a, obj, ks, kn, d)) return nomem(t);
    }
    *out = obj;
    return 0;
}

int cel_value_to_doc(const cel_value *v, const cel_doc_ops *ops, struct arena *a, const doc **out,
                     cel_error *err)
{
    err->msg[0] = '\0';
    to_doc t = {ops, a, err};
    if (conv(&t, v, 0, out) == 0) return 0;
    *out = NULL;
    return -1;
}
