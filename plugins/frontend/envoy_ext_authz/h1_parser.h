/*
 * h1_parser.h - HTTP/1.1 request parsing (RFC 9112) with no I/O.
 *
 * Bytes go in with h1_parser_feed; each complete request comes out through
 * the on_request callback with lowercase header names, the split target and
 * the whole body. The parser is strict wherever framing is decided, since a
 * proxy in front of us may read the same bytes differently (request
 * smuggling): bare CR or LF, obs-fold, whitespace before a colon, control
 * bytes, conflicting Content-Length, Transfer-Encoding other than a final
 * "chunked", malformed chunks and a missing or repeated Host are all errors
 * with a status to answer (400, 413, 414, 431, 501, 505) and never a crash.
 * Keep-alive and pipelining are handled: one feed may yield several
 * requests, and the callback may pause parsing to bound the requests in
 * flight.
 */
#ifndef PC_EXTAUTHZ_H1_PARSER_H
#define PC_EXTAUTHZ_H1_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <portcullis/request.h>

typedef struct h1_request {
    pc_str method;
    pc_str target;      /**< origin-form: "/a/b?x=1" (absolute-form is
                             reduced to its path and query) */
    pc_str path;        /**< target before '?' and '#' */
    pc_str query;       /**< after '?', without it; empty if none */
    pc_str fragment;
    pc_str host;        /**< the authority of an absolute-form target, else
                             the Host header; empty if neither */
    pc_str protocol;    /**< "HTTP/1.1" or "HTTP/1.0" */
    const pc_kv *headers; /**< names lowercase, in arrival order */
    size_t n_headers;
    pc_str body;
    int keep_alive;     /**< 0 when the connection must close after it */
    int64_t content_length; /**< -1 when absent (no body) */
} h1_request;

typedef struct h1_limits {
    size_t max_header_bytes; /**< request line + headers (and trailers);
                                  over it: 431 */
    size_t max_body_bytes;   /**< over it: 413 */
    size_t max_headers;      /**< header lines; over it: 431; 0 = 1024 */
    size_t max_line_bytes;   /**< the request line; over it: 414;
                                  0 = 8192 */
} h1_limits;

/** Returned by on_request: keep going, or stop after this request (the
 *  unparsed rest stays with the caller until h1_parser_resume). */
enum { H1_CONTINUE = 0, H1_PAUSE = 1 };

/** Where the parser is inside a request (h1_parser_stage). */
enum { H1_STAGE_IDLE = 0, H1_STAGE_HEAD = 1, H1_STAGE_BODY = 2 };

typedef struct h1_callbacks {
    /** A complete request; what it points to is valid until the callback
     *  returns. Return H1_CONTINUE, H1_PAUSE or -1 to fail with 500. */
    int (*on_request)(void *arg, const h1_request *req);
    /** The client sent "Expect: 100-continue" for a body we will read. */
    void (*on_continue)(void *arg);
} h1_callbacks;

typedef struct h1_parser h1_parser;

h1_parser *h1_parser_new(const h1_limits *lim, const h1_callbacks *cb,
                         void *arg);
void h1_parser_free(h1_parser *p);

/**
 * Parses up to n bytes.
 * @return bytes consumed (less than n when on_request paused: feed the rest
 *         after h1_parser_resume), or -1 on a protocol or limit error; then
 *         h1_parser_error_status says what to answer and the connection
 *         must close. A failed parser stays failed. After a CONNECT request
 *         the rest of the stream is not HTTP and is consumed unread.
 */
ssize_t h1_parser_feed(h1_parser *p, const void *data, size_t n);
/** Tells the parser the peer closed; -1 if a request was cut short. */
int h1_parser_eof(h1_parser *p);
void h1_parser_resume(h1_parser *p);
int h1_parser_paused(const h1_parser *p);
/** 400, 413, 414, 431, 500, 501 or 505 after a failed feed; 0 otherwise. */
int h1_parser_error_status(const h1_parser *p);
/** Short reason for logs, e.g. "obs-fold in a header". */
const char *h1_parser_error_text(const h1_parser *p);
/** 1 while a request has started but not completed. */
int h1_parser_mid_request(const h1_parser *p);
/** H1_STAGE_HEAD from the first byte of a request line to the end of its
 *  headers, H1_STAGE_BODY while its body arrives, else H1_STAGE_IDLE. */
int h1_parser_stage(const h1_parser *p);
/** How many requests have started so far: tells one request from the next
 *  when both were in the same stage at two looks. */
uint64_t h1_parser_started(const h1_parser *p);

#endif
