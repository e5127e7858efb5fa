/*
 * h2_conn.h - HTTP/2 with nghttp2: what the session code (h2_session.c)
 * shares with the request handlers (h2_grpc.c for gRPC, h2_http.c for HTTP
 * authorization on the HTTP port).
 *
 * A stream object lives exactly as long as nghttp2's stream: it is created
 * on the first HEADERS and freed in on_stream_close. A request waiting for a
 * verdict points at its stream through proto_ref; closing the stream detaches
 * the request, so a reset stream is never written to.
 */
#ifndef PC_EXTAUTHZ_H2_CONN_H
#define PC_EXTAUTHZ_H2_CONN_H

#include <nghttp2/nghttp2.h>

#include "codec.h"
#include "server.h"

typedef enum h2_route {
    H2_ROUTE_NONE = 0,     /* not decided yet, or answered early */
    H2_ROUTE_CHECK_V3,
    H2_ROUTE_CHECK_V2,
    H2_ROUTE_HEALTH,
    H2_ROUTE_HTTP          /* HTTP authorization (HTTP port) */
} h2_route;

typedef struct h2_conn h2_conn;

typedef struct h2_stream {
    int32_t id;
    h2_conn *h;
    struct h2_stream *prev, *next;
    h2_route route;
    int answered;          /* a response was submitted */
    /* request headers: pseudo-headers apart, the rest in order */
    pc_str method, path, authority, scheme, content_type, grpc_timeout,
        grpc_encoding;
    pc_kv *headers;
    size_t n_headers, cap_headers;
    size_t header_bytes;
    srv_arena arena;
    /* request body */
    codec_frame_reader fr; /* gRPC routes */
    int fr_ready;
    srv_buf body;          /* HTTP route */
    size_t buffered;       /* counted against the connection's budget */
    size_t body_charged;   /* of the body, counted against the memory budget */
    size_t charged;        /* the stream itself, headers, reply: likewise */
    uint64_t active_ms;    /* last frame in either direction */
    int idle_expired;      /* 1: answered for idling; 2: reset sent */
    /* waiting for a verdict */
    srv_req *req;
    /* the response being sent */
    srv_reply reply;
    size_t reply_off;
} h2_stream;

struct h2_conn {
    srv_conn *c;
    nghttp2_session *session;
    h2_stream *streams;
    size_t n_streams;
    size_t buffered;       /* request bytes held by all streams */
    int goaway;            /* final GOAWAY submitted */
};

/* ---- h2_session.c ---- */

/** Submits r's reply on s (headers, DATA, trailers). 0, or -1 when the
 *  stream is gone. Takes the reply out of rp. */
int h2_respond(h2_stream *s, srv_reply *rp);
/** A trailers-only gRPC answer: :status 200, grpc-status, grpc-message. */
int h2_respond_grpc_status(h2_stream *s, int grpc_status, const char *msg);
/** An HTTP answer with a short text body. */
int h2_respond_http(h2_stream *s, int status, const char *text);
/** The request body was consumed: free it and give its memory back. */
void h2_stream_body_done(h2_stream *s);

/* ---- h2_grpc.c ---- */

/** Picks the route of a request on the gRPC port from its headers, or
 *  answers it (unknown path, bad content-type, compression). */
void h2_grpc_on_headers(h2_stream *s);
/** The request ended (END_STREAM): decode and submit, or answer. */
void h2_grpc_on_end(h2_stream *s);

/* ---- h2_http.c ---- */

/** The request ended: build the view and submit. */
void h2_http_on_end(h2_stream *s);

#endif
