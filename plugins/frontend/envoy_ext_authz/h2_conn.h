/*
 * h2_conn.h - HTTP/2 with nghttp2: what the session code (h2_session.c)
 * shares with the services it carries (h2_grpc.c: gRPC on the gRPC port,
 * h2_http.c: HTTP authorization on the HTTP port), which register their
 * operations in an h2_service and one h2_handler per kind of request.
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
#include "service.h"

typedef struct h2_conn h2_conn;
typedef struct h2_stream h2_stream;

/** What a stream's request is, as its service picked it from the headers:
 *  a gRPC method (h2_grpc.c) or HTTP authorization (h2_http.c). */
typedef struct h2_handler {
    const char *name;
    /* 1: the body is one gRPC message and failures are answered with a
     * grpc-status; 0: a plain body, failures get an HTTP status. */
    int grpc;
    /** END_STREAM: decode and submit, or answer. */
    void (*on_end)(h2_stream *s);
    /** Over the memory budget before END_STREAM: answer it (0), or -1 for
     *  the plain failure answer. May be NULL. */
    int (*shed)(h2_stream *s);
} h2_handler;

/** What an HTTP/2 connection serves (chosen by its port at attach). */
typedef struct h2_service {
    const char *name;
    /* How failures of a stream without a handler are answered (see
     * h2_handler.grpc). */
    int grpc;
    /** The request headers are complete: set s->hd, or answer. */
    void (*on_headers)(h2_stream *s);
} h2_service;

struct h2_stream {
    int32_t id;
    h2_conn *h;
    struct h2_stream *prev, *next;
    const h2_handler *hd;  /* NULL: not decided yet, or answered early */
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
    srv_obs obs;           /* the call or request being measured */
};

struct h2_conn {
    srv_conn *c;
    nghttp2_session *session;
    h2_stream *streams;
    size_t n_streams;
    size_t buffered;       /* request bytes held by all streams */
    int goaway;            /* final GOAWAY submitted */
    const h2_service *svc;
};

/* ---- h2_session.c ---- */

/** Creates the HTTP/2 session on c serving svc (-1 on failure). */
int h2_attach(srv_conn *c, const h2_service *svc);
/** Submits r's reply on s (headers, DATA, trailers). 0, or -1 when the
 *  stream is gone. Takes the reply out of rp. */
int h2_respond(h2_stream *s, srv_reply *rp);
/** A trailers-only gRPC answer: :status 200, grpc-status, grpc-message. */
int h2_respond_grpc_status(h2_stream *s, int grpc_status, const char *msg);
/** An HTTP answer with a short text body. */
int h2_respond_http(h2_stream *s, int status, const char *text);
/** An answer that is not a verdict, in whichever protocol it names. */
int h2_respond_answer(h2_stream *s, const svc_answer *a);
/** The request body was consumed: free it and give its memory back. */
void h2_stream_body_done(h2_stream *s);

#endif
