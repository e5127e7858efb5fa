/* One accepted connection: reading, the output buffer with its high-water
 * mark, the memory it holds against the budget, TLS, protocol sniffing,
 * the handshake and idle timers and closing. */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls_conn.h"

/* Output buffers bigger than this are freed once written rather than kept
 * for the next reply: a burst must not pin its peak size. */
#define SRV_OUT_KEEP (64 * 1024)
/* Over the memory budget, a connection with this much unsent output stops
 * reading even below its own high-water mark. */
#define SRV_OUT_SHED (16 * 1024)
/* What a connection costs before any request, for the memory budget: our
 * object, and OpenSSL's buffers with TLS (estimates). */
#define SRV_CONN_COST (sizeof(srv_conn) + 1024)
#define SRV_TLS_COST (48 * 1024)
/* Over the budget, the connections that hold the most are refused first:
 * one holding less than this may still go an eighth above the budget, so
 * an ordinary client keeps being served while the hogs are shed. */
#define SRV_SMALL_HOLDER (192 * 1024)

static const char srv_h2_preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* What each port serves, as the protocols register it. */
static const srv_port_ops srv_ports[SRV_PORT_COUNT_] = {
    [SRV_PORT_GRPC] = {"grpc", 1, h2_attach_grpc, NULL, 0},
    [SRV_PORT_HTTP] = {"http", 1, h2_attach_http, h1_attach_http, 1},
    [SRV_PORT_ADMIN] = {"admin", 0, NULL, h1_attach_admin, 0},
    [SRV_PORT_HEALTH] = {"health", 0, NULL, h1_attach_probes, 0},
};

/* The protocol of a port that does not choose. */
static int srv_attach_fixed(srv_conn *c)
{
    const srv_port_ops *p = &srv_ports[c->port];
    return p->attach_h2 ? p->attach_h2(c) : p->attach_h1(c);
}

const pc_host *srv_conn_host(const srv_conn *c)
{
    return c->loop->fe->host;
}

const srv_config *srv_conn_config(const srv_conn *c)
{
    return &c->loop->fe->cfg;
}

size_t srv_conn_pending_out(const srv_conn *c)
{
    return c->out.len + c->wbuf.len;
}

/* Stop reading past max_connection_output_bytes of unsent output (or far
 * less when the process is over its budget); resume below a quarter of it.
 * Bounds what a peer that never reads can make us hold. */
int srv_conn_congested(const srv_conn *c)
{
    size_t pending = srv_conn_pending_out(c);
    return pending > srv_conn_config(c)->max_connection_output_bytes ||
           (pending > SRV_OUT_SHED && srv_mem_over(&c->loop->fe->mem));
}

static int srv_conn_drained(const srv_conn *c)
{
    size_t pending = srv_conn_pending_out(c);
    return pending < srv_conn_config(c)->max_connection_output_bytes / 4 &&
           (pending <= SRV_OUT_SHED || !srv_mem_over(&c->loop->fe->mem));
}

int srv_conn_charge(srv_conn *c, size_t n)
{
    srv_fe *fe = c->loop->fe;
    int small = c->mem_charged + n <= SRV_SMALL_HOLDER;
    if (srv_mem_try(&fe->mem, n, small) != 0) {
        srv_mem_log_refusal(fe, srv_now_ms(c->loop), "refusing new work");
        return -1;
    }
    c->mem_charged += n;
    return 0;
}

void srv_conn_charge_force(srv_conn *c, size_t n)
{
    srv_mem_add(&c->loop->fe->mem, n);
    c->mem_charged += n;
}

void srv_conn_uncharge(srv_conn *c, size_t n)
{
    if (n > c->mem_charged)
        n = c->mem_charged;
    srv_mem_sub(&c->loop->fe->mem, n);
    c->mem_charged -= n;
}

/* The output buffers count by their capacity: that is what they hold. */
static void srv_conn_account_out(srv_conn *c)
{
    size_t now = c->out.cap + c->wbuf.cap;
    if (now > c->out_charged)
        srv_conn_charge_force(c, now - c->out_charged);
    else if (now < c->out_charged)
        srv_conn_uncharge(c, c->out_charged - now);
    c->out_charged = now;
}

void srv_conn_established(srv_conn *c)
{
    c->established = 1;
}

static void srv_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    srv_conn *c = h->data;
    buf->base = (char *)c->loop->rbuf;
    buf->len = sizeof(c->loop->rbuf);
}

static void srv_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void srv_update_reading(srv_conn *c)
{
    if (c->closed)
        return;
    int want = !c->read_block && !c->closing;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, srv_alloc_cb,
                          srv_read_cb) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

void srv_conn_block_read(srv_conn *c, int reason, int on)
{
    if (on)
        c->read_block |= reason;
    else
        c->read_block &= ~reason;
    srv_update_reading(c);
}

void srv_conn_mark_dirty(srv_conn *c)
{
    if (c->dirty || c->closed)
        return;
    c->dirty = 1;
    c->dirty_next = c->loop->dirty;
    c->loop->dirty = c;
}

static void srv_conn_flush(srv_conn *c);

void srv_loop_flush_dirty(srv_loop *l)
{
    while (l->dirty) {
        srv_conn *c = l->dirty;
        l->dirty = c->dirty_next;
        c->dirty = 0;
        c->dirty_next = NULL;
        srv_conn_flush(c);
    }
}

static void srv_unmark_dirty(srv_conn *c)
{
    if (!c->dirty)
        return;
    srv_conn **pp = &c->loop->dirty;
    while (*pp && *pp != c)
        pp = &(*pp)->dirty_next;
    if (*pp)
        *pp = c->dirty_next;
    c->dirty = 0;
    c->dirty_next = NULL;
}

static void srv_handle_closed(uv_handle_t *h)
{
    srv_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    if (c->proto && c->proto->free)
        c->proto->free(c);
    tls_conn_free(c->tls);
    srv_buf_free(&c->out);
    srv_buf_free(&c->wbuf);
    /* Whatever a protocol did not give back goes with the connection. */
    srv_mem_sub(&c->loop->fe->mem, c->mem_charged);
    c->mem_charged = 0;
    free(c->peer_cert_urlenc);
    free(c->peer_principal);
    free(c->sni);
    srv_loop *l = c->loop;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->n_conns--;
    free(c);
}

static void srv_close_now(srv_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    srv_unmark_dirty(c);
    while (c->reqs)
        srv_req_detach(c->reqs);
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    uv_timer_stop(&c->idle_timer);
    uv_close((uv_handle_t *)&c->tcp, srv_handle_closed);
    uv_close((uv_handle_t *)&c->idle_timer, srv_handle_closed);
}

void srv_conn_close(srv_conn *c, int graceful)
{
    if (c->closed)
        return;
    if (!graceful) {
        srv_close_now(c);
        return;
    }
    c->closing = 1;
    srv_update_reading(c);
    srv_conn_mark_dirty(c);
}

static void srv_write_cb(uv_write_t *req, int status)
{
    srv_conn *c = req->data;
    c->writing = 0;
    c->wbuf.len = 0;
    if (c->wbuf.cap > SRV_OUT_KEEP)
        srv_buf_free(&c->wbuf);
    if (c->closed)
        return;
    srv_conn_account_out(c);
    if (status < 0) {
        srv_close_now(c);
        return;
    }
    if ((c->read_block & SRV_BLOCK_CONGESTED) && srv_conn_drained(c))
        srv_conn_block_read(c, SRV_BLOCK_CONGESTED, 0);
    if (c->proto && c->proto->on_drain && !c->closing)
        c->proto->on_drain(c);
    srv_conn_mark_dirty(c); /* the next chunk, if any, at the flush pass */
}

static void srv_conn_flush(srv_conn *c)
{
    if (c->closed || c->writing)
        return;
    if (c->proto && c->proto->produce) {
        c->proto->produce(c);
        if (c->closed)
            return;
    }
    if (c->out.len == 0) {
        if (c->closing)
            srv_close_now(c);
        return;
    }
    /* Swap buffers: out keeps collecting while wbuf is on the wire. */
    srv_buf t = c->wbuf;
    c->wbuf = c->out;
    c->out = t;
    c->out.len = 0;
    uv_buf_t b = uv_buf_init((char *)c->wbuf.data, (unsigned)c->wbuf.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, srv_write_cb) != 0) {
        c->wbuf.len = 0;
        srv_close_now(c);
        return;
    }
    c->writing = 1;
    if (srv_conn_congested(c))
        srv_conn_block_read(c, SRV_BLOCK_CONGESTED, 1);
}

int srv_conn_write(srv_conn *c, const void *data, size_t len)
{
    if (c->closed)
        return -1;
    int rc = c->tls ? tls_conn_write(c->tls, data, len, &c->out)
                    : srv_buf_append(&c->out, data, len);
    if (rc != 0) {
        srv_close_now(c);
        return -1;
    }
    if (c->out.cap + c->wbuf.cap != c->out_charged)
        srv_conn_account_out(c);
    srv_conn_mark_dirty(c);
    return 0;
}

void srv_conn_set_proto(srv_conn *c, const srv_proto *p, void *state)
{
    c->proto = p;
    c->pstate = state;
}

void srv_conn_fill_peers(const srv_conn *c, pc_request_view *v)
{
    v->source.address = pc_str_c(c->peer_ip);
    v->source.port = c->peer_port;
    v->source.principal = pc_str_c(c->peer_principal);
    v->source.certificate = pc_str_c(c->peer_cert_urlenc);
    v->destination.address = pc_str_c(c->local_ip);
    v->destination.port = c->local_port;
    v->sni = pc_str_c(c->sni);
}

/* Plaintext on a connection whose protocol may not be known yet: on the
 * HTTP port the first bytes tell HTTP/2 (the preface) from HTTP/1.1. */
static int srv_on_plain(void *arg, const uint8_t *data, size_t n)
{
    srv_conn *c = arg;
    if (c->closed || c->closing)
        return 0;
    /* HTTP/1 is established by its first bytes after any handshake; HTTP/2
     * by its preface (h2_session.c). */
    if (n && c->proto && !c->proto->greeting)
        c->established = 1;
    if (!c->proto) {
        size_t take = sizeof(srv_h2_preface) - c->sniff_len;
        if (take > n)
            take = n;
        memcpy(c->sniff + c->sniff_len, data, take);
        c->sniff_len += take;
        data += take;
        n -= take;
        int match = memcmp(c->sniff, srv_h2_preface, c->sniff_len) == 0;
        if (match && c->sniff_len < sizeof(srv_h2_preface))
            return 0; /* need more bytes to decide */
        const srv_port_ops *p = &srv_ports[c->port];
        int rc = match && p->attach_h2 ? p->attach_h2(c) : p->attach_h1(c);
        if (rc != 0)
            return -1;
        if (!c->proto->greeting)
            c->established = 1;
        if (c->proto->on_data(c, c->sniff, c->sniff_len) != 0)
            return -1;
        if (c->closed)
            return 0;
    }
    if (n == 0)
        return 0;
    return c->proto->on_data(c, data, n);
}

static int srv_on_handshake(void *arg, tls_conn *t)
{
    srv_conn *c = arg;
    tls_conn_peer(t, &c->peer_cert_urlenc, &c->peer_principal, &c->sni);
    const srv_port_ops *p = &srv_ports[c->port];
    if (!p->choose)
        return srv_attach_fixed(c);
    const char *alpn = tls_conn_alpn(t);
    if (alpn && strcmp(alpn, "h2") == 0 && p->attach_h2)
        return p->attach_h2(c);
    if (alpn && strcmp(alpn, "http/1.1") == 0 && p->attach_h1)
        return p->attach_h1(c);
    return 0; /* no ALPN: sniff the first bytes */
}

static const tls_events srv_tls_events = {srv_on_handshake, srv_on_plain};

static void srv_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    srv_conn *c = s->data;
    if (c->closed)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && c->proto && c->proto->on_eof && !c->closing) {
            uv_read_stop(s);
            c->reading = 0;
            c->read_block |= SRV_BLOCK_PROTO;
            c->proto->on_eof(c);
        } else {
            srv_close_now(c);
        }
        return;
    }
    if (nread == 0)
        return;
    c->last_active_ms = srv_now_ms(c->loop);
    const uint8_t *d = (const uint8_t *)buf->base;
    int rc;
    if (c->tls)
        rc = tls_conn_feed(c->tls, d, (size_t)nread, &c->out, &srv_tls_events,
                           c);
    else
        rc = srv_on_plain(c, d, (size_t)nread);
    if (rc != 0) {
        /* Whatever TLS or the protocol queued (an alert, a GOAWAY, a 400)
         * still goes out before the close. */
        if (!c->closed)
            srv_conn_close(c, 1);
    }
    if (!c->closed && c->out.len)
        srv_conn_mark_dirty(c);
}

/* A connection that has not finished its TLS handshake, sent enough bytes
 * to pick a protocol or (HTTP/2) sent its preface gets handshake_timeout_ms,
 * whatever idle_timeout_ms says. */
static uint64_t srv_idle_limit(const srv_conn *c)
{
    const srv_config *cfg = srv_conn_config(c);
    uint64_t idle = (uint64_t)cfg->idle_timeout_ms;
    if (c->established)
        return idle;
    uint64_t hs = (uint64_t)cfg->handshake_timeout_ms;
    return idle && idle < hs ? idle : hs;
}

static void srv_idle_cb(uv_timer_t *t)
{
    srv_conn *c = t->data;
    uint64_t now = srv_now_ms(c->loop);
    uint64_t idle = srv_idle_limit(c);
    if (idle == 0)
        return; /* a protocol is set and idle_timeout_ms is 0: never */
    if (!c->established) {
        /* Bytes that trickle in do not extend the handshake. */
        if (now - c->accepted_ms >= idle) {
            srv_conn_close(c, 0);
            return;
        }
        uint64_t next = c->accepted_ms + idle - now;
        uv_timer_start(t, srv_idle_cb, next < 1000 ? next : 1000, 0);
        return;
    }
    uint64_t since = now - c->last_active_ms;
    int quiet = c->n_reqs == 0 && (!c->proto || c->proto->idle(c));
    if (since >= idle && quiet) {
        if (c->proto && c->proto->shutdown)
            c->proto->shutdown(c, 2);
        srv_conn_close(c, 1);
        return;
    }
    /* Re-armed only here: reading a byte does not touch the timer. */
    uint64_t next = since >= idle ? idle : idle - since;
    uv_timer_start(t, srv_idle_cb, next, 0);
}

static void srv_name(const struct sockaddr_storage *ss, char *ip, size_t iplen,
                     uint32_t *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, iplen);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, iplen);
        *port = ntohs(a->sin6_port);
        /* A v4 client on a dual-stack socket: report it as Envoy would. */
        if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
            memmove(ip, ip + 7, strlen(ip + 7) + 1);
    }
}

void srv_conn_accept(srv_loop *l, srv_port port, int fd)
{
    srv_fe *fe = l->fe;
    srv_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->loop = l;
    c->port = port;
    uv_tcp_init(&l->uv, &c->tcp);
    c->tcp.data = c;
    uv_timer_init(&l->uv, &c->idle_timer);
    c->idle_timer.data = c;
    c->handles_open = 2;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    c->last_active_ms = c->accepted_ms = srv_now_ms(l);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        srv_close_now(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        srv_name(&ss, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
    len = sizeof(ss);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        srv_name(&ss, c->local_ip, sizeof(c->local_ip), &c->local_port);

    srv_conn_charge_force(c, SRV_CONN_COST + (fe->tls ? SRV_TLS_COST : 0));
    int rc = 0;
    const srv_port_ops *p = &srv_ports[port];
    if (fe->tls && p->tls) {
        /* Only HTTP/2 offered: ALPN h2 alone (the gRPC port). */
        c->tls = tls_conn_new(fe->tls, p->attach_h1 == NULL);
        rc = c->tls ? 0 : -1;
    } else if (!p->choose) {
        rc = srv_attach_fixed(c);
    } /* else the first bytes choose (srv_on_plain) */
    if (rc != 0) {
        srv_close_now(c);
        return;
    }
    uint64_t limit = srv_idle_limit(c);
    if (limit > 0)
        uv_timer_start(&c->idle_timer, srv_idle_cb,
                       !c->established && limit > 1000 ? 1000 : limit, 0);
    srv_update_reading(c);
    if (!c->reading) {
        srv_close_now(c);
        return;
    }
    srv_conn_mark_dirty(c); /* whatever attach queued (SETTINGS) */
}
