/* gRPC on HTTP/2: the ext_authz Check methods (v3 and v2) and the standard
 * health check. Requests are decoded with the codec and submitted; the
 * transport-level errors are answered here with a grpc-status. */
#include <stdio.h>
#include <string.h>

#include "h2_conn.h"
#include "service.h"

void h2_grpc_on_headers(h2_stream *s)
{
    const srv_config *cfg = srv_conn_config(s->h->c);
    svc_grpc_head head = {s->method, s->path, s->content_type, s->grpc_encoding};
    svc_answer early;
    char msg[300];
    const svc_method *m = svc_grpc_accept(&head, &early, msg, sizeof(msg));
    if (!m) {
        s->route = H2_ROUTE_NONE;
        if (early.http_status)
            h2_respond_http(s, early.http_status, early.text);
        else
            h2_respond_grpc_status(s, early.grpc_status, early.text);
        return;
    }
    s->route = m->id == SVC_CHECK_V3   ? H2_ROUTE_CHECK_V3
               : m->id == SVC_CHECK_V2 ? H2_ROUTE_CHECK_V2
                                       : H2_ROUTE_HEALTH;
    codec_frame_reader_init(&s->fr, m->max_message ? m->max_message
                                                   : cfg->max_message_bytes, 0);
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
    chk.view.deadline_ns = svc_grpc_deadline(s->grpc_timeout,
                                             cfg->default_timeout_ms,
                                             host->monotonic_ns());
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
