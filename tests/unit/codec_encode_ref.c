/*
 * codec_encode_ref.c - the reference CheckResponse encoder: the verdict as a
 * protobuf-c message tree, packed by protobuf-c. codec_encode.c must write
 * the very same bytes (test_codec.c and fuzz_checkrequest.c compare them).
 */
#include <stdalign.h>
#include <string.h>
#include "codec_int.h"
#include "codec_encode_ref.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"

typedef Envoy__Service__Auth__V3__CheckResponse CheckResponse;
typedef Envoy__Service__Auth__V3__OkHttpResponse OkHttpResponse;
typedef Envoy__Service__Auth__V3__DeniedHttpResponse DeniedHttpResponse;
typedef Envoy__Config__Core__V3__HeaderValueOption HeaderValueOption;
typedef Envoy__Config__Core__V3__HeaderValue HeaderValue;
typedef Google__Protobuf__Struct Struct;
typedef Google__Protobuf__Struct__FieldsEntry FieldsEntry;
typedef Google__Protobuf__Value Value;

typedef struct enc {
    codec_arena arena;
    const pc_host *host;
    int failed;
} enc;

static char *text(enc *e, pc_str s, int lower)
{
    char *p = codec_utf8_clean(&e->arena, s.len ? s.ptr : "", s.len, lower);
    if (!p)
        e->failed = 1;
    return p ? p : (char *)"";
}

/* Headers without a name are dropped: Envoy cannot add them. */
static HeaderValueOption **header_options(enc *e, const pc_header *h,
                                          size_t n, int v2, size_t *count)
{
    *count = 0;
    if (!h || !n)
        return NULL;
    HeaderValueOption **list = codec_arena_alloc(&e->arena, n * sizeof *list);
    HeaderValueOption *opt = codec_arena_alloc(&e->arena, n * sizeof *opt);
    HeaderValue *hv = codec_arena_alloc(&e->arena, n * sizeof *hv);
    if (!list || !opt || !hv) {
        e->failed = 1;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name.len == 0)
            continue;
        envoy__config__core__v3__header_value__init(&hv[k]);
        hv[k].key = text(e, h[i].name, 1);
        hv[k].value = text(e, h[i].value, 0);
        envoy__config__core__v3__header_value_option__init(&opt[k]);
        opt[k].header = &hv[k];
        /* Overwrite, the meaning of an unset `append` in every Envoy; v2
         * has no field 3, and 0 is never put on the wire. */
        if (!v2)
            opt[k].append_action =
                ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS_OR_ADD;
        list[k] = &opt[k];
        k++;
    }
    *count = k;
    return list;
}

static Struct *to_struct(enc *e, const pc_value *obj, int depth);

static Value *to_value(enc *e, const pc_value *v, int depth)
{
    const pc_host *h = e->host;
    Value *pv = codec_arena_alloc(&e->arena, sizeof *pv);
    if (!pv) {
        e->failed = 1;
        return NULL;
    }
    google__protobuf__value__init(pv);
    pc_type t = v ? h->value_type(v) : PC_TYPE_NULL;
    if (depth > CODEC_MAX_JSON_DEPTH && (t == PC_TYPE_ARRAY || t == PC_TYPE_OBJECT))
        t = PC_TYPE_NULL;
    switch (t) {
    case PC_TYPE_BOOL:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        pv->bool_value = h->value_bool(v) != 0;
        break;
    case PC_TYPE_INT:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        pv->number_value = (double)h->value_int(v);
        break;
    case PC_TYPE_DOUBLE:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        pv->number_value = h->value_double(v);
        break;
    case PC_TYPE_STRING: {
        size_t len = 0;
        const char *s = h->value_string(v, &len);
        pc_str str = {s ? s : "", s ? len : 0};
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        pv->string_value = text(e, str, 0);
        break;
    }
    case PC_TYPE_ARRAY: {
        Google__Protobuf__ListValue *lv =
            codec_arena_alloc(&e->arena, sizeof *lv);
        size_t n = h->value_length(v);
        Value **vals = n ? codec_arena_alloc(&e->arena, n * sizeof *vals) : NULL;
        if (!lv || (n && !vals)) {
            e->failed = 1;
            return pv;
        }
        google__protobuf__list_value__init(lv);
        for (size_t i = 0; i < n && !e->failed; i++) {
            Value *item = to_value(e, h->value_at(v, i), depth + 1);
            if (item)
                vals[lv->n_values++] = item;
        }
        lv->values = vals;
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        pv->list_value = lv;
        break;
    }
    case PC_TYPE_OBJECT:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        pv->struct_value = to_struct(e, v, depth + 1);
        if (!pv->struct_value)
            pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        break;
    default:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        pv->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
        break;
    }
    return pv;
}

typedef struct fill_ctx {
    enc *e;
    Struct *s;
    size_t cap;
    int depth;
} fill_ctx;

static int add_field(void *arg, const char *key, const pc_value *val)
{
    fill_ctx *c = arg;
    if (c->s->n_fields >= c->cap)
        return 1; /* more members than value_length said */
    FieldsEntry *fe = codec_arena_alloc(&c->e->arena, sizeof *fe);
    if (!fe) {
        c->e->failed = 1;
        return 1;
    }
    google__protobuf__struct__fields_entry__init(fe);
    fe->key = text(c->e, pc_str_c(key), 0);
    fe->value = to_value(c->e, val, c->depth);
    c->s->fields[c->s->n_fields++] = fe;
    return c->e->failed;
}

static Struct *to_struct(enc *e, const pc_value *obj, int depth)
{
    Struct *s = codec_arena_alloc(&e->arena, sizeof *s);
    size_t n = e->host->value_length(obj);
    if (!s) {
        e->failed = 1;
        return NULL;
    }
    google__protobuf__struct__init(s);
    if (!n)
        return s;
    s->fields = codec_arena_alloc(&e->arena, n * sizeof *s->fields);
    if (!s->fields) {
        e->failed = 1;
        return NULL;
    }
    fill_ctx c = {e, s, n, depth};
    e->host->value_foreach(obj, add_field, &c);
    return s;
}

int codec_encode_check_response_ref(const pc_verdict *v, const pc_host *host,
                                int v2, codec_buf *out)
{
    if (!v || !out)
        return CODEC_EINVAL;
    alignas(max_align_t) unsigned char stack[4096];
    enc e = {.host = host};
    codec_arena_init_on(&e.arena, stack, sizeof stack);

    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    CheckResponse resp = ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__INIT;
    OkHttpResponse ok;
    /* not the INIT macro: it names the deprecated field 3, which clang
     * then reports here */
    envoy__service__auth__v3__ok_http_response__init(&ok);
    DeniedHttpResponse denied =
        ENVOY__SERVICE__AUTH__V3__DENIED_HTTP_RESPONSE__INIT;
    Envoy__Type__V3__HttpStatus http = ENVOY__TYPE__V3__HTTP_STATUS__INIT;

    status.code = v->grpc_code;
    resp.status = &status;
    size_t n_headers;
    HeaderValueOption **headers =
        header_options(&e, v->headers, v->n_headers, v2, &n_headers);
    if (v->allowed) {
        ok.headers = headers;
        ok.n_headers = n_headers;
        resp.http_response_case =
            ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_OK_RESPONSE;
        resp.ok_response = &ok;
    } else {
        if (status.code == 0) /* never let a denial read as OK */
            status.code = PC_GRPC_PERMISSION_DENIED;
        status.message = text(&e, v->reason, 0);
        http.code = (Envoy__Type__V3__StatusCode)(v->http_status > 0 ? v->http_status : 0);
        denied.status = &http;
        denied.headers = headers;
        denied.n_headers = n_headers;
        denied.body = text(&e, v->body, 0);
        resp.http_response_case =
            ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_DENIED_RESPONSE;
        resp.denied_response = &denied;
    }
    if (!v2 && v->dynamic_metadata && host &&
        host->value_type(v->dynamic_metadata) == PC_TYPE_OBJECT)
        resp.dynamic_metadata = to_struct(&e, v->dynamic_metadata, 1);

    int rc = e.failed ? CODEC_ENOMEM : codec_pack_grpc(&resp.base, out);
    codec_arena_free(&e.arena);
    return rc;
}
