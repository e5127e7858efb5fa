/* HTTP authorization over HTTP/2 on the HTTP port: the same view as for
 * HTTP/1.1, from the pseudo-headers. */
#include <string.h>

#include "h2_conn.h"

static void h2_http_on_end(h2_stream *s)
{
    srv_conn *c = s->h->c;
    srv_http_in in;
    memset(&in, 0, sizeof(in));
    in.method = s->method;
    in.target = s->path;
    in.path = s->path;
    in.query = pc_str_c(NULL);
    for (size_t i = 0; i < s->path.len; i++) {
        if (s->path.ptr[i] == '?' || s->path.ptr[i] == '#') {
            in.path.len = i;
            if (s->path.ptr[i] == '?') {
                size_t end = i + 1;
                while (end < s->path.len && s->path.ptr[end] != '#')
                    end++;
                in.query.ptr = s->path.ptr + i + 1;
                in.query.len = end - i - 1;
            }
            break;
        }
    }
    in.fragment = pc_str_c(NULL);
    in.host = s->authority;
    in.protocol = pc_str_c("HTTP/2");
    in.body.ptr = s->body.len ? (const char *)s->body.data : "";
    in.body.len = s->body.len;
    in.headers = s->headers;
    in.n_headers = s->n_headers;
    in.size = (int64_t)s->body.len;

    srv_req *r = srv_req_new(c, &srv_http_req_ops, s);
    if (!r) {
        svc_answer a = svc_fail_answer(SVC_FAIL_NOMEM, 0);
        h2_respond_answer(s, &a);
        return;
    }
    in.req = r;
    pc_request_view v;
    srv_arena scratch = {0};
    srv_http_view(c, &in, &v, &scratch);
    s->req = r;
    srv_obs_http_start(&s->obs, s->method, srv_conn_host(c)->monotonic_ns());
    srv_req_submit(r, &v); /* may answer before it returns */
    srv_arena_free(&scratch);
    h2_stream_body_done(s);
}

static const h2_handler h2_http_handler = {"http", 0, h2_http_on_end, NULL};

static void h2_http_on_headers(h2_stream *s)
{
    s->hd = &h2_http_handler;
}

static const h2_service h2_http_service = {"http", 0, h2_http_on_headers};

int h2_attach_http(srv_conn *c)
{
    return h2_attach(c, &h2_http_service);
}
