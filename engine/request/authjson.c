/* authjson.c - request view into the Authorization JSON.
 *
 * `request.*` are Authorino's well-known attributes; `context` is Envoy's
 * AttributeContext with proto field names, which older AuthConfigs still
 * select from. Both share sub-objects (headers, context extensions) by
 * reference instead of copying them. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "authjson.h"

/* Adds a member under a string literal key that the object does not have
 * yet: json-c then neither copies the key nor looks it up first. */
static void jadd(struct json_object *o, const char *key, struct json_object *v)
{
    json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
                                             JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static struct json_object *jstr(pc_str s)
{
    return json_object_new_string_len(s.ptr ? s.ptr : "", (int)s.len);
}

/* Adds key only when s is non-empty: Authorino omits empty parts. */
static void put_str(struct json_object *o, const char *key, pc_str s)
{
    if (s.len)
        jadd(o, key, jstr(s));
}

static struct json_object *kv_object(const pc_kv *kv, size_t n, int join)
{
    struct json_object *o = json_object_new_object();
    for (size_t i = 0; i < n; i++) {
        char key[256];
        size_t kl = kv[i].key.len < sizeof key - 1 ? kv[i].key.len : sizeof key - 1;
        memcpy(key, kv[i].key.ptr, kl);
        key[kl] = '\0';
        struct json_object *old;
        if (join && json_object_object_get_ex(o, key, &old)) {
            /* Repeated header: joined with "," as Envoy does. */
            size_t ol = (size_t)json_object_get_string_len(old);
            char stackbuf[1024];
            char *b = ol + 1 + kv[i].value.len <= sizeof stackbuf
                          ? stackbuf : malloc(ol + 1 + kv[i].value.len);
            if (!b)
                continue;
            memcpy(b, json_object_get_string(old), ol);
            b[ol] = ',';
            memcpy(b + ol + 1, kv[i].value.ptr, kv[i].value.len);
            json_object_object_add(o, key, json_object_new_string_len(
                                               b, (int)(ol + 1 + kv[i].value.len)));
            if (b != stackbuf)
                free(b);
            continue;
        }
        json_object_object_add(o, key, jstr(kv[i].value));
    }
    return o;
}

static struct json_object *peer(const pc_peer_view *p, int proto_form)
{
    struct json_object *o = json_object_new_object();
    if (proto_form) {
        /* context.source.address.socket_address.{address,port_value} */
        if (p->address.len) {
            struct json_object *sa = json_object_new_object();
            jadd(sa, "address", jstr(p->address));
            jadd(sa, "port_value", json_object_new_int64(p->port));
            struct json_object *addr = json_object_new_object();
            jadd(addr, "socket_address", sa);
            jadd(o, "address", addr);
        }
    } else {
        put_str(o, "address", p->address);
        if (p->port)
            jadd(o, "port", json_object_new_int64(p->port));
    }
    put_str(o, "service", p->service);
    if (p->n_labels)
        jadd(o, "labels", kv_object(p->labels, p->n_labels, 0));
    put_str(o, "principal", p->principal);
    if (proto_form)
        put_str(o, "certificate", p->certificate);
    return o;
}

static struct json_object *rfc3339(int64_t sec, int32_t nanos)
{
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    char b[64];
    if (nanos)
        snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
    else
        snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return json_object_new_string(b);
}

struct json_object *authjson_build(const pc_request_view *v, int with_context)
{
    struct json_object *root = json_object_new_object();
    if (!root)
        return NULL;
    struct json_object *headers = kv_object(v->headers, v->n_headers, 1);
    struct json_object *ctxext = v->n_context_extensions
        ? kv_object(v->context_extensions, v->n_context_extensions, 0) : NULL;

    /* context: Envoy's AttributeContext, only for configs that use it. */
    struct json_object *ctx = with_context ? json_object_new_object() : NULL;
    if (ctx) {
        jadd(ctx, "source", peer(&v->source, 1));
        jadd(ctx, "destination", peer(&v->destination, 1));
        struct json_object *creq = json_object_new_object();
        struct json_object *http = json_object_new_object();
        put_str(http, "id", v->id);
        put_str(http, "method", v->method);
        jadd(http, "headers", json_object_get(headers));
        put_str(http, "path", v->path);
        put_str(http, "host", v->host);
        put_str(http, "scheme", v->scheme);
        put_str(http, "query", v->query);
        put_str(http, "fragment", v->fragment);
        if (v->size > 0)
            jadd(http, "size", json_object_new_int64(v->size));
        put_str(http, "protocol", v->protocol);
        put_str(http, "body", v->body);
        jadd(creq, "http", http);
        if (v->time_sec) {
            struct json_object *t = json_object_new_object();
            jadd(t, "seconds", json_object_new_int64(v->time_sec));
            if (v->time_nanos)
                jadd(t, "nanos", json_object_new_int(v->time_nanos));
            jadd(creq, "time", t);
        }
        jadd(ctx, "request", creq);
        if (ctxext)
            jadd(ctx, "context_extensions", json_object_get(ctxext));
    }

    /* metadata: Envoy's metadata_context. */
    struct json_object *meta = NULL;
    if (v->metadata_context_json.len) {
        struct json_tokener *tok = json_tokener_new();
        if (tok) {
            meta = json_tokener_parse_ex(tok, v->metadata_context_json.ptr,
                                         (int)v->metadata_context_json.len);
            json_tokener_free(tok);
        }
    }
    if (meta) {
        if (ctx)
            jadd(ctx, "metadata_context", json_object_get(meta));
        jadd(root, "metadata", meta);
    }
    if (ctx)
        jadd(root, "context", ctx);

    /* request: Authorino's well-known attributes. */
    struct json_object *req = json_object_new_object();
    put_str(req, "id", v->id);
    if (v->time_sec)
        jadd(req, "time", rfc3339(v->time_sec, v->time_nanos));
    put_str(req, "protocol", v->protocol);
    put_str(req, "scheme", v->scheme);
    put_str(req, "host", v->host);
    put_str(req, "method", v->method);
    put_str(req, "path", v->path);
    if (v->path.len) {
        const char *q = memchr(v->path.ptr, '?', v->path.len);
        size_t ul = q ? (size_t)(q - v->path.ptr) : v->path.len;
        jadd(req, "url_path",
                               json_object_new_string_len(v->path.ptr, (int)ul));
        if (q)
            jadd(req, "query", json_object_new_string_len(
                                                     q + 1, (int)(v->path.len - ul - 1)));
    }
    jadd(req, "headers", headers);
    struct json_object *h;
    if (json_object_object_get_ex(headers, "referer", &h))
        jadd(req, "referer", json_object_get(h));
    if (json_object_object_get_ex(headers, "user-agent", &h))
        jadd(req, "user_agent", json_object_get(h));
    if (v->size > 0)
        jadd(req, "size", json_object_new_int64(v->size));
    put_str(req, "body", v->body);
    if (v->raw_body.len)
        jadd(req, "raw_body", jstr(v->raw_body));
    if (ctxext)
        jadd(req, "context_extensions", ctxext);
    /* request.grpc: /package.Service/Method paths of gRPC requests. */
    if (json_object_object_get_ex(headers, "content-type", &h) &&
        strncmp(json_object_get_string(h), "application/grpc", 16) == 0 &&
        v->path.len > 1 && v->path.ptr[0] == '/') {
        const char *slash = memchr(v->path.ptr + 1, '/', v->path.len - 1);
        if (slash) {
            struct json_object *g = json_object_new_object();
            jadd(g, "service", json_object_new_string_len(
                                                     v->path.ptr + 1,
                                                     (int)(slash - v->path.ptr - 1)));
            jadd(g, "method", json_object_new_string_len(
                                                    slash + 1,
                                                    (int)(v->path.ptr + v->path.len - slash - 1)));
            jadd(req, "grpc", g);
        }
    }
    jadd(root, "request", req);
    jadd(root, "source", peer(&v->source, 0));
    jadd(root, "destination", peer(&v->destination, 0));
    return root;
}
