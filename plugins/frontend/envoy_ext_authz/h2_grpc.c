/* gRPC on HTTP/2: the ext_authz Check methods (v3 and v2) and the standard
 * health check. Requests are decoded with the codec and submitted; the
 * transport-level errors are answered here with a grpc-status. */
#include <stdio.h>
#include <string.h>

#include "h2_conn.h"
#include "service.h"

/* A gRPC method as a stream handler: s->hd points at hd. */
typedef struct h2_grpc_method {
    h2_handler hd;
    svc_method_id id;
    const srv_req_ops *req_ops; /* Check: how verdicts are rendered */
    void (*call)(h2_stream *s, const struct h2_grpc_method *m,
                 const uint8_t *msg, size_t len);
} h2_grpc_method;

static const h2_grpc_method h2_grpc_methods[SVC_METHOD_COUNT_];

static const h2_grpc_method *h2_grpc_of(const h2_stream *s)
{
    return (const h2_grpc_method *)s->hd;
}

static void h2_grpc_on_headers(h2_stream *s)
{
    const srv_config *cfg = srv_conn_config(s->h->c);
    svc_grpc_head head = {s->method, s->path, s->content_type, s->grpc_encoding};
    svc_answer early;
    char msg[300];
    const svc_method *m = svc_grpc_accept(&head, &early, msg, sizeof(msg));
    if (!m) {
        s->hd = NULL;
        h2_respond_answer(s, &early);
        return;
    }
    s->hd = &h2_grpc_methods[m->id].hd;
    codec_frame_reader_init(&s->fr, m->max_message ? m->max_message
                                                   : cfg->max_message_bytes, 0);
}

static void h2_grpc_health(h2_stream *s, const h2_grpc_method *m,
                           const uint8_t *msg, size_t len)
{
    (void)m;
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
static void h2_grpc_invalid(h2_stream *s, const h2_grpc_method *m,
                            const char *reason)
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
    if (codec_encode_check_response(&v, host, m->id == SVC_CHECK_V2, &out) == 0 &&
        srv_reply_body(&rp, out.data, out.len) == 0) {
        rp.status = 200;
        rp.grpc = 1;
    }
    codec_buf_free(&out);
    if (host->metrics_request)
        host->metrics_request(&v, 0);
    h2_respond(s, &rp);
}

static void h2_grpc_check(h2_stream *s, const h2_grpc_method *m,
                          const uint8_t *msg, size_t len)
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
        h2_grpc_invalid(s, m, reason);
        return;
    }
    if (rc != 0) {
        codec_check_free(&chk);
        h2_respond_grpc_status(s, codec_error_grpc_status(rc),
                               *err ? err : codec_strerror(rc));
        return;
    }
    /* Received when its message was complete (h2_grpc_on_end read the
     * clock for the call's metrics): its deadline counts from then. */
    int64_t now = s->obs.kind == SRV_OBS_GRPC ? s->obs.start_ns
                                              : host->monotonic_ns();
    srv_req *r = srv_req_new_at(c, m->req_ops, s, now);
    if (!r) {
        codec_check_free(&chk);
        svc_answer a = svc_fail_answer(SVC_FAIL_NOMEM, 1);
        h2_respond_answer(s, &a);
        return;
    }
    chk.view.deadline_ns = svc_grpc_deadline(s->grpc_timeout,
                                             cfg->default_timeout_ms, now);
    s->req = r;
    srv_req_submit(r, &chk.view); /* may answer before it returns */
    codec_check_free(&chk);
}

static void h2_grpc_on_end(h2_stream *s)
{
    const h2_grpc_method *m = h2_grpc_of(s);
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
    srv_conn *c = s->h->c;
    srv_obs_grpc_start(&c->loop->stats, &s->obs, m->id,
                       srv_conn_host(c)->monotonic_ns());
    m->call(s, m, msg, len);
    /* The view was copied by submit; the body is no longer needed. */
    s->h->buffered -= s->buffered;
    s->buffered = 0;
    codec_frame_reader_free(&s->fr);
}

static void *h2_grpc_reply_alloc(void *arg, size_t n)
{
    return srv_arena_alloc(arg, n);
}

/* The message is written straight into the reply's arena. */
static int h2_grpc_render(srv_req *r, const pc_verdict *v, int v2)
{
    const pc_host *host = r->loop->fe->host;
    uint8_t *msg;
    size_t len;
    if (codec_encode_check_response_to(v, host, v2, h2_grpc_reply_alloc,
                                       &r->reply.arena, &msg, &len) != 0)
        return -1;
    r->reply.body = msg;
    r->reply.body_len = len;
    r->reply.status = 200;
    r->reply.grpc = 1;
    r->reply.grpc_status = PC_GRPC_OK;
    return 0;
}

static int h2_grpc_render_v3(srv_req *r, const pc_verdict *v)
{
    return h2_grpc_render(r, v, 0);
}

static int h2_grpc_render_v2(srv_req *r, const pc_verdict *v)
{
    return h2_grpc_render(r, v, 1);
}

static const srv_req_ops h2_check_v3_ops = {"grpc v3", h2_grpc_render_v3};
static const srv_req_ops h2_check_v2_ops = {"grpc v2", h2_grpc_render_v2};

/* What a Check refused for lack of memory is answered: a denial, so that
 * a proxy fails closed whatever its failure mode, as for any verdict. */
static const pc_verdict h2_over_budget = {
    .struct_size = sizeof(pc_verdict),
    .grpc_code = 8, /* RESOURCE_EXHAUSTED */
    .http_status = 503,
    .body = {"", 0},
    .reason = {"server over its memory budget", 29},
    .authconfig = {"", 0},
};

static int h2_grpc_shed_check(h2_stream *s)
{
    srv_req tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.loop = s->h->c->loop;
    if (h2_grpc_of(s)->req_ops->render(&tmp, &h2_over_budget) != 0) {
        srv_reply_free(&tmp.reply);
        return -1;
    }
    return h2_respond(s, &tmp.reply);
}

static const h2_grpc_method h2_grpc_methods[SVC_METHOD_COUNT_] = {
    [SVC_CHECK_V3] = {{"grpc check v3", 1, h2_grpc_on_end, h2_grpc_shed_check},
                      SVC_CHECK_V3, &h2_check_v3_ops, h2_grpc_check},
    [SVC_CHECK_V2] = {{"grpc check v2", 1, h2_grpc_on_end, h2_grpc_shed_check},
                      SVC_CHECK_V2, &h2_check_v2_ops, h2_grpc_check},
    [SVC_HEALTH_CHECK] = {{"grpc health", 1, h2_grpc_on_end, NULL},
                          SVC_HEALTH_CHECK, NULL, h2_grpc_health},
};

static const h2_service h2_grpc_service = {"grpc", 1, h2_grpc_on_headers};

int h2_attach_grpc(srv_conn *c)
{
    return h2_attach(c, &h2_grpc_service);
}
