/* checkjson.c - proto3 JSON accepts both lowerCamelCase and the original
 * field names, so every lookup tries both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "checkjson.h"

static struct json_object *get(struct json_object *o, const char *camel,
                               const char *snake)
{
    struct json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object))
        return NULL;
    if (json_object_object_get_ex(o, camel, &v))
        return v;
    if (snake && json_object_object_get_ex(o, snake, &v))
        return v;
    return NULL;
}

static pc_str str(struct json_object *o, const char *camel, const char *snake)
{
    struct json_object *v = get(o, camel, snake);
    pc_str s = {"", 0};
    if (v && json_object_is_type(v, json_type_string)) {
        s.ptr = json_object_get_string(v);
        s.len = (size_t)json_object_get_string_len(v);
    }
    return s;
}

/* int64 fields are strings in proto3 JSON, but numbers are accepted too. */
static int64_t num(struct json_object *o, const char *camel, const char *snake,
                   int64_t dflt)
{
    struct json_object *v = get(o, camel, snake);
    if (!v)
        return dflt;
    if (json_object_is_type(v, json_type_string))
        return strtoll(json_object_get_string(v), NULL, 10);
    return json_object_get_int64(v);
}

static pc_kv *map_kv(struct json_object *m, size_t *n)
{
    *n = 0;
    if (!m || !json_object_is_type(m, json_type_object))
        return NULL;
    size_t cap = (size_t)json_object_object_length(m);
    pc_kv *kv = calloc(cap ? cap : 1, sizeof *kv);
    if (!kv)
        return NULL;
    json_object_object_foreach(m, k, v) {
        kv[*n].key = (pc_str){k, strlen(k)};
        /* A string keeps its length ("\u0000" included); other values
         * are taken as their JSON text. */
        const char *s = json_object_get_string(v);
        size_t sl = json_object_is_type(v, json_type_string)
                        ? (size_t)json_object_get_string_len(v)
                        : (s ? strlen(s) : 0);
        kv[*n].value = (pc_str){s ? s : "", sl};
        (*n)++;
    }
    return kv;
}

/* header_map: {"headers": [{"key", "value" | "rawValue" (base64)}]}; raw
 * values are taken as sent in their base64 text only when no value is
 * given, which keeps this reader free of a decoder. */
static pc_kv *header_map(struct json_object *hm, pc_kv *kv, size_t *n)
{
    struct json_object *list = get(hm, "headers", NULL);
    if (!list || !json_object_is_type(list, json_type_array))
        return kv;
    size_t add = json_object_array_length(list);
    pc_kv *nk = realloc(kv, (*n + add + 1) * sizeof *nk);
    if (!nk)
        return kv;
    for (size_t i = 0; i < add; i++) {
        struct json_object *h = json_object_array_get_idx(list, i);
        pc_str k = str(h, "key", NULL), v = str(h, "value", NULL);
        if (!v.len)
            v = str(h, "rawValue", "raw_value");
        if (!k.len)
            continue;
        nk[*n].key = k;
        nk[*n].value = v;
        (*n)++;
    }
    return nk;
}

static void peer(struct json_object *p, pc_peer_view *out, pc_kv **labels)
{
    struct json_object *addr = get(p, "address", NULL);
    struct json_object *sa = get(addr, "socketAddress", "socket_address");
    if (sa) {
        out->address = str(sa, "address", NULL);
        out->port = (uint32_t)num(sa, "portValue", "port_value", 0);
    } else {
        out->address = str(get(addr, "pipe", NULL), "path", NULL);
    }
    out->service = str(p, "service", NULL);
    out->principal = str(p, "principal", NULL);
    out->certificate = str(p, "certificate", NULL);
    *labels = map_kv(get(p, "labels", NULL), &out->n_labels);
    out->labels = *labels;
}

/* "2026-11-28T10:00:00.5Z" -> seconds and nanos (UTC only). */
static void timestamp(const char *s, int64_t *sec, int32_t *nanos)
{
    struct tm tm = {0};
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return;
    *sec = (int64_t)timegm(&tm);
    if (*rest == '.') {
        int32_t n = 0, digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (digits++ < 9)
                n = n * 10 + (*rest - '0');
        while (digits++ < 9)
            n *= 10;
        *nanos = n;
    }
}

int checkjson_parse(const char *text, size_t len, checkjson *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return CHECKJSON_SYNTAX;
    out->doc = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!out->doc || je != json_tokener_success) {
        snprintf(err, errlen, "not a JSON CheckRequest: %s",
                 json_tokener_error_desc(je));
        json_object_put(out->doc);
        out->doc = NULL;
        return CHECKJSON_SYNTAX;
    }
    pc_request_view *v = &out->view;
    v->struct_size = sizeof *v;
    v->size = -1;
    struct json_object *attrs = get(out->doc, "attributes", NULL);
    struct json_object *req = get(attrs, "request", NULL);
    struct json_object *http = get(req, "http", NULL);
    if (!http || !json_object_is_type(http, json_type_object)) {
        snprintf(err, errlen, "attributes.request.http is missing");
        return CHECKJSON_NO_HTTP;
    }
    v->id = str(http, "id", NULL);
    v->method = str(http, "method", NULL);
    v->path = str(http, "path", NULL);
    v->host = str(http, "host", NULL);
    v->scheme = str(http, "scheme", NULL);
    v->query = str(http, "query", NULL);
    v->fragment = str(http, "fragment", NULL);
    v->protocol = str(http, "protocol", NULL);
    v->body = str(http, "body", NULL);
    v->raw_body = str(http, "rawBody", "raw_body");
    v->size = num(http, "size", NULL, -1);
    size_t nh;
    out->headers = map_kv(get(http, "headers", NULL), &nh);
    out->headers = header_map(get(http, "headerMap", "header_map"), out->headers, &nh);
    v->headers = out->headers;
    v->n_headers = nh;
    struct json_object *t = get(req, "time", NULL);
    if (t && json_object_is_type(t, json_type_string)) {
        timestamp(json_object_get_string(t), &v->time_sec, &v->time_nanos);
    } else if (t && json_object_is_type(t, json_type_object)) {
        /* {"seconds": N, "nanos": N}: the shape request.time has in the
         * Authorization JSON, so a captured document can be fed back. */
        v->time_sec = num(t, "seconds", NULL, 0);
        int64_t ns = num(t, "nanos", NULL, 0);
        v->time_nanos = ns >= 0 && ns <= 999999999 ? (int32_t)ns : -1;
    }
    out->ctxext = map_kv(get(attrs, "contextExtensions", "context_extensions"),
                         &v->n_context_extensions);
    v->context_extensions = out->ctxext;
    peer(get(attrs, "source", NULL), &v->source, &out->src_labels);
    peer(get(attrs, "destination", NULL), &v->destination, &out->dst_labels);
    v->sni = str(get(attrs, "tlsSession", "tls_session"), "sni", NULL);
    struct json_object *md = get(attrs, "metadataContext", "metadata_context");
    if (md) {
        /* Authorino exposes it with proto field names. */
        struct json_object *fm = get(md, "filterMetadata", "filter_metadata");
        struct json_object *wrap = json_object_new_object();
        if (fm)
            json_object_object_add(wrap, "filter_metadata", json_object_get(fm));
        out->metadata_json = strdup(json_object_to_json_string_ext(
            wrap, JSON_C_TO_STRING_PLAIN));
        json_object_put(wrap);
        if (out->metadata_json)
            v->metadata_context_json = (pc_str){out->metadata_json,
                                                strlen(out->metadata_json)};
    }
    return CHECKJSON_OK;
}

void checkjson_free(checkjson *c)
{
    json_object_put(c->doc);
    free(c->headers);
    free(c->ctxext);
    free(c->src_labels);
    free(c->dst_labels);
    free(c->metadata_json);
    memset(c, 0, sizeof *c);
}
