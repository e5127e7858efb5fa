/* cel_json.c - a value as json-c, for `expression` values written into
 * responses and metadata. Document views are shared (a reference), not copied. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"
#include "util/base64.h"

cel_jd cel_json_double(double d, const char **special, int64_t *whole)
{
    /* JSON has no NaN or infinities: protobuf's JSON mapping writes them as strings */
    if (d != d) {
        *special = "NaN";
        return CEL_JD_STRING;
    }
    if (d * 0 != 0) {
        *special = d > 0 ? "Infinity" : "-Infinity";
        return CEL_JD_STRING;
    }
    /* A whole number is written as one (1637954644, not 1637954644.0), as Go's
     * encoding/json writes the float64 Authorino's values are */
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d &&
        !(d == 0 && signbit(d))) {
        *whole = (int64_t)d;
        return CEL_JD_WHOLE;
    }
    return CEL_JD_DOUBLE;
}

/* json-c spells JSON null as a NULL object, so conv reports failure apart from its result. */
static int conv(const cel_value *v, const cel_doc_ops *ops, cel_error *err, int depth, struct json_object **out);

int cel_key_text(const cel_value *k, char *buf, size_t cap, const char **s, size_t *n)
{
    switch (k->kind) {
    case CEL_STRING: *s = k->u.s; *n = k->n; return 0;
    case CEL_INT: *n = (size_t)snprintf(buf, cap, "%lld", (long long)k->u.i); break;
    case CEL_UINT: *n = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)k->u.u); break;
    case CEL_BOOL: *n = (size_t)snprintf(buf, cap, "%s", k->u.b ? "true" : "false"); break;
    default: return -1;
    }
    *s = buf;
    return 0;
}

typedef struct { const cel_doc_ops *ops; cel_error *err; int depth; struct json_object *obj; } each_ctx;

static int add_member(void *ctx, const char *key, size_t klen, const void *val)
{
    each_ctx *e = ctx;
    cel_value v = cel_from_doc(e->ops, val);
    struct json_object *j = NULL;
    if (conv(&v, e->ops, e->err, e->depth + 1, &j)) return -1;
    char *k = strndup(key, klen);
    if (!k || json_object_object_add(e->obj, k, j)) {
        free(k);
        json_object_put(j);
        return -1;
    }
    free(k);
    return 0;
}

/* A document view read through another implementation of cel_doc_ops. */
static struct json_object *doc_conv(const cel_value *v, const cel_doc_ops *ops, cel_error *err, int depth)
{
    if (v->kind == CEL_LIST) {
        size_t n = ops->length(v->u.node);
        struct json_object *a = json_object_new_array_ext((int)n);
        for (size_t i = 0; a && i < n; i++) {
            cel_value e = cel_from_doc(ops, ops->index(v->u.node, i));
            struct json_object *j = NULL;
            if (conv(&e, ops, err, depth + 1, &j) || json_object_array_add(a, j)) {
                json_object_put(j);
                json_object_put(a);
                return NULL;
            }
        }
        return a;
    }
    each_ctx e = {ops, err, depth, json_object_new_object()};
    if (e.obj && ops->each(v->u.node, add_member, &e)) {
        json_object_put(e.obj);
        return NULL;
    }
    return e.obj;
}

static struct json_object *conv1(const cel_value *v, const cel_doc_ops *ops, cel_error *err, int depth)
{
    char buf[64];
    size_t n;
    if (depth > CEL_MAX_DEPTH * 2) {
        cel_err_at(err, NULL, 0, "value nested too deeply for JSON");
        return NULL;
    }
    switch (v->kind) {
    case CEL_NULL: return NULL;
    case CEL_BOOL: return json_object_new_boolean(v->u.b);
    case CEL_INT: return json_object_new_int64(v->u.i);
    case CEL_UINT: return json_object_new_uint64(v->u.u);
    case CEL_DOUBLE: {
        const char *special;
        int64_t whole;
        switch (cel_json_double(v->u.d, &special, &whole)) {
        case CEL_JD_STRING: return json_object_new_string(special);
        case CEL_JD_WHOLE: return json_object_new_int64(whole);
        default: return json_object_new_double(v->u.d);
        }
    }
    case CEL_STRING: return json_object_new_string_len(v->u.s, (int)v->n);
    case CEL_BYTES: {
        char *b = b64_encode(v->u.s, v->n, &n);
        struct json_object *o = b ? json_object_new_string_len(b, (int)n) : NULL;
        free(b);
        return o;
    }
    case CEL_DURATION:
        n = cel_fmt_duration(buf, sizeof buf, v->u.sec, (int32_t)v->n);
        return json_object_new_string_len(buf, (int)n);
    case CEL_TIMESTAMP:
        n = cel_fmt_timestamp(buf, sizeof buf, v->u.sec, (int32_t)v->n);
        return json_object_new_string_len(buf, (int)n);
    case CEL_TYPE: return json_object_new_string(cel_kind_name((cel_kind)v->sub));
    case CEL_OPTIONAL: {
        struct json_object *o = NULL;
        if (v->n) conv(v->u.opt, ops, err, depth + 1, &o);
        return o;
    }
    case CEL_LIST:
    case CEL_MAP:
        if (v->sub) {
            if (ops == &cel_doc_jsonc) return json_object_get((struct json_object *)v->u.node);
            return doc_conv(v, ops, err, depth);
        }
        break;
    default:
        cel_err_at(err, NULL, 0, "%s has no JSON form", cel_type_name(*v));
        return NULL;
    }
    if (v->kind == CEL_LIST) {
        struct json_object *a = json_object_new_array_ext((int)v->n);
        for (uint32_t i = 0; a && i < v->n; i++) {
            struct json_object *e = NULL;
            if (conv(&v->u.l[i], ops, err, depth + 1, &e) || json_object_array_add(a, e)) {
                json_object_put(e);
                json_object_put(a);
                return NULL;
            }
        }
        return a;
    }
    struct json_object *o = json_object_new_object();
    for (uint32_t i = 0; o && i < v->n; i++) {
        const char *ks;
        size_t kn;
        char kb[32], key[CEL_JSON_MAX_KEY];
        if (cel_key_text(&v->u.m[i].k, kb, sizeof kb, &ks, &kn) || kn >= sizeof key) {
            cel_err_at(err, NULL, 0, "map key has no JSON form");
            json_object_put(o);
            return NULL;
        }
        memcpy(key, ks, kn);
        key[kn] = '\0';
        struct json_object *e = NULL;
        if (conv(&v->u.m[i].v, ops, err, depth + 1, &e) || json_object_object_add(o, key, e)) {
            json_object_put(e);
            json_object_put(o);
            return NULL;
        }
    }
    return o;
}

static int conv(const cel_value *v, const cel_doc_ops *ops, cel_error *err, int depth, struct json_object **out)
{
    *out = conv1(v, ops, err, depth);
    if (*out || v->kind == CEL_NULL || (v->kind == CEL_OPTIONAL && !v->n)) return 0;
    if (v->kind == CEL_OPTIONAL && !err->msg[0]) return 0; /* optional of null */
    if (!err->msg[0]) cel_err_at(err, NULL, 0, "out of memory");
    return -1;
}

int cel_value_to_json(const cel_value *v, const cel_doc_ops *ops, struct json_object **out, cel_error *err)
{
    err->msg[0] = '\0';
    return conv(v, ops, err, 0, out);
}
