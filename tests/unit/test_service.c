/* Tests for the frontend's I/O-free ext_authz service logic (service.c):
 * gRPC method routing and header checks in the order gRPC servers apply
 * them, grpc-timeout and Envoy's expected-timeout deadlines, the raw /check
 * route and path_prefix, verdict -> HTTP status, failure answers and the
 * label names metrics use; the per-loop metrics and their exposition,
 * summed over loops; the string arena's blocks kept per thread. */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "cu_main.h"
#include "server_stats.h"
#include "service.h"

static pc_str S(const char *s)
{
    return pc_str_c(s);
}

static const svc_method *accept_head(const char *method, const char *path,
                                     const char *ct, const char *enc,
                                     svc_answer *a, char *msg, size_t msglen)
{
    svc_grpc_head h = {S(method), S(path), S(ct), S(enc)};
    memset(a, 0, sizeof(*a));
    return svc_grpc_accept(&h, a, msg, msglen);
}

static void test_grpc_methods(void)
{
    const svc_method *m = svc_grpc_method(S("/envoy.service.auth.v3.Authorization/Check"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->id, SVC_CHECK_V3);
    CU_ASSERT_STRING_EQUAL(m->service, "envoy.service.auth.v3.Authorization");
    CU_ASSERT_STRING_EQUAL(m->name, "Check");
    CU_ASSERT_EQUAL(m->max_message, 0);
    m = svc_grpc_method(S("/envoy.service.auth.v2.Authorization/Check"));
    CU_ASSERT_TRUE(m && m->id == SVC_CHECK_V2);
    m = svc_grpc_method(S("/grpc.health.v1.Health/Check"));
    CU_ASSERT_TRUE(m && m->id == SVC_HEALTH_CHECK && m->max_message == 64 * 1024);
    CU_ASSERT_STRING_EQUAL(m->service, "grpc.health.v1.Health");
    /* exact paths only */
    CU_ASSERT_PTR_NULL(svc_grpc_method(S("/envoy.service.auth.v3.Authorization/Check/")));
    CU_ASSERT_PTR_NULL(svc_grpc_method(S("/envoy.service.auth.v3.authorization/Check")));
    CU_ASSERT_PTR_NULL(svc_grpc_method(S("/grpc.health.v1.Health/Watch")));
    CU_ASSERT_PTR_NULL(svc_grpc_method(S("")));
    pc_str none = {NULL, 0};
    CU_ASSERT_PTR_NULL(svc_grpc_method(none));
    for (int i = 0; i < SVC_METHOD_COUNT_; i++)
        CU_ASSERT_EQUAL(svc_grpc_method(S(svc_grpc_method_at((svc_method_id)i)->path)),
                        svc_grpc_method_at((svc_method_id)i));
    CU_ASSERT_PTR_NULL(svc_grpc_method_at(SVC_METHOD_COUNT_));
}

static void test_grpc_accept_order(void)
{
    const char *v3 = "/envoy.service.auth.v3.Authorization/Check";
    svc_answer a;
    char msg[300];
    const svc_method *m = accept_head("POST", v3, "application/grpc", "", &a, msg, sizeof(msg));
    CU_ASSERT_TRUE(m && m->id == SVC_CHECK_V3);
    m = accept_head("POST", v3, "application/grpc+proto", "identity", &a, msg, sizeof(msg));
    CU_ASSERT_TRUE(m && m->id == SVC_CHECK_V3);
    CU_ASSERT_PTR_NOT_NULL(accept_head("POST", v3, "Application/GRPC;charset=x", "",
                                       &a, msg, sizeof(msg)));
    /* the verb first: an HTTP answer, even for an unknown path */
    CU_ASSERT_PTR_NULL(accept_head("GET", "/nope", "text/plain", "gzip", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 405);
    CU_ASSERT_STRING_EQUAL(a.text, "gRPC requires POST");
    /* then the content-type */
    CU_ASSERT_PTR_NULL(accept_head("POST", "/nope", "application/grpcx", "gzip", &a, msg,
                                   sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 415);
    CU_ASSERT_PTR_NULL(accept_head("POST", v3, "application/json", "", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 415);
    CU_ASSERT_PTR_NULL(accept_head("POST", v3, "", "", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 415);
    /* then the method, named in the message */
    CU_ASSERT_PTR_NULL(accept_head("POST", "/x.Y/Z", "application/grpc", "gzip", &a, msg,
                                   sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 0);
    CU_ASSERT_EQUAL(a.grpc_status, PC_GRPC_UNIMPLEMENTED);
    CU_ASSERT_STRING_EQUAL(a.text, "unknown method /x.Y/Z");
    /* a long path is cut at 200 bytes in the message */
    char path[400];
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    CU_ASSERT_PTR_NULL(accept_head("POST", path, "application/grpc", "", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(strlen(a.text), strlen("unknown method ") + 200);
    /* then the encoding */
    CU_ASSERT_PTR_NULL(accept_head("POST", v3, "application/grpc", "gzip", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(a.grpc_status, PC_GRPC_UNIMPLEMENTED);
    CU_ASSERT_STRING_EQUAL(a.text, "grpc-encoding not supported: use identity");
    CU_ASSERT_PTR_NULL(accept_head("POST", v3, "application/grpc", "Identity", &a, msg,
                                   sizeof(msg)));
    /* the verb is case-sensitive */
    CU_ASSERT_PTR_NULL(accept_head("post", v3, "application/grpc", "", &a, msg, sizeof(msg)));
    CU_ASSERT_EQUAL(a.http_status, 405);
}

static void test_grpc_deadline(void)
{
    const int64_t now = INT64_C(5000000000), ms = 1000000;
    pc_str none = {NULL, 0};
    CU_ASSERT_EQUAL(svc_grpc_deadline(none, 0, now), 0);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("250m"), 0, now), now + 250 * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("2S"), 0, now), now + 2000 * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("1H"), 0, now), now + INT64_C(3600000) * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("7u"), 0, now), now + 7000);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("9n"), 0, now), now + 9);
    /* the default caps a longer timeout and stands in for none */
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("10S"), 300, now), now + 300 * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("100m"), 300, now), now + 100 * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(none, 300, now), now + 300 * ms);
    /* unreadable: as if absent */
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("10"), 0, now), 0);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("10x"), 300, now), now + 300 * ms);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("123456789S"), 0, now), 0); /* 9 digits */
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("-1S"), 0, now), 0);
    /* zero is due at once, and still a deadline */
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("0n"), 0, now), now + 1);
    /* far timeouts end at the cap instead of overflowing */
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("99999999H"), 0, now), SVC_DEADLINE_MAX_NS);
    CU_ASSERT_EQUAL(svc_grpc_deadline(S("1S"), 0, INT64_MAX - 10), SVC_DEADLINE_MAX_NS);
    CU_ASSERT_EQUAL(svc_grpc_deadline(none, INT64_MAX, now), SVC_DEADLINE_MAX_NS);
}

static void test_http_deadline(void)
{
    const int64_t now = 1000, ms = 1000000;
    pc_str none = {NULL, 0};
    CU_ASSERT_EQUAL(svc_http_deadline(none, 0, now), 0);
    CU_ASSERT_EQUAL(svc_http_deadline(none, 200, now), now + 200 * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(S("150"), 0, now), now + 150 * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(S("150"), 200, now), now + 150 * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(S("250"), 200, now), now + 200 * ms);
    /* zero, garbage and more than 12 digits leave the default */
    CU_ASSERT_EQUAL(svc_http_deadline(S("0"), 200, now), now + 200 * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(S("15x"), 200, now), now + 200 * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(S(" 15"), 0, now), 0);
    CU_ASSERT_EQUAL(svc_http_deadline(S("1234567890123"), 0, now), 0);
    CU_ASSERT_EQUAL(svc_http_deadline(S("999999999999"), 0, now), now + INT64_C(999999999999) * ms);
    CU_ASSERT_EQUAL(svc_http_deadline(none, INT64_MAX / 2, now), SVC_DEADLINE_MAX_NS);
}

static void test_http_routes(void)
{
    CU_ASSERT_TRUE(svc_http_is_raw_check(S("GET"), S("/check")));
    CU_ASSERT_TRUE(svc_http_is_raw_check(S("POST"), S("/check/")));
    CU_ASSERT_FALSE(svc_http_is_raw_check(S("PUT"), S("/check")));
    CU_ASSERT_FALSE(svc_http_is_raw_check(S("GET"), S("/checks")));
    CU_ASSERT_FALSE(svc_http_is_raw_check(S("GET"), S("/check//")));
    CU_ASSERT_FALSE(svc_http_is_raw_check(S("get"), S("/check")));

    srv_arena a = {0};
    pc_str r = svc_http_strip_prefix(S("/auth/a/b?q=1"), "/auth", &a);
    CU_ASSERT_EQUAL(r.len, 8);
    CU_ASSERT_NSTRING_EQUAL(r.ptr, "/a/b?q=1", 8);
    r = svc_http_strip_prefix(S("/auth"), "/auth", &a);
    CU_ASSERT_TRUE(r.len == 1 && r.ptr[0] == '/');
    r = svc_http_strip_prefix(S("/auth?x"), "/auth", &a);
    CU_ASSERT_TRUE(r.len == 3 && memcmp(r.ptr, "/?x", 3) == 0);
    /* not at a segment boundary, another prefix, none */
    r = svc_http_strip_prefix(S("/authz/a"), "/auth", &a);
    CU_ASSERT_TRUE(r.len == 8 && memcmp(r.ptr, "/authz/a", 8) == 0);
    r = svc_http_strip_prefix(S("/x/a"), "/auth", &a);
    CU_ASSERT_EQUAL(r.len, 4);
    r = svc_http_strip_prefix(S("/x/a"), "", &a);
    CU_ASSERT_EQUAL(r.len, 4);
    r = svc_http_strip_prefix(S("/au"), "/auth", &a);
    CU_ASSERT_EQUAL(r.len, 3);
    srv_arena_free(&a);
}

/* The string arena: stable pointers across blocks, its byte count, and
 * the blocks a thread keeps for its next arenas (bounded, freed with the
 * thread: LeakSanitizer sees the thread case in the sanitizer build). */
static void arena_round(srv_arena *a, size_t n, size_t each)
{
    char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        char *p = srv_arena_alloc(a, each);
        CU_ASSERT_FATAL(p != NULL);
        CU_ASSERT_EQUAL((uintptr_t)p % alignof(max_align_t), 0);
        memset(p, (int)(i & 0xff), each);
        if (!first)
            first = p;
    }
    for (size_t k = 0; k < each; k++)
        CU_ASSERT_EQUAL_FATAL((unsigned char)first[k], 0);
}

static void *arena_thread(void *arg)
{
    (void)arg;
    for (int r = 0; r < 50; r++) {
        srv_arena a = {0};
        arena_round(&a, 200, 40);
        srv_arena_free(&a);
    }
    return NULL;
}

static void test_arena_blocks_kept(void)
{
    srv_arena a = {0};
    arena_round(&a, 100, 40); /* several blocks */
    CU_ASSERT_TRUE(a.bytes >= 100 * 48);
    char *s = srv_arena_dup(&a, "abc", 3);
    CU_ASSERT_STRING_EQUAL(s, "abc");
    srv_arena_free(&a);
    CU_ASSERT_EQUAL(a.bytes, 0);
    CU_ASSERT_PTR_NULL(a.head);

    /* A freed first block serves the next arena on this thread (under
     * ASan, whose allocator never hands freed memory straight back, only
     * the cache can give the same address). */
    srv_arena b = {0};
    void *p = srv_arena_alloc(&b, 100);
    srv_arena_free(&b);
    void *q = srv_arena_alloc(&b, 100);
    CU_ASSERT_PTR_EQUAL(p, q);
    srv_arena_free(&b);

    /* Odd sizes are not kept; far more than the cache holds is freed. */
    srv_arena big[64];
    memset(big, 0, sizeof big);
    for (int i = 0; i < 64; i++) {
        CU_ASSERT_PTR_NOT_NULL(srv_arena_alloc(&big[i], 16384));
        CU_ASSERT_PTR_NOT_NULL(srv_arena_alloc(&big[i], 40000));
    }
    for (int i = 0; i < 64; i++)
        srv_arena_free(&big[i]);

    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, arena_thread, NULL), 0);
    pthread_join(t, NULL);
}

static void test_http_status(void)
{
    pc_verdict v;
    memset(&v, 0, sizeof(v));
    v.allowed = 1;
    v.http_status = 401;
    CU_ASSERT_EQUAL(svc_http_status(&v), 200);
    v.allowed = 0;
    CU_ASSERT_EQUAL(svc_http_status(&v), 401);
    static const int kept[] = {300, 302, 400, 403, 404, 429, 503, 599};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        v.http_status = kept[i];
        CU_ASSERT_EQUAL(svc_http_status(&v), kept[i]);
    }
    static const int refused[] = {0, 100, 200, 204, 299, 304, 600, -1, 99999};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        v.http_status = refused[i];
        CU_ASSERT_EQUAL(svc_http_status(&v), 403);
    }
}

static void test_fail_answers(void)
{
    static const struct {
        svc_fail f;
        int http, grpc;
        const char *grpc_text;
    } want[] = {
        {SVC_FAIL_TOO_BIG, 413, PC_GRPC_RESOURCE_EXHAUSTED, "request message too large"},
        {SVC_FAIL_OVER_BUDGET, 503, PC_GRPC_RESOURCE_EXHAUSTED, "server over its memory budget"},
        {SVC_FAIL_STREAM_IDLE, 408, PC_GRPC_DEADLINE_EXCEEDED, "stream idle timeout"},
        {SVC_FAIL_TIMEOUT, 504, PC_GRPC_DEADLINE_EXCEEDED, "deadline exceeded"},
        {SVC_FAIL_INTERNAL, 500, PC_GRPC_INTERNAL, "cannot encode the response"},
        {SVC_FAIL_NOMEM, 503, PC_GRPC_RESOURCE_EXHAUSTED, "out of memory"},
    };
    CU_ASSERT_EQUAL(sizeof(want) / sizeof(want[0]), SVC_FAIL_COUNT_);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        svc_answer h = svc_fail_answer(want[i].f, 0), g = svc_fail_answer(want[i].f, 1);
        CU_ASSERT_EQUAL(h.http_status, want[i].http);
        CU_ASSERT_TRUE(h.text && *h.text);
        CU_ASSERT_EQUAL(g.http_status, 0);
        CU_ASSERT_EQUAL(g.grpc_status, want[i].grpc);
        CU_ASSERT_STRING_EQUAL(g.text, want[i].grpc_text);
    }
    CU_ASSERT_STRING_EQUAL(svc_fail_answer(SVC_FAIL_TIMEOUT, 0).text, "authorization timed out");
    CU_ASSERT_EQUAL(svc_fail_answer(SVC_FAIL_COUNT_, 0).http_status, 500);
}

static void test_metric_names(void)
{
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(0), "OK");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(PC_GRPC_CANCELLED), "Canceled");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(PC_GRPC_PERMISSION_DENIED), "PermissionDenied");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(PC_GRPC_DEADLINE_EXCEEDED), "DeadlineExceeded");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(PC_GRPC_UNAUTHENTICATED), "Unauthenticated");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(17), "Unknown");
    CU_ASSERT_STRING_EQUAL(svc_grpc_code_name(-3), "Unknown");

    char buf[16];
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(200, buf), "OK");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(403, buf), "Forbidden");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(401, buf), "Unauthorized");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(404, buf), "NotFound");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(503, buf), "ServiceUnavailable");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(504, buf), "GatewayTimeout");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(418, buf), "418");
    CU_ASSERT_STRING_EQUAL(svc_http_status_name(0, buf), "0");

    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S("GET"))), "get");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S("post"))), "post");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S("PATCH"))), "patch");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S("Get"))), "unknown");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S("BREW"))), "unknown");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(svc_http_method_index(S(""))), "unknown");
    CU_ASSERT_STRING_EQUAL(svc_http_method_label(99), "unknown");
}

static int has_line(const srv_buf *b, const char *line)
{
    size_t n = strlen(line);
    const char *p = (const char *)b->data, *end = p + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len == n && memcmp(p, line, n) == 0)
            return 1;
        p += len + 1;
    }
    return 0;
}

static void test_stats_sum_over_loops(void)
{
    srv_stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    const int64_t ms = 1000000;
    srv_obs o = {0};
    /* loop a: two v3 calls (3 ms, OK with a message; 40 ms, Internal) */
    srv_obs_grpc_start(a, &o, SVC_CHECK_V3, 0);
    srv_obs_grpc_done(a, &o, PC_GRPC_OK, 1, 3 * ms);
    CU_ASSERT_EQUAL(o.kind, SRV_OBS_NONE);
    srv_obs_grpc_done(a, &o, PC_GRPC_OK, 1, 3 * ms); /* not started: nothing */
    srv_obs_grpc_start(a, &o, SVC_CHECK_V3, 0);
    srv_obs_grpc_done(a, &o, PC_GRPC_INTERNAL, 0, 40 * ms);
    /* loop b: one v3 call (OK, 7 s), one health (NotFound) */
    srv_obs_grpc_start(b, &o, SVC_CHECK_V3, 0);
    srv_obs_grpc_done(b, &o, PC_GRPC_OK, 1, 7000 * ms);
    srv_obs_grpc_start(b, &o, SVC_HEALTH_CHECK, 0);
    srv_obs_grpc_done(b, &o, PC_GRPC_NOT_FOUND, 0, ms);
    /* HTTP: GET 200 on a, GET 403 and BREW 200 on b, out-of-range status */
    srv_obs_http_start(&o, pc_str_c("GET"), 0);
    srv_obs_http_done(a, &o, 200, 2 * ms);
    srv_obs_http_start(&o, pc_str_c("GET"), 0);
    srv_obs_http_done(b, &o, 403, 60 * ms);
    srv_obs_http_start(&o, pc_str_c("BREW"), 0);
    srv_obs_http_done(b, &o, 200, ms);
    srv_obs_http_start(&o, pc_str_c("POST"), 0);
    srv_obs_http_done(b, &o, 999, ms);
    srv_obs_http_done(b, &o, 200, ms); /* not started: nothing */

    const srv_stats *both[2] = {a, b};
    srv_buf out = {0};
    CU_ASSERT_EQUAL_FATAL(srv_stats_render(both, 2, &out), 0);
    const char *v3 = "grpc_type=\"unary\",grpc_service=\"envoy.service.auth.v3.Authorization\","
                     "grpc_method=\"Check\"";
    const char *hc = "grpc_type=\"unary\",grpc_service=\"grpc.health.v1.Health\","
                     "grpc_method=\"Check\"";
    char line[512];
#define HAS(...) do { snprintf(line, sizeof(line), __VA_ARGS__); \
        CU_ASSERT_TRUE(has_line(&out, line)); if (!has_line(&out, line)) \
        fprintf(stderr, "missing: %s\n", line); } while (0)
    HAS("# TYPE grpc_server_started_total counter");
    HAS("grpc_server_started_total{%s} 3", v3);
    HAS("grpc_server_msg_received_total{%s} 3", v3);
    HAS("grpc_server_msg_sent_total{%s} 2", v3);
    HAS("grpc_server_started_total{%s} 1", hc);
    HAS("grpc_server_msg_sent_total{%s} 0", hc);
    HAS("grpc_server_handled_total{%s,grpc_code=\"OK\"} 2", v3);
    HAS("grpc_server_handled_total{%s,grpc_code=\"Internal\"} 1", v3);
    HAS("grpc_server_handled_total{%s,grpc_code=\"NotFound\"} 1", hc);
    HAS("# TYPE grpc_server_handling_seconds histogram");
    HAS("grpc_server_handling_seconds_bucket{%s,le=\"0.005\"} 1", v3);
    HAS("grpc_server_handling_seconds_bucket{%s,le=\"0.05\"} 2", v3);
    HAS("grpc_server_handling_seconds_bucket{%s,le=\"5\"} 2", v3);
    HAS("grpc_server_handling_seconds_bucket{%s,le=\"10\"} 3", v3);
    HAS("grpc_server_handling_seconds_bucket{%s,le=\"+Inf\"} 3", v3);
    HAS("grpc_server_handling_seconds_sum{%s} 7.043", v3);
    HAS("grpc_server_handling_seconds_count{%s} 3", v3);
    HAS("http_server_handled_total{status=\"OK\"} 2");
    HAS("http_server_handled_total{status=\"Forbidden\"} 1");
    HAS("http_server_handled_total{status=\"InternalServerError\"} 1");
    HAS("http_server_handling_seconds_bucket{le=\"0.001\"} 2"); /* le is inclusive */
    HAS("http_server_handling_seconds_bucket{le=\"0.051000000000000004\"} 3");
    HAS("http_server_handling_seconds_count 4");
    HAS("http_server_requests_total{code=\"200\",method=\"get\"} 1");
    HAS("http_server_requests_total{code=\"403\",method=\"get\"} 1");
    HAS("http_server_requests_total{code=\"200\",method=\"unknown\"} 1");
    HAS("http_server_requests_total{code=\"500\",method=\"post\"} 1");
    HAS("http_server_request_duration_seconds_count{method=\"get\"} 2");
    HAS("http_server_request_duration_seconds_bucket{method=\"get\",le=\"0.05\"} 1");
#undef HAS
    /* no series for codes, statuses or methods never seen */
    CU_ASSERT_FALSE(has_line(&out, "http_server_request_duration_seconds_count{method=\"put\"} 0"));
    CU_ASSERT_PTR_NULL(strstr((const char *)out.data, "PermissionDenied"));
    srv_buf_free(&out);
    free(a);
    free(b);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"gRPC methods", test_grpc_methods},
        {"gRPC header checks and their order", test_grpc_accept_order},
        {"grpc-timeout deadlines", test_grpc_deadline},
        {"HTTP deadlines", test_http_deadline},
        {"raw /check and path_prefix", test_http_routes},
        {"arena blocks kept per thread", test_arena_blocks_kept},
        {"verdict to HTTP status", test_http_status},
        {"failure answers", test_fail_answers},
        {"metric label names", test_metric_names},
        {"metrics summed over loops", test_stats_sum_over_loops},
        {NULL, NULL},
    };
    return cu_add_suite("service", cases);
}
