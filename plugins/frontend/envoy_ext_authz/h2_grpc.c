/* gRPC on HTTP/2: the ext_authz Check methods (v3 and v2) and the standard
 * health check. Requests are decoded with the codec and submitted; the
 * transport-level errors are answered here with a grpc-status. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "h2_conn.h"

#define H2_PATH_V3 "/envoy.service.auth.v3.Authorization/Check"
#define H2_PATH_V2 "/envoy.service.auth.v2.Authorization/Check"
#define H2_PATH_HEALTH "/grpc.health.v1.Health/Check"

static int h2_is(pc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* "application/grpc", "application/grpc+proto", "application/grpc;..." */
static int h2_grpc_content_type(pc_str ct)
{
    static const char p[] = "application/grpc";
    size_t n = sizeof(p) - 1;
    if (ct.len < n || strncasecmp(ct.ptr, p, n) != 0)
        return 0;
    return ct.len == n || ct.ptr[n] == '+' || ct.ptr[n] == ';';
}

void h2_grpc_on_headers(h2_stream *s)
{
    const srv_config *cfg = srv_conn_config(s->h->c);
    if (h2_is(s->path, H2_PATH_V3))
        s->route = H2_ROUTE_CHECK_V3;
    else if (h2_is(s->path, H2_PATH_V2))
        s->route = H2_ROUTE_CHECK_V2;
    else if (h2_is(s->path, H2_PATH_HEALTH))
        s->route = H2_ROUTE_HEALTH;
    if (!h2_is(s->method, "POST")) {
        s->route = H2_ROUTE_NONE;
        h2_respond_http(s, 405, "gRPC requires POST");
        return;
    }
    if (!h2_grpc_content_type(s->content_type)) {
        s->route = H2_ROUTE_NONE;
        h2_respond_http(s, 415, "content-type must be application/grpc");
        return;
    }
    if (s->route == H2_ROUTE_NONE) {
        char msg[300];
        snprintf(msg, sizeof(msg), "unknown method %.*s",
                 (int)(s->path.len > 200 ? 200 : s->path.len),
                 s->path.ptr ? s->path.ptr : "");
        h2_respond_grpc_status(s, PC_GRPC_UNIMPLEMENTED, msg);
        return;
    }
    if (s->grpc_encoding.len && !h2_is(s->grpc_encoding, "identity")) {
        s->route = H2_ROUTE_NONE;
        h2_respond_grpc_status(s, PC_GRPC_UNIMPLEMENTED,
                               "grpc-encoding not supported: use identity");
        return;
    }
    size_t max = s->route == H2_ROUTE_HEALTH ? 64 * 1024 : cfg->max_message_bytes;
    codec_frame_reader_init(&s->fr, max, 0);
}

static void h2_grpc_health(h2_stream *s, const uint8_t *msg, size_t len)
{
    const pc_host *host = srv_conn_host(s->h->c);
    char service[512];
    if (codec_decode_health_request(msg, len, service, sizeof(service)) != 0) {
        h2_respond_grpc_status(s, PC_GRPC_INVALID_ARGUMENT, "bad HealthCheckRequest");
        return;
    }
    int ready = host->ready ? host->ready() : 1;
    codec_health_status st = codec_health_status_for(service, ready);
    if (st == CODEC_HEALTH_SERVICE_UNKNOWN) {
        h2_respond_grpc_status(s, PC_GRPC_NOT_FOUND, NULL);
        return;
    }
    codec_buf out = CODEC_BUF_INIT;
    srv_reply rp;
    memset(&rp, 0, sizeof(rp));
    if (codec_encode_health_response(st, &out) == 0 &&
        srv_reply_body(&rp, out.data, out.len) == 0) {
        rp.status = 200;
        rp.grpc = 1;
    }
    codec_buf_free(&out);
    h2_respond(s, &rp);
}

/* Answers a CheckRequest without http attributes as Authorino does, and one
 * with a part that cannot be represented the same way: a CheckResponse
 * denying with INVALID_ARGUMENT and HTTP 400. A CheckResponse and not a
 * grpc-status, so that an Envoy with failure_mode_allow still denies. */
static void h2_grpc_invalid(h2_stream *s, const char *reason)
{
    const pc_host *host = srv_conn_host(s->h->c);
    pc_header hdr = {pc_str_c("x-ext-auth-reason"), pc_str_c(reason)};
    pc_verdict v;
    memset(&v, 0, sizeof(v));
    v.struct_size = sizeof(v);
    v.grpc_code = PC_GRPC_INVALID_ARGUMENT;
    v.http_status = 400;
    v.headers = &hdr;
    v.n_headers = 1;
    v.reason = pc_str_c(reason);
    codec_buf out = CODEC_BUF_INIT;
    srv_reply rp;
    memset(&rp, 0, sizeof(rp));
    if (codec_encode_check_response(&v, host, s->route == H2_ROUTE_CHECK_V2,
                                    &out) == 0 &&
        srv_reply_body(&rp, out.data, out.len) == 0) {
        rp.status = 200;
        rp.grpc = 1;
    }
    codec_buf_free(&out);
    if (host->metrics_request)
        host->metrics_request(&v, 0);
    h2_respond(s, &rp);
}

/* Far enough to never come, near enough that whoever adds a margin to it
 * (the loop adds its own) stays clear of INT64_MAX: about 146 years. */
#define H2_DEADLINE_MAX_NS (INT64_C(1) << 62)

static int64_t h2_deadline(h2_stream *s, const pc_host *host)
{
    const srv_config *cfg = srv_conn_config(s->h->c);
    int64_t ns = -1;
    if (s->grpc_timeout.len)
        ns = codec_grpc_timeout_parse(s->grpc_timeout.ptr, s->grpc_timeout.len);
    int64_t def = cfg->default_timeout_ms > 0
                      ? cfg->default_timeout_ms * 1000000
                      : -1;
    if (ns < 0 || (def > 0 && def < ns))
        ns = def;
    if (ns < 0)
        return 0;
    int64_t now = host->monotonic_ns();
    if (ns == 0)
        ns = 1;
    return now < 0 || ns > H2_DEADLINE_MAX_NS - now ? H2_DEADLINE_MAX_NS : now + ns;
}

static void h2_grpc_check(h2_stream *s, const uint8_t *msg, size_t len)
{
    srv_conn *c = s->h->c;
    const pc_host *host = srv_conn_host(c);
    codec_check chk;
    char err[256] = "";
    const srv_config *cfg = srv_conn_config(c);
    codec_decode_opts opts = {cfg->max_metadata_depth};
    int rc = codec_decode_check(msg, len, &opts, &chk, err, sizeof(err));
    if (rc == CODEC_ENOHTTP || rc == CODEC_EINVALREQ) {
        codec_check_free(&chk);
        char reason[300];
        snprintf(reason, sizeof(reason), "Invalid request%s%s",
                 rc == CODEC_EINVALREQ ? ": " : "",
                 rc == CODEC_EINVALREQ ? err : "");
        h2_grpc_invalid(s, reason);
        return;
    }
    if (rc != 0) {
        codec_check_free(&chk);
        h2_respond_grpc_status(s, codec_error_grpc_status(rc),
                               *err ? err : codec_strerror(rc));
        return;
    }
    srv_req *r = srv_req_new(c, s->route == H2_ROUTE_CHECK_V2 ? SRV_REQ_GRPC_V2
                                                              : SRV_REQ_GRPC_V3,
                             s);
    if (!r) {
        codec_check_free(&chk);
        h2_respond_grpc_status(s, PC_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    chk.view.deadline_ns = h2_deadline(s, host);
    s->req = r;
    srv_req_submit(r, &chk.view); /* may answer before it returns */
    codec_check_free(&chk);
}

void h2_grpc_on_end(h2_stream *s)
{
    size_t len = 0;
    int compressed = 0;
    const uint8_t *msg = s->fr_ready ? codec_frame_reader_message(&s->fr, &len,
                                                                  &compressed)
                                     : NULL;
    if (!msg) {
        h2_respond_grpc_status(s, PC_GRPC_INTERNAL, codec_frame_reader_partial(&s->fr)
                                          ? "truncated request message"
                                          : "missing request message");
        return;
    }
    if (s->route == H2_ROUTE_HEALTH)
        h2_grpc_health(s, msg, len);
    else
        h2_grpc_check(s, msg, len);
    /* The view was copied by submit; the body is no longer needed. */
    s->h->buffered -= s->buffered;
    s->buffered = 0;
    codec_frame_reader_free(&s->fr);
}

int h2_grpc_render(srv_req *r, const pc_verdict *v)
{
    const pc_host *host = r->loop->fe->host;
    codec_buf out = CODEC_BUF_INIT;
    int rc = codec_encode_check_response(v, host, r->kind == SRV_REQ_GRPC_V2,
                                         &out);
    if (rc == 0)
        rc = srv_reply_body(&r->reply, out.data, out.len);
    codec_buf_free(&out);
    if (rc != 0)
        return -1;
    r->reply.status = 200;
    r->reply.grpc = 1;
    r->reply.grpc_status = PC_GRPC_OK;
    return 0;
}
