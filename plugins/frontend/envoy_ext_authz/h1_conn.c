/* HTTP/1.1 on a connection (HTTP port and admin port): feeds the I/O-free
 * parser, keeps pipelined responses in request order, bounds the requests
 * in flight and the unsent output (parsing pauses past either, so a client
 * that pipelines and never reads costs a bounded amount), times each stage
 * of a request and closes after "connection: close" or a protocol error. */
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "h1_parser.h"
#include "h1_response.h"
#include "server.h"

/* What the stage timer is measuring. */
typedef enum h1_wait {
    H1_WAIT_NONE = 0,
    H1_WAIT_HEAD,   /* a request head (from accept for the first one) */
    H1_WAIT_BODY,   /* its body */
    H1_WAIT_IDLE,   /* admin port: the next request */
    H1_WAIT_CLOSE   /* a closing connection whose peer does not read */
} h1_wait;

typedef struct h1_slot {
    struct h1_slot *next;
    int ready;
    int keep_alive;
    srv_buf bytes;
    srv_req *req;
    srv_obs obs;  /* the request being measured */
} h1_slot;

typedef struct h1_conn h1_conn;

/** What an HTTP/1.1 connection serves (chosen by its port at attach). */
typedef struct h1_service {
    const char *name;
    /** A complete request in slot s: answer it into s->bytes (s->ready)
     *  or hand it to the engine. -1 closes the connection. */
    int (*on_request)(h1_conn *h, h1_slot *s, const h1_request *req);
    int routes;       /* admin_http's ADM_* for the admin services */
    int bodies;       /* 1: bodies up to max_http_body_bytes; 0: none */
    int idle_wait;    /* 1: admin_idle_timeout_ms between requests */
} h1_service;

struct h1_conn {
    srv_conn *c;
    const h1_service *svc;
    h1_parser *p;
    h1_slot *head, *tail;
    size_t n_slots;
    srv_buf pending;   /* bytes received while parsing was paused */
    int stop_parsing;  /* a response will close the connection */
    int in_feed;       /* guards the parser against re-entry */
    int eof;
    int draining;      /* stopping: every response closes */
    /* the stage timer; its own allocation, as it is closed after h */
    uv_timer_t *timer;
    h1_wait wait;
    uint64_t wait_req; /* h1_parser_started when the wait began */
    int timed_out;
};

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
static void h1_arm(h1_conn *h);

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
            h1_arm(h); /* bounds the wait for the peer to take it */
            return;
        }
    }
    if (h->n_slots == 0 && (h->eof || h->draining) && !c->closed)
        srv_conn_close(c, 1);
    else
        h1_pump(h);
    h1_arm(h);
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

static void h1_render(h1_conn *h, h1_slot *s, const srv_reply *rp)
{
    srv_loop *l = h->c->loop;
    srv_obs_http_done(&l->stats, &s->obs, rp->status ? rp->status : 500,
                      srv_conn_host(h->c)->monotonic_ns());
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

/* Room for one more pipelined request: few enough in flight, and the
 * answers already made are leaving (the peer reads them). */
static int h1_room(const h1_conn *h)
{
    const srv_config *cfg = srv_conn_config(h->c);
    return h->n_slots < (size_t)cfg->h1.max_pipelined &&
           !srv_conn_congested(h->c);
}

static int h1_admin_request(h1_conn *h, h1_slot *s, const h1_request *req)
{
    if (adm_handle(h->c->loop->fe, h->svc->routes, req, &s->bytes,
                   s->keep_alive) != 0)
        return -1;
    s->ready = 1;
    return 0;
}

static int h1_authz_request(h1_conn *h, h1_slot *s, const h1_request *req)
{
    srv_conn *c = h->c;
    srv_req *r = srv_req_new(c, &srv_http_req_ops, s);
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
    in.req = r;
    pc_request_view v;
    srv_arena scratch = {0};
    srv_http_view(c, &in, &v, &scratch);
    srv_obs_http_start(&s->obs, req->method, srv_conn_host(c)->monotonic_ns());
    srv_req_submit(r, &v); /* may deliver before it returns */
    srv_arena_free(&scratch);
    return 0;
}

static int h1_on_request(void *arg, const h1_request *req)
{
    h1_conn *h = arg;
    h1_slot *s = h1_slot_add(h, req->keep_alive);
    if (!s)
        return -1;
    /* The slot may be written and freed inside submit: keep what we need. */
    int keep_alive = s->keep_alive;
    if (h->svc->on_request(h, s, req) != 0)
        return -1;
    if (!keep_alive) {
        h->stop_parsing = 1;
        return H1_PAUSE;
    }
    return h1_room(h) ? H1_CONTINUE : H1_PAUSE;
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
           h1_parser_paused(h->p) && h1_room(h)) {
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
    h1_conn *h = h1_of(c);
    h1_pump(h);
    h1_arm(h);
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
    h1_render(h1_of(c), s, &r->reply);
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
    h1_render(h1_of(c), s, &rp);
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

/* ---- the stage timer ---- */

static h1_wait h1_waiting_for(const h1_conn *h)
{
    const srv_conn *c = h->c;
    if (c->closed)
        return H1_WAIT_NONE;
    if (c->closing)
        return H1_WAIT_CLOSE;
    if (h->stop_parsing)
        return H1_WAIT_NONE; /* answers still to come, then the close */
    /* Not reading (the peer does not take its answers, or parsing is
     * paused): the bytes it sent wait for us, not the other way round. */
    if (c->read_block)
        return H1_WAIT_NONE;
    int stage = h1_parser_stage(h->p);
    if (stage == H1_STAGE_BODY)
        return H1_WAIT_BODY;
    if (stage == H1_STAGE_HEAD)
        return H1_WAIT_HEAD;
    /* Idle parser: paused with requests in flight or output to drain is
     * the engine's or the peer's turn, not a wait for the client. */
    if (h1_parser_paused(h->p) || h->pending.len || h->n_slots || h->eof)
        return H1_WAIT_NONE;
    if (h1_parser_started(h->p) == 0)
        return H1_WAIT_HEAD;
    return h->svc->idle_wait ? H1_WAIT_IDLE : H1_WAIT_NONE;
}

static uint64_t h1_wait_ms(const h1_conn *h, h1_wait w)
{
    const srv_h1_config *t = &srv_conn_config(h->c)->h1;
    switch (w) {
    case H1_WAIT_HEAD: return (uint64_t)t->header_timeout_ms;
    case H1_WAIT_BODY: return (uint64_t)t->body_timeout_ms;
    case H1_WAIT_IDLE: return (uint64_t)t->admin_idle_timeout_ms;
    /* As long as a head may take: the answer is small. */
    case H1_WAIT_CLOSE: return (uint64_t)t->header_timeout_ms;
    default: return 0;
    }
}

static void h1_timer_cb(uv_timer_t *t);

/* Starts the timer when the connection begins waiting for something new;
 * a wait that goes on keeps its start, so a trickle of bytes does not
 * extend it. */
static void h1_arm(h1_conn *h)
{
    if (!h->timer || h->timed_out)
        return;
    h1_wait w = h1_waiting_for(h);
    uint64_t req = h1_parser_started(h->p);
    if (w == h->wait && req == h->wait_req)
        return;
    h->wait = w;
    h->wait_req = req;
    uint64_t ms = h1_wait_ms(h, w);
    if (ms)
        uv_timer_start(h->timer, h1_timer_cb, ms, 0);
    else
        uv_timer_stop(h->timer);
}

static void h1_timer_cb(uv_timer_t *t)
{
    h1_conn *h = t->data;
    srv_conn *c = h->c;
    h1_wait w = h->wait;
    if (c->closed)
        return;
    if (!h->timed_out && (h1_waiting_for(h) != w ||
                          h1_parser_started(h->p) != h->wait_req)) {
        /* The wait changed without a call to h1_arm (the core stopped
         * reading, say): measure the new one. */
        h->wait = H1_WAIT_NONE;
        h->wait_req = UINT64_MAX;
        h1_arm(h);
        return;
    }
    if (w == H1_WAIT_CLOSE || h->timed_out) {
        srv_conn_close(c, 0);
        return;
    }
    static const char *const what[] = {"", "request head", "request body",
                                       "next request", "close"};
    srv_conn_host(c)->log(PC_LOG_DEBUG, SRV_WHO,
                          "http/1 connection from %s: %s not received in "
                          "time (%d requests waiting)",
                          c->peer_ip, what[w], (int)h->n_slots);
    h->timed_out = 1;
    h->stop_parsing = 1;
    if (h1_parser_mid_request(h->p)) {
        /* After the answers to earlier requests; closes once written. */
        h1_error_reply(h, 408);
        h1_flush(h);
    } else {
        /* Nothing begun (a silent connection, an idle admin client): no
         * answer is owed. */
        srv_conn_close(c, 1);
    }
    /* Whatever was queued gets one more wait to leave, then the close is
     * forced: a peer that does not read cannot hold the connection. */
    if (!c->closed)
        uv_timer_start(t, h1_timer_cb, h1_wait_ms(h, H1_WAIT_CLOSE) ?
                       h1_wait_ms(h, H1_WAIT_CLOSE) : 1000, 0);
}

static void h1_timer_closed(uv_handle_t *t)
{
    free(t);
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
    if (h->timer)
        uv_close((uv_handle_t *)h->timer, h1_timer_closed);
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

static int h1_attach(srv_conn *c, const h1_service *svc)
{
    h1_conn *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->c = c;
    h->svc = svc;
    const srv_config *cfg = srv_conn_config(c);
    h1_limits lim = {(size_t)cfg->h1.max_header_bytes,
                     svc->bodies ? cfg->max_http_body_bytes : 0,
                     (size_t)cfg->h1.max_headers,
                     (size_t)cfg->h1.max_line_bytes};
    h1_callbacks cb = {h1_on_request, h1_on_continue};
    h->p = h1_parser_new(&lim, &cb, h);
    h->timer = malloc(sizeof(*h->timer));
    if (!h->p || !h->timer) {
        h1_parser_free(h->p);
        free(h->timer);
        free(h);
        return -1;
    }
    uv_timer_init(&c->loop->uv, h->timer);
    h->timer->data = h;
    srv_conn_set_proto(c, &h1_proto_http, h); /* h->svc picks the routes */
    h1_arm(h);
    return 0;
}

static const h1_service h1_authz = {"http", h1_authz_request, ADM_NONE, 1, 0};
static const h1_service h1_admin = {"admin", h1_admin_request, ADM_ALL, 0, 1};
static const h1_service h1_probes = {"health", h1_admin_request, ADM_PROBES, 0, 1};

int h1_attach_http(srv_conn *c)
{
    return h1_attach(c, &h1_authz);
}

int h1_attach_admin(srv_conn *c)
{
    return h1_attach(c, &h1_admin);
}

int h1_attach_probes(srv_conn *c)
{
    return h1_attach(c, &h1_probes);
}
