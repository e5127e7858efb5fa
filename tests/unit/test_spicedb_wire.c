/* Tests for plugins/authorization/spicedb/sdb_wire: the framed
 * CheckPermissionRequest, and judging answers (headers, trailers, body). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "authzed/api/v1/permission_service.pb-c.h"
#include "sdb_wire.h"

/* A framed CheckPermissionResponse into out; its length. */
static size_t framed_response(int perm, const char *token, uint8_t *out, size_t cap)
{
    Authzed__Api__V1__ZedToken zt = AUTHZED__API__V1__ZED_TOKEN__INIT;
    Authzed__Api__V1__CheckPermissionResponse m = AUTHZED__API__V1__CHECK_PERMISSION_RESPONSE__INIT;
    m.permissionship = (Authzed__Api__V1__CheckPermissionResponse__Permissionship)perm;
    if (token) {
        zt.token = (char *)token;
        m.checked_at = &zt;
    }
    size_t n = authzed__api__v1__check_permission_response__get_packed_size(&m);
    CU_ASSERT_FATAL(n + 5 <= cap);
    out[0] = 0;
    out[1] = (uint8_t)(n >> 24), out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8), out[4] = (uint8_t)n;
    authzed__api__v1__check_permission_response__pack(&m, out + 5);
    return n + 5;
}

static void hdr(sdb_reply *r, const char *line)
{
    sdb_reply_header(r, line, strlen(line));
}

static void grpc_head(sdb_reply *r)
{
    hdr(r, "HTTP/2 200 \r\n");
    hdr(r, "content-type: application/grpc\r\n");
}

/* A complete answer: headers, body, trailers; returns finish's result. */
static int judge(const uint8_t *body, size_t n, const char *const *trailers, sdb_result *res,
                 char *err, size_t errlen)
{
    sdb_reply r;
    sdb_reply_init(&r);
    grpc_head(&r);
    if (n)
        CU_ASSERT_EQUAL(sdb_reply_body(&r, body, n), 0);
    for (; trailers && *trailers; trailers++)
        hdr(&r, *trailers);
    int rc = sdb_reply_finish(&r, res, err, errlen);
    sdb_reply_free(&r);
    return rc;
}

static const char *const ok_trailers[] = {"grpc-status: 0\r\n", "grpc-message: \r\n", NULL};

static void test_encode(void)
{
    sdb_check c = {"blog/post", "1", "read", "blog/user", "emilia"};
    size_t len = 0;
    uint8_t *b = sdb_encode_check(&c, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_FATAL(len > 5);
    CU_ASSERT_EQUAL(b[0], 0);
    size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    CU_ASSERT_EQUAL(n, len - 5);
    Authzed__Api__V1__CheckPermissionRequest *m =
        authzed__api__v1__check_permission_request__unpack(NULL, n, b + 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NULL(m->consistency);
    CU_ASSERT_STRING_EQUAL(m->resource->object_type, "blog/post");
    CU_ASSERT_STRING_EQUAL(m->resource->object_id, "1");
    CU_ASSERT_STRING_EQUAL(m->permission, "read");
    CU_ASSERT_STRING_EQUAL(m->subject->object->object_type, "blog/user");
    CU_ASSERT_STRING_EQUAL(m->subject->object->object_id, "emilia");
    CU_ASSERT_STRING_EQUAL(m->subject->optional_relation, "");
    authzed__api__v1__check_permission_request__free_unpacked(m, NULL);
    /* The field numbers of authzed/api/v1: resource = 2, permission = 3,
     * subject = 4; object_type = 1, object_id = 2, object = 1. */
    static const uint8_t want[] = {
        0x12, 0x0e, 0x0a, 0x09, 'b', 'l', 'o', 'g', '/', 'p', 'o', 's', 't', 0x12, 0x01, '1',
        0x1a, 0x04, 'r', 'e', 'a', 'd',
        0x22, 0x15, 0x0a, 0x13, 0x0a, 0x09, 'b', 'l', 'o', 'g', '/', 'u', 's', 'e', 'r',
        0x12, 0x06, 'e', 'm', 'i', 'l', 'i', 'a'};
    CU_ASSERT_EQUAL_FATAL(len - 5, sizeof want);
    CU_ASSERT_EQUAL(memcmp(b + 5, want, sizeof want), 0);
    free(b);
}

static void test_granted(void)
{
    uint8_t body[256];
    size_t n = framed_response(SDB_PERM_HAS_PERMISSION, "GhUKEzE2", body, sizeof body);
    sdb_result res;
    char err[512] = "";
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), 0);
    CU_ASSERT_EQUAL(res.permissionship, SDB_PERM_HAS_PERMISSION);
    CU_ASSERT_EQUAL(res.has_token, 1);
    CU_ASSERT_STRING_EQUAL(res.token, "GhUKEzE2");
    /* Bytes in pieces, as they arrive. */
    sdb_reply r;
    sdb_reply_init(&r);
    grpc_head(&r);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(sdb_reply_body(&r, body + i, 1), 0);
    hdr(&r, "Grpc-Status:0\r\n");
    CU_ASSERT_EQUAL(sdb_reply_finish(&r, &res, err, sizeof err), 0);
    sdb_reply_free(&r);
    /* No checked_at: no token. */
    n = framed_response(SDB_PERM_NO_PERMISSION, NULL, body, sizeof body);
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), 0);
    CU_ASSERT_EQUAL(res.permissionship, SDB_PERM_NO_PERMISSION);
    CU_ASSERT_EQUAL(res.has_token, 0);
}

static void test_token_bounds(void)
{
    /* A long token spills the body to the heap and is cut at the cap. */
    char tok[SDB_MAX_TOKEN + 200];
    memset(tok, 'A', sizeof tok - 1);
    tok[sizeof tok - 1] = '\0';
    uint8_t body[4096];
    size_t n = framed_response(SDB_PERM_NO_PERMISSION, tok, body, sizeof body);
    sdb_result res;
    char err[512];
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), 0);
    CU_ASSERT_EQUAL(strlen(res.token), SDB_MAX_TOKEN);
    /* A token that could break a header line is cut before the break. */
    n = framed_response(SDB_PERM_NO_PERMISSION, "abc\r\nx-evil: 1", body, sizeof body);
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(res.token, "abc");
}

static void expect_error(const sdb_reply *r, const char *want)
{
    sdb_result res;
    char err[512] = "";
    CU_ASSERT_EQUAL(sdb_reply_finish(r, &res, err, sizeof err), -1);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
    CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_grpc_errors(void)
{
    sdb_reply r;
    sdb_reply_init(&r);
    grpc_head(&r);
    hdr(&r, "grpc-status: 14\r\n");
    hdr(&r, "grpc-message: no%20backend%3a %E2%9C%93 %zz%4\r\n");
    expect_error(&r, "rpc error: code = Unavailable desc = no backend: ??? %zz%4");

    sdb_reply_init(&r);
    grpc_head(&r);
    hdr(&r, "grpc-status: 16\r\n");
    expect_error(&r, "rpc error: code = Unauthenticated desc = ");

    sdb_reply_init(&r);
    grpc_head(&r);
    hdr(&r, "grpc-status: 42\r\n");
    expect_error(&r, "rpc error: code = Code(42) desc = ");

    const char *bad[] = {"grpc-status: \r\n", "grpc-status: 1x\r\n", "grpc-status: -1\r\n",
                         "grpc-status: 123456\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sdb_reply_init(&r);
        grpc_head(&r);
        hdr(&r, bad[i]);
        expect_error(&r, "rpc error: code = Internal desc = malformed grpc-status in the answer");
    }
    /* Said twice (headers, then trailers) is malformed too. */
    sdb_reply_init(&r);
    grpc_head(&r);
    hdr(&r, "grpc-status: 0\r\n");
    hdr(&r, "grpc-status: 0\r\n");
    expect_error(&r, "rpc error: code = Internal desc = malformed grpc-status in the answer");
}

static void test_http_and_types(void)
{
    sdb_reply r;
    sdb_reply_init(&r);
    expect_error(&r, "rpc error: code = Internal desc = unexpected HTTP status code received "
                     "from server: 0");
    static const struct { const char *line; const char *code; } map[] = {
        {"HTTP/2 400\r\n", "Internal"}, {"HTTP/2 401\r\n", "Unauthenticated"},
        {"HTTP/2 403\r\n", "PermissionDenied"}, {"HTTP/2 404\r\n", "Unimplemented"},
        {"HTTP/2 429\r\n", "Unavailable"}, {"HTTP/2 502\r\n", "Unavailable"},
        {"HTTP/2 503\r\n", "Unavailable"}, {"HTTP/2 504\r\n", "Unavailable"},
        {"HTTP/2 500\r\n", "Unknown"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        sdb_reply_init(&r);
        hdr(&r, map[i].line);
        hdr(&r, "grpc-status: 0\r\n");
        char want[200];
        snprintf(want, sizeof want, "rpc error: code = %s desc = unexpected HTTP status code "
                 "received from server: %.3s", map[i].code, map[i].line + 7);
        expect_error(&r, want);
    }
    /* An informational answer first: only the final one counts. */
    uint8_t body[64];
    size_t n = framed_response(SDB_PERM_HAS_PERMISSION, "t", body, sizeof body);
    sdb_reply_init(&r);
    hdr(&r, "HTTP/2 100\r\n");
    hdr(&r, "grpc-status: 3\r\n");
    grpc_head(&r);
    sdb_reply_body(&r, body, n);
    hdr(&r, "grpc-status: 0\r\n");
    sdb_result res;
    char err[256];
    CU_ASSERT_EQUAL(sdb_reply_finish(&r, &res, err, sizeof err), 0);

    const char *types[] = {"application/grpc", "application/grpc+proto",
                           "application/grpc; charset=x", "APPLICATION/GRPC"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char line[80];
        sdb_reply_init(&r);
        hdr(&r, "HTTP/2 200\r\n");
        snprintf(line, sizeof line, "content-type: %s\r\n", types[i]);
        hdr(&r, line);
        sdb_reply_body(&r, body, n);
        hdr(&r, "grpc-status: 0\r\n");
        CU_ASSERT_EQUAL(sdb_reply_finish(&r, &res, err, sizeof err), 0);
    }
    const char *wrong[] = {"application/grpcx", "application/json", "text/html"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        char line[80];
        sdb_reply_init(&r);
        hdr(&r, "HTTP/2 200\r\n");
        snprintf(line, sizeof line, "content-type: %s\r\n", wrong[i]);
        hdr(&r, line);
        hdr(&r, "grpc-status: 0\r\n");
        expect_error(&r, "rpc error: code = Internal desc = transport: received unexpected "
                         "content-type");
    }
    sdb_reply_init(&r);
    hdr(&r, "HTTP/2 200\r\n");
    hdr(&r, "grpc-status: 0\r\n");
    expect_error(&r, "rpc error: code = Internal desc = transport: no content-type in the answer");
}

static void test_frames(void)
{
    uint8_t body[128], two[256];
    size_t n = framed_response(SDB_PERM_HAS_PERMISSION, "tok", body, sizeof body);
    sdb_result res;
    char err[256];
    CU_ASSERT_EQUAL(judge(body, n, NULL, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = server closed the stream "
                                "without sending trailers");
    CU_ASSERT_EQUAL(judge(body, 0, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: no response message");
    CU_ASSERT_EQUAL(judge(body, 3, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: truncated message prefix");
    CU_ASSERT_EQUAL(judge(body, n - 1, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: truncated response message");
    memcpy(two, body, n);
    memcpy(two + n, body, n);
    CU_ASSERT_EQUAL(judge(two, 2 * n, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: more than one response "
                                "message");
    body[0] = 1;
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: compressed message, none "
                                "was asked for");
    body[0] = 2;
    CU_ASSERT_EQUAL(judge(body, n, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: invalid compressed-flag "
                                "in the message prefix");
    /* A length that wraps size arithmetic if added carelessly. */
    static const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff, 1, 2};
    CU_ASSERT_EQUAL(judge(huge, sizeof huge, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: truncated response message");
    static const uint8_t junk[] = {0, 0, 0, 0, 3, 0xff, 0xff, 0xff};
    CU_ASSERT_EQUAL(judge(junk, sizeof junk, ok_trailers, &res, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "rpc error: code = Internal desc = grpc: failed to unmarshal the "
                                "received message");
}

static void test_overflow(void)
{
    sdb_reply r;
    sdb_reply_init(&r);
    grpc_head(&r);
    static uint8_t chunk[16384];
    int rc = 0;
    size_t fed = 0;
    while (rc == 0 && fed <= SDB_MAX_RESPONSE) {
        rc = sdb_reply_body(&r, chunk, sizeof chunk);
        fed += sizeof chunk;
    }
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT(r.body_len <= SDB_MAX_RESPONSE);
    hdr(&r, "grpc-status: 0\r\n");
    expect_error(&r, "rpc error: code = ResourceExhausted desc = grpc: received message larger "
                     "than max (65536)");
    sdb_reply_free(&r);
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(sdb_code_name(0), "OK");
    CU_ASSERT_STRING_EQUAL(sdb_code_name(4), "DeadlineExceeded");
    CU_ASSERT_STRING_EQUAL(sdb_code_name(16), "Unauthenticated");
    CU_ASSERT_PTR_NULL(sdb_code_name(17));
    CU_ASSERT_PTR_NULL(sdb_code_name(-1));
    CU_ASSERT_STRING_EQUAL(sdb_perm_name(1), "PERMISSIONSHIP_NO_PERMISSION");
    CU_ASSERT_STRING_EQUAL(sdb_perm_name(3), "PERMISSIONSHIP_CONDITIONAL_PERMISSION");
    CU_ASSERT_PTR_NULL(sdb_perm_name(4));
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"request: framed, authzed.api.v1 field numbers", test_encode},
        {"answer: granted and denied, in pieces", test_granted},
        {"answer: tokens bounded and header-safe", test_token_bounds},
        {"answer: grpc-status and grpc-message", test_grpc_errors},
        {"answer: HTTP status and content-type", test_http_and_types},
        {"answer: message framing", test_frames},
        {"answer: size limit", test_overflow},
        {"names of codes and permissionships", test_names},
        {NULL, NULL}};
    return cu_add_suite("spicedb_wire", cases);
}
