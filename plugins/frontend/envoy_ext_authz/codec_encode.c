/*
 * codec_encode.c - pc_verdict to CheckResponse, written straight to the
 * wire after its gRPC prefix in the caller's buffer.
 *
 * No message tree and no protobuf-c packer: two passes over the verdict
 * with the same walk. The first counts bytes and records the length of
 * every nested message in the order the walk opens them; the second writes
 * the bytes, taking each length prefix from that record. The bytes are
 * exactly those protobuf-c packs for the equivalent message tree (fields in
 * number order, proto3 zero values left out except in a oneof, minimal
 * varints): tests/unit/test_codec.c and fuzz_checkrequest.c compare them
 * with that packer.
 */
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

/* Wire types and field numbers (external_auth.proto, base.proto,
 * status.proto, http_status.proto, struct.proto). */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };
enum {
    F_RESP_STATUS = 1, F_RESP_DENIED = 2, F_RESP_OK = 3, F_RESP_DYNMETA = 4,
    F_STATUS_CODE = 1, F_STATUS_MESSAGE = 2,
    F_DENIED_STATUS = 1, F_DENIED_HEADERS = 2, F_DENIED_BODY = 3,
    F_OK_HEADERS = 2,
    F_HTTPSTATUS_CODE = 1,
    F_HVO_HEADER = 1, F_HVO_APPEND_ACTION = 3,
    F_HV_KEY = 1, F_HV_VALUE = 2,
    F_STRUCT_FIELDS = 1, F_ENTRY_KEY = 1, F_ENTRY_VALUE = 2,
    F_VALUE_NULL = 1, F_VALUE_NUMBER = 2, F_VALUE_STRING = 3,
    F_VALUE_BOOL = 4, F_VALUE_STRUCT = 5, F_VALUE_LIST = 6,
    F_LIST_VALUES = 1
};
/* HeaderValueOption.HeaderAppendAction */
#define APPEND_ACTION_OVERWRITE_IF_EXISTS_OR_ADD 2

/* Length records kept on the stack before any malloc: a usual verdict
 * opens a few messages per header. */
#define SIZES_ON_STACK 128

typedef struct wenc {
    const pc_host *host;
    uint8_t *out;   /* NULL in the counting pass */
    size_t len;     /* bytes counted or written */
    size_t *sizes;  /* message lengths, in the order the walk opens them */
    size_t n_sizes, cap_sizes, next;
    int failed;
} wenc;

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(wenc *e, uint64_t v)
{
    if (!e->out) {
        e->len += varint_size(v);
        return;
    }
    uint8_t *p = e->out + e->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    e->len = (size_t)(p - e->out);
}

static void put_tag(wenc *e, uint32_t field, int wt)
{
    put_varint(e, (uint64_t)field << 3 | (uint64_t)wt);
}

/* int32 and enum fields: negative values take ten bytes, as in every
 * protobuf encoder. */
static void put_int32(wenc *e, uint32_t field, int32_t v)
{
    put_tag(e, field, WT_VARINT);
    put_varint(e, v < 0 ? (uint64_t)(int64_t)v : (uint64_t)(uint32_t)v);
}

static void put_double(wenc *e, uint32_t field, double d)
{
    put_tag(e, field, WT_I64);
    if (e->out) {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        for (int i = 0; i < 8; i++)
            e->out[e->len + (size_t)i] = (uint8_t)(bits >> (8 * i));
    }
    e->len += 8;
}

/* A string field, made valid UTF-8 (lowercased if lower). An empty one is
 * left out unless it is a oneof member (always). */
static void put_text(wenc *e, uint32_t field, pc_str s, int lower, int always)
{
    const char *p = s.len ? s.ptr : "";
    int dirty;
    size_t n = codec_utf8_clean_len(p, s.len, lower, &dirty);
    if (n == 0 && !always)
        return;
    put_tag(e, field, WT_LEN);
    put_varint(e, n);
    if (e->out) {
        if (dirty)
            codec_utf8_clean_into(p, s.len, lower, (char *)e->out + e->len);
        else
            memcpy(e->out + e->len, p, n);
    }
    e->len += n;
}

/* Opens a message field: its tag, then (writing) its recorded length. The
 * counting pass returns the record to fill in at msg_end. */
static size_t msg_begin(wenc *e, uint32_t field)
{
    put_tag(e, field, WT_LEN);
    if (e->out) {
        /* The walk repeats the counting pass's (the verdict is immutable);
         * the bound only keeps a broken one inside the record. */
        put_varint(e, e->next < e->n_sizes ? e->sizes[e->next] : 0);
        e->next++;
        return 0;
    }
    if (e->n_sizes == e->cap_sizes) {
        size_t cap = e->cap_sizes * 2;
        size_t *s = e->cap_sizes == SIZES_ON_STACK ? malloc(cap * sizeof *s)
                                                   : realloc(e->sizes, cap * sizeof *s);
        if (!s) {
            e->failed = 1;
            return SIZE_MAX;
        }
        if (e->cap_sizes == SIZES_ON_STACK)
            memcpy(s, e->sizes, e->n_sizes * sizeof *s);
        e->sizes = s;
        e->cap_sizes = cap;
    }
    e->sizes[e->n_sizes] = e->len; /* where the content starts */
    return e->n_sizes++;
}

static void msg_end(wenc *e, size_t rec)
{
    if (e->out || rec == SIZE_MAX)
        return;
    size_t n = e->len - e->sizes[rec];
    e->sizes[rec] = n;
    e->len += varint_size(n);
}

/* Headers without a name are dropped: Envoy cannot add them. */
static void put_headers(wenc *e, uint32_t field, const pc_header *h, size_t n,
                        int v2)
{
    for (size_t i = 0; h && i < n; i++) {
        if (h[i].name.len == 0)
            continue;
        size_t opt = msg_begin(e, field);
        size_t hv = msg_begin(e, F_HVO_HEADER);
        put_text(e, F_HV_KEY, h[i].name, 1, 0);
        put_text(e, F_HV_VALUE, h[i].value, 0, 0);
        msg_end(e, hv);
        /* Overwrite, the meaning of an unset `append` in every Envoy; v2
         * has no field 3, and 0 is never put on the wire. */
        if (!v2)
            put_int32(e, F_HVO_APPEND_ACTION,
                      APPEND_ACTION_OVERWRITE_IF_EXISTS_OR_ADD);
        msg_end(e, opt);
    }
}

static void put_struct(wenc *e, uint32_t field, const pc_value *obj, int depth);

/* A google.protobuf.Value. depth: the JSON level it sits at; containers
 * past CODEC_MAX_JSON_DEPTH become null. */
static void put_value(wenc *e, uint32_t field, const pc_value *v, int depth)
{
    const pc_host *h = e->host;
    size_t rec = msg_begin(e, field);
    pc_type t = v ? h->value_type(v) : PC_TYPE_NULL;
    if (depth > CODEC_MAX_JSON_DEPTH && (t == PC_TYPE_ARRAY || t == PC_TYPE_OBJECT))
        t = PC_TYPE_NULL;
    switch (t) {
    case PC_TYPE_BOOL:
        put_tag(e, F_VALUE_BOOL, WT_VARINT);
        put_varint(e, h->value_bool(v) != 0);
        break;
    case PC_TYPE_INT:
        put_double(e, F_VALUE_NUMBER, (double)h->value_int(v));
        break;
    case PC_TYPE_DOUBLE:
        put_double(e, F_VALUE_NUMBER, h->value_double(v));
        break;
    case PC_TYPE_STRING: {
        size_t len = 0;
        const char *s = h->value_string(v, &len);
        pc_str str = {s ? s : "", s ? len : 0};
        put_text(e, F_VALUE_STRING, str, 0, 1);
        break;
    }
    case PC_TYPE_ARRAY: {
        size_t n = h->value_length(v);
        size_t lv = msg_begin(e, F_VALUE_LIST);
        for (size_t i = 0; i < n && !e->failed; i++)
            put_value(e, F_LIST_VALUES, h->value_at(v, i), depth + 1);
        msg_end(e, lv);
        break;
    }
    case PC_TYPE_OBJECT:
        put_struct(e, F_VALUE_STRUCT, v, depth + 1);
        break;
    default:
        put_int32(e, F_VALUE_NULL, 0); /* NULL_VALUE */
        break;
    }
    msg_end(e, rec);
}

typedef struct member_ctx {
    wenc *e;
    size_t left; /* members value_length announced */
    int depth;
} member_ctx;

static int put_member(void *arg, const char *key, const pc_value *val)
{
    member_ctx *c = arg;
    if (c->left == 0)
        return 1; /* more members than value_length said */
    c->left--;
    wenc *e = c->e;
    size_t rec = msg_begin(e, F_STRUCT_FIELDS);
    put_text(e, F_ENTRY_KEY, pc_str_c(key), 0, 0);
    put_value(e, F_ENTRY_VALUE, val, c->depth);
    msg_end(e, rec);
    return e->failed;
}

/* A google.protobuf.Struct whose members sit at JSON level depth. */
static void put_struct(wenc *e, uint32_t field, const pc_value *obj, int depth)
{
    size_t rec = msg_begin(e, field);
    size_t n = e->host->value_length(obj);
    if (n) {
        member_ctx c = {e, n, depth};
        e->host->value_foreach(obj, put_member, &c);
    }
    msg_end(e, rec);
}

/* The CheckResponse, counted or written. */
static void put_response(wenc *e, const pc_verdict *v, int v2)
{
    int32_t code = (int32_t)v->grpc_code;
    if (!v->allowed && code == 0) /* never let a denial read as OK */
        code = PC_GRPC_PERMISSION_DENIED;
    size_t st = msg_begin(e, F_RESP_STATUS);
    if (code != 0)
        put_int32(e, F_STATUS_CODE, code);
    if (!v->allowed)
        put_text(e, F_STATUS_MESSAGE, v->reason, 0, 0);
    msg_end(e, st);
    if (v->allowed) {
        size_t ok = msg_begin(e, F_RESP_OK);
        put_headers(e, F_OK_HEADERS, v->headers, v->n_headers, v2);
        msg_end(e, ok);
    } else {
        size_t dn = msg_begin(e, F_RESP_DENIED);
        size_t hs = msg_begin(e, F_DENIED_STATUS);
        /* Left out when <= 0: Envoy then uses 403. */
        if (v->http_status > 0)
            put_int32(e, F_HTTPSTATUS_CODE, (int32_t)v->http_status);
        msg_end(e, hs);
        put_headers(e, F_DENIED_HEADERS, v->headers, v->n_headers, v2);
        put_text(e, F_DENIED_BODY, v->body, 0, 0);
        msg_end(e, dn);
    }
    const pc_host *host = e->host;
    if (!v2 && v->dynamic_metadata && host &&
        host->value_type(v->dynamic_metadata) == PC_TYPE_OBJECT)
        put_struct(e, F_RESP_DYNMETA, v->dynamic_metadata, 1);
}

int codec_encode_check_response_to(const pc_verdict *v, const pc_host *host,
                                   int v2, void *(*alloc)(void *arg, size_t n),
                                   void *arg, uint8_t **msg, size_t *len)
{
    if (!v || !alloc || !msg || !len)
        return CODEC_EINVAL;
    size_t stack[SIZES_ON_STACK];
    wenc e = {.host = host, .sizes = stack, .cap_sizes = SIZES_ON_STACK};
    put_response(&e, v, v2);
    size_t size = e.len;
    int rc = 0;
    uint8_t *p = NULL;
    if (e.failed)
        rc = CODEC_ENOMEM;
    else if (size > UINT32_MAX)
        rc = CODEC_EINVAL;
    else if (!(p = alloc(arg, 5 + size)))
        rc = CODEC_ENOMEM;
    if (rc == 0) {
        codec_grpc_prefix(p, size);
        e.out = p + 5;
        e.len = 0;
        put_response(&e, v, v2);
        /* The verdict is read twice; a value that changed in between
         * would leave a message whose lengths do not add up. */
        if (e.len != size || e.next != e.n_sizes) {
            rc = CODEC_EINVAL;
        } else {
            *msg = p;
            *len = 5 + size;
        }
    }
    if (e.sizes != stack)
        free(e.sizes);
    return rc;
}

/* Room at the end of a codec_buf; the bytes count once the encoder is done. */
static void *buf_alloc(void *arg, size_t n)
{
    codec_buf *b = arg;
    return codec_buf_reserve(b, n) == 0 ? b->data + b->len : NULL;
}

int codec_encode_check_response(const pc_verdict *v, const pc_host *host,
                                int v2, codec_buf *out)
{
    if (!v || !out)
        return CODEC_EINVAL;
    uint8_t *msg;
    size_t len;
    int rc = codec_encode_check_response_to(v, host, v2, buf_alloc, out, &msg,
                                            &len);
    if (rc == 0)
        out->len += len;
    return rc;
}
