/* HTTP/2 server sessions with nghttp2: streams, request headers and bodies,
 * responses with trailers, flow of frames to the connection, GOAWAY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_conn.h"
#include "server_hdr.h"

/* Request header bytes per stream; past it the stream is reset. */
#define H2_MAX_HEADER_BYTES (64 * 1024)
/* Flow-control windows: large enough that a 4 MiB CheckRequest needs few
 * WINDOW_UPDATE round trips. */
#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW (16 << 20)
/* What a stream costs beyond its headers and reply, for the memory budget:
 * our object and nghttp2's stream and frame state. */
#define H2_STREAM_COST (sizeof(h2_stream) + 1024)
/* nghttp2's session: header tables, frame buffers (an estimate). */
#define H2_SESSION_COST (32 * 1024)

static h2_conn *h2_of(srv_conn *c)
{
    return c->pstate;
}

/* Request bytes all streams of one connection may hold at once. */
static size_t h2_budget(const h2_conn *h)
{
    return srv_conn_config(h->c)->max_connection_buffer_bytes;
}

static uint64_t h2_now(const h2_conn *h)
{
    return srv_now_ms(h->c->loop);
}

/* Gives back the budget of body bytes the stream no longer holds (the gRPC
 * handler drops them once the message is decoded). */
static void h2_settle_body(h2_stream *s)
{
    if (s->body_charged > s->buffered) {
        srv_conn_uncharge(s->h->c, s->body_charged - s->buffered);
        s->body_charged = s->buffered;
    }
}

/* The answer (or the end) of a measured call or request, at now_ns (0:
 * read the clock). */
static void h2_observe_at(h2_stream *s, int grpc_code, int sent,
                          int http_status, int64_t now_ns)
{
    if (s->obs.kind == SRV_OBS_NONE)
        return;
    srv_loop *l = s->h->c->loop;
    int64_t now = now_ns ? now_ns : srv_conn_host(s->h->c)->monotonic_ns();
    srv_obs_grpc_done(&l->stats, &s->obs, grpc_code, sent, now);
    srv_obs_http_done(&l->stats, &s->obs, http_status, now);
}

static void h2_observe(h2_stream *s, int grpc_code, int sent, int http_status)
{
    h2_observe_at(s, grpc_code, sent, http_status, 0);
}

static void h2_stream_free(h2_stream *s)
{
    h2_conn *h = s->h;
    /* A call the client reset before its answer ends Canceled; an HTTP
     * request without an answer is not counted. */
    if (s->obs.kind == SRV_OBS_GRPC)
        h2_observe(s, PC_GRPC_CANCELLED, 0, 0);
    srv_conn_uncharge(h->c, s->body_charged + s->charged);
    if (s->req) {
        srv_req_detach(s->req);
        s->req = NULL;
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    h->buffered -= s->buffered;
    codec_frame_reader_free(&s->fr);
    srv_buf_free(&s->body);
    srv_reply_free(&s->reply);
    srv_arena_free(&s->arena);
    srv_pool_put(&h->c->loop->stream_pool, s, sizeof(*s));
}

/* Drops what the request body held once it is decoded. */
static void h2_release_body(h2_stream *s)
{
    s->h->buffered -= s->buffered;
    s->buffered = 0;
    h2_settle_body(s);
    codec_frame_reader_free(&s->fr);
    srv_buf_free(&s->body);
}

void h2_stream_body_done(h2_stream *s)
{
    h2_release_body(s);
}

/* ---- responses ---- */

static void h2_nv(nghttp2_nv *nv, const char *name, size_t nlen,
                  const char *value, size_t vlen, uint8_t flags)
{
    nv->name = (uint8_t *)name;
    nv->namelen = nlen;
    nv->value = (uint8_t *)value;
    nv->valuelen = vlen;
    nv->flags = flags;
}

/* A literal name and a literal value: nghttp2 need copy neither. */
#define H2_NV_LIT(nv, n, v)                                               \
    h2_nv((nv), (n), sizeof(n) - 1, (v), sizeof(v) - 1,                   \
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE)
/* A literal name and a value nghttp2 copies (it lives on our stack). */
#define H2_NV_STR(nv, n, v, vlen)                                         \
    h2_nv((nv), (n), sizeof(n) - 1, (v), (vlen), NGHTTP2_NV_FLAG_NO_COPY_NAME)

/* Decimal text of a status code: static for the codes sent most (gRPC's
 * 0..16, HTTP 200), else written to buf. */
static const char *h2_num(int v, char buf[16], size_t *len)
{
    static const char *const small[] = {"0", "1", "2", "3", "4", "5",
                                        "6", "7", "8", "9", "10", "11",
                                        "12", "13", "14", "15", "16"};
    if (v >= 0 && v <= 16) {
        *len = v < 10 ? 1 : 2;
        return small[v];
    }
    if (v == 200) {
        *len = 3;
        return "200";
    }
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    char *p = buf + 15;
    *p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    *len = (size_t)(buf + 15 - p);
    return p;
}

/* Static text is not copied by nghttp2; text in buf is. */
static void h2_nv_num(nghttp2_nv *nv, const char *name, size_t nlen, int v,
                      char buf[16])
{
    size_t len;
    const char *t = h2_num(v, buf, &len);
    uint8_t flags = NGHTTP2_NV_FLAG_NO_COPY_NAME;
    if (t < buf || t >= buf + 16)
        flags |= NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    h2_nv(nv, name, nlen, t, len, flags);
}

static ssize_t h2_read_body(nghttp2_session *session, int32_t stream_id,
                            uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *source, void *user_data)
{
    h2_stream *s = source->ptr;
    size_t left = s->reply.body_len - s->reply_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, s->reply.body + s->reply_off, n);
    s->reply_off += n;
    s->active_ms = h2_now(s->h);
    if (s->reply_off < s->reply.body_len)
        return (ssize_t)n;
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s->reply.grpc) {
        char code[16];
        nghttp2_nv tr[2];
        size_t nt = 0;
        h2_nv_num(&tr[nt++], "grpc-status", 11, s->reply.grpc_status, code);
        if (s->reply.grpc_message && *s->reply.grpc_message)
            H2_NV_STR(&tr[nt++], "grpc-message", s->reply.grpc_message,
                      strlen(s->reply.grpc_message));
        if (nghttp2_submit_trailer(session, stream_id, tr, nt) == 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return (ssize_t)n;
}

static int h2_stream_alive(h2_stream *s)
{
    return !s->answered &&
           nghttp2_session_find_stream(s->h->session, s->id) != NULL;
}

int h2_respond_grpc_status(h2_stream *s, int grpc_status, const char *msg)
{
    if (!h2_stream_alive(s))
        return -1;
    char code[16], esc[1024];
    nghttp2_nv nv[5];
    size_t n = 0;
    H2_NV_LIT(&nv[n++], ":status", "200");
    H2_NV_LIT(&nv[n++], "content-type", "application/grpc");
    h2_nv_num(&nv[n++], "grpc-status", 11, grpc_status, code);
    if (msg && *msg) {
        size_t elen = codec_grpc_message_escape(msg, strlen(msg), esc,
                                                sizeof(esc));
        H2_NV_STR(&nv[n++], "grpc-message", esc,
                  elen < sizeof(esc) ? elen : strlen(esc));
    }
    if (grpc_status == PC_GRPC_UNIMPLEMENTED)
        H2_NV_LIT(&nv[n++], "grpc-accept-encoding", "identity");
    s->answered = 1;
    h2_observe(s, grpc_status, 0, 200);
    return nghttp2_submit_response(s->h->session, s->id, nv, n, NULL) == 0
               ? 0
               : -1;
}

int h2_respond_answer(h2_stream *s, const svc_answer *a)
{
    if (a->http_status)
        return h2_respond_http(s, a->http_status, a->text);
    return h2_respond_grpc_status(s, a->grpc_status, a->text);
}

/* A failure answered in the protocol of the stream's request, or of the
 * connection's service before the request is known. */
static int h2_fail(h2_stream *s, svc_fail f)
{
    int grpc = s->hd ? s->hd->grpc : s->h->svc->grpc;
    svc_answer a = svc_fail_answer(f, grpc);
    return h2_respond_answer(s, &a);
}

int h2_respond(h2_stream *s, srv_reply *rp)
{
    if (!h2_stream_alive(s)) {
        srv_reply_free(rp);
        return -1;
    }
    if (rp->status == 0) {
        srv_reply_free(rp);
        return h2_fail(s, SVC_FAIL_INTERNAL);
    }
    srv_reply_free(&s->reply);
    s->reply = *rp;
    memset(rp, 0, sizeof(*rp));
    s->reply_off = 0;
    srv_reply *r = &s->reply;
    h2_observe_at(s, r->grpc ? r->grpc_status : PC_GRPC_UNKNOWN,
                  r->grpc && r->grpc_status == PC_GRPC_OK && r->body_len > 0,
                  r->status, r->done_ns);
    /* Already decided: counted, never refused. A client that keeps its
     * window closed holds this until the stream idle timeout. */
    srv_conn_charge_force(s->h->c, r->arena.bytes);
    s->charged += r->arena.bytes;
    s->active_ms = h2_now(s->h);

    nghttp2_nv small[16];
    size_t cap = r->n_headers + 4;
    nghttp2_nv *nv = cap <= 16 ? small : malloc(cap * sizeof(*nv));
    if (!nv)
        return -1;
    char status[16], clen[24];
    size_t n = 0;
    h2_nv_num(&nv[n++], ":status", 7, r->status, status);
    if (r->grpc) {
        H2_NV_LIT(&nv[n++], "content-type", "application/grpc");
    } else {
        for (size_t i = 0; i < r->n_headers; i++) {
            const pc_header *h = &r->headers[i];
            if (!srv_hdr_allowed(h->name.ptr, h->name.len, h->value.ptr,
                                 h->value.len))
                continue;
            if (r->content_type &&
                srv_hdr_is(h->name.ptr, h->name.len, "content-type"))
                continue;
            h2_nv(&nv[n++], h->name.ptr, h->name.len, h->value.ptr,
                  h->value.len, NGHTTP2_NV_FLAG_NONE);
        }
        if (r->content_type)
            H2_NV_STR(&nv[n++], "content-type", r->content_type,
                      strlen(r->content_type));
        int cl = snprintf(clen, sizeof(clen), "%zu", r->body_len);
        H2_NV_STR(&nv[n++], "content-length", clen, (size_t)cl);
    }
    nghttp2_data_provider prd;
    prd.source.ptr = s;
    prd.read_callback = h2_read_body;
    /* gRPC always sends DATA then trailers; HTTP without a body ends with
     * the HEADERS frame. */
    int with_data = r->grpc || r->body_len > 0;
    s->answered = 1;
    int rv = nghttp2_submit_response(s->h->session, s->id, nv, n,
                                     with_data ? &prd : NULL);
    if (nv != small)
        free(nv);
    return rv == 0 ? 0 : -1;
}

int h2_respond_http(h2_stream *s, int status, const char *text)
{
    srv_reply rp;
    memset(&rp, 0, sizeof(rp));
    rp.status = status;
    rp.content_type = "text/plain";
    if (srv_reply_body(&rp, text, strlen(text)) != 0) {
        srv_reply_free(&rp);
        return -1;
    }
    return h2_respond(s, &rp);
}

/* ---- nghttp2 callbacks ---- */

static int h2_on_begin_headers(nghttp2_session *session,
                               const nghttp2_frame *frame, void *user_data)
{
    h2_conn *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *s = srv_pool_get(&h->c->loop->stream_pool, sizeof(*s));
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->id = frame->hd.stream_id;
    s->h = h;
    s->active_ms = h2_now(h);
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->n_streams++;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

/* lit is a string literal: its length is known at compile time. */
#define H2_NAME_IS(name, len, lit) \
    ((len) == sizeof(lit) - 1 && memcmp((name), (lit), sizeof(lit) - 1) == 0)

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                        const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers from a client carry nothing we use */
    h2_stream *s = nghttp2_session_get_stream_user_data(session,
                                                        frame->hd.stream_id);
    if (!s)
        return 0;
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > H2_MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    /* Names and values are kept with their length. A NUL, CR or LF in
     * either is no valid field (RFC 9113 8.2.1); nghttp2's HTTP messaging
     * checks (never turned off here) reset such a stream before this
     * callback, so no field seen here holds one. Name and value share one
     * allocation, each NUL-terminated. */
    char *n = srv_arena_alloc(&s->arena, namelen + valuelen + 2);
    if (!n)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    memcpy(n, name, namelen);
    n[namelen] = '\0';
    char *v = n + namelen + 1;
    memcpy(v, value, valuelen);
    v[valuelen] = '\0';
    pc_str vs = {v, valuelen};
    if (namelen && name[0] == ':') {
        if (H2_NAME_IS(name, namelen, ":method"))
            s->method = vs;
        else if (H2_NAME_IS(name, namelen, ":path"))
            s->path = vs;
        else if (H2_NAME_IS(name, namelen, ":authority"))
            s->authority = vs;
        else if (H2_NAME_IS(name, namelen, ":scheme"))
            s->scheme = vs;
        return 0;
    }
    if (H2_NAME_IS(name, namelen, "content-type"))
        s->content_type = vs;
    else if (H2_NAME_IS(name, namelen, "grpc-timeout"))
        s->grpc_timeout = vs;
    else if (H2_NAME_IS(name, namelen, "grpc-encoding"))
        s->grpc_encoding = vs;
    else if (H2_NAME_IS(name, namelen, "host") && s->authority.len == 0)
        s->authority = vs;
    if (s->n_headers == s->cap_headers) {
        size_t cap = s->cap_headers ? s->cap_headers * 2 : 16;
        pc_kv *kv = srv_arena_alloc(&s->arena, cap * sizeof(*kv));
        if (!kv)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (s->n_headers)
            memcpy(kv, s->headers, s->n_headers * sizeof(*kv));
        s->headers = kv;
        s->cap_headers = cap;
    }
    s->headers[s->n_headers].key.ptr = n;
    s->headers[s->n_headers].key.len = namelen;
    s->headers[s->n_headers].value = vs;
    s->n_headers++;
    return 0;
}

static void h2_on_end(h2_stream *s)
{
    if (s->answered || s->req)
        return;
    if (s->hd)
        s->hd->on_end(s);
    h2_settle_body(s);
}

/* Over the memory budget: new work is answered at once and holds nothing
 * more. A trailers-only answer is HEADERS, which flow control does not
 * hold back, so it reaches even a client that keeps its window closed. */
static void h2_shed(h2_stream *s)
{
    int shed = s->hd && s->hd->shed && s->hd->shed(s) == 0;
    if (!shed && !s->answered)
        h2_fail(s, SVC_FAIL_OVER_BUDGET);
    s->hd = NULL;
    h2_release_body(s);
}

/* A new request's headers are complete: count the stream, or shed it. */
static int h2_admit(h2_stream *s)
{
    size_t cost = H2_STREAM_COST + s->arena.bytes;
    if (srv_conn_charge(s->h->c, cost) != 0) {
        if (!s->answered)
            h2_shed(s);
        /* nghttp2 copied what the answer needs: drop the headers now. */
        pc_str none = {NULL, 0};
        s->method = s->path = s->authority = s->scheme = none;
        s->content_type = s->grpc_timeout = s->grpc_encoding = none;
        s->headers = NULL;
        s->n_headers = s->cap_headers = 0;
        srv_arena_free(&s->arena);
        return -1;
    }
    s->charged += cost;
    return 0;
}

static int h2_on_frame_recv(nghttp2_session *session,
                            const nghttp2_frame *frame, void *user_data)
{
    h2_conn *h = user_data;
    if (!h->c->established)
        srv_conn_established(h->c); /* the preface and its SETTINGS */
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    h2_stream *s = nghttp2_session_get_stream_user_data(session,
                                                        frame->hd.stream_id);
    if (!s)
        return 0;
    s->active_ms = h2_now(h);
    if (frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        h->svc->on_headers(s);
        if (h2_admit(s) != 0)
            return 0;
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        h2_on_end(s);
    return 0;
}

static void h2_too_big(h2_stream *s)
{
    h2_fail(s, SVC_FAIL_TOO_BIG);
    h2_release_body(s);
}

static int h2_on_data_chunk(nghttp2_session *session, uint8_t flags,
                            int32_t stream_id, const uint8_t *data,
                            size_t len, void *user_data)
{
    h2_conn *h = user_data;
    h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s)
        return 0;
    s->active_ms = h2_now(h);
    if (s->answered || s->req || !s->hd)
        return 0;
    if (h->buffered + len > h2_budget(h)) {
        h2_too_big(s);
        return 0;
    }
    if (srv_conn_charge(h->c, len) != 0) {
        h2_shed(s);
        return 0;
    }
    s->body_charged += len;
    if (!s->hd->grpc) {
        if (s->body.len + len > srv_conn_config(h->c)->max_http_body_bytes) {
            h2_too_big(s);
            return 0;
        }
        if (srv_buf_append(&s->body, data, len) != 0) {
            h2_too_big(s);
            return 0;
        }
    } else {
        size_t used = 0;
        int rc = s->fr_ready ? CODEC_FRAME_READY
                             : codec_frame_reader_feed(&s->fr, data, len,
                                                       &used);
        if (rc == CODEC_FRAME_READY) {
            s->fr_ready = 1;
            if (used < len) {
                h2_respond_grpc_status(s, 13,
                                       "more than one request message");
                h2_release_body(s);
                return 0;
            }
        } else if (rc < 0) {
            h2_respond_grpc_status(s, codec_error_grpc_status(rc),
                                   codec_strerror(rc));
            h2_release_body(s);
            return 0;
        }
    }
    s->buffered += len;
    h->buffered += len;
    return 0;
}

static int h2_on_stream_close(nghttp2_session *session, int32_t stream_id,
                              uint32_t error_code, void *user_data)
{
    h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        h2_stream_free(s);
    }
    return 0;
}

/* ---- the protocol on a connection ---- */

static void h2_produce(srv_conn *c)
{
    h2_conn *h = h2_of(c);
    while (!srv_conn_congested(c) && !c->closed) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->session, &data);
        if (n < 0) {
            srv_conn_close(c, 0);
            return;
        }
        if (n == 0)
            break;
        if (srv_conn_write(c, data, (size_t)n) != 0)
            return;
    }
    if (!c->closed && !nghttp2_session_want_read(h->session) &&
        !nghttp2_session_want_write(h->session))
        srv_conn_close(c, 1);
}

static int h2_on_data(srv_conn *c, const uint8_t *data, size_t len)
{
    h2_conn *h = h2_of(c);
    ssize_t rv = nghttp2_session_mem_recv(h->session, data, len);
    srv_conn_mark_dirty(c);
    if (rv < 0) {
        int flood = rv == NGHTTP2_ERR_FLOODED ||
                    rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
        srv_conn_host(c)->log(flood ? PC_LOG_WARN : PC_LOG_DEBUG, SRV_WHO,
                              "http/2 connection from %s: %s", c->peer_ip,
                              nghttp2_strerror((int)rv));
        /* A flood (SETTINGS/PING acks piling up, too many CONTINUATIONs)
         * is told apart from a broken peer, as RFC 9113 suggests. */
        if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
            nghttp2_session_terminate_session(
                h->session,
                flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
        return -1; /* flush what nghttp2 queued (GOAWAY), then close */
    }
    return 0;
}

static void h2_deliver(srv_conn *c, srv_req *r)
{
    h2_stream *s = r->proto_ref;
    if (!s)
        return;
    s->req = NULL;
    r->proto_ref = NULL;
    h2_respond(s, &r->reply);
}

/* Streams without a frame for stream_idle_timeout_ms: one not answered yet
 * gets 408 / DEADLINE_EXCEEDED, then, still open at the next sweep (or
 * stuck behind a closed flow-control window), a RST_STREAM. A stream
 * waiting for its verdict is the request deadline's business. */
static void h2_sweep(srv_conn *c, uint64_t now)
{
    h2_conn *h = h2_of(c);
    uint64_t limit = (uint64_t)srv_conn_config(c)->stream_idle_timeout_ms;
    if (!h || limit == 0)
        return;
    for (h2_stream *s = h->streams; s; s = s->next) {
        if (s->req || s->idle_expired == 2)
            continue;
        if (s->idle_expired || (s->answered && now - s->active_ms >= limit)) {
            s->idle_expired = 2;
            nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id,
                                      NGHTTP2_CANCEL);
            srv_conn_mark_dirty(c);
            continue;
        }
        if (now - s->active_ms < limit)
            continue;
        s->idle_expired = 1;
        h2_fail(s, SVC_FAIL_STREAM_IDLE);
        s->hd = NULL;
        h2_release_body(s);
        srv_conn_mark_dirty(c);
    }
}

static void h2_on_timeout(srv_conn *c, srv_req *r)
{
    h2_stream *s = r->proto_ref;
    if (!s)
        return;
    s->req = NULL;
    srv_req_detach(r);
    h2_fail(s, SVC_FAIL_TIMEOUT);
}

static void h2_shutdown(srv_conn *c, int phase)
{
    h2_conn *h = h2_of(c);
    if (phase == 1) {
        nghttp2_submit_shutdown_notice(h->session);
    } else if (!h->goaway) {
        h->goaway = 1;
        nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(
                                  h->session),
                              NGHTTP2_NO_ERROR, NULL, 0);
    }
    srv_conn_mark_dirty(c);
}

static int h2_idle(srv_conn *c)
{
    h2_conn *h = h2_of(c);
    return h->n_streams == 0;
}

static void h2_free(srv_conn *c)
{
    h2_conn *h = h2_of(c);
    if (!h)
        return;
    nghttp2_session_del(h->session);
    h->session = NULL;
    while (h->streams)
        h2_stream_free(h->streams);
    free(h);
    c->pstate = NULL;
}

const srv_proto h2_proto = {
    .name = "h2",
    .on_data = h2_on_data,
    .produce = h2_produce,
    .deliver = h2_deliver,
    .on_timeout = h2_on_timeout,
    .shutdown = h2_shutdown,
    .idle = h2_idle,
    .free = h2_free,
    .sweep = h2_sweep,
    .greeting = 1,
};

int h2_attach(srv_conn *c, const h2_service *svc)
{
    const srv_config *cfg = srv_conn_config(c);
    h2_conn *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->c = c;
    h->svc = svc;
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        free(h);
        return -1;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
                                                            h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
                                                              h2_on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb,
                                                           h2_on_stream_close);
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        free(h);
        return -1;
    }
    nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
    /* Responses are not scheduled by RFC 7540 priorities (SETTINGS below):
     * no dependency tree, and closed streams are not kept for it. */
    nghttp2_option_set_no_closed_streams(opt, 1);
    int rv = nghttp2_session_server_new2(&h->session, cb, h, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rv != 0) {
        free(h);
        return -1;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_BYTES},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv,
                                sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0,
                                              H2_CONN_WINDOW) != 0) {
        nghttp2_session_del(h->session);
        free(h);
        return -1;
    }
    srv_conn_set_proto(c, &h2_proto, h);
    srv_conn_charge_force(c, H2_SESSION_COST); /* given back with c */
    srv_conn_mark_dirty(c);
    return 0;
}
