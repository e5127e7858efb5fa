/*
 * test_codec.c - the ext_authz codec (plugins/frontend/envoy_ext_authz):
 * CheckRequest decoding from three independent encoders (hand-written wire
 * bytes following the reference's field numbers, protobuf-c, and Python's
 * protobuf through tests/integration/pyclient), CheckResponse encoding read
 * back by protobuf-c and Python, UTF-8 cleaning, gRPC helpers, framing and
 * the health service.
 */
#define PROTOBUF_C__NO_DEPRECATED /* read the deprecated fields we must leave unset */
#include <json-c/json.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/hostimpl.h"
#include "request/authjson.h"
#include "request/jsonsink.h"
#include "codec.h"
#include "codec_int.h"
#include "codec_encode_ref.h"
#include "cu_main.h"
#include "envoy/service/auth/v2/external_auth.pb-c.h"
#include "envoy/service/auth/v3/external_auth.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "doc/doc.h"
#include "../fuzz/codec_diff.h"

/* A verdict's values are doc nodes: json-c test data is converted into an
 * arena freed at exit. */
static struct arena t_vals;

static void free_vals(void) { arena_free(&t_vals); }

static const pc_value *val_of(json_object *j)
{
    static int once;
    if (!once++) {
        arena_init(&t_vals, 0);
        atexit(free_vals);
    }
    return (const pc_value *)doc_from_jsonc(&t_vals, j, NULL, NULL);
}

/* The engine's Authorization JSON for v (authjson_build) as a json-c
 * tree the checks below walk; NULL when the build fails. */
static json_object *authjson_jsonc(const pc_request_view *v, int with_context)
{
    struct arena a;
    arena_init(&a, 0);
    json_object *j = NULL;
    const doc *d = authjson_build(v, with_context, &a);
    if (d && doc_to_jsonc(d, &j) != 0)
        j = NULL;
    arena_free(&a);
    return j;
}

/* The same for the metadata a frontend emits through its sink. */
static json_object *jsonsink_jsonc(int (*emit)(const void *, const pc_json_sink *),
                                   const void *arg)
{
    struct arena a;
    arena_init(&a, 0);
    json_object *j = NULL;
    const doc *d = jsonsink_build(emit, arg, &a);
    if (d && doc_to_jsonc(d, &j) != 0)
        j = NULL;
    arena_free(&a);
    return j;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static int str_eq(pc_str s, const char *want)
{
    size_t n = strlen(want);
    return s.len == n && (n == 0 || memcmp(s.ptr, want, n) == 0);
}

static int bytes_eq(pc_str s, const void *want, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.ptr, want, n) == 0);
}

static const pc_kv *kv_find(const pc_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(kv[i].key, key))
            return &kv[i];
    return NULL;
}

static size_t kv_count(const pc_kv *kv, size_t n, const char *key)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += str_eq(kv[i].key, key);
    return c;
}

/* `metadata` of the Authorization JSON the engine builds from a view (a
 * new reference), or NULL when the view has none; the build must succeed. */
static json_object *view_metadata(const pc_request_view *v)
{
    json_object *root = authjson_jsonc(v, 0), *m = NULL;
    CU_ASSERT_FATAL(root != NULL);
    if (json_object_object_get_ex(root, "metadata", &m))
        json_object_get(m);
    json_object_put(root);
    return m;
}

/* 1 when the view's metadata prints as want. */
static int metadata_is(const pc_request_view *v, const char *want)
{
    json_object *m = view_metadata(v);
    const char *got = m ? json_object_to_json_string_ext(
                              m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                        : "";
    int eq = strcmp(got, want) == 0;
    if (!eq)
        fprintf(stderr, "metadata: got %s\n          want %s\n", got, want);
    json_object_put(m);
    return eq;
}

/* A protobuf writer independent of the generated code: messages are
 * written back to front so nesting costs no copies. */
typedef struct rw {
    uint8_t *buf;
    size_t cap;
    size_t pos; /* data is buf[pos .. cap) */
} rw;

static void rw_init(rw *w, size_t cap)
{
    w->buf = malloc(cap);
    w->cap = cap;
    w->pos = cap;
}

static size_t rw_len(const rw *w)
{
    return w->cap - w->pos;
}

static const uint8_t *rw_data(const rw *w)
{
    return w->buf + w->pos;
}

static void rw_raw(rw *w, const void *p, size_t n)
{
    CU_ASSERT_FATAL(n <= w->pos);
    w->pos -= n;
    memcpy(w->buf + w->pos, p, n);
}

static void rw_varint(rw *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    rw_raw(w, tmp, n);
}

/* Wraps everything written since `mark` (the rw_len before it) as field
 * `num` of wire type 2. */
static void rw_wrap(rw *w, uint32_t num, size_t mark)
{
    rw_varint(w, rw_len(w) - mark);
    rw_varint(w, (uint64_t)num << 3 | 2);
}

static void rw_bytes(rw *w, uint32_t num, const void *p, size_t n)
{
    size_t mark = rw_len(w);
    rw_raw(w, p, n);
    rw_wrap(w, num, mark);
}

static void rw_str(rw *w, uint32_t num, const char *s)
{
    rw_bytes(w, num, s, strlen(s));
}

static void rw_uint(rw *w, uint32_t num, uint64_t v)
{
    rw_varint(w, v);
    rw_varint(w, (uint64_t)num << 3);
}

static void rw_double(rw *w, uint32_t num, double d)
{
    uint64_t bits;
    uint8_t le[8];
    memcpy(&bits, &d, 8);
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    rw_raw(w, le, 8);
    rw_varint(w, (uint64_t)num << 3 | 1);
}

/* Packs a protobuf-c message into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len ? *len : 1);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_FATAL(protobuf_c_message_pack(m, p) == *len);
    return p;
}

/* Checks the gRPC prefix of a single message in b and returns its body. */
static const uint8_t *grpc_body(const codec_buf *b, size_t at, size_t *len)
{
    CU_ASSERT_FATAL(b->len >= at + 5);
    const uint8_t *p = b->data + at;
    CU_ASSERT_EQUAL(p[0], 0);
    *len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
    CU_ASSERT_EQUAL_FATAL(at + 5 + *len, b->len);
    return p + 5;
}

/* The engine's own services table: the codec reads verdict values through
 * it exactly as in the server. */
static pc_host json_host(void)
{
    return *host_table();
}

static const Google__Protobuf__Value *
struct_get(const Google__Protobuf__Struct *s, const char *key)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i]->key, key) == 0)
            return s->fields[i]->value;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* CheckRequest decoding                                               */

typedef Envoy__Service__Auth__V3__AttributeContext AttributeContext;
typedef Envoy__Service__Auth__V3__AttributeContext__Peer Peer;
typedef Envoy__Service__Auth__V3__AttributeContext__HttpRequest HttpRequest;
typedef Envoy__Service__Auth__V3__AttributeContext__HttpRequest__HeadersEntry
    HeadersEntry;
typedef Google__Protobuf__Value Value;
typedef Google__Protobuf__Struct Struct;
typedef Google__Protobuf__Struct__FieldsEntry FieldsEntry;

static void set_num(Value *v, double d)
{
    google__protobuf__value__init(v);
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    v->number_value = d;
}

static void set_str(Value *v, char *s)
{
    google__protobuf__value__init(v);
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    v->string_value = s;
}

static void set_bool(Value *v, int b)
{
    google__protobuf__value__init(v);
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
    v->bool_value = b;
}

static void set_null(Value *v)
{
    google__protobuf__value__init(v);
    v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
}

static void test_decode_protobuf_c(void)
{
    /* http */
    HttpRequest h = ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__HTTP_REQUEST__INIT;
    h.id = "42";
    h.method = "POST";
    h.path = "/a/b?c=d";
    h.host = "api.example.com:8443";
    h.scheme = "https";
    h.query = "c=d";
    h.fragment = "frag";
    h.size = 17;
    h.protocol = "HTTP/2";
    h.body = "hello";
    h.raw_body.data = (uint8_t *)"\x00\x01\x02";
    h.raw_body.len = 3;
    HeadersEntry he[2];
    HeadersEntry *hep[2] = {&he[0], &he[1]};
    for (int i = 0; i < 2; i++)
        envoy__service__auth__v3__attribute_context__http_request__headers_entry__init(&he[i]);
    he[0].key = "Authorization"; /* uppercase on purpose: must come out lower */
    he[0].value = "Bearer abc";
    he[1].key = ":authority";
    he[1].value = "api.example.com:8443";
    h.n_headers = 2;
    h.headers = hep;
    Envoy__Config__Core__V3__HeaderMap hm = ENVOY__CONFIG__CORE__V3__HEADER_MAP__INIT;
    Envoy__Config__Core__V3__HeaderValue hv[3];
    Envoy__Config__Core__V3__HeaderValue *hvp[3] = {&hv[0], &hv[1], &hv[2]};
    for (int i = 0; i < 3; i++)
        envoy__config__core__v3__header_value__init(&hv[i]);
    hv[0].key = "Cookie";
    hv[0].raw_value.data = (uint8_t *)"a=\xff";
    hv[0].raw_value.len = 3;
    hv[1].key = "cookie";
    hv[1].raw_value.data = (uint8_t *)"b=2";
    hv[1].raw_value.len = 3;
    hv[2].key = "x-val";
    hv[2].value = "v";
    hm.n_headers = 3;
    hm.headers = hvp;
    h.header_map = &hm;

    Envoy__Service__Auth__V3__AttributeContext__Request r =
        ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = 1700000000;
    ts.nanos = 123;
    r.time = &ts;
    r.http = &h;

    /* peers */
    Envoy__Config__Core__V3__SocketAddress sa =
        ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__INIT;
    sa.address = "10.1.2.3";
    sa.port_specifier_case =
        ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE;
    sa.port_value = 5555;
    Envoy__Config__Core__V3__Address src_addr = ENVOY__CONFIG__CORE__V3__ADDRESS__INIT;
    src_addr.address_case = ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS;
    src_addr.socket_address = &sa;
    Envoy__Service__Auth__V3__AttributeContext__Peer__LabelsEntry le =
        ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__PEER__LABELS_ENTRY__INIT;
    Envoy__Service__Auth__V3__AttributeContext__Peer__LabelsEntry *lep = &le;
    le.key = "app";
    le.value = "web";
    Peer src = ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__PEER__INIT;
    src.address = &src_addr;
    src.service = "frontend";
    src.principal = "spiffe://cluster.local/ns/a/sa/b";
    src.certificate = "-----BEGIN%20CERTIFICATE-----";
    src.n_labels = 1;
    src.labels = &lep;
    Envoy__Config__Core__V3__Pipe pipe = ENVOY__CONFIG__CORE__V3__PIPE__INIT;
    pipe.path = "/run/envoy.sock";
    Envoy__Config__Core__V3__Address dst_addr = ENVOY__CONFIG__CORE__V3__ADDRESS__INIT;
    dst_addr.address_case = ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_PIPE;
    dst_addr.pipe = &pipe;
    Peer dst = ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__PEER__INIT;
    dst.address = &dst_addr;

    /* metadata: {"jwt": {"n":1,"f":2.5,"b":true,"z":null,"s":...,"o":{"k":"v"},
     *                    "l":[1,"two",false,null,{}]}} */
    Value vn, vf, vb, vz, vs, vo, vk, vl, li[5];
    set_num(&vn, 1);
    set_num(&vf, 2.5);
    set_bool(&vb, 1);
    set_null(&vz);
    set_str(&vs, "q\"\\\n\x01\xc3\xa9");
    set_str(&vk, "v");
    FieldsEntry ok_e = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
    FieldsEntry *ok_ep = &ok_e;
    ok_e.key = "k";
    ok_e.value = &vk;
    Struct inner = GOOGLE__PROTOBUF__STRUCT__INIT;
    inner.n_fields = 1;
    inner.fields = &ok_ep;
    google__protobuf__value__init(&vo);
    vo.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
    vo.struct_value = &inner;
    Struct empty = GOOGLE__PROTOBUF__STRUCT__INIT;
    set_num(&li[0], 1);
    set_str(&li[1], "two");
    set_bool(&li[2], 0);
    set_null(&li[3]);
    google__protobuf__value__init(&li[4]);
    li[4].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
    li[4].struct_value = &empty;
    Value *lip[5] = {&li[0], &li[1], &li[2], &li[3], &li[4]};
    Google__Protobuf__ListValue lv = GOOGLE__PROTOBUF__LIST_VALUE__INIT;
    lv.n_values = 5;
    lv.values = lip;
    google__protobuf__value__init(&vl);
    vl.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
    vl.list_value = &lv;
    const char *names[] = {"n", "f", "b", "z", "s", "o", "l"};
    Value *vals[] = {&vn, &vf, &vb, &vz, &vs, &vo, &vl};
    FieldsEntry fe[7];
    FieldsEntry *fep[7];
    for (int i = 0; i < 7; i++) {
        google__protobuf__struct__fields_entry__init(&fe[i]);
        fe[i].key = (char *)names[i];
        fe[i].value = vals[i];
        fep[i] = &fe[i];
    }
    Struct top = GOOGLE__PROTOBUF__STRUCT__INIT;
    top.n_fields = 7;
    top.fields = fep;
    Envoy__Config__Core__V3__Metadata__FilterMetadataEntry fme =
        ENVOY__CONFIG__CORE__V3__METADATA__FILTER_METADATA_ENTRY__INIT;
    Envoy__Config__Core__V3__Metadata__FilterMetadataEntry *fmep = &fme;
    fme.key = "jwt";
    fme.value = &top;
    Envoy__Config__Core__V3__Metadata md = ENVOY__CONFIG__CORE__V3__METADATA__INIT;
    md.n_filter_metadata = 1;
    md.filter_metadata = &fmep;

    Envoy__Service__Auth__V3__AttributeContext__ContextExtensionsEntry ce[2];
    Envoy__Service__Auth__V3__AttributeContext__ContextExtensionsEntry *cep[2] = {&ce[0], &ce[1]};
    for (int i = 0; i < 2; i++)
        envoy__service__auth__v3__attribute_context__context_extensions_entry__init(&ce[i]);
    ce[0].key = "host";
    ce[0].value = "api";
    ce[1].key = "tier";
    ce[1].value = "gold";
    Envoy__Service__Auth__V3__AttributeContext__TLSSession tls =
        ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__TLSSESSION__INIT;
    tls.sni = "sni.example.com";

    AttributeContext ac = ENVOY__SERVICE__AUTH__V3__ATTRIBUTE_CONTEXT__INIT;
    ac.source = &src;
    ac.destination = &dst;
    ac.request = &r;
    ac.n_context_extensions = 2;
    ac.context_extensions = cep;
    ac.metadata_context = &md;
    ac.tls_session = &tls;
    Envoy__Service__Auth__V3__CheckRequest req =
        ENVOY__SERVICE__AUTH__V3__CHECK_REQUEST__INIT;
    req.attributes = &ac;

    size_t len;
    uint8_t *wire = pack(&req.base, &len);
    codec_check c;
    char err[128] = "";
    CU_ASSERT_EQUAL_FATAL(codec_decode_check(wire, len, NULL, &c, err, sizeof err), 0);
    const pc_request_view *v = &c.view;
    CU_ASSERT_EQUAL(v->struct_size, sizeof(pc_request_view));
    CU_ASSERT(str_eq(v->id, "42"));
    CU_ASSERT(str_eq(v->method, "POST"));
    CU_ASSERT(str_eq(v->path, "/a/b?c=d"));
    CU_ASSERT(str_eq(v->host, "api.example.com:8443"));
    CU_ASSERT(str_eq(v->scheme, "https"));
    CU_ASSERT(str_eq(v->query, "c=d"));
    CU_ASSERT(str_eq(v->fragment, "frag"));
    CU_ASSERT(str_eq(v->protocol, "HTTP/2"));
    CU_ASSERT(str_eq(v->body, "hello"));
    CU_ASSERT(bytes_eq(v->raw_body, "\x00\x01\x02", 3));
    CU_ASSERT_EQUAL(v->size, 17);
    CU_ASSERT_EQUAL(v->time_sec, 1700000000);
    CU_ASSERT_EQUAL(v->time_nanos, 123);
    CU_ASSERT_EQUAL(v->deadline_ns, 0);
    /* headers: 2 from the map, then 3 from header_map */
    CU_ASSERT_EQUAL_FATAL(v->n_headers, 5);
    CU_ASSERT(str_eq(v->headers[0].key, "authorization"));
    CU_ASSERT(str_eq(v->headers[0].value, "Bearer abc"));
    CU_ASSERT(str_eq(v->headers[1].key, ":authority"));
    CU_ASSERT(str_eq(v->headers[2].key, "cookie"));
    CU_ASSERT(bytes_eq(v->headers[2].value, "a=\xff", 3));
    CU_ASSERT(str_eq(v->headers[3].key, "cookie"));
    CU_ASSERT(str_eq(v->headers[3].value, "b=2"));
    CU_ASSERT(str_eq(v->headers[4].key, "x-val"));
    CU_ASSERT(str_eq(v->headers[4].value, "v"));
    CU_ASSERT_EQUAL(v->n_context_extensions, 2);
    CU_ASSERT(str_eq(kv_find(v->context_extensions, 2, "host")->value, "api"));
    CU_ASSERT(str_eq(kv_find(v->context_extensions, 2, "tier")->value, "gold"));
    CU_ASSERT(str_eq(v->source.address, "10.1.2.3"));
    CU_ASSERT_EQUAL(v->source.port, 5555);
    CU_ASSERT(str_eq(v->source.service, "frontend"));
    CU_ASSERT(str_eq(v->source.principal, "spiffe://cluster.local/ns/a/sa/b"));
    CU_ASSERT(str_eq(v->source.certificate, "-----BEGIN%20CERTIFICATE-----"));
    CU_ASSERT_EQUAL_FATAL(v->source.n_labels, 1);
    CU_ASSERT(str_eq(v->source.labels[0].key, "app"));
    CU_ASSERT(str_eq(v->source.labels[0].value, "web"));
    CU_ASSERT(str_eq(v->destination.address, "/run/envoy.sock"));
    CU_ASSERT_EQUAL(v->destination.port, 0);
    CU_ASSERT_EQUAL(v->destination.n_labels, 0);
    CU_ASSERT(str_eq(v->sni, "sni.example.com"));
    CU_ASSERT_EQUAL(v->metadata_context_json.len, 0);
    CU_ASSERT(metadata_is(v,
        "{\"filter_metadata\":{\"jwt\":{\"n\":1,\"f\":2.5,\"b\":true,\"z\":null,"
        "\"s\":\"q\\\"\\\\\\n\\u0001\xc3\xa9\",\"o\":{\"k\":\"v\"},"
        "\"l\":[1,\"two\",false,null,{}]}}}"));
    /* the string arrived byte for byte */
    json_object *j = view_metadata(v);
    CU_ASSERT_FATAL(j != NULL);
    json_object *jwt = NULL, *s = NULL;
    json_object_object_get_ex(json_object_object_get(j, "filter_metadata"), "jwt", &jwt);
    CU_ASSERT_FATAL(jwt != NULL);
    CU_ASSERT(json_object_object_get_ex(jwt, "s", &s));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(s), "q\"\\\n\x01\xc3\xa9");
    json_object_put(j);
    codec_check_free(&c);
    codec_check_free(&c); /* twice is harmless */
    free(wire);
}

/* HttpRequest written by hand with the numbers of the reference's section 1,
 * so a wrong number in our .proto files would show here. */
static void build_hand_request(rw *w, int with_unknown)
{
    size_t m_req = rw_len(w);
    /* AttributeContext, last fields first */
    if (with_unknown)
        rw_uint(w, 99, 7);
    size_t m = rw_len(w);
    rw_str(w, 1, "sni.test"); /* TLSSession.sni */
    rw_wrap(w, 12, m);        /* tls_session */
    m = rw_len(w);            /* metadata_context {filter_metadata{"ns": {"k": 1.5}}} */
    {
        size_t me = rw_len(w);
        size_t st = rw_len(w);
        size_t fe = rw_len(w);
        size_t val = rw_len(w);
        rw_double(w, 2, 1.5); /* Value.number_value */
        rw_wrap(w, 2, val);   /* FieldsEntry.value */
        rw_str(w, 1, "k");
        rw_wrap(w, 1, fe);    /* Struct.fields */
        rw_wrap(w, 2, st);    /* FilterMetadataEntry.value */
        rw_str(w, 1, "ns");
        rw_wrap(w, 1, me);    /* Metadata.filter_metadata */
    }
    rw_wrap(w, 11, m);
    m = rw_len(w);            /* context_extensions {"host": "x"} */
    rw_str(w, 2, "x");
    rw_str(w, 1, "host");
    rw_wrap(w, 10, m);
    m = rw_len(w);            /* destination { address { pipe { path } } } */
    {
        size_t a = rw_len(w), p = rw_len(w);
        rw_str(w, 1, "/tmp/s.sock");
        rw_wrap(w, 2, p);
        rw_wrap(w, 1, a);
    }
    rw_wrap(w, 2, m);
    m = rw_len(w);            /* source */
    {
        size_t lab = rw_len(w);
        rw_str(w, 2, "blue");
        rw_str(w, 1, "color");
        rw_wrap(w, 3, lab);   /* labels */
        rw_str(w, 5, "cert");
        rw_str(w, 4, "user@example");
        rw_str(w, 2, "svc");
        size_t a = rw_len(w), s = rw_len(w);
        rw_uint(w, 3, 8080);  /* SocketAddress.port_value */
        rw_str(w, 2, "192.0.2.1");
        rw_wrap(w, 1, s);     /* Address.socket_address */
        rw_wrap(w, 1, a);     /* Peer.address */
    }
    rw_wrap(w, 1, m);
    m = rw_len(w);            /* request */
    {
        size_t http = rw_len(w);
        if (with_unknown)
            rw_str(w, 77, "unknown");
        rw_bytes(w, 12, "\x00\xff", 2); /* raw_body */
        rw_str(w, 10, "HTTP/1.1");
        rw_uint(w, 9, 5);     /* size */
        size_t hm = rw_len(w);
        size_t hv = rw_len(w);
        rw_bytes(w, 3, "b=2", 3);
        rw_str(w, 1, "cookie");
        rw_wrap(w, 1, hv);
        hv = rw_len(w);
        rw_bytes(w, 3, "a=1", 3);
        rw_str(w, 1, "cookie");
        rw_wrap(w, 1, hv);
        rw_wrap(w, 13, hm);   /* header_map */
        size_t he = rw_len(w);
        rw_str(w, 2, "1");
        rw_str(w, 1, "x-a");
        rw_wrap(w, 3, he);    /* headers map entry */
        rw_str(w, 6, "http");
        rw_str(w, 5, "h.example");
        rw_str(w, 4, "/p?q");
        rw_str(w, 2, "GET");
        rw_str(w, 1, "7");
        rw_wrap(w, 2, http);  /* Request.http */
        size_t t = rw_len(w);
        rw_uint(w, 2, 9);
        rw_uint(w, 1, 1600000000);
        rw_wrap(w, 1, t);     /* Request.time */
    }
    rw_wrap(w, 4, m);
    rw_wrap(w, 1, m_req);     /* CheckRequest.attributes */
}

static void test_decode_hand_wire(void)
{
    rw w;
    rw_init(&w, 4096);
    build_hand_request(&w, 1);
    codec_check c;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), 0);
    const pc_request_view *v = &c.view;
    CU_ASSERT(str_eq(v->id, "7"));
    CU_ASSERT(str_eq(v->method, "GET"));
    CU_ASSERT(str_eq(v->path, "/p?q"));
    CU_ASSERT(str_eq(v->host, "h.example"));
    CU_ASSERT(str_eq(v->scheme, "http"));
    CU_ASSERT(str_eq(v->protocol, "HTTP/1.1"));
    CU_ASSERT_EQUAL(v->size, 5);
    CU_ASSERT(bytes_eq(v->raw_body, "\x00\xff", 2));
    CU_ASSERT_EQUAL(v->time_sec, 1600000000);
    CU_ASSERT_EQUAL(v->time_nanos, 9);
    CU_ASSERT_EQUAL_FATAL(v->n_headers, 3);
    CU_ASSERT(str_eq(kv_find(v->headers, 3, "x-a")->value, "1"));
    CU_ASSERT_EQUAL(kv_count(v->headers, 3, "cookie"), 2);
    CU_ASSERT(str_eq(v->headers[1].value, "a=1"));
    CU_ASSERT(str_eq(v->headers[2].value, "b=2"));
    CU_ASSERT(str_eq(v->source.address, "192.0.2.1"));
    CU_ASSERT_EQUAL(v->source.port, 8080);
    CU_ASSERT(str_eq(v->source.service, "svc"));
    CU_ASSERT(str_eq(v->source.principal, "user@example"));
    CU_ASSERT(str_eq(v->source.certificate, "cert"));
    CU_ASSERT_EQUAL_FATAL(v->source.n_labels, 1);
    CU_ASSERT(str_eq(v->source.labels[0].value, "blue"));
    CU_ASSERT(str_eq(v->destination.address, "/tmp/s.sock"));
    CU_ASSERT_EQUAL_FATAL(v->n_context_extensions, 1);
    CU_ASSERT(str_eq(v->context_extensions[0].key, "host"));
    CU_ASSERT(str_eq(v->sni, "sni.test"));
    CU_ASSERT(metadata_is(v, "{\"filter_metadata\":{\"ns\":{\"k\":1.5}}}"));
    codec_check_free(&c);
    free(w.buf);
}

static void test_decode_missing_http(void)
{
    codec_check c;
    char err[128];
    /* empty message */
    err[0] = 0;
    CU_ASSERT_EQUAL(codec_decode_check(NULL, 0, NULL, &c, err, sizeof err), CODEC_ENOHTTP);
    CU_ASSERT(strstr(err, "http") != NULL);
    codec_check_free(&c);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_ENOHTTP), 3);

    /* attributes with a source but no request */
    rw w;
    rw_init(&w, 256);
    size_t m = rw_len(&w), p = rw_len(&w);
    rw_str(&w, 2, "svc");
    rw_wrap(&w, 1, p);
    rw_wrap(&w, 1, m);
    CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), CODEC_ENOHTTP);
    codec_check_free(&c);

    /* a request with a time but no http */
    w.pos = w.cap;
    m = rw_len(&w);
    size_t r = rw_len(&w), t = rw_len(&w);
    rw_uint(&w, 1, 5);
    rw_wrap(&w, 1, t);
    rw_wrap(&w, 4, r);
    rw_wrap(&w, 1, m);
    CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), CODEC_ENOHTTP);
    codec_check_free(&c);

    /* an empty http is enough */
    w.pos = w.cap;
    m = rw_len(&w);
    r = rw_len(&w);
    rw_bytes(&w, 2, "", 0);
    rw_wrap(&w, 4, r);
    rw_wrap(&w, 1, m);
    CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), 0);
    CU_ASSERT_EQUAL(c.view.n_headers, 0);
    CU_ASSERT(c.view.path.ptr != NULL && c.view.path.len == 0);
    CU_ASSERT(c.view.source.address.ptr != NULL);
    CU_ASSERT_EQUAL(c.view.metadata_context_json.len, 0);
    CU_ASSERT(c.view.metadata_emit == NULL);
    codec_check_free(&c);
    free(w.buf);
}

static void test_decode_malformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\x0a", 1},                         /* length missing */
        {"\x0a\x05\x01", 3},                 /* length past the end */
        {"\x0b\x0c", 2},                     /* a group */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12}, /* 11-byte varint */
        {"\x00\x01", 2},                     /* field number 0 */
        {"\x0a\x04\x22\x02\x12\x05", 6},     /* inner length past its parent */
        {"\x0f", 1},                         /* wire type 7 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        codec_check c;
        char err[128] = "";
        int rc = codec_decode_check((const uint8_t *)cases[i].bytes, cases[i].len,
                                    NULL, &c, err, sizeof err);
        CU_ASSERT_EQUAL(rc, CODEC_EPARSE);
        CU_ASSERT(err[0] != '\0');
        codec_check_free(&c);
    }
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_EPARSE), 13);

    /* Random bytes and bit flips of a valid request: never a crash, only
     * the documented results (run under ASan for leaks and overflows). */
    rw w;
    rw_init(&w, 4096);
    build_hand_request(&w, 0);
    size_t len = rw_len(&w);
    uint8_t *good = malloc(len), *buf = malloc(len);
    memcpy(good, rw_data(&w), len);
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = len;
        memcpy(buf, good, len);
        if (i % 2) {
            for (int k = 0; k < 3; k++) {
                seed = seed * 1103515245u + 12345u;
                buf[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
            }
        } else {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 8) % len;
            for (size_t k = 0; k < n; k++) {
                seed = seed * 1103515245u + 12345u;
                buf[k] = (uint8_t)(seed >> 16);
            }
        }
        codec_check c;
        int rc = codec_decode_check(buf, n, NULL, &c, NULL, 0);
        CU_ASSERT(rc == 0 || rc == CODEC_EPARSE || rc == CODEC_ENOHTTP || rc == CODEC_EINVALREQ);
        if (rc == 0) {
            ok++;
            /* every view string must be readable in full */
            size_t sum = c.view.path.len + c.view.host.len;
            for (size_t k = 0; k < c.view.n_headers; k++)
                sum += c.view.headers[k].key.len + c.view.headers[k].value.len;
            CU_ASSERT(sum < 2 * len + 1);
        } else {
            bad++;
        }
        codec_check_free(&c);
    }
    CU_ASSERT(ok > 0 && bad > 0);
    free(good);
    free(buf);
    free(w.buf);
}

/* CheckRequest{attributes{request{http{}} metadata_context{filter_metadata{
 * "ns": Struct nested `levels` times as {"a": {"a": ...}}}}}} */
static void build_nested(rw *w, long levels)
{
    size_t m = rw_len(w);
    size_t mc = rw_len(w);
    size_t me = rw_len(w);
    size_t st = rw_len(w);
    for (long i = 0; i < levels; i++) {
        /* wrap the current struct body as Struct{fields{key "a", value
         * Value{struct_value: <body>}}} */
        size_t fe = st;
        rw_wrap(w, 5, st);   /* Value.struct_value */
        rw_wrap(w, 2, st);   /* FieldsEntry.value */
        rw_str(w, 1, "a");
        rw_wrap(w, 1, fe);   /* Struct.fields */
    }
    rw_wrap(w, 2, me);       /* FilterMetadataEntry.value */
    rw_str(w, 1, "ns");
    rw_wrap(w, 1, mc);       /* Metadata.filter_metadata */
    rw_wrap(w, 11, m);       /* AttributeContext.metadata_context */
    size_t r = rw_len(w);
    rw_bytes(w, 2, "", 0);
    rw_wrap(w, 4, r);
    rw_wrap(w, 1, m);        /* CheckRequest.attributes */
}

static void test_decode_depth_and_size_limits(void)
{
    codec_check c;
    char err[128];
    rw w;

    /* 20 JSON levels: 4 + 3 * 20 messages deep, fine */
    rw_init(&w, 1 << 12);
    build_nested(&w, 20);
    CU_ASSERT_EQUAL_FATAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), 0);
    {
        char want[512];
        size_t n = 0;
        n += (size_t)snprintf(want + n, sizeof want - n, "{\"filter_metadata\":{\"ns\":");
        for (int i = 0; i < 20; i++)
            n += (size_t)snprintf(want + n, sizeof want - n, "{\"a\":");
        n += (size_t)snprintf(want + n, sizeof want - n, "{}");
        for (int i = 0; i < 20; i++)
            n += (size_t)snprintf(want + n, sizeof want - n, "}");
        snprintf(want + n, sizeof want - n, "}}");
        CU_ASSERT(metadata_is(&c.view, want));
    }
    codec_check_free(&c);
    free(w.buf);

    /* 40 levels: more than 100 messages deep */
    rw_init(&w, 1 << 12);
    build_nested(&w, 40);
    CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), CODEC_EPARSE);
    codec_check_free(&c);
    free(w.buf);

    /* an attack: 200000 levels (protobuf-c alone would overflow the stack) */
    rw_init(&w, 200000 * 24 + 256);
    build_nested(&w, 200000);
    CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err), CODEC_EPARSE);
    codec_check_free(&c);
    free(w.buf);

    /* many tiny entries: 1000 headers are fine, 70000 are refused */
    for (int round = 0; round < 2; round++) {
        long n = round ? 70000 : 1000;
        rw_init(&w, (size_t)n * 2 + 256);
        size_t m = rw_len(&w), r = rw_len(&w), h = rw_len(&w);
        for (long i = 0; i < n; i++)
            rw_bytes(&w, 3, "", 0); /* an empty HeadersEntry */
        rw_wrap(&w, 2, h);
        rw_wrap(&w, 4, r);
        rw_wrap(&w, 1, m);
        int rc = codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err);
        if (round == 0) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(c.view.n_headers, 1000);
        } else {
            CU_ASSERT_EQUAL(rc, CODEC_EPARSE);
        }
        codec_check_free(&c);
        free(w.buf);
    }
}

/* CheckRequest{attributes{request{http{<inner>}}, metadata_context{
 * filter_metadata{"ns": Struct{fields{"v": <value>}}}}}: the writer
 * functions add their part (written back to front) and this wraps it. */
typedef void (*part_fn)(rw *w, const void *arg);

static int decode_with(part_fn http_part, part_fn value_part, const void *arg,
                       const codec_decode_opts *opts, char *err, size_t errlen)
{
    rw w;
    rw_init(&w, 1 << 16);
    size_t m = rw_len(&w);
    if (value_part) {
        size_t mc = rw_len(&w), me = rw_len(&w), st = rw_len(&w), fe = rw_len(&w);
        value_part(&w, arg);
        rw_wrap(&w, 2, fe);  /* FieldsEntry.value */
        rw_str(&w, 1, "v");
        rw_wrap(&w, 1, st);  /* Struct.fields */
        rw_wrap(&w, 2, me);  /* FilterMetadataEntry.value */
        rw_str(&w, 1, "ns");
        rw_wrap(&w, 1, mc);  /* Metadata.filter_metadata */
        rw_wrap(&w, 11, m);  /* AttributeContext.metadata_context */
    }
    size_t r = rw_len(&w), h = rw_len(&w);
    rw_str(&w, 4, "/p");
    if (http_part)
        http_part(&w, arg);
    rw_wrap(&w, 2, h);
    rw_wrap(&w, 4, r);
    rw_wrap(&w, 1, m);
    codec_check c;
    int rc = codec_decode_check(rw_data(&w), rw_len(&w), opts, &c, err, errlen);
    if (rc == 0) {
        /* whatever the decoder accepts, the engine builds whole */
        json_object *root = authjson_jsonc(&c.view, 1);
        CU_ASSERT(root != NULL);
        CU_ASSERT(!value_part || json_object_object_get_ex(root, "metadata", NULL));
        json_object_put(root);
    }
    codec_check_free(&c);
    free(w.buf);
    return rc;
}

typedef struct kvarg {
    const char *k, *v;
    size_t kl, vl;
} kvarg;

static void part_header(rw *w, const void *arg)
{
    const kvarg *a = arg;
    size_t e = rw_len(w);
    rw_bytes(w, 2, a->v, a->vl);
    rw_bytes(w, 1, a->k, a->kl);
    rw_wrap(w, 3, e); /* HttpRequest.headers entry */
}

static void part_raw_header(rw *w, const void *arg)
{
    const kvarg *a = arg;
    size_t hm = rw_len(w), hv = rw_len(w);
    rw_bytes(w, 3, a->v, a->vl); /* HeaderValue.raw_value */
    rw_bytes(w, 1, a->k, a->kl);
    rw_wrap(w, 1, hv);           /* HeaderMap.headers */
    rw_wrap(w, 13, hm);          /* HttpRequest.header_map */
}

static void part_field(rw *w, const void *arg)
{
    const kvarg *a = arg; /* k: the field number as text */
    rw_bytes(w, (uint32_t)atoi(a->k), a->v, a->vl);
}

static void value_string(rw *w, const void *arg)
{
    const kvarg *a = arg;
    rw_bytes(w, 3, a->v, a->vl); /* Value.string_value */
}

static void value_number(rw *w, const void *arg)
{
    rw_double(w, 2, *(const double *)arg); /* Value.number_value */
}

static void value_key(rw *w, const void *arg)
{
    const kvarg *a = arg; /* Value{struct_value{fields{key: a->k, value{}}}} */
    size_t sv = rw_len(w), fe = rw_len(w);
    rw_bytes(w, 2, "", 0);
    rw_bytes(w, 1, a->k, a->kl);
    rw_wrap(w, 1, fe);
    rw_wrap(w, 5, sv);
}

/* `levels` arrays inside each other: Value{list_value{values{...}}} */
static void value_lists(rw *w, const void *arg)
{
    long levels = *(const long *)arg;
    size_t base = rw_len(w);     /* each level wraps all written since */
    for (long i = 0; i < levels; i++) {
        if (i > 0)
            rw_wrap(w, 1, base); /* ListValue.values (the inner Value) */
        rw_wrap(w, 6, base);     /* Value.list_value */
    }
}

/* Strings keep their length: a NUL anywhere but in the body refuses the
 * request instead of cutting the string short. */
static void test_decode_nul_refused(void)
{
    char err[160];
    kvarg cases[] = {
        {"authorization\0junk", "APIKEY k", 18, 8},
        {"authorization", "APIKEY k\0junk", 13, 13},
    };
    for (size_t i = 0; i < 2; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(decode_with(part_header, NULL, &cases[i], NULL, err, sizeof err),
                        CODEC_EINVALREQ);
        CU_ASSERT(strstr(err, "NUL") != NULL);
        CU_ASSERT_EQUAL(decode_with(part_raw_header, NULL, &cases[i], NULL, err, sizeof err),
                        CODEC_EINVALREQ);
    }
    kvarg fine = {"authorization", "APIKEY k", 13, 8};
    CU_ASSERT_EQUAL(decode_with(part_header, NULL, &fine, NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(decode_with(part_raw_header, NULL, &fine, NULL, err, sizeof err), 0);
    /* method (2), path (4), host (5): refused; body (11), raw_body (12): kept */
    static const struct { const char *num; int rc; } fields[] = {
        {"2", CODEC_EINVALREQ}, {"4", CODEC_EINVALREQ}, {"5", CODEC_EINVALREQ},
        {"11", 0}, {"12", 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        kvarg f = {fields[i].num, "a\0b", 0, 3};
        CU_ASSERT_EQUAL(decode_with(part_field, NULL, &f, NULL, err, sizeof err), fields[i].rc);
    }
    /* in metadata: a Struct key and a string value */
    kvarg key = {"ro\0le", NULL, 5, 0}, val = {NULL, "adm\0in", 0, 6};
    CU_ASSERT_EQUAL(decode_with(NULL, value_key, &key, NULL, err, sizeof err), CODEC_EINVALREQ);
    CU_ASSERT_EQUAL(decode_with(NULL, value_string, &val, NULL, err, sizeof err),
                    CODEC_EINVALREQ);
    kvarg ok = {"role", "admin", 4, 5};
    CU_ASSERT_EQUAL(decode_with(NULL, value_key, &ok, NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(decode_with(NULL, value_string, &ok, NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_EINVALREQ), 3);
}

/* One depth limit for metadata_context, checked before anything is built,
 * objects and arrays alike; and no number JSON cannot carry. */
static void test_decode_metadata_refused(void)
{
    codec_check c;
    char err[160];
    rw w;
    /* build_nested(n): the namespace's Struct is level 1, n levels below */
    for (int n = 20; n <= 26; n++) {
        rw_init(&w, 1 << 12);
        build_nested(&w, n);
        int rc = codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, err, sizeof err);
        CU_ASSERT_EQUAL(rc, n + 1 <= CODEC_METADATA_DEPTH_DEFAULT ? 0 : CODEC_EINVALREQ);
        if (rc == 0) {
            json_object *m = view_metadata(&c.view);
            CU_ASSERT(m != NULL);
            json_object_put(m);
        } else {
            CU_ASSERT(strstr(err, "metadata_context") != NULL);
        }
        codec_check_free(&c);
        free(w.buf);
    }
    /* the setting, up to the largest the message depth allows */
    static const struct { int max, levels, rc; } lim[] = {
        {5, 4, 0}, {5, 5, CODEC_EINVALREQ}, {1, 0, 0}, {1, 1, CODEC_EINVALREQ},
        {CODEC_METADATA_DEPTH_MAX, CODEC_METADATA_DEPTH_MAX - 1, 0},
        {CODEC_METADATA_DEPTH_MAX, CODEC_METADATA_DEPTH_MAX, CODEC_EINVALREQ},
        {1000, CODEC_METADATA_DEPTH_MAX, CODEC_EINVALREQ}, /* clamped */
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        codec_decode_opts o = {lim[i].max};
        rw_init(&w, 1 << 12);
        build_nested(&w, lim[i].levels);
        CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), &o, &c, err, sizeof err),
                        lim[i].rc);
        codec_check_free(&c);
        free(w.buf);
    }
    /* arrays count as levels too: "v" is level 2, its lists 2.. below */
    codec_decode_opts o = {6};
    long lists = 4;
    CU_ASSERT_EQUAL(decode_with(NULL, value_lists, &lists, &o, err, sizeof err), 0);
    lists = 6;
    CU_ASSERT_EQUAL(decode_with(NULL, value_lists, &lists, &o, err, sizeof err),
                    CODEC_EINVALREQ);
    /* NaN and infinities have no JSON form */
    static const double nums[] = {NAN, INFINITY, -INFINITY, 1.5, -0.0, 1e308};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        CU_ASSERT_EQUAL(decode_with(NULL, value_number, &nums[i], NULL, err, sizeof err),
                        isfinite(nums[i]) ? 0 : CODEC_EINVALREQ);
}

/* A singular message field repeated is merged by protobuf-c at a cost that
 * grows with the square of the count; a few are fine, more are refused. */
static void test_decode_merge_limit(void)
{
    for (int n = CODEC_MAX_MERGES; n <= CODEC_MAX_MERGES + 1; n++) {
        rw w;
        rw_init(&w, 4096);
        for (int i = 0; i < n; i++) {
            size_t m = rw_len(&w), r = rw_len(&w), h = rw_len(&w);
            rw_str(&w, 4, "/p");
            rw_wrap(&w, 2, h);
            rw_wrap(&w, 4, r);
            rw_wrap(&w, 1, m);
        }
        codec_check c;
        CU_ASSERT_EQUAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, NULL, 0),
                        n <= CODEC_MAX_MERGES ? 0 : CODEC_EPARSE);
        codec_check_free(&c);
        free(w.buf);
    }
}

/* attributes.request.time within Timestamp's range only */
static void test_decode_time_range(void)
{
    static const struct { int64_t sec; int32_t nanos; int rc; } t[] = {
        {0, 0, 0}, {253402300799, 999999999, 0}, {-62135596800, 0, 0},
        {253402300800, 0, CODEC_EINVALREQ}, {-62135596801, 0, CODEC_EINVALREQ},
        {INT64_MAX, 0, CODEC_EINVALREQ}, {INT64_MIN, 0, CODEC_EINVALREQ},
        {1, -1, CODEC_EINVALREQ}, {1, 1000000000, CODEC_EINVALREQ},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rw w;
        rw_init(&w, 512);
        size_t m = rw_len(&w), r = rw_len(&w), tm = rw_len(&w);
        rw_uint(&w, 2, (uint64_t)(int64_t)t[i].nanos);
        rw_uint(&w, 1, (uint64_t)t[i].sec);
        rw_wrap(&w, 1, tm); /* Request.time */
        size_t h = rw_len(&w);
        rw_str(&w, 4, "/p");
        rw_wrap(&w, 2, h);
        rw_wrap(&w, 4, r);
        rw_wrap(&w, 1, m);
        codec_check c;
        int rc = codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, NULL, 0);
        CU_ASSERT_EQUAL(rc, t[i].rc);
        if (rc == 0) {
            json_object *root = authjson_jsonc(&c.view, 0);
            CU_ASSERT(root != NULL);
            json_object_put(root);
        }
        codec_check_free(&c);
        free(w.buf);
    }
}

static void test_decode_body_with_nul(void)
{
    rw w;
    rw_init(&w, 512);
    /* attributes{request{http{body "first"}}} then, as a second occurrence
     * merged into it, attributes{request{http{body "x\0y\0"}}}: the last
     * body wins, NULs included */
    for (int i = 0; i < 2; i++) {
        size_t m = rw_len(&w), r = rw_len(&w), h = rw_len(&w);
        if (i == 0)
            rw_bytes(&w, 11, "x\0y\0", 4);
        else
            rw_str(&w, 11, "first");
        if (i == 1)
            rw_str(&w, 4, "/path");
        rw_wrap(&w, 2, h);
        rw_wrap(&w, 4, r);
        rw_wrap(&w, 1, m);
    }
    codec_check c;
    CU_ASSERT_EQUAL_FATAL(codec_decode_check(rw_data(&w), rw_len(&w), NULL, &c, NULL, 0), 0);
    CU_ASSERT(bytes_eq(c.view.body, "x\0y\0", 4));
    CU_ASSERT(str_eq(c.view.path, "/path"));
    codec_check_free(&c);
    free(w.buf);
}

/* Emits {"a": [numbers...]} into a sink. */
typedef struct numlist {
    const double *d;
    size_t n;
} numlist;

static int emit_numbers(const void *arg, const pc_json_sink *k)
{
    const numlist *l = arg;
    if (k->object_begin(k->arg) || k->key(k->arg, "a", 1) || k->array_begin(k->arg))
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (k->number(k->arg, l->d[i]))
            return -1;
    return k->end(k->arg) || k->end(k->arg);
}

/* Numbers reach the Authorization JSON as json-c's parser would have read
 * their shortest text: whole ones as ints, others printing as that text. */

/* ---- the wire decoder against protobuf-c ---- */

/* A message built front to back: fields appended, submessages nested. */
typedef struct pb {
    uint8_t b[1024];
    size_t n;
} pb;

static void pb_raw(pb *m, const void *p, size_t n)
{
    CU_ASSERT_FATAL(m->n + n <= sizeof m->b);
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void pb_varint(pb *m, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        pb_raw(m, &c, 1);
    } while (v);
}

static void pb_len(pb *m, uint32_t num, const void *p, size_t n)
{
    pb_varint(m, (uint64_t)num << 3 | 2);
    pb_varint(m, n);
    pb_raw(m, p, n);
}

static void pb_str(pb *m, uint32_t num, const char *s)
{
    pb_len(m, num, s, strlen(s));
}

static void pb_sub(pb *m, uint32_t num, const pb *sub)
{
    pb_len(m, num, sub->b, sub->n);
}

static void pb_uint(pb *m, uint32_t num, uint64_t v)
{
    pb_varint(m, (uint64_t)num << 3);
    pb_varint(m, v);
}

/* CheckRequest{attributes{request{http = *http}}} with extra bytes
 * appended to the AttributeContext. */
static void pb_check(pb *out, const pb *http, const pb *attr_tail)
{
    pb req = {0}, attr = {0};
    pb_sub(&req, 2, http);
    pb_sub(&attr, 4, &req);
    if (attr_tail)
        pb_raw(&attr, attr_tail->b, attr_tail->n);
    out->n = 0;
    pb_sub(out, 1, &attr);
}

/* Decodes m with both decoders, which must agree; returns the result. */
static int pb_decode(const pb *m, codec_check *c)
{
    const char *why = codec_diff(m->b, m->n, NULL);
    if (why)
        fprintf(stderr, "decoders differ: %s\n", why);
    CU_ASSERT_PTR_NULL(why);
    char err[256];
    return codec_decode_check(m->b, m->n, NULL, c, err, sizeof err);
}

static int pb_is(pc_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void test_walk_scalars(void)
{
    codec_check c;
    pb http = {0}, m;
    /* the last occurrence of a scalar wins, an explicit zero too */
    pb_str(&http, 4, "/a");
    pb_str(&http, 4, "/b");
    pb_uint(&http, 9, 5);
    pb_uint(&http, 9, 0);
    pb_str(&http, 2, "GET");
    pb_check(&m, &http, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.path, "/b") && pb_is(c.view.method, "GET"));
    CU_ASSERT_EQUAL(c.view.size, 0);
    codec_check_free(&c);

    /* unknown fields of every wire type are skipped */
    pb u = http;
    pb_uint(&u, 99, 7);
    uint8_t i64[] = {15 << 3 | 1, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t i32[] = {14 << 3 | 5, 1, 2, 3, 4};
    pb_raw(&u, i64, sizeof i64);
    pb_raw(&u, i32, sizeof i32);
    pb_str(&u, 4000, "unknown");
    pb_check(&m, &u, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.path, "/b"));
    codec_check_free(&c);

    /* a 10-byte varint is read, an 11-byte one refused */
    pb v = {0};
    uint8_t ten[] = {9 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    pb_raw(&v, ten, sizeof ten);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT_EQUAL(c.view.size, -1);
    codec_check_free(&c);
    uint8_t eleven[] = {9 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01};
    v.n = 0;
    pb_raw(&v, eleven, sizeof eleven);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);

    /* field number 0, and a field cut short */
    v.n = 0;
    pb_raw(&v, "\x00\x01", 2);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
    v.n = 0;
    pb_raw(&v, "\x22\x05/ab", 5); /* path of 5 bytes holding 3 */
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
}

static void test_walk_wire_types(void)
{
    codec_check c;
    pb v = {0}, m;
    /* a string as a varint, a varint as a length (packed-looking), a
     * message as a fixed64: protobuf-c refuses each */
    pb_uint(&v, 4, 1);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
    v.n = 0;
    pb_str(&v, 9, "\x05");
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
    v.n = 0;
    uint8_t hm[] = {13 << 3 | 1, 0, 0, 0, 0, 0, 0, 0, 0};
    pb_raw(&v, hm, sizeof hm);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);

    /* protobuf-c reads a bool whatever its wire type (here
     * SocketAddress.ipv4_compat as a length-delimited field) */
    pb sock = {0}, addr = {0}, peer = {0}, src = {0};
    pb_str(&sock, 2, "10.0.0.9");
    pb_str(&sock, 6, "xy");
    pb_sub(&addr, 1, &sock);
    pb_sub(&peer, 1, &addr);
    pb_sub(&src, 1, &peer);
    v.n = 0;
    pb_str(&v, 4, "/");
    pb_check(&m, &v, &src);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.source.address, "10.0.0.9"));
    codec_check_free(&c);

    /* the wire check comes first: a NUL after a wrong wire type is what
     * the request is refused for */
    v.n = 0;
    pb_uint(&v, 4, 1);
    pb_len(&v, 2, "G\0T", 3);
    pb_check(&m, &v, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EINVALREQ);
    codec_check_free(&c);

    /* a wrong wire type in a part the view does not read still refuses */
    pb tail = {0}, tls = {0};
    pb_uint(&tls, 1, 3);
    pb_sub(&tail, 12, &tls);
    v.n = 0;
    pb_str(&v, 4, "/");
    pb_check(&m, &v, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
    pb rmd = {0};
    tail.n = 0;
    pb_uint(&rmd, 1, 3); /* route_metadata_context.filter_metadata as a varint */
    pb_sub(&tail, 13, &rmd);
    pb_check(&m, &v, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), CODEC_EPARSE);
    codec_check_free(&c);
}

static void test_walk_merged(void)
{
    codec_check c;
    pb h1 = {0}, h2 = {0}, req = {0}, attr = {0}, m = {0};
    /* http twice: protobuf-c merges; what the second sets (an empty path
     * too) wins, what it leaves out is kept */
    pb_str(&h1, 4, "/first");
    pb_str(&h1, 1, "r1");
    pb_str(&h1, 2, "GET");
    pb_str(&h2, 2, "POST");
    pb_str(&h2, 4, "");
    pb_sub(&req, 2, &h1);
    pb_sub(&req, 2, &h2);
    pb_sub(&attr, 4, &req);
    pb_sub(&m, 1, &attr);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.path, "") && pb_is(c.view.method, "POST"));
    CU_ASSERT(pb_is(c.view.id, "r1"));
    codec_check_free(&c);

    /* attributes twice, the request in the first, TLS in the second */
    pb a2 = {0}, tls = {0};
    pb_str(&tls, 1, "sni.example");
    pb_sub(&a2, 12, &tls);
    pb_sub(&m, 1, &a2);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.sni, "sni.example") && pb_is(c.view.id, "r1"));
    codec_check_free(&c);

    /* metadata_context twice merges its namespaces */
    pb md1 = {0}, md2 = {0}, e = {0}, st = {0}, tail = {0};
    pb_str(&e, 1, "ns1");
    pb_sub(&e, 2, &st);
    pb_sub(&md1, 1, &e);
    e.n = 0;
    pb_str(&e, 1, "ns2");
    pb_sub(&e, 2, &st);
    pb_sub(&md2, 1, &e);
    pb_sub(&tail, 11, &md1);
    pb_sub(&tail, 11, &md2);
    pb_check(&m, &h1, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(c.view.metadata_emit);
    codec_check_free(&c);
    /* once: decoded without the fallback, same events */
    tail.n = 0;
    pb_sub(&tail, 11, &md1);
    pb_check(&m, &h1, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(c.view.metadata_emit);
    codec_check_free(&c);
}

static void test_walk_lists_and_oneofs(void)
{
    codec_check c;
    pb http = {0}, e = {0}, hm = {0}, hv = {0}, m;
    /* headers map entries come first, then header_map, whatever their
     * order on the wire; names lowercased; raw_value over value */
    pb_str(&hv, 1, "X-Raw");
    pb_str(&hv, 2, "text");
    pb_str(&hv, 3, "bytes");
    pb_sub(&hm, 1, &hv);
    pb_sub(&http, 13, &hm);
    pb_str(&e, 1, "Accept");
    pb_str(&e, 2, "*/*");
    pb_sub(&http, 3, &e);
    e.n = 0;
    pb_str(&e, 2, "no key");
    pb_sub(&http, 3, &e);
    pb_check(&m, &http, NULL);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT_EQUAL_FATAL(c.view.n_headers, 3);
    CU_ASSERT(pb_is(c.view.headers[0].key, "accept"));
    CU_ASSERT(pb_is(c.view.headers[1].key, "") && pb_is(c.view.headers[1].value, "no key"));
    CU_ASSERT(pb_is(c.view.headers[2].key, "x-raw") && pb_is(c.view.headers[2].value, "bytes"));
    codec_check_free(&c);

    /* Address oneof: the last member set wins; port only from port_value */
    pb sock = {0}, pipe = {0}, addr = {0}, peer = {0}, tail = {0};
    pb_str(&sock, 2, "10.0.0.1");
    pb_uint(&sock, 3, 8080);
    pb_str(&pipe, 1, "/run/sock");
    pb_sub(&addr, 1, &sock);
    pb_sub(&addr, 2, &pipe);
    pb_sub(&peer, 1, &addr);
    pb_str(&peer, 2, "svc");
    pb_sub(&tail, 1, &peer);
    http.n = 0;
    pb_str(&http, 4, "/");
    pb_check(&m, &http, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.source.address, "/run/sock") && c.view.source.port == 0);
    CU_ASSERT(pb_is(c.view.source.service, "svc"));
    codec_check_free(&c);
    addr.n = peer.n = tail.n = 0;
    pb_sub(&addr, 2, &pipe);
    pb_str(&sock, 4, "http"); /* named_port after port_value */
    pb_sub(&addr, 1, &sock);
    pb_sub(&peer, 1, &addr);
    pb_sub(&tail, 2, &peer);
    pb_check(&m, &http, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT(pb_is(c.view.destination.address, "10.0.0.1") && c.view.destination.port == 0);
    codec_check_free(&c);
    /* an internal address shows no address */
    pb internal = {0};
    addr.n = peer.n = tail.n = 0;
    pb_sub(&addr, 1, &sock);
    pb_str(&internal, 1, "listener");
    pb_sub(&addr, 3, &internal);
    pb_sub(&peer, 1, &addr);
    pb_sub(&tail, 1, &peer);
    pb_check(&m, &http, &tail);
    CU_ASSERT_EQUAL(pb_decode(&m, &c), 0);
    CU_ASSERT_EQUAL(c.view.source.address.len, 0);
    codec_check_free(&c);
}

/* Mutations of a full request: both decoders agree on every one. */
static void test_walk_mutations(void)
{
    rw w;
    rw_init(&w, 4096);
    build_hand_request(&w, 1);
    size_t len = rw_len(&w);
    uint8_t *good = malloc(len), *buf = malloc(len);
    memcpy(good, rw_data(&w), len);
    uint32_t seed = 777;
    int differ = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = len;
        memcpy(buf, good, len);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
        }
        if (i % 5 == 0) {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 8) % len;
        }
        const char *why = codec_diff(buf, n, NULL);
        if (why && differ++ < 3)
            fprintf(stderr, "mutation %d: decoders differ: %s\n", i, why);
    }
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT_PTR_NULL(codec_diff(good, len, NULL));
    free(good);
    free(buf);
    free(w.buf);
}

static void test_json_numbers(void)
{
    static const struct {
        double d;
        const char *want;
    } exact[] = {
        {0, "0"}, {1, "1"}, {-17, "-17"}, {2.5, "2.5"}, {0.1, "0.1"},
        {-0.25, "-0.25"}, {1e21, "1e+21"}, {123456789, "123456789"},
        {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        numlist l = {&exact[i].d, 1};
        json_object *o = jsonsink_jsonc(emit_numbers, &l);
        CU_ASSERT_FATAL(o != NULL);
        json_object *x = json_object_array_get_idx(json_object_object_get(o, "a"), 0);
        CU_ASSERT_STRING_EQUAL(json_object_to_json_string(x), exact[i].want);
        CU_ASSERT(json_object_get_double(x) == exact[i].d);
        CU_ASSERT(json_object_is_type(x, exact[i].d == 1 || exact[i].d == 0 ||
                                                 exact[i].d == -17 || exact[i].d == 123456789
                                             ? json_type_int : json_type_double));
        json_object_put(o);
    }
    static const double roundtrip[] = {
        1e300, 5e-324, 123456789012345678.0, -1.7976931348623157e308,
        0.30000000000000004, 9007199254740993.0, 1e15, 1e-7,
    };
    numlist l = {roundtrip, sizeof roundtrip / sizeof roundtrip[0]};
    json_object *o = jsonsink_jsonc(emit_numbers, &l);
    CU_ASSERT_FATAL(o != NULL);
    for (size_t i = 0; i < l.n; i++) {
        json_object *x = json_object_array_get_idx(json_object_object_get(o, "a"), i);
        const char *t = json_object_to_json_string(x);
        CU_ASSERT_EQUAL(strtod(t, NULL), roundtrip[i]);
        CU_ASSERT(strlen(t) <= 24);
    }
    json_object_put(o);
    /* JSON has no NaN or infinity: the sink refuses them */
    static const double bad[] = {NAN, -INFINITY};
    for (size_t i = 0; i < 2; i++) {
        numlist b = {&bad[i], 1};
        CU_ASSERT(jsonsink_jsonc(emit_numbers, &b) == NULL);
    }
}

/* ------------------------------------------------------------------ */
/* CheckResponse encoding                                              */

typedef Envoy__Service__Auth__V3__CheckResponse CheckResponse;

static CheckResponse *encode_and_unpack(const pc_verdict *v, const pc_host *h,
                                        codec_buf *b)
{
    size_t at = b->len, len;
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(v, h, 0, b), 0);
    const uint8_t *body = grpc_body(b, at, &len);
    CheckResponse *r = envoy__service__auth__v3__check_response__unpack(NULL, len, body);
    CU_ASSERT_FATAL(r != NULL);
    return r;
}

static const char *META_JSON =
    "{\"user\":{\"name\":\"alice\",\"id\":7,\"score\":1.5,\"admin\":false,"
    "\"groups\":[\"a\",\"b\",null],\"nothing\":null}}";

static void test_encode_allow_v3(void)
{
    pc_host host = json_host();
    json_object *meta = json_tokener_parse(META_JSON);
    CU_ASSERT_FATAL(meta != NULL);
    pc_header hdrs[] = {
        {{"X-User", 6}, {"alice", 5}},
        {{"x-Roles", 7}, {"a,bXXX", 3}}, /* only len bytes count */
        {{"", 0}, {"dropped", 7}},        /* no name: left out */
    };
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.allowed = 1;
    v.http_status = 200;
    v.headers = hdrs;
    v.n_headers = 3;
    v.reason = pc_str_c("not sent on allow");
    v.dynamic_metadata = val_of(meta);

    codec_buf b = CODEC_BUF_INIT;
    CU_ASSERT_EQUAL(codec_buf_reserve(&b, 3), 0);
    memcpy(b.data, "abc", 3); /* encoders append */
    b.len = 3;
    CheckResponse *r = encode_and_unpack(&v, &host, &b);
    CU_ASSERT(memcmp(b.data, "abc", 3) == 0);
    CU_ASSERT_FATAL(r->status != NULL);
    CU_ASSERT_EQUAL(r->status->code, 0);
    CU_ASSERT_STRING_EQUAL(r->status->message, "");
    CU_ASSERT_EQUAL_FATAL(r->http_response_case,
        ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_OK_RESPONSE);
    Envoy__Service__Auth__V3__OkHttpResponse *ok = r->ok_response;
    CU_ASSERT_EQUAL_FATAL(ok->n_headers, 2);
    CU_ASSERT_STRING_EQUAL(ok->headers[0]->header->key, "x-user");
    CU_ASSERT_STRING_EQUAL(ok->headers[0]->header->value, "alice");
    CU_ASSERT_STRING_EQUAL(ok->headers[1]->header->key, "x-roles");
    CU_ASSERT_STRING_EQUAL(ok->headers[1]->header->value, "a,b");
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(ok->headers[i]->append_action,
            ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS_OR_ADD);
        CU_ASSERT_PTR_NULL(ok->headers[i]->append);
        CU_ASSERT_EQUAL(ok->headers[i]->keep_empty_value, 0);
        CU_ASSERT_EQUAL(ok->headers[i]->header->raw_value.len, 0);
    }
    CU_ASSERT_PTR_NULL(ok->dynamic_metadata); /* the deprecated field 3 */
    CU_ASSERT_EQUAL(ok->n_headers_to_remove, 0);
    CU_ASSERT_EQUAL(r->base.n_unknown_fields, 0);

    const Google__Protobuf__Value *user = struct_get(r->dynamic_metadata, "user");
    CU_ASSERT_FATAL(user && user->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    const Struct *u = user->struct_value;
    CU_ASSERT_EQUAL(u->n_fields, 6);
    const Value *f = struct_get(u, "name");
    CU_ASSERT(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE &&
              strcmp(f->string_value, "alice") == 0);
    f = struct_get(u, "id");
    CU_ASSERT(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE &&
              f->number_value == 7);
    f = struct_get(u, "score");
    CU_ASSERT(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE &&
              f->number_value == 1.5);
    f = struct_get(u, "admin");
    CU_ASSERT(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE &&
              !f->bool_value);
    f = struct_get(u, "nothing");
    CU_ASSERT(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    f = struct_get(u, "groups");
    CU_ASSERT_FATAL(f && f->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    CU_ASSERT_EQUAL_FATAL(f->list_value->n_values, 3);
    CU_ASSERT_STRING_EQUAL(f->list_value->values[0]->string_value, "a");
    CU_ASSERT_STRING_EQUAL(f->list_value->values[1]->string_value, "b");
    CU_ASSERT_EQUAL(f->list_value->values[2]->kind_case,
                    GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);

    /* metadata that is not an object is left out; NULL host is fine
     * without metadata */
    json_object *arr = json_tokener_parse("[1,2]");
    v.dynamic_metadata = val_of(arr);
    codec_buf_reset(&b);
    r = encode_and_unpack(&v, &host, &b);
    CU_ASSERT_PTR_NULL(r->dynamic_metadata);
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);
    v.dynamic_metadata = NULL;
    codec_buf_reset(&b);
    r = encode_and_unpack(&v, NULL, &b);
    CU_ASSERT_PTR_NULL(r->dynamic_metadata);
    CU_ASSERT_EQUAL(r->ok_response->n_headers, 2);
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);
    json_object_put(arr);
    json_object_put(meta);
    codec_buf_free(&b);
}

static void test_encode_deny_v3(void)
{
    pc_header hdrs[] = {
        {{"WWW-Authenticate", 16}, {"Bearer realm=\"api\"", 18}},
    };
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.allowed = 0;
    v.grpc_code = 16;
    v.http_status = 401;
    v.headers = hdrs;
    v.n_headers = 1;
    v.body = pc_str_c("{\"error\":\"unauthorized\"}");
    v.reason = pc_str_c("token expired");

    codec_buf b = CODEC_BUF_INIT;
    CheckResponse *r = encode_and_unpack(&v, NULL, &b);
    CU_ASSERT_EQUAL(r->status->code, 16);
    CU_ASSERT_STRING_EQUAL(r->status->message, "token expired");
    CU_ASSERT_EQUAL(r->status->n_details, 0);
    CU_ASSERT_EQUAL_FATAL(r->http_response_case,
        ENVOY__SERVICE__AUTH__V3__CHECK_RESPONSE__HTTP_RESPONSE_DENIED_RESPONSE);
    Envoy__Service__Auth__V3__DeniedHttpResponse *d = r->denied_response;
    CU_ASSERT_FATAL(d->status != NULL);
    CU_ASSERT_EQUAL(d->status->code, 401);
    CU_ASSERT_EQUAL_FATAL(d->n_headers, 1);
    CU_ASSERT_STRING_EQUAL(d->headers[0]->header->key, "www-authenticate");
    CU_ASSERT_STRING_EQUAL(d->headers[0]->header->value, "Bearer realm=\"api\"");
    CU_ASSERT_EQUAL(d->headers[0]->append_action,
        ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS_OR_ADD);
    CU_ASSERT_STRING_EQUAL(d->body, "{\"error\":\"unauthorized\"}");
    CU_ASSERT_PTR_NULL(r->dynamic_metadata);
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);

    /* a denial with grpc_code 0 must not read as OK; no headers, no body */
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.http_status = 403;
    codec_buf_reset(&b);
    r = encode_and_unpack(&v, NULL, &b);
    CU_ASSERT_EQUAL(r->status->code, 7);
    CU_ASSERT_EQUAL(r->denied_response->status->code, 403);
    CU_ASSERT_EQUAL(r->denied_response->n_headers, 0);
    CU_ASSERT_STRING_EQUAL(r->denied_response->body, "");
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);

    /* a NULL verdict or buffer is refused, and out is left as it was */
    CU_ASSERT_EQUAL(codec_encode_check_response(NULL, NULL, 0, &b), CODEC_EINVAL);
    CU_ASSERT_EQUAL(codec_encode_check_response(&v, NULL, 0, NULL), CODEC_EINVAL);
    codec_buf_free(&b);
}

static void test_utf8_clean(void)
{
    static const struct {
        const char *in;
        size_t len;
        int lower;
        const char *want;
    } cases[] = {
        {"plain ascii", 11, 0, "plain ascii"},
        {"MiXeD", 5, 1, "mixed"},
        {"MiXeD", 5, 0, "MiXeD"},
        {"a\xff" "b", 3, 0, "a\xef\xbf\xbd" "b"},
        {"\xe2\x82", 2, 0, "\xef\xbf\xbd"},                 /* truncated: one U+FFFD */
        {"\xe2\x82" "A", 3, 1, "\xef\xbf\xbd" "a"},
        {"\xc0\xaf", 2, 0, "\xef\xbf\xbd\xef\xbf\xbd"},     /* overlong */
        {"\xed\xa0\x80", 3, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0,
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},             /* > U+10FFFF */
        {"\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac", 10, 0,
         "\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac"},                         /* valid */
        {"a\0b", 3, 0, "a\xef\xbf\xbd" "b"},                 /* NUL */
        {"\x80\x80", 2, 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    };
    alignas(max_align_t) unsigned char mem[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        codec_arena a;
        codec_arena_init_on(&a, mem, sizeof mem);
        char *out = codec_utf8_clean(&a, cases[i].in, cases[i].len, cases[i].lower);
        CU_ASSERT_FATAL(out != NULL);
        CU_ASSERT_STRING_EQUAL(out, cases[i].want);
        codec_arena_free(&a);
    }

    /* through the encoder: header value, body and reason */
    pc_header hdr = {{"X-Bad\xff", 6}, {"v\xc3", 2}};
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.grpc_code = 7;
    v.http_status = 403;
    v.headers = &hdr;
    v.n_headers = 1;
    v.body.ptr = "body\xfe\0end";
    v.body.len = 9;
    v.reason.ptr = "why\x80";
    v.reason.len = 4;
    codec_buf b = CODEC_BUF_INIT;
    CheckResponse *r = encode_and_unpack(&v, NULL, &b);
    CU_ASSERT_STRING_EQUAL(r->status->message, "why\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(r->denied_response->headers[0]->header->key, "x-bad\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(r->denied_response->headers[0]->header->value, "v\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(r->denied_response->body, "body\xef\xbf\xbd\xef\xbf\xbd" "end");
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);
    codec_buf_free(&b);
}

static size_t unknown_in(const ProtobufCMessage *m)
{
    return m ? m->n_unknown_fields : 0;
}

static void test_encode_v2(void)
{
    pc_host host = json_host();
    json_object *meta = json_tokener_parse(META_JSON);
    pc_header hdrs[] = {{{"X-User", 6}, {"alice", 5}}, {{"x-b", 3}, {"2", 1}}};
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.allowed = 1;
    v.http_status = 200;
    v.headers = hdrs;
    v.n_headers = 2;
    v.dynamic_metadata = val_of(meta);

    codec_buf b = CODEC_BUF_INIT;
    size_t len;
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 1, &b), 0);
    const uint8_t *body = grpc_body(&b, 0, &len);

    /* Read with the v2 types, every field is known: no field 4 (dynamic
     * metadata) and no HeaderValueOption field 3 (append_action). */
    Envoy__Service__Auth__V2__CheckResponse *r2 =
        envoy__service__auth__v2__check_response__unpack(NULL, len, body);
    CU_ASSERT_FATAL(r2 != NULL);
    CU_ASSERT_EQUAL(unknown_in(&r2->base), 0);
    CU_ASSERT_EQUAL(unknown_in(&r2->status->base), 0);
    CU_ASSERT_EQUAL_FATAL(r2->http_response_case,
        ENVOY__SERVICE__AUTH__V2__CHECK_RESPONSE__HTTP_RESPONSE_OK_RESPONSE);
    CU_ASSERT_EQUAL(unknown_in(&r2->ok_response->base), 0);
    CU_ASSERT_EQUAL_FATAL(r2->ok_response->n_headers, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(unknown_in(&r2->ok_response->headers[i]->base), 0);
        CU_ASSERT_EQUAL(unknown_in(&r2->ok_response->headers[i]->header->base), 0);
        CU_ASSERT_PTR_NULL(r2->ok_response->headers[i]->append);
    }
    CU_ASSERT_STRING_EQUAL(r2->ok_response->headers[0]->header->key, "x-user");
    CU_ASSERT_STRING_EQUAL(r2->ok_response->headers[0]->header->value, "alice");
    envoy__service__auth__v2__check_response__free_unpacked(r2, NULL);

    /* and on the raw wire */
    const uint8_t *p;
    size_t plen;
    static const uint32_t top4[] = {4};
    static const uint32_t hdr_key[] = {3, 2, 1, 1};
    CU_ASSERT_EQUAL(codec_wire_find(body, len, top4, 1, &p, &plen), 0);
    CU_ASSERT_EQUAL(codec_wire_find(body, len, hdr_key, 4, &p, &plen), 1);
    CU_ASSERT(plen == 3 && memcmp(p, "x-b", 3) == 0); /* the last one */
    /* append_action is a varint, so look at every field of the option */
    {
        static const uint32_t opt[] = {3, 2};
        CU_ASSERT_EQUAL(codec_wire_find(body, len, opt, 2, &p, &plen), 1);
        /* HeaderValueOption: only field 1 (header), wire bytes 0x0a ... */
        CU_ASSERT_EQUAL(p[0], 0x0a);
        CU_ASSERT_EQUAL((size_t)p[1] + 2, plen);
    }

    /* v2 denial */
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.grpc_code = 7;
    v.http_status = 403;
    v.headers = hdrs;
    v.n_headers = 1;
    v.body = pc_str_c("no");
    v.reason = pc_str_c("denied");
    codec_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 1, &b), 0);
    body = grpc_body(&b, 0, &len);
    r2 = envoy__service__auth__v2__check_response__unpack(NULL, len, body);
    CU_ASSERT_FATAL(r2 != NULL);
    CU_ASSERT_EQUAL(r2->status->code, 7);
    CU_ASSERT_STRING_EQUAL(r2->status->message, "denied");
    CU_ASSERT_EQUAL_FATAL(r2->http_response_case,
        ENVOY__SERVICE__AUTH__V2__CHECK_RESPONSE__HTTP_RESPONSE_DENIED_RESPONSE);
    CU_ASSERT_EQUAL(r2->denied_response->status->code, 403);
    CU_ASSERT_STRING_EQUAL(r2->denied_response->body, "no");
    CU_ASSERT_EQUAL(unknown_in(&r2->denied_response->base), 0);
    CU_ASSERT_EQUAL(unknown_in(&r2->denied_response->headers[0]->base), 0);
    envoy__service__auth__v2__check_response__free_unpacked(r2, NULL);
    json_object_put(meta);
    codec_buf_free(&b);
}

static void test_encode_metadata_depth(void)
{
    pc_host host = json_host();
    json_object *root = json_object_new_object(), *cur = root;
    for (int i = 0; i < 60; i++) {
        json_object *next = json_object_new_object();
        json_object_object_add(cur, "a", next);
        cur = next;
    }
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.allowed = 1;
    v.dynamic_metadata = val_of(root);
    codec_buf b = CODEC_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 0, &b), 0);
    size_t len;
    const uint8_t *body = grpc_body(&b, 0, &len);
    /* within the 100-message limit of Envoy's parser */
    long items = CODEC_MAX_ITEMS;
    CU_ASSERT_EQUAL(codec_wire_check(&envoy__service__auth__v3__check_response__descriptor,
                                     body, len, 99, &items), 0);
    CheckResponse *r = envoy__service__auth__v3__check_response__unpack(NULL, len, body);
    CU_ASSERT_FATAL(r != NULL);
    int structs = 1;
    const Struct *s = r->dynamic_metadata;
    for (;;) {
        const Value *a = struct_get(s, "a");
        CU_ASSERT_FATAL(a != NULL);
        if (a->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE) {
            CU_ASSERT_EQUAL(a->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
            break;
        }
        s = a->struct_value;
        structs++;
    }
    CU_ASSERT_EQUAL(structs, CODEC_MAX_JSON_DEPTH + 1);
    envoy__service__auth__v3__check_response__free_unpacked(r, NULL);
    json_object_put(root);
    codec_buf_free(&b);
}

/* The direct encoder against protobuf-c's packer over the same message
 * tree (codec_encode_ref.c): the same bytes for every verdict. */
static int encode_same(const pc_verdict *v, const pc_host *h, int v2)
{
    codec_buf a = CODEC_BUF_INIT, b = CODEC_BUF_INIT;
    /* something already in the buffer: both append after it */
    CU_ASSERT_EQUAL_FATAL(codec_buf_reserve(&a, 3), 0);
    CU_ASSERT_EQUAL_FATAL(codec_buf_reserve(&b, 3), 0);
    memcpy(a.data, "abc", 3);
    memcpy(b.data, "abc", 3);
    a.len = b.len = 3;
    int ra = codec_encode_check_response(v, h, v2, &a);
    int rb = codec_encode_check_response_ref(v, h, v2, &b);
    int same = ra == rb && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    if (!same)
        fprintf(stderr, "encode differs (v2 %d): rc %d/%d, %zu/%zu bytes\n", v2,
                ra, rb, a.len, b.len);
    codec_buf_free(&a);
    codec_buf_free(&b);
    return same;
}

static void encode_same_all(pc_verdict *v, const pc_host *h)
{
    for (int allowed = 0; allowed < 2; allowed++) {
        v->allowed = allowed;
        CU_ASSERT(encode_same(v, h, 0));
        CU_ASSERT(encode_same(v, h, 1));
        CU_ASSERT(encode_same(v, NULL, 0));
    }
}

static void test_encode_matches_protobuf_c(void)
{
    pc_host host = json_host();
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    encode_same_all(&v, &host); /* nothing set at all */

    static char big[70000];
    memset(big, 'x', sizeof big - 1);
    big[200] = '\xc3'; /* a cut sequence: cleaned */
    pc_header hdrs[] = {
        {{"X-User", 6}, {"alice", 5}},
        {{"", 0}, {"dropped", 7}},
        {{"x-empty", 7}, {"", 0}},
        {{"X-\xff\x00" "Bad", 7}, {"v\x00" "al\xe2\x82", 7}},
        {{"x-big", 5}, {big, sizeof big - 1}},
        {{"x-127", 5}, {big, 127}},
        {{"x-128", 5}, {big, 128}},
        {{"x-16384", 7}, {big, 16384}},
    };
    v.headers = hdrs;
    v.n_headers = sizeof hdrs / sizeof hdrs[0];
    static const int codes[] = {0, 7, 16, -1, INT32_MIN, INT32_MAX, 300};
    static const int https[] = {0, -5, 200, 403, 599, 100000};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        v.grpc_code = codes[i];
        v.http_status = https[i % (sizeof https / sizeof https[0])];
        v.reason = i % 2 ? pc_str_c("denied \xf0\x9f") : pc_str_c("");
        v.body = i % 3 ? pc_str_c("body") : (pc_str){big, 1000};
        encode_same_all(&v, &host);
    }

    const char *const docs[] = {
        "{}",
        "{\"\":1}",
        "{\"a\":{},\"b\":[],\"c\":\"\",\"d\":0,\"e\":-0.0,\"f\":false,\"g\":true,"
        "\"h\":null,\"i\":1e308,\"j\":-9007199254740993,\"k\":[[],[{}],null,1.5]}",
        META_JSON,
        "{\"K\\u00fc\":\"\\u0000x\",\"big\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,"
        "17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,"
        "41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,"
        "65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,"
        "89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,"
        "109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,"
        "127,128,129,130]}",
        "[1,2]", /* not an object: no dynamic_metadata */
        "\"s\"",
    };
    v.grpc_code = 0;
    v.http_status = 401;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_object *j = json_tokener_parse(docs[i]);
        CU_ASSERT_FATAL(j != NULL);
        v.dynamic_metadata = val_of(j);
        encode_same_all(&v, &host);
        json_object_put(j);
    }
    /* nesting past CODEC_MAX_JSON_DEPTH, in objects and in arrays */
    json_object *root = json_object_new_object(), *cur = root;
    for (int i = 0; i < 70; i++) {
        json_object *arr = json_object_new_array(), *next = json_object_new_object();
        json_object_array_add(arr, next);
        json_object_object_add(cur, i % 2 ? "a" : "bb", i % 3 ? arr : json_object_get(next));
        if (i % 3 == 0)
            json_object_put(arr);
        cur = next;
    }
    v.dynamic_metadata = val_of(root);
    encode_same_all(&v, &host);
    json_object_put(root);
}

/* Random verdicts: header bytes of any value, JSON trees of any shape. */
static uint64_t rnd_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return n ? (uint32_t)(rnd_state % n) : 0;
}

static void rnd_bytes(char *p, size_t n)
{
    static const char pick[] = "aZ09-_ \x00\x7f\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\xff";
    for (size_t i = 0; i < n; i++)
        p[i] = rnd(4) ? pick[rnd(sizeof pick - 1)] : (char)rnd(256);
}

static json_object *rnd_json(int depth)
{
    char s[40];
    switch (rnd(depth > 12 ? 5 : 7)) {
    case 0: return NULL;
    case 1: return json_object_new_boolean((json_bool)rnd(2));
    case 2: return json_object_new_int64((int64_t)rnd(UINT32_MAX) - INT32_MAX);
    case 3: return json_object_new_double((double)rnd(1000000) / 7.0 - 5000.0);
    case 4: {
        size_t n = rnd(3) ? rnd(sizeof s) : 0;
        rnd_bytes(s, n);
        return json_object_new_string_len(s, (int)n);
    }
    case 5: {
        json_object *a = json_object_new_array();
        for (uint32_t i = 0, n = rnd(5); i < n; i++)
            json_object_array_add(a, rnd_json(depth + 1));
        return a;
    }
    default: {
        json_object *o = json_object_new_object();
        for (uint32_t i = 0, n = rnd(5); i < n; i++) {
            size_t kn = rnd(8);
            rnd_bytes(s, kn);
            s[kn] = '\0'; /* keys are C strings */
            json_object_object_add(o, s, rnd_json(depth + 1));
        }
        return o;
    }
    }
}

static void test_encode_matches_protobuf_c_random(void)
{
    pc_host host = json_host();
    enum { ROUNDS = 400, MAXH = 12 };
    static char text[MAXH * 2 + 2][64];
    for (int round = 0; round < ROUNDS; round++) {
        pc_header hdrs[MAXH];
        size_t nh = rnd(MAXH + 1);
        for (size_t i = 0; i < nh; i++) {
            size_t nl = rnd(20), vl = rnd(64);
            rnd_bytes(text[2 * i], nl);
            rnd_bytes(text[2 * i + 1], vl);
            hdrs[i].name = (pc_str){text[2 * i], nl};
            hdrs[i].value = (pc_str){text[2 * i + 1], vl};
        }
        size_t rl = rnd(64), bl = rnd(64);
        rnd_bytes(text[2 * MAXH], rl);
        rnd_bytes(text[2 * MAXH + 1], bl);
        pc_verdict v;
        memset(&v, 0, sizeof v);
        v.struct_size = sizeof v;
        v.grpc_code = (int)rnd(20) - 2;
        v.http_status = (int)rnd(700) - 50;
        v.headers = hdrs;
        v.n_headers = nh;
        v.reason = (pc_str){text[2 * MAXH], rl};
        v.body = (pc_str){text[2 * MAXH + 1], bl};
        json_object *j = rnd(4) ? rnd_json(0) : NULL;
        v.dynamic_metadata = j ? val_of(j) : NULL;
        encode_same_all(&v, &host);
        json_object_put(j);
    }
}

/* ------------------------------------------------------------------ */
/* gRPC helpers                                                        */

static void test_grpc_timeout(void)
{
    static const struct {
        const char *s;
        int64_t want;
    } cases[] = {
        {"200m", INT64_C(200000000)},
        {"1H", INT64_C(3600000000000)},
        {"2M", INT64_C(120000000000)},
        {"3S", INT64_C(3000000000)},
        {"4u", INT64_C(4000)},
        {"5n", INT64_C(5)},
        {"0m", 0},
        {"00000010S", INT64_C(10000000000)},
        {"99999999n", INT64_C(99999999)},
        {"12345678S", INT64_C(12345678000000000)},
        {"99999999H", INT64_MAX}, /* saturates */
        {"", -1},
        {"m", -1},
        {"200", -1},
        {"123456789m", -1}, /* 9 digits */
        {"-1m", -1},
        {"+1m", -1},
        {"1.5S", -1},
        {"10x", -1},
        {" 1m", -1},
        {"1m ", -1},
        {"1h", -1},
        {"1s", -1},
        {"m1", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = codec_grpc_timeout_parse(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            fprintf(stderr, "timeout %s: %lld\n", cases[i].s, (long long)got);
        CU_ASSERT_EQUAL(got, cases[i].want);
    }
    CU_ASSERT_EQUAL(codec_grpc_timeout_parse("200mXX", 4), INT64_C(200000000));
    CU_ASSERT_EQUAL(codec_grpc_timeout_parse(NULL, 0), -1);
}

static void test_grpc_message_escape(void)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"hello world", "hello world"},
        {"50% off", "50%25 off"},
        {"\xc3\xbcn\xc3\xaf", "%C3%BCn%C3%AF"},
        {"a\nb\tc", "a%0Ab%09c"},
        {"~ ok", "~ ok"},
        {"\x7f", "%7F"},
        {"", ""},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = codec_grpc_message_escape(cases[i].in, strlen(cases[i].in),
                                             out, sizeof out);
        CU_ASSERT_EQUAL(n, strlen(cases[i].want));
        CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
    /* truncation never leaves half an escape, and reports the full size */
    CU_ASSERT_EQUAL(codec_grpc_message_escape("a%b", 3, out, 4), 5);
    CU_ASSERT_STRING_EQUAL(out, "a");
    CU_ASSERT_EQUAL(codec_grpc_message_escape("a%b", 3, out, 5), 5);
    CU_ASSERT_STRING_EQUAL(out, "a%25");
    CU_ASSERT_EQUAL(codec_grpc_message_escape("a%b", 3, out, 6), 5);
    CU_ASSERT_STRING_EQUAL(out, "a%25b");
    CU_ASSERT_EQUAL(codec_grpc_message_escape("abc", 3, out, 1), 3);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(codec_grpc_message_escape("abc", 3, NULL, 0), 3);
}

static void test_error_mapping(void)
{
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_OK), 0);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_ETOOBIG), 8);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_ENOMEM), 8);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_ECOMPRESSED), 13);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_EFRAME), 13);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_EINVAL), 3);
    for (int e = 0; e >= -7; e--)
        CU_ASSERT(strcmp(codec_strerror(e), "unknown error") != 0);
    CU_ASSERT_STRING_EQUAL(codec_strerror(-99), "unknown error");
}

/* ------------------------------------------------------------------ */
/* framing                                                             */

static size_t frame(uint8_t *out, uint8_t flag, const uint8_t *msg, size_t len)
{
    out[0] = flag;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    if (len)
        memcpy(out + 5, msg, len);
    return len + 5;
}

static void test_frame_reassembly(void)
{
    /* three messages back to back: 300 bytes, empty, 70000 bytes */
    static const size_t sizes[] = {300, 0, 70000};
    size_t total = 0;
    uint8_t *msgs[3];
    uint8_t *stream = malloc(70400);
    for (int m = 0; m < 3; m++) {
        msgs[m] = malloc(sizes[m] + 1);
        for (size_t i = 0; i < sizes[m]; i++)
            msgs[m][i] = (uint8_t)(i * 31 + (size_t)m * 7);
        total += frame(stream + total, 0, msgs[m], sizes[m]);
    }
    static const size_t chunks[] = {1, 2, 7, 4096, 70400};
    for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
        codec_frame_reader r;
        codec_frame_reader_init(&r, 0, 0);
        CU_ASSERT_EQUAL(r.max_len, CODEC_MAX_MESSAGE_DEFAULT);
        int got = 0;
        for (size_t off = 0; off < total; off += chunks[ci]) {
            const uint8_t *p = stream + off;
            size_t n = total - off < chunks[ci] ? total - off : chunks[ci];
            for (;;) {
                size_t used = 99;
                int rc = codec_frame_reader_feed(&r, p, n, &used);
                CU_ASSERT_FATAL(used <= n);
                p += used;
                n -= used;
                if (rc == CODEC_FRAME_READY) {
                    size_t len;
                    int comp = -1;
                    const uint8_t *m = codec_frame_reader_message(&r, &len, &comp);
                    CU_ASSERT_FATAL(got < 3 && m != NULL);
                    CU_ASSERT_EQUAL(len, sizes[got]);
                    CU_ASSERT_EQUAL(comp, 0);
                    CU_ASSERT(len == 0 || memcmp(m, msgs[got], len) == 0);
                    CU_ASSERT_FALSE(codec_frame_reader_partial(&r));
                    /* fed again before _next: still ready, nothing taken */
                    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, p, n, &used),
                                    CODEC_FRAME_READY);
                    CU_ASSERT_EQUAL(used, 0);
                    codec_frame_reader_next(&r);
                    got++;
                    continue;
                }
                CU_ASSERT_EQUAL(rc, CODEC_FRAME_MORE);
                CU_ASSERT_EQUAL(n, 0);
                break;
            }
            if (off + chunks[ci] < total && got < 3 && chunks[ci] == 1 && off == 2)
                CU_ASSERT_TRUE(codec_frame_reader_partial(&r));
        }
        CU_ASSERT_EQUAL(got, 3);
        CU_ASSERT_FALSE(codec_frame_reader_partial(&r));
        CU_ASSERT_PTR_NULL(codec_frame_reader_message(&r, NULL, NULL));
        codec_frame_reader_free(&r);
    }
    for (int m = 0; m < 3; m++)
        free(msgs[m]);
    free(stream);
}

static void test_frame_errors(void)
{
    uint8_t buf[256], payload[101] = {0};
    size_t used;
    codec_frame_reader r;

    /* exactly the limit is fine, one byte more is refused at the header */
    codec_frame_reader_init(&r, 100, 0);
    size_t n = frame(buf, 0, payload, 100);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, n, &used), CODEC_FRAME_READY);
    codec_frame_reader_next(&r);
    n = frame(buf, 0, payload, 101);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, 5, &used), CODEC_ETOOBIG);
    CU_ASSERT_EQUAL(used, 5);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf + 5, 10, &used), CODEC_ETOOBIG);
    CU_ASSERT_EQUAL(codec_error_grpc_status(CODEC_ETOOBIG), 8);
    codec_frame_reader_free(&r);

    /* the default limit, announced one byte at a time */
    codec_frame_reader_init(&r, 0, 0);
    uint8_t hdr[5] = {0, 0, 0x40, 0, 1}; /* 4 MiB + 1 */
    int rc = CODEC_FRAME_MORE;
    for (int i = 0; i < 5 && rc == CODEC_FRAME_MORE; i++)
        rc = codec_frame_reader_feed(&r, hdr + i, 1, &used);
    CU_ASSERT_EQUAL(rc, CODEC_ETOOBIG);
    codec_frame_reader_free(&r);

    /* compressed without grpc-encoding */
    codec_frame_reader_init(&r, 0, 0);
    n = frame(buf, 1, (const uint8_t *)"zz", 2);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, n, &used), CODEC_ECOMPRESSED);
    codec_frame_reader_free(&r);
    /* ... and with it: handed over, flagged */
    codec_frame_reader_init(&r, 0, 1);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, n, &used), CODEC_FRAME_READY);
    int comp = 0;
    size_t len = 0;
    const uint8_t *m = codec_frame_reader_message(&r, &len, &comp);
    CU_ASSERT(comp == 1 && len == 2 && memcmp(m, "zz", 2) == 0);
    codec_frame_reader_free(&r);

    /* a flag byte other than 0 and 1 */
    codec_frame_reader_init(&r, 0, 1);
    n = frame(buf, 2, (const uint8_t *)"x", 1);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, n, &used), CODEC_EFRAME);
    codec_frame_reader_free(&r);

    /* a stream ending mid-message */
    codec_frame_reader_init(&r, 0, 0);
    n = frame(buf, 0, payload, 50);
    CU_ASSERT_EQUAL(codec_frame_reader_feed(&r, buf, 20, &used), CODEC_FRAME_MORE);
    CU_ASSERT_TRUE(codec_frame_reader_partial(&r));
    codec_frame_reader_free(&r);
}

/* ------------------------------------------------------------------ */
/* health                                                              */

static void test_health(void)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = "envoy.service.auth.v3.Authorization";
    size_t len;
    uint8_t *wire = pack(&req.base, &len);
    char name[64];
    CU_ASSERT_EQUAL(codec_decode_health_request(wire, len, name, sizeof name), 0);
    CU_ASSERT_STRING_EQUAL(name, "envoy.service.auth.v3.Authorization");
    CU_ASSERT_EQUAL(codec_decode_health_request(wire, len, name, 10), CODEC_ETOOBIG);
    free(wire);
    CU_ASSERT_EQUAL(codec_decode_health_request(NULL, 0, name, sizeof name), 0);
    CU_ASSERT_STRING_EQUAL(name, "");
    CU_ASSERT_EQUAL(codec_decode_health_request((const uint8_t *)"\x0a\x05", 2,
                                                name, sizeof name), CODEC_EPARSE);

    CU_ASSERT_EQUAL(codec_health_status_for("", 1), CODEC_HEALTH_SERVING);
    CU_ASSERT_EQUAL(codec_health_status_for(NULL, 0), CODEC_HEALTH_NOT_SERVING);
    CU_ASSERT_EQUAL(codec_health_status_for("envoy.service.auth.v3.Authorization", 1),
                    CODEC_HEALTH_SERVING);
    CU_ASSERT_EQUAL(codec_health_status_for("envoy.service.auth.v2.Authorization", 0),
                    CODEC_HEALTH_NOT_SERVING);
    CU_ASSERT_EQUAL(codec_health_status_for("envoy.service.auth.v3.authorization", 1),
                    CODEC_HEALTH_SERVICE_UNKNOWN);
    CU_ASSERT_EQUAL(codec_health_status_for("other", 1), CODEC_HEALTH_SERVICE_UNKNOWN);

    codec_buf b = CODEC_BUF_INIT;
    static const struct {
        codec_health_status st;
        const char *wire;
        size_t len;
    } enc[] = {
        {CODEC_HEALTH_SERVING, "\x00\x00\x00\x00\x02\x08\x01", 7},
        {CODEC_HEALTH_NOT_SERVING, "\x00\x00\x00\x00\x02\x08\x02", 7},
        {CODEC_HEALTH_SERVICE_UNKNOWN, "\x00\x00\x00\x00\x02\x08\x03", 7},
        {CODEC_HEALTH_UNKNOWN, "\x00\x00\x00\x00\x00", 5},
    };
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        codec_buf_reset(&b);
        CU_ASSERT_EQUAL(codec_encode_health_response(enc[i].st, &b), 0);
        CU_ASSERT(b.len == enc[i].len && memcmp(b.data, enc[i].wire, b.len) == 0);
        Grpc__Health__V1__HealthCheckResponse *resp =
            grpc__health__v1__health_check_response__unpack(NULL, b.len - 5, b.data + 5);
        CU_ASSERT_FATAL(resp != NULL);
        CU_ASSERT_EQUAL((int)resp->status, (int)enc[i].st);
        grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    }
    CU_ASSERT_EQUAL(codec_encode_health_response((codec_health_status)9, &b), CODEC_EINVAL);
    codec_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Python's protobuf (tests/integration/pyclient) on the other side    */

/* Runs the pyclient with args; its stdout goes to out. 0 on success. */
static int run_py(const char *args, char *out, size_t cap)
{
    const char *src = getenv("PC_SOURCE_DIR");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tests/integration/pyclient/extauthz_client.py %s",
             src, args);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return st == 0 && n > 0 ? 0 : -1;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

static int have_python_side(void)
{
    if (getenv("PC_SOURCE_DIR") && (getenv("PC_BUILD_DIR") || getenv("PC_PY_PROTO_DIR")))
        return 1;
    fprintf(stderr, "\n  [python cross-checks need PC_SOURCE_DIR and PC_BUILD_DIR, as ctest sets]\n");
    return 0;
}

static void test_python_request(void)
{
    if (!have_python_side())
        return;
    char *out = malloc(1 << 16);
    uint8_t *wire = malloc(1 << 15);
    CU_ASSERT_FATAL(out && wire);
    int rc = run_py(
        "build-request '{\"host\": \"api.example.com\", \"path\": \"/v1/items?x=1\", "
        "\"method\": \"PUT\", \"headers\": {\"Authorization\": \"Bearer t0k\", "
        "\"x-multi\": \"a,b\"}, \"context_extensions\": {\"host\": \"api\"}, "
        "\"source\": [\"10.0.0.7\", 43210], \"destination\": \"/run/sock\", "
        "\"raw_headers_hex\": [[\"set-cookie\", \"613d31ff\"]], \"raw_body_hex\": \"00ff\", "
        "\"body_hex\": \"610062\", \"sni\": \"sni.test\", \"principal\": \"spiffe://a/b\", "
        "\"time\": [1700000001, 7], \"size\": 12, "
        "\"metadata\": {\"ns.a\": {\"n\": 3, \"f\": 0.5, \"s\": \"x\\\"y\", "
        "\"l\": [true, null, {\"k\": []}]}}}'",
        out, 1 << 16);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    size_t len = unhex(out, wire, 1 << 15);
    CU_ASSERT_FATAL(len > 100);
    codec_check c;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(codec_decode_check(wire, len, NULL, &c, err, sizeof err), 0);
    const pc_request_view *v = &c.view;
    CU_ASSERT(str_eq(v->host, "api.example.com"));
    CU_ASSERT(str_eq(v->path, "/v1/items?x=1"));
    CU_ASSERT(str_eq(v->method, "PUT"));
    CU_ASSERT(str_eq(v->protocol, "HTTP/1.1"));
    CU_ASSERT(bytes_eq(v->body, "a\0b", 3));
    CU_ASSERT(bytes_eq(v->raw_body, "\x00\xff", 2));
    CU_ASSERT_EQUAL(v->size, 12);
    CU_ASSERT_EQUAL(v->time_sec, 1700000001);
    CU_ASSERT_EQUAL(v->time_nanos, 7);
    /* 4 pseudo-headers + 2 map headers + 1 raw header */
    CU_ASSERT_EQUAL_FATAL(v->n_headers, 7);
    CU_ASSERT(str_eq(kv_find(v->headers, 7, ":authority")->value, "api.example.com"));
    CU_ASSERT(str_eq(kv_find(v->headers, 7, ":method")->value, "PUT"));
    CU_ASSERT(str_eq(kv_find(v->headers, 7, "authorization")->value, "Bearer t0k"));
    CU_ASSERT(str_eq(kv_find(v->headers, 7, "x-multi")->value, "a,b"));
    CU_ASSERT(bytes_eq(kv_find(v->headers, 7, "set-cookie")->value, "a=1\xff", 4));
    CU_ASSERT(str_eq(kv_find(v->context_extensions, v->n_context_extensions, "host")->value, "api"));
    CU_ASSERT(str_eq(v->source.address, "10.0.0.7"));
    CU_ASSERT_EQUAL(v->source.port, 43210);
    CU_ASSERT(str_eq(v->source.principal, "spiffe://a/b"));
    CU_ASSERT(str_eq(v->destination.address, "/run/sock"));
    CU_ASSERT(str_eq(v->sni, "sni.test"));
    json_object *j = view_metadata(v);
    CU_ASSERT_FATAL(j != NULL);
    json_object *ns = NULL, *x = NULL;
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_object_get(j, "filter_metadata"),
                                              "ns.a", &ns));
    CU_ASSERT(json_object_object_get_ex(ns, "n", &x) && json_object_get_double(x) == 3);
    CU_ASSERT(json_object_object_get_ex(ns, "f", &x) && json_object_get_double(x) == 0.5);
    CU_ASSERT(json_object_object_get_ex(ns, "s", &x) &&
              strcmp(json_object_get_string(x), "x\"y") == 0);
    CU_ASSERT(json_object_object_get_ex(ns, "l", &x) &&
              json_object_array_length(x) == 3 &&
              json_object_get_boolean(json_object_array_get_idx(x, 0)) &&
              json_object_array_get_idx(x, 1) == NULL &&
              json_object_is_type(json_object_object_get(json_object_array_get_idx(x, 2), "k"),
                                  json_type_array));
    json_object_put(j);
    codec_check_free(&c);
    free(out);
    free(wire);
}

static json_object *py_decode(const codec_buf *b, int v2)
{
    size_t len;
    const uint8_t *body = grpc_body(b, 0, &len);
    size_t cap = 2 * len + 64;
    char *args = malloc(cap + 64), *out = malloc(1 << 16);
    int n = snprintf(args, 64, "decode-response %s", v2 ? "--v2 " : "");
    for (size_t i = 0; i < len; i++)
        n += snprintf(args + n, 3, "%02x", body[i]);
    if (len == 0)
        snprintf(args + n, 3, "''");
    json_object *j = NULL;
    if (run_py(args, out, 1 << 16) == 0)
        j = json_tokener_parse(out);
    free(args);
    free(out);
    return j;
}

static const char *jpath(json_object *j, const char *const *keys)
{
    for (; *keys && j; keys++) {
        if (json_object_is_type(j, json_type_array))
            j = json_object_array_get_idx(j, (size_t)atoi(*keys));
        else
            j = json_object_object_get(j, *keys);
    }
    return j ? json_object_get_string(j) : NULL;
}

#define JP(j, ...) jpath((j), (const char *const[]){__VA_ARGS__, NULL})

static void test_python_response(void)
{
    if (!have_python_side())
        return;
    pc_host host = json_host();
    json_object *meta = json_tokener_parse(META_JSON);
    pc_header hdrs[] = {{{"X-User", 6}, {"al\xffice", 6}}};
    pc_verdict v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.allowed = 1;
    v.headers = hdrs;
    v.n_headers = 1;
    v.dynamic_metadata = val_of(meta);
    codec_buf b = CODEC_BUF_INIT;

    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 0, &b), 0);
    json_object *j = py_decode(&b, 0);
    CU_ASSERT_FATAL(j != NULL);
    const char *s;
    CU_ASSERT(JP(j, "status") != NULL);
    CU_ASSERT((s = JP(j, "ok_response", "headers", "0", "header", "key")) &&
              strcmp(s, "x-user") == 0);
    CU_ASSERT((s = JP(j, "ok_response", "headers", "0", "header", "value")) &&
              strcmp(s, "al\xef\xbf\xbdice") == 0);
    CU_ASSERT((s = JP(j, "ok_response", "headers", "0", "append_action")) &&
              strcmp(s, "OVERWRITE_IF_EXISTS_OR_ADD") == 0);
    CU_ASSERT((s = JP(j, "dynamic_metadata", "user", "name")) && strcmp(s, "alice") == 0);
    CU_ASSERT((s = JP(j, "dynamic_metadata", "user", "groups", "1")) && strcmp(s, "b") == 0);
    CU_ASSERT((s = JP(j, "unknown_fields")) && strcmp(s, "0") == 0);
    json_object_put(j);

    codec_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 1, &b), 0);
    j = py_decode(&b, 1);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT((s = JP(j, "ok_response", "headers", "0", "header", "key")) &&
              strcmp(s, "x-user") == 0);
    CU_ASSERT_PTR_NULL(JP(j, "dynamic_metadata"));
    CU_ASSERT((s = JP(j, "unknown_fields")) && strcmp(s, "0") == 0);
    json_object_put(j);

    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.grpc_code = 16;
    v.http_status = 401;
    v.body = pc_str_c("{\"e\":1}");
    v.reason = pc_str_c("no credential");
    codec_buf_reset(&b);
    CU_ASSERT_EQUAL_FATAL(codec_encode_check_response(&v, &host, 0, &b), 0);
    j = py_decode(&b, 0);
    CU_ASSERT_FATAL(j != NULL);
    CU_ASSERT((s = JP(j, "status", "code")) && strcmp(s, "16") == 0);
    CU_ASSERT((s = JP(j, "status", "message")) && strcmp(s, "no credential") == 0);
    CU_ASSERT((s = JP(j, "denied_response", "status", "code")) && strcmp(s, "Unauthorized") == 0);
    CU_ASSERT((s = JP(j, "denied_response", "body")) && strcmp(s, "{\"e\":1}") == 0);
    json_object_put(j);
    json_object_put(meta);
    codec_buf_free(&b);
}

int cu_register(void)
{
    static const cu_case decode[] = {
        {"protobuf-c built request", test_decode_protobuf_c},
        {"hand-written wire bytes", test_decode_hand_wire},
        {"missing attributes.request.http", test_decode_missing_http},
        {"malformed and mutated input", test_decode_malformed},
        {"depth and size limits", test_decode_depth_and_size_limits},
        {"body with NUL bytes", test_decode_body_with_nul},
        {"NUL in other strings refused", test_decode_nul_refused},
        {"metadata depth and numbers refused", test_decode_metadata_refused},
        {"repeated singular fields bounded", test_decode_merge_limit},
        {"request time range", test_decode_time_range},
        {"wire decoder: scalars, unknown fields, varints", test_walk_scalars},
        {"wire decoder: wrong wire types", test_walk_wire_types},
        {"wire decoder: merged submessages", test_walk_merged},
        {"wire decoder: header lists and oneofs", test_walk_lists_and_oneofs},
        {"wire decoder agrees with protobuf-c on mutations", test_walk_mutations},
        {"JSON numbers", test_json_numbers},
        {NULL, NULL},
    };
    static const cu_case encode[] = {
        {"allow v3", test_encode_allow_v3},
        {"deny v3", test_encode_deny_v3},
        {"UTF-8 cleaning", test_utf8_clean},
        {"v2 has no field 4 or append_action", test_encode_v2},
        {"dynamic metadata depth cap", test_encode_metadata_depth},
        {"same bytes as protobuf-c's packer", test_encode_matches_protobuf_c},
        {"same bytes as protobuf-c's packer, random verdicts",
         test_encode_matches_protobuf_c_random},
        {NULL, NULL},
    };
    static const cu_case grpc[] = {
        {"grpc-timeout", test_grpc_timeout},
        {"grpc-message escaping", test_grpc_message_escape},
        {"error to status", test_error_mapping},
        {"frame reassembly", test_frame_reassembly},
        {"frame errors", test_frame_errors},
        {"health", test_health},
        {NULL, NULL},
    };
    static const cu_case python[] = {
        {"request built by Python protobuf", test_python_request},
        {"response read by Python protobuf", test_python_response},
        {NULL, NULL},
    };
    if (cu_add_suite("codec decode", decode) || cu_add_suite("codec encode", encode) ||
        cu_add_suite("codec grpc", grpc) || cu_add_suite("codec python", python))
        return -1;
    return 0;
}
