/* I/O threads: one libuv loop each, each with its own SO_REUSEPORT
 * listeners so the kernel spreads connections; accepting (and pausing it
 * when descriptors run out); the periodic sweep; the graceful stop. */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local srv_loop *srv_tl_loop;

static const char *const srv_port_names[SRV_PORT_COUNT_] = {"grpc", "http",
                                                            "admin", "health"};

/* How long between the GOAWAY notice and the final GOAWAY: about one round
 * trip, so streams the client opened meanwhile are still served. */
#define SRV_STOP_TICK_MS 10
#define SRV_FINAL_GOAWAY_TICKS 5

srv_loop *srv_current_loop(void)
{
    return srv_tl_loop;
}

uint64_t srv_now_ms(srv_loop *l)
{
    return uv_now(&l->uv);
}

static int64_t srv_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Connections taken per readiness event and listener: the kernel queue
 * keeps the rest, and the loop gets to serve the ones it has. */
#define SRV_ACCEPT_BATCH 64
/* Out of descriptors, a listener stays readable and accept keeps failing:
 * stop polling for this long (nginx waits 500 ms) instead of spinning. */
#define SRV_ACCEPT_PAUSE_MS 250

static void srv_on_listener(uv_poll_t *h, int status, int events);

static void srv_accept_resume(uv_timer_t *t)
{
    srv_loop *l = t->data;
    l->accept_paused = 0;
    if (l->stopping)
        return;
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        if (l->listening[p])
            uv_poll_start(&l->listener[p], UV_READABLE, srv_on_listener);
}

static void srv_accept_pause(srv_loop *l)
{
    if (l->accept_paused)
        return;
    l->accept_paused = 1;
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        if (l->listening[p])
            uv_poll_stop(&l->listener[p]);
    uv_timer_start(&l->accept_timer, srv_accept_resume, SRV_ACCEPT_PAUSE_MS,
                   0);
}

/* At most one line a second for all loops: a flood of failures must not
 * become a flood of logs. */
static void srv_accept_log(srv_loop *l, int e)
{
    srv_fe *fe = l->fe;
    uint64_t now = srv_now_ms(l);
    uint64_t last = atomic_load(&fe->accept_log_ms);
    if (last && now < last + 1000)
        return;
    if (!atomic_compare_exchange_strong(&fe->accept_log_ms, &last, now))
        return;
    int out_of_fds = e == EMFILE || e == ENFILE;
    fe->host->log(PC_LOG_WARN, SRV_WHO, "accept: %s%s", strerror(e),
                  out_of_fds ? "; pausing new connections briefly" : "");
}

static void srv_on_listener(uv_poll_t *h, int status, int events)
{
    srv_loop *l = h->data;
    (void)events;
    if (status < 0 || l->stopping)
        return;
    srv_port port = (srv_port)(h - l->listener);
    int lfd = l->listen_fd[port];
    for (int i = 0; i < SRV_ACCEPT_BATCH && !l->stopping; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            srv_conn_accept(l, port, fd);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO)
            continue;
        srv_accept_log(l, e);
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
            srv_accept_pause(l);
        return;
    }
}

static void srv_sweep(uv_timer_t *t)
{
    srv_loop *l = t->data;
    uint64_t now = srv_now_ms(l);
    for (srv_conn *c = l->conns; c; c = c->next)
        if (!c->closed && c->proto && c->proto->sweep)
            c->proto->sweep(c, now);
    srv_mem_tick(l->fe, l, now);
}

static void srv_flush_cb(uv_prepare_t *p)
{
    srv_loop_flush_dirty(p->data);
}

static void srv_close_listener(srv_loop *l, int p)
{
    if (!l->listening[p])
        return;
    uv_poll_stop(&l->listener[p]);
    uv_close((uv_handle_t *)&l->listener[p], NULL);
    close(l->listen_fd[p]);
    l->listen_fd[p] = -1;
    l->listening[p] = 0;
}

static void srv_close_all(srv_loop *l, int graceful, int only_idle)
{
    srv_conn *c = l->conns;
    while (c) {
        srv_conn *next = c->next;
        if (!c->closed && (!only_idle || !c->proto || c->proto->idle(c)))
            srv_conn_close(c, graceful);
        c = next;
    }
}

static void srv_loop_finish(srv_loop *l)
{
    uv_mutex_lock(&l->mu);
    l->closed = 1;
    uv_mutex_unlock(&l->mu);
    srv_loop_drain_closed(l);
    uv_close((uv_handle_t *)&l->async, NULL);
    uv_timer_stop(&l->stop_timer);
    uv_close((uv_handle_t *)&l->stop_timer, NULL);
    uv_timer_stop(&l->accept_timer);
    uv_close((uv_handle_t *)&l->accept_timer, NULL);
    uv_timer_stop(&l->sweep_timer);
    uv_close((uv_handle_t *)&l->sweep_timer, NULL);
    uv_prepare_stop(&l->flush_prep);
    uv_close((uv_handle_t *)&l->flush_prep, NULL);
}

static void srv_stop_tick(uv_timer_t *t)
{
    srv_loop *l = t->data;
    l->stop_ticks++;
    int64_t deadline;
    uv_mutex_lock(&l->mu);
    deadline = l->grace_deadline_ns;
    uv_mutex_unlock(&l->mu);
    if (l->stop_ticks == SRV_FINAL_GOAWAY_TICKS) {
        for (srv_conn *c = l->conns; c; c = c->next)
            if (!c->closed && c->proto && c->proto->shutdown)
                c->proto->shutdown(c, 2);
    }
    if (l->stop_ticks >= SRV_FINAL_GOAWAY_TICKS)
        srv_close_all(l, 1, 1);
    if (srv_mono_ns() >= deadline)
        srv_close_all(l, 0, 0);
    if (l->n_conns == 0)
        srv_loop_finish(l);
}

static void srv_begin_stop(srv_loop *l)
{
    l->stopping = 1;
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        srv_close_listener(l, p);
    for (srv_conn *c = l->conns; c; c = c->next) {
        if (c->closed)
            continue;
        if (!c->proto)
            srv_conn_close(c, 0);
        else if (c->proto->shutdown)
            c->proto->shutdown(c, 1);
    }
    uv_timer_start(&l->stop_timer, srv_stop_tick, SRV_STOP_TICK_MS,
                   SRV_STOP_TICK_MS);
}

static void srv_async_cb(uv_async_t *a)
{
    srv_loop *l = a->data;
    srv_loop_run_queue(l);
    uv_mutex_lock(&l->mu);
    int stop = l->stop_requested;
    uv_mutex_unlock(&l->mu);
    if (stop && !l->stopping)
        srv_begin_stop(l);
}

static void srv_thread_main(void *arg)
{
    srv_loop *l = arg;
    srv_tl_loop = l;
    uv_run(&l->uv, UV_RUN_DEFAULT);
    srv_tl_loop = NULL;
}

static void srv_bind_error(const srv_addr *a, const char *what, int e,
                           char *err, size_t errlen)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "%s", strerror(e));
    if (msg[0] >= 'A' && msg[0] <= 'Z')
        msg[0] = (char)(msg[0] - 'A' + 'a');
    snprintf(err, errlen, "%s listener %s: %s", what, a->text, msg);
}

/* SO_REUSEPORT would let a second server (same user) share the port and
 * steal half the connections. A plain bind first proves the port is free:
 * it fails when anything, reuseport or not, holds it. */
static int srv_probe(const srv_addr *a, const char *what, char *err,
                     size_t errlen)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        srv_bind_error(a, what, errno, err, errlen);
        return -1;
    }
    int one = 1;
    int rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc == 0)
        rc = bind(fd, (const struct sockaddr *)&a->ss, a->len);
    int e = errno;
    close(fd);
    if (rc != 0) {
        srv_bind_error(a, what, e, err, errlen);
        return -1;
    }
    return 0;
}

/* Binds one listening socket; -1 with err set. */
static int srv_bind(const srv_addr *a, const char *what, char *err,
                    size_t errlen)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0) {
        snprintf(err, errlen, "%s listener %s: %s", what, a->text,
                 strerror(errno));
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        int e = errno;
        close(fd);
        srv_bind_error(a, what, e, err, errlen);
        return -1;
    }
    return fd;
}

/* Runs a never-started loop until its closed handles are gone. */
static void srv_loop_dispose(srv_loop *l)
{
    uv_run(&l->uv, UV_RUN_NOWAIT);
    for (int i = 0; i < 100 && uv_loop_close(&l->uv) == UV_EBUSY; i++)
        uv_run(&l->uv, UV_RUN_NOWAIT);
}

static void srv_loop_abort(srv_loop *l)
{
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        srv_close_listener(l, p);
    uv_close((uv_handle_t *)&l->async, NULL);
    uv_close((uv_handle_t *)&l->stop_timer, NULL);
    uv_close((uv_handle_t *)&l->accept_timer, NULL);
    uv_close((uv_handle_t *)&l->sweep_timer, NULL);
    uv_close((uv_handle_t *)&l->flush_prep, NULL);
    srv_loop_dispose(l);
    uv_mutex_destroy(&l->mu);
}

static int srv_loop_init(srv_fe *fe, srv_loop *l, int index)
{
    l->fe = fe;
    l->index = index;
    if (uv_loop_init(&l->uv) != 0)
        return -1;
    if (uv_mutex_init(&l->mu) != 0) {
        uv_loop_close(&l->uv);
        return -1;
    }
    uv_async_init(&l->uv, &l->async, srv_async_cb);
    l->async.data = l;
    uv_timer_init(&l->uv, &l->stop_timer);
    l->stop_timer.data = l;
    uv_timer_init(&l->uv, &l->accept_timer);
    l->accept_timer.data = l;
    uv_timer_init(&l->uv, &l->sweep_timer);
    l->sweep_timer.data = l;
    /* Prepare handles run right before the loop polls: after the timers
     * and the deferred write callbacks of this turn, and after the reads
     * of the last one. Unreferenced: it never keeps the loop alive. */
    uv_prepare_init(&l->uv, &l->flush_prep);
    l->flush_prep.data = l;
    uv_prepare_start(&l->flush_prep, srv_flush_cb);
    uv_unref((uv_handle_t *)&l->flush_prep);
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        l->listen_fd[p] = -1;
    /* Often enough for the shortest stream idle timeout to be close to
     * its setting, at most once a second. */
    int64_t every = fe->cfg.stream_idle_timeout_ms / 4;
    if (every <= 0 || every > 1000)
        every = 1000;
    if (every < 20)
        every = 20;
    uv_timer_start(&l->sweep_timer, srv_sweep, (uint64_t)every,
                   (uint64_t)every);
    return 0;
}

static int srv_loop_listen(srv_loop *l, srv_port p, const srv_addr *a,
                           char *err, size_t errlen)
{
    const char *what = srv_port_names[p];
    int fd = srv_bind(a, what, err, errlen);
    if (fd < 0)
        return -1;
    if (listen(fd, 4096) != 0) {
        int e = errno;
        close(fd);
        srv_bind_error(a, what, e, err, errlen);
        return -1;
    }
    int rc = uv_poll_init_socket(&l->uv, &l->listener[p], fd);
    if (rc != 0) {
        close(fd);
        snprintf(err, errlen, "%s listener %s: %s", what, a->text,
                 uv_strerror(rc));
        return -1;
    }
    l->listener[p].data = l;
    l->listen_fd[p] = fd;
    l->listening[p] = 1;
    uv_poll_start(&l->listener[p], UV_READABLE, srv_on_listener);
    return 0;
}

int srv_start(srv_fe *fe, char *err, size_t errlen)
{
    const srv_config *cfg = &fe->cfg;
    int n = cfg->io_threads > 0 ? cfg->io_threads : 1;
    fe->loops = calloc((size_t)n, sizeof(srv_loop));
    if (!fe->loops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int p = 0; p < SRV_PORT_COUNT_; p++) {
        if (cfg->addr[p].enabled &&
            srv_probe(&cfg->addr[p], srv_port_names[p], err, errlen) != 0) {
            free(fe->loops);
            fe->loops = NULL;
            return -1;
        }
    }
    int ready = 0;
    for (; ready < n; ready++) {
        if (srv_loop_init(fe, &fe->loops[ready], ready) != 0) {
            snprintf(err, errlen, "cannot create event loop");
            goto fail;
        }
        for (int p = 0; p < SRV_PORT_COUNT_; p++) {
            if (!cfg->addr[p].enabled)
                continue;
            if (srv_loop_listen(&fe->loops[ready], (srv_port)p, &cfg->addr[p],
                                err, errlen) != 0) {
                ready++; /* this loop was initialised: abort it too */
                goto fail;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (uv_thread_create(&fe->loops[i].thread, srv_thread_main,
                             &fe->loops[i]) != 0) {
            snprintf(err, errlen, "cannot start I/O thread");
            fe->n_loops = i;
            srv_stop(fe, 0);
            for (int j = 0; j < i; j++)
                uv_mutex_destroy(&fe->loops[j].mu);
            for (int j = i; j < n; j++)
                srv_loop_abort(&fe->loops[j]);
            free(fe->loops);
            fe->loops = NULL;
            fe->n_loops = 0;
            return -1;
        }
        fe->loops[i].thread_started = 1;
    }
    fe->n_loops = n;
    fe->started = 1;
    char a[SRV_PORT_COUNT_][100];
    for (int p = 0; p < SRV_PORT_COUNT_; p++)
        snprintf(a[p], sizeof(a[p]), "%s",
                 cfg->addr[p].enabled ? cfg->addr[p].text : "off");
    fe->host->log(PC_LOG_INFO, SRV_WHO,
                  "listening grpc=%s http=%s admin=%s health=%s tls=%s io_threads=%d",
                  a[0], a[1], a[2], cfg->addr[SRV_PORT_HEALTH].enabled ? a[3] : a[2],
                  !cfg->tls_cert ? "off"
                                 : (cfg->tls_client_ca ? "mutual" : "on"),
                  n);
    return 0;
fail:
    for (int i = 0; i < ready; i++)
        srv_loop_abort(&fe->loops[i]);
    free(fe->loops);
    fe->loops = NULL;
    return -1;
}

void srv_stop(srv_fe *fe, int64_t grace_ms)
{
    if (grace_ms < 0)
        grace_ms = 0;
    int64_t deadline = srv_mono_ns() + grace_ms * 1000000;
    for (int i = 0; i < fe->n_loops; i++) {
        srv_loop *l = &fe->loops[i];
        if (!l->thread_started)
            continue;
        uv_mutex_lock(&l->mu);
        l->stop_requested = 1;
        l->grace_deadline_ns = deadline;
        if (!l->closed)
            uv_async_send(&l->async);
        uv_mutex_unlock(&l->mu);
    }
    for (int i = 0; i < fe->n_loops; i++) {
        srv_loop *l = &fe->loops[i];
        if (!l->thread_started)
            continue;
        uv_thread_join(&l->thread);
        l->thread_started = 0;
        srv_loop_dispose(l);
        srv_pool_drain(&l->req_pool);
        srv_pool_drain(&l->stream_pool);
    }
    fe->started = 0;
}

void srv_release(srv_fe *fe)
{
    /* Verdicts still on their way hold pointers to the loops (their mutex
     * and queue): wait for the engine to call every done. */
    int64_t until = srv_mono_ns() + INT64_C(60000000000);
    while (atomic_load(&fe->outstanding) > 0 && srv_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    long left = atomic_load(&fe->outstanding);
    if (left > 0) {
        /* Freeing now would let a late verdict touch freed memory. */
        fe->host->log(PC_LOG_ERROR, SRV_WHO,
                      "%ld requests never got a verdict; leaking the loops",
                      left);
        return;
    }
    for (int i = 0; i < fe->n_loops; i++)
        uv_mutex_destroy(&fe->loops[i].mu);
    free(fe->loops);
    fe->loops = NULL;
    fe->n_loops = 0;
}
