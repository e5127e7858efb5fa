/* HTTP authorization on the HTTP port, shared by HTTP/1.1 and HTTP/2:
 * Authorino's raw "/check" and Envoy's http_service mode, where the request
 * to authorize is the one received (method, path with query, headers). */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "service.h"

static int srv_eq(pc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static pc_str srv_find_header(const pc_kv *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (srv_eq(h[i].key, name))
            return h[i].value;
    return pc_str_c(NULL);
}

int srv_http_view(srv_conn *c, const srv_http_in *in, pc_request_view *v,
                  srv_arena *scratch)
{
    const pc_host *host = srv_conn_host(c);
    const srv_config *cfg = srv_conn_config(c);
    memset(v, 0, sizeof(*v));
    v->struct_size = sizeof(*v);
    if (svc_http_is_raw_check(in->method, in->path)) {
        /* Authorino's raw endpoint: the request is described by the call
         * itself; its path is "/check" whatever was sent. */
        v->path = pc_str_c("/check");
        v->query = in->query;
        /* GET or POST, as Authorino; out of memory only loses the
         * AdmissionReview form of the answer. */
        if (in->req)
            (void)srv_admission_detect(in->req, in->body);
    } else {
        /* Envoy's http_service: the original request, with the configured
         * path_prefix removed; like Envoy's CheckRequest, path keeps the
         * query and query stays empty. */
        v->path = svc_http_strip_prefix(in->target, cfg->http_path_prefix,
                                        scratch);
    }
    v->method = in->method;
    v->host = in->host;
    pc_str proto = srv_find_header(in->headers, in->n_headers,
                                   "x-forwarded-proto");
    v->scheme = proto.len ? proto : pc_str_c(c->tls ? "https" : "http");
    v->protocol = in->protocol;
    v->id = srv_find_header(in->headers, in->n_headers, "x-request-id");
    v->body = in->body;
    v->size = in->size >= 0 ? in->size : (int64_t)in->body.len;
    int64_t now = host->realtime_ns();
    v->time_sec = now / 1000000000;
    v->time_nanos = (int32_t)(now % 1000000000);
    v->headers = in->headers;
    v->n_headers = in->n_headers;
    srv_conn_fill_peers(c, v);

    v->deadline_ns = svc_http_deadline(
        srv_find_header(in->headers, in->n_headers,
                        "x-envoy-expected-rq-timeout-ms"),
        cfg->default_timeout_ms, host->monotonic_ns());
    return 0;
}

static int srv_http_render(srv_req *r, const pc_verdict *v)
{
    if (r->admission_uid)
        return srv_admission_render(r, v);
    srv_reply *rp = &r->reply;
    rp->status = svc_http_status(v);
    for (size_t i = 0; i < v->n_headers; i++) {
        const pc_header *h = &v->headers[i];
        if (!h->name.ptr || !h->value.ptr || h->name.len == 0 ||
            h->name.len > 255)
            continue;
        char name[256];
        memcpy(name, h->name.ptr, h->name.len);
        name[h->name.len] = '\0';
        if (srv_reply_header(rp, name, h->value.ptr, h->value.len) != 0)
            return -1;
    }
    if (!v->allowed && v->body.len &&
        srv_reply_body(rp, v->body.ptr, v->body.len) != 0)
        return -1;
    return 0;
}

const srv_req_ops srv_http_req_ops = {"http", srv_http_render};
