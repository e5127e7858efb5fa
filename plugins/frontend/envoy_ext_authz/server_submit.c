/* Requests handed to the engine and the way their verdicts come back: on the
 * loop thread straight to the protocol, from a worker through the loop's
 * queue and uv_async_send. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

static void srv_req_link(srv_req *r, srv_conn *c)
{
    r->conn = c;
    r->conn_prev = NULL;
    r->conn_next = c->reqs;
    if (c->reqs)
        c->reqs->conn_prev = r;
    c->reqs = r;
    c->n_reqs++;
}

static void srv_req_unlink(srv_req *r)
{
    srv_conn *c = r->conn;
    if (!c)
        return;
    if (r->conn_prev)
        r->conn_prev->conn_next = r->conn_next;
    else
        c->reqs = r->conn_next;
    if (r->conn_next)
        r->conn_next->conn_prev = r->conn_prev;
    c->n_reqs--;
    r->conn = NULL;
    r->conn_prev = r->conn_next = NULL;
}

static void srv_timer_free(uv_handle_t *h)
{
    free(h);
}

static void srv_req_stop_timer(srv_req *r)
{
    if (!r->deadline)
        return;
    uv_timer_stop(r->deadline);
    uv_close((uv_handle_t *)r->deadline, srv_timer_free);
    r->deadline = NULL;
}

srv_req *srv_req_new(srv_conn *c, const srv_req_ops *ops, void *proto_ref)
{
    return srv_req_new_at(c, ops, proto_ref, srv_conn_host(c)->monotonic_ns());
}

srv_req *srv_req_new_at(srv_conn *c, const srv_req_ops *ops, void *proto_ref,
                        int64_t now_ns)
{
    srv_req *r = srv_pool_get(&c->loop->req_pool, sizeof(*r));
    if (!r)
        return NULL;
    r->loop = c->loop;
    r->ops = ops;
    r->start_ns = now_ns;
    r->proto_ref = proto_ref;
    atomic_init(&r->gone, 0);
    srv_req_link(r, c);
    atomic_fetch_add(&c->loop->fe->outstanding, 1);
    return r;
}

/* Any thread; the loop must no longer reach r. */
static void srv_req_destroy(srv_req *r)
{
    srv_loop *l = r->loop;
    srv_fe *fe = l->fe;
    srv_reply_free(&r->reply);
    if (srv_current_loop() == l)
        srv_pool_put(&l->req_pool, r, sizeof(*r));
    else
        free(r);
    atomic_fetch_sub(&fe->outstanding, 1);
}

/* Loop thread. */
static void srv_req_free(srv_req *r)
{
    srv_req_unlink(r);
    srv_req_stop_timer(r);
    srv_req_destroy(r);
}

void srv_req_detach(srv_req *r)
{
    atomic_store(&r->gone, 1);
    srv_req_unlink(r);
    srv_req_stop_timer(r);
    r->proto_ref = NULL;
}

/* Loop thread: the verdict is in r->reply. */
static void srv_req_deliver(srv_req *r)
{
    srv_loop *l = r->loop;
    l->inflight--;
    srv_req_stop_timer(r);
    srv_conn *c = r->conn;
    if (c && !c->closed && !r->replied_early && c->proto && c->proto->deliver) {
        c->proto->deliver(c, r);
        srv_conn_mark_dirty(c);
    }
    srv_req_free(r);
}

static void srv_req_done(void *arg, pc_submission *sub, const pc_verdict *v)
{
    srv_req *r = arg;
    srv_loop *l = r->loop;
    const pc_host *host = l->fe->host;
    if (r->counted) {
        r->counted = 0;
        atomic_fetch_sub(&l->fe->pipelines, 1);
    }
    int here = srv_current_loop() == l;
    if (v) {
        int64_t now = host->monotonic_ns();
        if (host->metrics_request)
            host->metrics_request(v, now - r->start_ns);
        if (r->ops->render(r, v) != 0)
            r->reply.status = 0; /* the protocol answers with an error */
        /* Delivered right away: the answer's time is this one. */
        else if (here)
            r->reply.done_ns = now;
    }
    if (sub)
        host->request_release(sub);
    if (here) {
        srv_req_deliver(r);
        return;
    }
    uv_mutex_lock(&l->mu);
    if (l->closed) {
        uv_mutex_unlock(&l->mu);
        srv_req_destroy(r);
        return;
    }
    r->q_next = NULL;
    int was_empty = l->q_head == NULL;
    if (l->q_tail)
        l->q_tail->q_next = r;
    else
        l->q_head = r;
    l->q_tail = r;
    /* One wakeup per batch: the loop takes the whole queue at once. */
    if (was_empty)
        uv_async_send(&l->async);
    uv_mutex_unlock(&l->mu);
}

static void srv_deadline_cb(uv_timer_t *t)
{
    srv_req *r = t->data;
    srv_req_stop_timer(r);
    srv_conn *c = r->conn;
    atomic_store(&r->gone, 1);
    if (!c || c->closed || r->replied_early)
        return;
    r->replied_early = 1;
    if (c->proto && c->proto->on_timeout)
        c->proto->on_timeout(c, r);
    srv_conn_mark_dirty(c);
}

/* The engine asks this from any thread; r lives until its verdict is in. */
static int srv_req_gone(void *arg)
{
    srv_req *r = arg;
    return atomic_load(&r->gone);
}

/* Past max_pipelines_in_flight a request is denied at once instead of
 * queueing behind the others: a flood (rapid reset across connections)
 * cannot pile up work, and the denial is a verdict, so a proxy fails
 * closed rather than treating it as an error. */
static const pc_verdict srv_busy_verdict = {
    .struct_size = sizeof(pc_verdict),
    .allowed = 0,
    .grpc_code = 8, /* RESOURCE_EXHAUSTED */
    .http_status = 503,
    .body = {"", 0},
    .reason = {"too many requests in flight", 27},
    .authconfig = {"", 0},
};

void srv_req_submit(srv_req *r, pc_request_view *v)
{
    srv_loop *l = r->loop;
    srv_fe *fe = l->fe;
    const pc_host *host = fe->host;
    l->inflight++;
    if (atomic_fetch_add(&fe->pipelines, 1) >= fe->cfg.max_pipelines_in_flight) {
        atomic_fetch_sub(&fe->pipelines, 1);
        srv_req_done(r, NULL, &srv_busy_verdict);
        return;
    }
    r->counted = 1;
    if (v->deadline_ns > 0) {
        int64_t left = v->deadline_ns - host->monotonic_ns();
        uint64_t ms = left > 0 ? (uint64_t)((left + 999999) / 1000000) : 0;
        r->deadline = malloc(sizeof(uv_timer_t));
        if (r->deadline) {
            uv_timer_init(&l->uv, r->deadline);
            r->deadline->data = r;
            uv_timer_start(r->deadline, srv_deadline_cb, ms, 0);
        }
    }
    /* This loop's timer answers the client at its deadline (DEADLINE_EXCEEDED)
     * and cancels the pipeline; the deadline handed to the engine is only a
     * backstop, set a little later so the client always gets that one
     * answer. (The server's own timeout, when earlier, ends the pipeline
     * with a verdict of its own: UNAVAILABLE.) */
    if (v->deadline_ns > 0)
        v->deadline_ns += 20 * 1000000;
    v->cancelled = srv_req_gone;
    v->cancel_arg = r;
    host->submit(v, srv_req_done, r);
}

void srv_loop_run_queue(srv_loop *l)
{
    uv_mutex_lock(&l->mu);
    srv_req *r = l->q_head;
    l->q_head = l->q_tail = NULL;
    uv_mutex_unlock(&l->mu);
    while (r) {
        srv_req *next = r->q_next;
        srv_req_deliver(r);
        r = next;
    }
}

void srv_loop_drain_closed(srv_loop *l)
{
    uv_mutex_lock(&l->mu);
    srv_req *r = l->q_head;
    l->q_head = l->q_tail = NULL;
    uv_mutex_unlock(&l->mu);
    while (r) {
        srv_req *next = r->q_next;
        l->inflight--;
        srv_req_free(r);
        r = next;
    }
}
