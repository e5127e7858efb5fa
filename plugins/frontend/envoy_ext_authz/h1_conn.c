/* HTTP/1.1 on a connection (HTTP port and admin port): feeds the I/O-free
 * parser, keeps pipelined responses in request order, bounds the requests
 * in flight and closes after "connection: close" or a protocol error. */
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "h1_parser.h"
#include "h1_response.h"
#include "server.h"

/* Pipelined requests waiting for their turn before parsing pauses. */
#define H1_MAX_SLOTS 32
/* Request header bytes (request line included): over it, 431. */
#define H1_MAX_HEADER_BYTES (64 * 1024)

typedef struct h1_slot {
    struct h1_slot *next;
    int ready;
    int keep_alive;
    srv_buf bytes;
    srv_req *req;
} h1_slot;

typedef struct h1_conn {
    srv_conn *c;
    int admin;
    h1_parser *p;
    h1_slot *head, *tail;
    size_t n_slots;
    srv_buf pending;   /* bytes received while parsing was paused */
    int stop_parsing;  /* a response will close the connection */
    int in_feed;       /* guards the parser against re-entry */
    int eof;
    int draining;      /* stopping: every response closes */
} h1_conn;

static h1_conn *h1_of(srv_conn *c)
{
    return c->pstate;
}

static h1_slot *h1_slot_add(h1_conn *h, int keep_alive)
{
    h1_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->keep_alive = keep_alive && !h->draining;
    if (h->tail)
        h->tail->next = s;
    else
        h->head = s;
    h->tail = s;
    h->n_slots++;
    return s;
}

static void h1_slot_free(h1_slot *s)
{
    srv_buf_free(&s->bytes);
    free(s);
}

static void h1_pump(h1_conn *h);

/* Writes ready responses from the head, in order. */
static void h1_flush(h1_conn *h)
{
    srv_conn *c = h->c;
    while (h->head && h->head->ready && !c->closed) {
        h1_slot *s = h->head;
        h->head = s->next;
        if (!h->head)
            h->tail = NULL;
        h->n_slots--;
        int keep = s->keep_alive;
        srv_conn_write(c, s->bytes.data, s->bytes.len);
        h1_slot_free(s);
        if (!keep) {
            h->stop_parsing = 1;
            srv_conn_close(c, 1);
            return;
        }
    }
    if (h->n_slots == 0 && (h->eof || h->draining) && !c->closed)
        srv_conn_close(c, 1);
    else
        h1_pump(h);
}

static void h1_error_reply(h1_conn *h, int status)
{
    h1_slot *s = h1_slot_add(h, 0);
    h->stop_parsing = 1;
    if (!s) {
        srv_conn_close(h->c, 0);
        return;
    }
    const char *msg = h1_reason(status);
    h1_response_write(&s->bytes, status, NULL, 0, "text/plain", msg,
                      strlen(msg), 0);
    s->ready = 1;
}

static void h1_render(h1_slot *s, const srv_reply *rp)
{
    srv_buf_reset(&s->bytes);
    if (rp->status == 0) {
        const char *m = "internal error";
        h1_response_write(&s->bytes, 500, NULL, 0, "text/plain", m,
                          strlen(m), s->keep_alive);
    } else {
        h1_response_write(&s->bytes, rp->status, rp->headers, rp->n_headers,
                          rp->content_type, rp->body, rp->body_len,
                          s->keep_alive);
    }
    s->ready = 1;
}

static int h1_on_request(void *arg, const h1_request *req)
{
    h1_conn *h = arg;
    srv_conn *c = h->c;
    h1_slot *s = h1_slot_add(h, req->keep_alive);
    if (!s)
        return -1;
    /* The slot may be written and freed inside submit: keep what we need. */
    int keep_alive = s->keep_alive;
    if (h->admin) {
        if (adm_handle(srv_conn_host(c), req, &s->bytes, s->keep_alive) != 0)
            return -1;
        s->ready = 1;
    } else {
        srv_req *r = srv_req_new(c, SRV_REQ_HTTP, s);
        if (!r)
            return -1;
        s->req = r;
        srv_http_in in;
        memset(&in, 0, sizeof(in));
        in.method = req->method;
        in.target = req->target;
        in.path = req->path;
        in.query = req->query;
        in.fragment = req->fragment;
        in.host = req->host;
        in.protocol = req->protocol;
        in.body = req->body;
        in.headers = req->headers;
        in.n_headers = req->n_headers;
        in.size = req->content_length;
        pc_request_view v;
        srv_arena scratch = {0};
        srv_http_view(c, &in, &v, &scratch);
        srv_req_submit(r, &v); /* may deliver before it returns */
        srv_arena_free(&scratch);
    }
    if (!keep_alive) {
        h->stop_parsing = 1;
        return H1_PAUSE;
    }
    return h->n_slots >= H1_MAX_SLOTS ? H1_PAUSE : H1_CONTINUE;
}

static void h1_on_continue(void *arg)
{
    h1_conn *h = arg;
    /* Only when nothing is queued before it: it must not overtake an
     * earlier response. The client sends the body anyway after a wait. */
    if (h->n_slots == 0) {
        srv_buf b = {0};
        if (h1_response_continue(&b) == 0)
            srv_conn_write(h->c, b.data, b.len);
        srv_buf_free(&b);
    }
}

static void h1_feed(h1_conn *h, const uint8_t *data, size_t n)
{
    h->in_feed = 1;
    ssize_t used = h1_parser_feed(h->p, data, n);
    h->in_feed = 0;
    if (h->c->closed)
        return;
    if (used < 0) {
        int st = h1_parser_error_status(h->p);
        srv_conn_host(h->c)->log(PC_LOG_DEBUG, SRV_WHO,
                                 "http/1 request from %s rejected: %d %s",
                                 h->c->peer_ip, st,
                                 h1_parser_error_text(h->p));
        h1_error_reply(h, st);
        return;
    }
    if ((size_t)used < n && !h->stop_parsing) {
        if (srv_buf_append(&h->pending, data + used, n - (size_t)used) != 0) {
            srv_conn_close(h->c, 0);
            return;
        }
        srv_conn_block_read(h->c, SRV_BLOCK_PROTO, 1);
    }
}

/* Resumes a paused parser when there is room again. */
static void h1_pump(h1_conn *h)
{
    srv_conn *c = h->c;
    while (!h->in_feed && !c->closed && !h->stop_parsing &&
           h1_parser_paused(h->p) && h->n_slots < H1_MAX_SLOTS &&
           !srv_conn_congested(c)) {
        h1_parser_resume(h->p);
        srv_buf rest = h->pending;
        memset(&h->pending, 0, sizeof(h->pending));
        if (rest.len)
            h1_feed(h, rest.data, rest.len);
        srv_buf_free(&rest);
    }
    if (!h->in_feed && !c->closed && !h1_parser_paused(h->p) &&
        h->pending.len == 0 && !h->eof)
        srv_conn_block_read(c, SRV_BLOCK_PROTO, 0);
}

static int h1_on_data(srv_conn *c, const uint8_t *data, size_t n)
{
    h1_conn *h = h1_of(c);
    if (h->stop_parsing)
        return 0;
    if (h1_parser_paused(h->p) || h->pending.len) {
        if (srv_buf_append(&h->pending, data, n) != 0)
            return -1;
        srv_conn_block_read(c, SRV_BLOCK_PROTO, 1);
        return 0;
    }
    h1_feed(h, data, n);
    h1_flush(h);
    return 0;
}

static void h1_on_drain(srv_conn *c)
{
    h1_pump(h1_of(c));
}

static void h1_on_eof(srv_conn *c)
{
    h1_conn *h = h1_of(c);
    h->eof = 1;
    /* The peer may have half-closed after pipelining: answer what was
     * received in full, then close. */
    if (h1_parser_paused(h->p) || h->pending.len)
        h1_pump(h);
    h->stop_parsing = 1;
    h1_flush(h);
}

static void h1_deliver(srv_conn *c, srv_req *r)
{
    h1_slot *s = r->proto_ref;
    if (!s)
        return;
    s->req = NULL;
    r->proto_ref = NULL;
    h1_render(s, &r->reply);
    h1_flush(h1_of(c));
}

static void h1_on_timeout(srv_conn *c, srv_req *r)
{
    h1_slot *s = r->proto_ref;
    if (!s)
        return;
    s->req = NULL;
    srv_req_detach(r);
    srv_reply rp = {0};
    rp.status = 504;
    rp.content_type = "text/plain";
    rp.body = (uint8_t *)"authorization timed out";
    rp.body_len = strlen((const char *)rp.body);
    h1_render(s, &rp);
    h1_flush(h1_of(c));
}

static void h1_shutdown(srv_conn *c, int phase)
{
    h1_conn *h = h1_of(c);
    h->draining = 1;
    /* Answer what was received, the last one with "connection: close". */
    if (h->tail)
        h->tail->keep_alive = 0;
    h->stop_parsing = 1;
    if (h->n_slots == 0)
        srv_conn_close(c, 1);
}

static int h1_idle(srv_conn *c)
{
    h1_conn *h = h1_of(c);
    return h->n_slots == 0 && !h1_parser_mid_request(h->p);
}

static void h1_free(srv_conn *c)
{
    h1_conn *h = h1_of(c);
    if (!h)
        return;
    h1_slot *s = h->head;
    while (s) {
        h1_slot *n = s->next;
        h1_slot_free(s);
        s = n;
    }
    h1_parser_free(h->p);
    srv_buf_free(&h->pending);
    free(h);
    c->pstate = NULL;
}

const srv_proto h1_proto_http = {
    .name = "http/1.1",
    .on_data = h1_on_data,
    .on_drain = h1_on_drain,
    .on_eof = h1_on_eof,
    .deliver = h1_deliver,
    .on_timeout = h1_on_timeout,
    .shutdown = h1_shutdown,
    .idle = h1_idle,
    .free = h1_free,
};

int h1_attach(srv_conn *c, int admin)
{
    h1_conn *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->c = c;
    h->admin = admin;
    const srv_config *cfg = srv_conn_config(c);
    h1_limits lim = {H1_MAX_HEADER_BYTES,
                     admin ? 0 : cfg->max_http_body_bytes, 256};
    h1_callbacks cb = {h1_on_request, h1_on_continue};
    h->p = h1_parser_new(&lim, &cb, h);
    if (!h->p) {
        free(h);
        return -1;
    }
    srv_conn_set_proto(c, &h1_proto_http, h); /* h->admin picks the routes */
    return 0;
}
