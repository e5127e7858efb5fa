/*
 * h1_parser.h - HTTP/1.1 request parsing with no I/O, on top of http-parser.
 *
 * Bytes go in with h1_parser_feed; each complete request comes out through
 * the on_request callback with lowercase header names, the split target and
 * the whole body. Limits are enforced here, so a caller that feeds garbage
 * gets a status to answer with (400, 413, 431) and never a crash. Keep-alive
 * and pipelining are handled: one feed may yield several requests, and the
 * callback may pause parsing to bound the requests in flight.
 */
#ifndef PC_EXTAUTHZ_H1_PARSER_H
#define PC_EXTAUTHZ_H1_PARSER_H

#include <stddef.h>
#include <sys/types.h>
#include <portcullis/request.h>

typedef struct h1_request {
    pc_str method;
    pc_str target;      /**< as sent: "/a/b?x=1" */
    pc_str path;        /**< target before '?' and '#' */
    pc_str query;       /**< after '?', without it; empty if none */
    pc_str fragment;
    pc_str host;        /**< the Host header, empty if absent */
    pc_str protocol;    /**< "HTTP/1.1" or "HTTP/1.0" */
    const pc_kv *headers; /**< names lowercase, in arrival order */
    size_t n_headers;
    pc_str body;
    int keep_alive;     /**< 0 when the connection must close after it */
    int64_t content_length; /**< -1 when absent (chunked, no body) */
} h1_request;

typedef struct h1_limits {
    size_t max_header_bytes; /**< request line + headers; over it: 431 */
    size_t max_body_bytes;   /**< over it: 413 */
    size_t max_headers;      /**< header lines; over it: 431 */
} h1_limits;

/** Returned by on_request: keep going, or stop after this request (the
 *  unparsed rest stays with the caller until h1_parser_resume). */
enum { H1_CONTINUE = 0, H1_PAUSE = 1 };

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
 *         must close. A failed parser stays failed.
 */
ssize_t h1_parser_feed(h1_parser *p, const void *data, size_t n);
/** Tells the parser the peer closed; -1 if a request was cut short. */
int h1_parser_eof(h1_parser *p);
void h1_parser_resume(h1_parser *p);
int h1_parser_paused(const h1_parser *p);
/** 400, 413, 431 or 500 after a failed feed; 0 otherwise. */
int h1_parser_error_status(const h1_parser *p);
/** Short reason for logs, e.g. "invalid header token". */
const char *h1_parser_error_text(const h1_parser *p);
/** 1 while a request has started but not completed. */
int h1_parser_mid_request(const h1_parser *p);

#endif
