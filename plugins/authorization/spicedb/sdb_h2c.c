/* sdb_h2c.c - the plaintext (insecure: true) call: HTTP/2 with prior
 * knowledge over a socket of our own, driven by nghttp2, so connections
 * are kept and reused (libcurl before 8.0 cannot reuse prior-knowledge
 * connections). One call at a time per connection; idle connections are
 * pooled per evaluator. Blocking with poll(), bounded by the call's budget;
 * runs on a worker thread. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>
#include "sdb.h"

/* Longest header line handed to the judge; longer values are cut (only
 * grpc-message can be long, and the judge keeps 256 bytes of it). */
#define H2C_MAX_LINE 1024

struct sdb_h2c {
    int fd;
    nghttp2_session *s;
    int dead;               /* GOAWAY, EOF or an error: never reused */
};

typedef struct h2c_call {
    sdb_reply *reply;
    int32_t stream;
    int closed;             /* the stream ended (answer complete or reset) */
    uint32_t rst;           /* its RST_STREAM error code, 0 if none */
    int got_headers;        /* anything of the answer arrived */
    const uint8_t *body;
    size_t len, off;
    struct sdb_h2c *conn;
} h2c_call;

static int64_t now_ms(const pc_host *h)
{
    return h->monotonic_ns() / 1000000;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    (void)s, (void)flags;
    h2c_call *c = ud;
    ssize_t n = send(c->conn->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (errno == EINTR)
        return NGHTTP2_ERR_WOULDBLOCK;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)s, (void)flags;
    h2c_call *c = ud;
    if (f->hd.stream_id != c->stream)
        return 0;
    c->got_headers = 1;
    char line[H2C_MAX_LINE];
    int n;
    if (nlen == 7 && memcmp(name, ":status", 7) == 0)
        n = snprintf(line, sizeof line, "HTTP/2 %.*s", (int)(vlen < 8 ? vlen : 8), value);
    else
        n = snprintf(line, sizeof line, "%.*s: %.*s", (int)(nlen < 128 ? nlen : 128), name,
                     (int)(vlen < sizeof line ? vlen : sizeof line), value);
    if (n > 0)
        sdb_reply_header(c->reply, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *ud)
{
    (void)flags;
    h2c_call *c = ud;
    if (id != c->stream || c->reply->overflow)
        return 0;
    if (sdb_reply_body(c->reply, data, len) < 0)
        /* Too big: stop the stream rather than read the rest. */
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    h2c_call *c = ud;
    if (id == c->stream) {
        c->closed = 1;
        c->rst = code;
    }
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    h2c_call *c = ud;
    if (f->hd.type == NGHTTP2_GOAWAY)
        c->conn->dead = 1;
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s, (void)id, (void)src;
    h2c_call *c = ud;
    size_t n = c->len - c->off;
    if (n > len)
        n = len;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static nghttp2_session_callbacks *g_cbs;
static pthread_once_t g_cbs_once = PTHREAD_ONCE_INIT;

static void make_callbacks(void)
{
    if (nghttp2_session_callbacks_new(&g_cbs) != 0)
        return;
    nghttp2_session_callbacks_set_send_callback(g_cbs, on_send);
    nghttp2_session_callbacks_set_on_header_callback(g_cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g_cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(g_cbs, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(g_cbs, on_frame);
}

void sdb_h2c_close(struct sdb_h2c *k)
{
    if (!k)
        return;
    if (k->s)
        nghttp2_session_del(k->s);
    if (k->fd >= 0)
        close(k->fd);
    free(k);
}

/* A non-blocking TCP connection to host:port within ms; -1 on failure
 * with a reason in why. */
static int dial(const char *host, const char *port, int64_t deadline_ms, const pc_host *h,
                char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    snprintf(why, whylen, "no address for %s", host);
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
            snprintf(why, whylen, "connect: %s", strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        int64_t left = deadline_ms - now_ms(h);
        int err = 0;
        socklen_t el = sizeof err;
        if (left <= 0 || poll(&p, 1, (int)left) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
            snprintf(why, whylen, "connect: %s", err ? strerror(err) : "timed out");
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static struct sdb_h2c *h2c_open(const sdb_inst *in, int64_t deadline_ms, char *why,
                                size_t whylen)
{
    pthread_once(&g_cbs_once, make_callbacks);
    struct sdb_h2c *k = calloc(1, sizeof *k);
    if (!k || !g_cbs) {
        free(k);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    k->fd = dial(in->host_name, in->port, deadline_ms, in->host, why, whylen);
    if (k->fd < 0 || nghttp2_session_client_new(&k->s, g_cbs, NULL) != 0) {
        if (k->fd >= 0)
            snprintf(why, whylen, "out of memory");
        sdb_h2c_close(k);
        return NULL;
    }
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(k->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
    /* The connection's window to match a stream's: an answer the judge
     * refuses for its size is then seen whole past the limit, not stalled
     * at 64 KiB waiting for a window update. */
    nghttp2_submit_window_update(k->s, NGHTTP2_FLAG_NONE, 0, (1 << 20) - 65535);
    return k;
}

/* Reads what an idle connection received meanwhile (SETTINGS, PING,
 * GOAWAY); 0 if it is still usable. */
static int h2c_refresh(struct sdb_h2c *k, h2c_call *c)
{
    uint8_t buf[4096];
    c->conn = k;
    nghttp2_session_set_user_data(k->s, c);
    for (;;) {
        ssize_t n = recv(k->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return k->dead || !nghttp2_session_want_read(k->s) ? -1 : 0;
        if (n < 0)
            return -1;
        if (nghttp2_session_mem_recv(k->s, buf, (size_t)n) < 0)
            return -1;
        if (k->dead)
            return -1;
    }
}

/* Runs the session until the stream ends or the deadline: 0, or -1 with
 * the reason (and *fail = SDB_FAIL_TIMEOUT or SDB_FAIL_CANCEL for those). */
static int h2c_run(const sdb_inst *in, pc_eval *ev, h2c_call *c, int64_t deadline_ms,
                   int *fail, char *why, size_t whylen)
{
    const pc_host *h = in->host;
    struct sdb_h2c *k = c->conn;
    uint8_t buf[16384];
    while (!c->closed) {
        if (nghttp2_session_send(k->s) != 0) {
            snprintf(why, whylen, "send: %s", strerror(errno));
            return -1;
        }
        if (c->closed)
            break;
        int64_t left = deadline_ms - now_ms(h);
        if (left <= 0) {
            *fail = SDB_FAIL_TIMEOUT;
            return -1;
        }
        if (h->eval_cancelled(ev)) {
            *fail = SDB_FAIL_CANCEL;
            return -1;
        }
        /* Wake at least every 200 ms to notice a cancelled request. */
        struct pollfd p = {k->fd, POLLIN | (nghttp2_session_want_write(k->s) ? POLLOUT : 0), 0};
        int r = poll(&p, 1, left < 200 ? (int)left : 200);
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "poll: %s", strerror(errno));
            return -1;
        }
        if (r <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(k->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            snprintf(why, whylen, "%s", n == 0 ? "the server closed the connection"
                                               : strerror(errno));
            return -1;
        }
        if (n > 0) {
            ssize_t m = nghttp2_session_mem_recv(k->s, buf, (size_t)n);
            if (m < 0) {
                snprintf(why, whylen, "%s", nghttp2_strerror((int)m));
                return -1;
            }
        }
        if (!nghttp2_session_want_read(k->s) && !c->closed) {
            snprintf(why, whylen, "the server ended the connection (GOAWAY)");
            return -1;
        }
    }
    /* Send what closing the stream queued (window updates, RST). */
    nghttp2_session_send(k->s);
    return 0;
}

static struct sdb_h2c *pool_take(sdb_inst *in)
{
    struct sdb_h2c *k = NULL;
    pthread_mutex_lock(&in->pool_mu);
    if (in->n_h2c)
        k = in->h2c[--in->n_h2c];
    pthread_mutex_unlock(&in->pool_mu);
    return k;
}

static void pool_give(sdb_inst *in, struct sdb_h2c *k)
{
    pthread_mutex_lock(&in->pool_mu);
    if (in->n_h2c < SDB_POOL_MAX) {
        in->h2c[in->n_h2c++] = k;
        k = NULL;
    }
    pthread_mutex_unlock(&in->pool_mu);
    sdb_h2c_close(k);
}

/* One attempt on connection k; 0 = the stream ended (the judge decides),
 * -1 = a transport failure (reason in why). */
static int attempt(sdb_inst *in, pc_eval *ev, struct sdb_h2c *k, h2c_call *c,
                   const nghttp2_nv *nva, size_t nnv, int64_t deadline_ms, int *fail,
                   char *why, size_t whylen)
{
    c->conn = k;
    nghttp2_session_set_user_data(k->s, c);
    nghttp2_data_provider dp = {.source = {.ptr = c}, .read_callback = read_body};
    c->stream = nghttp2_submit_request(k->s, NULL, nva, nnv, &dp, c);
    if (c->stream < 0) {
        snprintf(why, whylen, "%s", nghttp2_strerror(c->stream));
        return -1;
    }
    return h2c_run(in, ev, c, deadline_ms, fail, why, whylen);
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

pc_status sdb_h2c_call(sdb_inst *in, pc_eval *ev, const uint8_t *body, size_t len,
                       int64_t ms, const char *timeout_value, sdb_reply *reply,
                       char *why, size_t whylen, int *fail)
{
    const pc_host *h = in->host;
    int64_t deadline_ms = now_ms(h) + ms;
    nghttp2_nv nva[9] = {
        NV(":method", "POST"), NV(":scheme", "http"), NV(":path", SDB_METHOD_PATH),
        NV(":authority", in->authority), NV("content-type", "application/grpc"),
        NV("te", "trailers"), NV("user-agent", SDB_USER_AGENT),
        NV("grpc-timeout", timeout_value)};
    size_t nnv = 8;
    if (in->bearer) {
        nghttp2_nv a = NV("authorization", in->bearer);
        a.flags = NGHTTP2_NV_FLAG_NO_INDEX; /* a secret: kept out of HPACK tables */
        nva[nnv++] = a;
    }
    h2c_call c = {.reply = reply, .body = body, .len = len};
    /* A pooled connection first; if it fails before any answer arrived
     * (the server closed it while idle), once more on a new one: a check
     * changes nothing, so sending it again is safe. */
    struct sdb_h2c *k;
    while ((k = pool_take(in))) {
        if (h2c_refresh(k, &c) == 0)
            break;
        sdb_h2c_close(k);
    }
    int reused = k != NULL;
    for (;;) {
        if (!k && !(k = h2c_open(in, deadline_ms, why, whylen)))
            return PC_ERROR;
        int rc = attempt(in, ev, k, &c, nva, nnv, deadline_ms, fail, why, whylen);
        if (rc == 0 && c.rst && !c.got_headers) {
            /* Reset before any answer (REFUSED_STREAM after a GOAWAY, or
             * a server that gave up): as good as no connection. */
            snprintf(why, whylen, "stream terminated by RST_STREAM with error code: %u",
                     (unsigned)c.rst);
            k->dead = 1;
            rc = -1;
        }
        if (rc == 0 && !k->dead && nghttp2_session_want_read(k->s)) {
            pool_give(in, k);
            return PC_OK;
        }
        sdb_h2c_close(k);
        k = NULL;
        if (rc == 0)
            return PC_OK;
        if (!reused || c.got_headers || *fail)
            return PC_ERROR;
        reused = 0;
        c.closed = 0, c.rst = 0, c.off = 0;
        sdb_reply_free(reply);
        sdb_reply_init(reply);
    }
}

void sdb_h2c_drain(sdb_inst *in)
{
    for (size_t i = 0; i < in->n_h2c; i++)
        sdb_h2c_close(in->h2c[i]);
    in->n_h2c = 0;
}
