/* authjson.c - request view into the Authorization JSON.
 *
 * `request.*` are Authorino's well-known attributes; `context` is Envoy's
 * AttributeContext with proto field names, which older AuthConfigs still
 * select from. Both share sub-objects (headers, context extensions) by
 * reference instead of copying them. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "authjson.h"
#include "jsonsink.h"

/* Every part of the request goes in or the document is not built: a
 * member that silently went missing would skip a `when` that selects it.
 * The helpers below record any failure in *bad and authjson_build returns
 * NULL then (the caller denies). Frontends hand over what json-c can hold
 * (keys without NUL, strings under 2 GiB); anything else fails here too. */

/* Adds a member under a string literal key that the object does not have
 * yet: json-c then neither copies the key nor looks it up first. */
static void jadd(struct json_object *o, const char *key, struct json_object *v,
                 int *bad)
{
    if (!o || !v || json_object_object_add_ex(o, key, v,
                                              JSON_C_OBJECT_ADD_KEY_IS_NEW |
                                                  JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0) {
        json_object_put(v);
        *bad = 1;
    }
}

static struct json_object *jstr_n(const char *p, size_t len, int *bad)
{
    struct json_object *o = len <= (size_t)INT_MAX
        ? json_object_new_string_len(p ? p : "", (int)len) : NULL;
    if (!o)
        *bad = 1;
    return o;
}

static struct json_object *jstr(pc_str s, int *bad)
{
    return jstr_n(s.ptr, s.len, bad);
}

static struct json_object *jobj(int *bad)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        *bad = 1;
    return o;
}

/* Adds key only when s is non-empty: Authorino omits empty parts. */
static void put_str(struct json_object *o, const char *key, pc_str s, int *bad)
{
    if (s.len)
        jadd(o, key, jstr(s, bad), bad);
}

/* A NUL-terminated copy of a key: in buf when it fits, else on the heap
 * (*heap is then set, for the caller to free). NULL when it holds a NUL,
 * which no json-c key can. */
static const char *key_z(pc_str k, char *buf, size_t cap, char **heap)
{
    *heap = NULL;
    if (k.len && memchr(k.ptr, '\0', k.len))
        return NULL;
    char *d = buf;
    if (k.len >= cap && !(d = *heap = malloc(k.len + 1)))
        return NULL;
    if (k.len)
        memcpy(d, k.ptr, k.len);
    d[k.len] = '\0';
    return d;
}

/* Sets o[k] = v; with is_new, k is known to be absent (no second lookup),
 * else an earlier value is replaced (the last one wins). Takes v. */
static void kv_set(struct json_object *o, const char *k, struct json_object *v,
                   int is_new, int *bad)
{
    if (!v || json_object_object_add_ex(o, k, v,
                                        is_new ? JSON_C_OBJECT_ADD_KEY_IS_NEW : 0) != 0) {
        json_object_put(v);
        *bad = 1;
    }
}

/* The values of repeated names, joined with "," as Envoy does, at a cost
 * linear in their total size: one pass groups the entries by name (json-c's
 * seeded hash over the keys the object already holds), one builds each
 * joined string at its final size. Joining pairwise as they come would
 * copy the growing string again for each repeat, quadratic in the count. */
static void kv_join_repeats(struct json_object *o, const pc_kv *kv, size_t n,
                            int *bad)
{
    struct grp { size_t last; size_t total; } *g = malloc(n * sizeof *g);
    size_t *next = malloc(n * sizeof *next), *first = malloc(n * sizeof *first);
    const char **names = malloc(n * sizeof *names);
    struct lh_table *t = n <= INT_MAX / 2 ? lh_kchar_table_new((int)(2 * n), NULL) : NULL;
    size_t ng = 0;
    if (!g || !next || !first || !names || !t) {
        *bad = 1;
        goto out;
    }
    for (size_t i = 0; i < n && !*bad; i++) {
        char buf[256], *heap;
        const char *k = key_z(kv[i].key, buf, sizeof buf, &heap);
        struct lh_entry *e = k ? lh_table_lookup_entry(json_object_get_object(o), k) : NULL;
        void *gi;
        free(heap);
        if (!e) {
            *bad = 1;
            break;
        }
        next[i] = SIZE_MAX;
        if (lh_table_lookup_ex(t, e->k, &gi)) {
            size_t x = (size_t)(uintptr_t)gi;
            next[g[x].last] = i;
            g[x].last = i;
            g[x].total += 1 + kv[i].value.len;
        } else {
            first[ng] = i;
            names[ng] = e->k;
            g[ng].last = i;
            g[ng].total = kv[i].value.len;
            if (lh_table_insert(t, e->k, (void *)(uintptr_t)ng) != 0)
                *bad = 1;
            ng++;
        }
    }
    for (size_t x = 0; x < ng && !*bad; x++) {
        size_t i = first[x];
        if (g[x].last == i)
            continue; /* a single value, already in place */
        char *b = g[x].total <= (size_t)INT_MAX ? malloc(g[x].total + 1) : NULL;
        if (!b) {
            *bad = 1;
            break;
        }
        size_t len = 0;
        /* A comma between every two values, empty ones too: "" then "x"
         * is ",x", never "x", which an empty first value would forge. */
        for (int lead = 1; i != SIZE_MAX; i = next[i], lead = 0) {
            if (!lead)
                b[len++] = ',';
            if (kv[i].value.len)
                memcpy(b + len, kv[i].value.ptr, kv[i].value.len);
            len += kv[i].value.len;
        }
        struct json_object *v = jstr_n(b, len, bad);
        free(b);
        if (v)
            kv_set(o, names[x], v, 0, bad);
    }
out:
    if (t)
        lh_table_free(t);
    free(g);
    free(next);
    free(first);
    free(names);
}

/* A heap copy of a key for the object to own; NULL when it holds a NUL,
 * which no json-c key can, or on allocation failure. */
static char *key_dup(pc_str k)
{
    if (k.len && memchr(k.ptr, '\0', k.len))
        return NULL;
    char *d = k.len < SIZE_MAX ? malloc(k.len + 1) : NULL;
    if (!d)
        return NULL;
    if (k.len)
        memcpy(d, k.ptr, k.len);
    d[k.len] = '\0';
    return d;
}

/* An object of the pairs; with join, repeated names are joined (headers),
 * else the last value wins (labels, context extensions: proto maps).
 * Each key is hashed once and copied once: the copy made here becomes the
 * entry's key (json_object_object_add would hash it again and copy it
 * again), and a name seen before only marks the repeat. */
static struct json_object *kv_object(const pc_kv *kv, size_t n, int join, int *bad)
{
    struct json_object *o = jobj(bad);
    if (!o)
        return NULL;
    struct lh_table *t = json_object_get_object(o);
    int repeats = 0;
    for (size_t i = 0; i < n && !*bad; i++) {
        char *k = key_dup(kv[i].key);
        if (!k) {
            *bad = 1;
            break;
        }
        unsigned long h = lh_get_hash(t, k);
        struct lh_entry *e = lh_table_lookup_entry_w_hash(t, k, h);
        if (e && join) {
            repeats = 1; /* the first value stays until they are joined */
            free(k);
            continue;
        }
        struct json_object *v = jstr(kv[i].value, bad);
        if (!v) {
            free(k);
        } else if (e) {
            free(k); /* the last value wins; the entry keeps its key */
            json_object_put((struct json_object *)lh_entry_v(e));
            lh_entry_set_val(e, v);
        } else if (lh_table_insert_w_hash(t, k, v, h, 0) != 0) {
            free(k);
            json_object_put(v);
            *bad = 1;
        }
    }
    if (repeats && !*bad)
        kv_join_repeats(o, kv, n, bad);
    return o;
}

static struct json_object *jint(int64_t i, int *bad)
{
    struct json_object *o = json_object_new_int64(i);
    if (!o)
        *bad = 1;
    return o;
}

static struct json_object *peer(const pc_peer_view *p, int proto_form, int *bad)
{
    struct json_object *o = jobj(bad);
    if (!o)
        return NULL;
    if (proto_form) {
        /* context.source.address.socket_address.{address,port_value} */
        if (p->address.len) {
            struct json_object *sa = jobj(bad);
            jadd(sa, "address", jstr(p->address, bad), bad);
            jadd(sa, "port_value", jint(p->port, bad), bad);
            struct json_object *addr = jobj(bad);
            jadd(addr, "socket_address", sa, bad);
            jadd(o, "address", addr, bad);
        }
    } else {
        put_str(o, "address", p->address, bad);
        if (p->port)
            jadd(o, "port", jint(p->port, bad), bad);
    }
    put_str(o, "service", p->service, bad);
    if (p->n_labels)
        jadd(o, "labels", kv_object(p->labels, p->n_labels, 0, bad), bad);
    put_str(o, "principal", p->principal, bad);
    /* Both forms: Authorino's well-known source.certificate too. */
    put_str(o, "certificate", p->certificate, bad);
    return o;
}

/* Authorino's well-known request.time is a protobuf Timestamp marshalled by
 * encoding/json: {"seconds": N, "nanos": M}, zero fields left out (so CEL's
 * `request.time.seconds` reads it). A time outside Timestamp's years
 * 1-9999 fails. */
static struct json_object *timestamp_obj(int64_t sec, int32_t nanos, int *bad)
{
    if (sec < -62135596800LL || sec > 253402300799LL || nanos < 0 || nanos > 999999999) {
        *bad = 1;
        return NULL;
    }
    struct json_object *t = jobj(bad);
    jadd(t, "seconds", jint(sec, bad), bad);
    if (nanos)
        jadd(t, "nanos", jint(nanos, bad), bad);
    return t;
}

/* metadata_context from its JSON text; text that does not parse as an
 * object fails the build instead of leaving `metadata` out. */
static struct json_object *metadata(pc_str text, int *bad)
{
    struct json_object *meta = NULL;
    /* As deep as any frontend may send (the Struct's levels plus the
     * filter_metadata wrapper), not json-c's default of 32. */
    struct json_tokener *tok = text.len <= (size_t)INT_MAX
        ? json_tokener_new_ex(AUTHJSON_MAX_DEPTH) : NULL;
    if (tok) {
        meta = json_tokener_parse_ex(tok, text.ptr, (int)text.len);
        if (json_tokener_get_error(tok) != json_tokener_success ||
            (size_t)json_tokener_get_parse_end(tok) != text.len ||
            !json_object_is_type(meta, json_type_object)) {
            json_object_put(meta);
            meta = NULL;
        }
        json_tokener_free(tok);
    }
    if (!meta)
        *bad = 1;
    return meta;
}

static struct json_object *build(const pc_request_view *v, int with_context, int *bad)
{
    struct json_object *root = jobj(bad);
    if (!root)
        return NULL;
    struct json_object *headers = kv_object(v->headers, v->n_headers, 1, bad);
    struct json_object *ctxext = v->n_context_extensions
        ? kv_object(v->context_extensions, v->n_context_extensions, 0, bad) : NULL;

    /* context: Envoy's AttributeContext, only for configs that use it. */
    struct json_object *ctx = with_context ? jobj(bad) : NULL;
    if (ctx) {
        jadd(ctx, "source", peer(&v->source, 1, bad), bad);
        jadd(ctx, "destination", peer(&v->destination, 1, bad), bad);
        struct json_object *creq = jobj(bad);
        struct json_object *http = jobj(bad);
        put_str(http, "id", v->id, bad);
        put_str(http, "method", v->method, bad);
        jadd(http, "headers", json_object_get(headers), bad);
        put_str(http, "path", v->path, bad);
        put_str(http, "host", v->host, bad);
        put_str(http, "scheme", v->scheme, bad);
        put_str(http, "query", v->query, bad);
        put_str(http, "fragment", v->fragment, bad);
        if (v->size > 0)
            jadd(http, "size", jint(v->size, bad), bad);
        put_str(http, "protocol", v->protocol, bad);
        put_str(http, "body", v->body, bad);
        jadd(creq, "http", http, bad);
        if (v->time_sec)
            jadd(creq, "time", timestamp_obj(v->time_sec, v->time_nanos, bad), bad);
        jadd(ctx, "request", creq, bad);
        if (ctxext)
            jadd(ctx, "context_extensions", json_object_get(ctxext), bad);
    }

    /* metadata: Envoy's metadata_context, built straight from the
     * frontend's structure when it offers that, else from its JSON text. */
    int (*emit)(const void *, const pc_json_sink *) =
        v->struct_size >= offsetof(pc_request_view, metadata_arg) + sizeof(void *)
            ? v->metadata_emit : NULL;
    if (emit || v->metadata_context_json.len) {
        struct json_object *meta = emit ? jsonsink_build(emit, v->metadata_arg)
                                        : metadata(v->metadata_context_json, bad);
        if (!meta)
            *bad = 1;
        if (ctx && meta)
            jadd(ctx, "metadata_context", json_object_get(meta), bad);
        jadd(root, "metadata", meta, bad);
    }
    if (ctx)
        jadd(root, "context", ctx, bad);

    /* request: Authorino's well-known attributes. */
    struct json_object *req = jobj(bad);
    put_str(req, "id", v->id, bad);
    if (v->time_sec)
        jadd(req, "time", timestamp_obj(v->time_sec, v->time_nanos, bad), bad);
    put_str(req, "protocol", v->protocol, bad);
    put_str(req, "scheme", v->scheme, bad);
    put_str(req, "host", v->host, bad);
    put_str(req, "method", v->method, bad);
    put_str(req, "path", v->path, bad);
    if (v->path.len) {
        const char *q = memchr(v->path.ptr, '?', v->path.len);
        size_t ul = q ? (size_t)(q - v->path.ptr) : v->path.len;
        jadd(req, "url_path", jstr_n(v->path.ptr, ul, bad), bad);
        if (q)
            jadd(req, "query", jstr_n(q + 1, v->path.len - ul - 1, bad), bad);
    }
    jadd(req, "headers", json_object_get(headers), bad);
    struct json_object *h;
    if (headers && json_object_object_get_ex(headers, "referer", &h))
        jadd(req, "referer", json_object_get(h), bad);
    if (headers && json_object_object_get_ex(headers, "user-agent", &h))
        jadd(req, "user_agent", json_object_get(h), bad);
    if (v->size > 0)
        jadd(req, "size", jint(v->size, bad), bad);
    put_str(req, "body", v->body, bad);
    if (v->raw_body.len)
        jadd(req, "raw_body", jstr(v->raw_body, bad), bad);
    if (ctxext)
        jadd(req, "context_extensions", ctxext, bad);
    /* request.grpc: /package.Service/Method paths of gRPC requests. */
    if (headers && json_object_object_get_ex(headers, "content-type", &h) &&
        strncmp(json_object_get_string(h), "application/grpc", 16) == 0 &&
        v->path.len > 1 && v->path.ptr[0] == '/') {
        const char *slash = memchr(v->path.ptr + 1, '/', v->path.len - 1);
        if (slash) {
            struct json_object *g = jobj(bad);
            jadd(g, "service", jstr_n(v->path.ptr + 1,
                                      (size_t)(slash - v->path.ptr - 1), bad), bad);
            jadd(g, "method", jstr_n(slash + 1,
                                     (size_t)(v->path.ptr + v->path.len - slash - 1), bad),
                 bad);
            jadd(req, "grpc", g, bad);
        }
    }
    json_object_put(headers);
    jadd(root, "request", req, bad);
    jadd(root, "source", peer(&v->source, 0, bad), bad);
    jadd(root, "destination", peer(&v->destination, 0, bad), bad);
    return root;
}

struct json_object *authjson_build(const pc_request_view *v, int with_context)
{
    int bad = 0;
    struct json_object *root = build(v, with_context, &bad);
    if (bad) {
        json_object_put(root);
        return NULL;
    }
    return root;
}
