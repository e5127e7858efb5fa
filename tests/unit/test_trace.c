/* Tests for engine/trace: the W3C traceparent and tracestate parsers, the
 * endpoint flag, sampling by parent, and the OTLP encoding read back with
 * protobuf-c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/authconfig.h"
#include "cu_main.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "trace/trace_ctx.h"
#include "trace/trace_int.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static int parse(const char *s, trace_ctx *c)
{
    return trace_parse_traceparent(s, strlen(s), c);
}

static void test_traceparent_valid(void)
{
    trace_ctx c;
    CU_ASSERT_EQUAL_FATAL(parse("00-" TID "-" PID "-01", &c), 0);
    CU_ASSERT_EQUAL(c.trace_id[0], 0x4b);
    CU_ASSERT_EQUAL(c.trace_id[15], 0x36);
    CU_ASSERT_EQUAL(c.span_id[0], 0x00);
    CU_ASSERT_EQUAL(c.span_id[7], 0xb7);
    CU_ASSERT_EQUAL(c.flags, 0x01);
    CU_ASSERT_EQUAL(parse("00-" TID "-" PID "-00", &c), 0);
    CU_ASSERT_EQUAL(c.flags, 0);
    /* Unknown flags are kept; surrounding blanks are allowed. */
    CU_ASSERT_EQUAL(parse("  00-" TID "-" PID "-09\t", &c), 0);
    CU_ASSERT_EQUAL(c.flags, 0x09);
    /* A later version may be longer, after a dash. */
    CU_ASSERT_EQUAL(parse("01-" TID "-" PID "-01-what-comes", &c), 0);
    CU_ASSERT_EQUAL(parse("cc-" TID "-" PID "-01", &c), 0);
    char out[TRACE_PARENT_LEN + 1];
    CU_ASSERT_EQUAL(parse("00-" TID "-" PID "-01", &c), 0);
    CU_ASSERT_EQUAL(trace_format_traceparent(&c, out), TRACE_PARENT_LEN);
    CU_ASSERT_STRING_EQUAL(out, "00-" TID "-" PID "-01");
}

static void test_traceparent_invalid(void)
{
    static const char *const bad[] = {
        "",
        "00",
        "00-" TID "-" PID "-0",                  /* short */
        "00-" TID "-" PID "-01-",                /* version 00 with a tail */
        "00-" TID "-" PID "-011",
        "ff-" TID "-" PID "-01",                 /* version ff */
        "0g-" TID "-" PID "-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", /* uppercase */
        "00-" TID "-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-" PID "-01", /* zero trace id */
        "00-" TID "-0000000000000000-01",        /* zero parent id */
        "00_" TID "-" PID "-01",
        "00-" TID "_" PID "-01",
        "00-" TID "-" PID "_01",
        "01-" TID "-" PID "-01x",                /* a later version: no dash */
        "00-" TID "-" PID "-0x",
        "00-" TID "-" PID "-01," "00-" TID "-" PID "-01", /* two joined */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01",  /* ids of the wrong size */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        trace_ctx c;
        memset(&c, 0x5a, sizeof c);
        int rc = parse(bad[i], &c);
        if (rc != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(c.flags, 0x5a); /* untouched */
    }
    trace_ctx c;
    CU_ASSERT_EQUAL(trace_parse_traceparent(NULL, 0, &c), -1);
    /* Not NUL-terminated: only n bytes are read. */
    char tp[TRACE_PARENT_LEN];
    memcpy(tp, "00-" TID "-" PID "-01", TRACE_PARENT_LEN);
    CU_ASSERT_EQUAL(trace_parse_traceparent(tp, sizeof tp, &c), 0);
    CU_ASSERT_EQUAL(trace_parse_traceparent(tp, sizeof tp - 1, &c), -1);
}

static int state_ok(const char *s)
{
    return trace_check_tracestate(s, strlen(s)) == 0;
}

static void test_tracestate(void)
{
    CU_ASSERT(state_ok("rojo=00f067aa0ba902b7"));
    CU_ASSERT(state_ok("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    CU_ASSERT(state_ok("  a=1 , b=2\t,,c=x y"));
    CU_ASSERT(state_ok("tenant1@vendor=v"));
    CU_ASSERT(state_ok("1tenant@v=x"));
    CU_ASSERT(state_ok("a_b-c*d/e=~!"));
    CU_ASSERT(state_ok(""));
    CU_ASSERT_FALSE(state_ok("Rojo=1"));        /* uppercase key */
    CU_ASSERT_FALSE(state_ok("1abc=1"));        /* simple key starts with a digit */
    CU_ASSERT_FALSE(state_ok("a"));             /* no = */
    CU_ASSERT_FALSE(state_ok("a="));            /* empty value */
    CU_ASSERT_FALSE(state_ok("a=b=c"));
    CU_ASSERT_FALSE(state_ok("a=x,a=y"));       /* duplicate key */
    CU_ASSERT_FALSE(state_ok("a=\x01"));
    CU_ASSERT_FALSE(state_ok("a=\xc3\xa9"));
    CU_ASSERT_FALSE(state_ok("t@=1"));
    CU_ASSERT_FALSE(state_ok("@v=1"));
    CU_ASSERT_FALSE(state_ok("t@toolongsystemid=1"));
    char many[600] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sk%d=v", i ? "," : "", i);
    CU_ASSERT_FALSE(state_ok(many));            /* 33 members */
    char *comma = strrchr(many, ',');
    *comma = '\0';
    CU_ASSERT(state_ok(many));                  /* 32 */
    char big[TRACE_STATE_MAX + 8];
    memset(big, 'x', sizeof big);
    memcpy(big, "k=", 2);
    CU_ASSERT_EQUAL(trace_check_tracestate(big, TRACE_STATE_MAX + 1), -1);
}

static int endpoint(const char *e, int insecure, char *url, char *auth, char *err)
{
    return trace_endpoint_parse(e, insecure, url, 256, auth, 256, err, 256);
}

static void test_endpoint(void)
{
    char url[256], auth[256], err[256];
    CU_ASSERT_EQUAL(endpoint("http://collector:4318", 1, url, auth, err), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://collector:4318/v1/traces");
    CU_ASSERT_STRING_EQUAL(auth, "");
    /* As Authorino: TLS unless insecure, whatever the scheme says. */
    CU_ASSERT_EQUAL(endpoint("http://collector:4318/", 0, url, auth, err), 0);
    CU_ASSERT_STRING_EQUAL(url, "https://collector:4318/v1/traces");
    CU_ASSERT_EQUAL(endpoint("http://collector:4318/otlp/traces", 1, url, auth, err), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://collector:4318/otlp/traces");
    CU_ASSERT_EQUAL(endpoint("http://user:p%40ss@collector:4318", 1, url, auth, err), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://collector:4318/v1/traces");
    CU_ASSERT_STRING_EQUAL(auth, "Basic dXNlcjpwQHNz"); /* user:p@ss */
    CU_ASSERT_EQUAL(endpoint("http://:tok3n@collector:4318", 1, url, auth, err), 0);
    CU_ASSERT_STRING_EQUAL(auth, "Bearer tok3n");
    CU_ASSERT_EQUAL(endpoint("rpc://collector:4317", 1, url, auth, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "OTLP/gRPC"));
    CU_ASSERT_EQUAL(endpoint("grpc://collector:4317", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("ftp://collector", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("collector:4318", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http://", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http:///v1/traces", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http://user@collector", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http://a:%zz@collector", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http://collector/x?y=1", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint("http://coll ector", 1, url, auth, err), -1);
    CU_ASSERT_EQUAL(endpoint(NULL, 1, url, auth, err), -1);
}

static pc_request_view view_with(const pc_kv *h, size_t n)
{
    pc_request_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.host = (pc_str){"api.test", 8};
    v.id = (pc_str){"id-7", 4};
    v.headers = h;
    v.n_headers = n;
    return v;
}

#define KV(k, v) {{k, sizeof k - 1}, {v, sizeof v - 1}}

static void test_sampled_by_parent(void)
{
    pc_kv sampled[] = {KV("traceparent", "00-" TID "-" PID "-01"),
                       KV("tracestate", "a=1,b=2"), KV("x-request-id", "rq")};
    pc_request_view v = view_with(sampled, 3);
    trace_req *t = trace_begin(&v, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT(t->has_parent);
    CU_ASSERT_EQUAL(t->ctx.trace_id[0], 0x4b);
    CU_ASSERT_EQUAL(t->parent[7], 0xb7);
    CU_ASSERT_STRING_EQUAL(t->tracestate, "a=1,b=2");
    CU_ASSERT_STRING_EQUAL(t->request_id, "rq");
    char out[TRACE_PARENT_LEN + 1];
    const char *state;
    trace_outgoing(t, out, &state);
    CU_ASSERT_EQUAL(strncmp(out, "00-" TID "-", 36), 0);
    CU_ASSERT_NOT_EQUAL(strncmp(out + 36, PID, 16), 0); /* our own span */
    CU_ASSERT_STRING_EQUAL(state, "a=1,b=2");
    /* Without an exporter the queue takes nothing: dropped and freed. */
    trace_end(t, "ns/name", 1, 0, 200);

    pc_kv unsampled[] = {KV("traceparent", "00-" TID "-" PID "-00")};
    v = view_with(unsampled, 1);
    CU_ASSERT_PTR_NULL(trace_begin(&v, NULL));

    pc_kv badstate[] = {KV("traceparent", "00-" TID "-" PID "-01"), KV("tracestate", "A=1")};
    v = view_with(badstate, 2);
    t = trace_begin(&v, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->tracestate, "");
    free(t);

    /* No parent: a new trace, with the CheckRequest id; ratio 0 traces none. */
    v = view_with(NULL, 0);
    t = trace_begin(&v, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_FALSE(t->has_parent);
    CU_ASSERT_FALSE(trace_id_is_zero(t->ctx.trace_id, 16));
    CU_ASSERT_STRING_EQUAL(t->request_id, "id-7");
    free(t);
    uint64_t was = trace_ratio_bound;
    trace_ratio_bound = 0;
    CU_ASSERT_PTR_NULL(trace_begin(&v, NULL));
    v = view_with(sampled, 1); /* a sampled parent is followed anyway */
    t = trace_begin(&v, NULL);
    CU_ASSERT_PTR_NOT_NULL(t);
    free(t);
    trace_ratio_bound = was;
}

static void test_otlp_encoding(void)
{
    pc_kv hdrs[] = {KV("traceparent", "00-" TID "-" PID "-01")};
    pc_request_view v = view_with(hdrs, 1);
    /* A config with one identity evaluator, enough for its slot. */
    loader_type lt;
    memset(&lt, 0, sizeof lt);
    lt.t.name = "apiKey";
    ac_eval ev;
    memset(&ev, 0, sizeof ev);
    ev.name = "friends";
    ev.path = "spec.authentication.friends";
    ev.phase = PC_PHASE_IDENTITY;
    ev.type = &lt;
    ac_eval *evs[] = {&ev};
    ac_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.evs[PC_PHASE_IDENTITY] = evs;
    cfg.n_evs[PC_PHASE_IDENTITY] = 1;
    trace_req *t = trace_begin(&v, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT(t->pooled);
    int slot = trace_eval_begin(t, &ev);
    CU_ASSERT_EQUAL(slot, 0);
    trace_eval_end(t, slot, "failed", "credential not found");
    snprintf(t->authconfig, sizeof t->authconfig, "team-a/api");
    t->end_ns = t->start_ns + 1000;
    t->grpc_code = 16;
    t->http_status = 401;

    const char *keys[] = {"service.name"}, *vals[] = {"portcullis"};
    trace_resource res = {keys, vals, 1};
    buf out;
    buf_init(&out);
    CU_ASSERT_EQUAL_FATAL(trace_otlp_encode(t, &res, &out), 2);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, out.len, (const uint8_t *)out.data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_EQUAL_FATAL(req->n_resource_spans, 1);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[0];
    CU_ASSERT_STRING_EQUAL(rs->resource->attributes[0]->key, "service.name");
    CU_ASSERT_STRING_EQUAL(rs->resource->attributes[0]->value->string_value, "portcullis");
    CU_ASSERT_EQUAL_FATAL(rs->n_scope_spans, 1);
    CU_ASSERT_EQUAL_FATAL(rs->scope_spans[0]->n_spans, 2);
    Opentelemetry__Proto__Trace__V1__Span *r = rs->scope_spans[0]->spans[0];
    Opentelemetry__Proto__Trace__V1__Span *e = rs->scope_spans[0]->spans[1];
    CU_ASSERT_EQUAL(r->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    CU_ASSERT_EQUAL(r->trace_id.len, 16);
    CU_ASSERT_EQUAL(memcmp(r->trace_id.data, t->ctx.trace_id, 16), 0);
    CU_ASSERT_EQUAL(r->parent_span_id.len, 8);
    CU_ASSERT_EQUAL(r->parent_span_id.data[7], 0xb7);
    CU_ASSERT_EQUAL(r->end_time_unix_nano - r->start_time_unix_nano, 1000);
    CU_ASSERT_EQUAL(e->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
    CU_ASSERT_EQUAL(e->parent_span_id.len, 8);
    CU_ASSERT_EQUAL(memcmp(e->parent_span_id.data, r->span_id.data, 8), 0);
    CU_ASSERT_STRING_EQUAL(e->name, "spec.authentication.friends");
    CU_ASSERT_EQUAL(e->status->code,
                    OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    CU_ASSERT_STRING_EQUAL(e->status->message, "credential not found");
    int seen = 0;
    for (size_t i = 0; i < e->n_attributes; i++) {
        const char *k = e->attributes[i]->key, *s = e->attributes[i]->value->string_value;
        if (!strcmp(k, "portcullis.evaluator.type"))
            seen += !strcmp(s, "IDENTITY_APIKEY");
        if (!strcmp(k, "portcullis.evaluator.outcome"))
            seen += !strcmp(s, "failed");
        if (!strcmp(k, "portcullis.authconfig.namespace"))
            seen += !strcmp(s, "team-a");
        if (!strcmp(k, "portcullis.authconfig.name"))
            seen += !strcmp(s, "api");
    }
    CU_ASSERT_EQUAL(seen, 4);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
        req, NULL);
    buf_free(&out);
    free(t);

    /* More evaluators than a pooled record holds: a record of their own
     * size, and no slot past it. */
    cfg.n_evs[PC_PHASE_AUTHORIZATION] = TRACE_POOL_SLOTS;
    t = trace_begin(&v, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_FALSE(t->pooled);
    for (int i = 0; i < TRACE_POOL_SLOTS + 1; i++)
        CU_ASSERT_EQUAL(trace_eval_begin(t, &ev), i);
    CU_ASSERT_EQUAL(trace_eval_begin(t, &ev), -1);
    free(t);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        { "traceparent: valid", test_traceparent_valid },
        { "traceparent: invalid", test_traceparent_invalid },
        { "tracestate", test_tracestate },
        { "endpoint flag", test_endpoint },
        { "sampled by parent", test_sampled_by_parent },
        { "OTLP encoding", test_otlp_encoding },
        { NULL, NULL },
    };
    return cu_add_suite("trace", cases);
}
