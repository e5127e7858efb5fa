/*
 * h1_head.h - the meaning of a request head (RFC 9112 sections 3, 6, 7 and
 * RFC 9110 section 7.2): request-line parts, target forms, Host,
 * Content-Length, Transfer-Encoding and Connection. No I/O, no allocation;
 * h1_parser has already checked every byte's class.
 */
#ifndef PC_EXTAUTHZ_H1_HEAD_H
#define PC_EXTAUTHZ_H1_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include <portcullis/request.h>

/** 1 for an RFC 9110 tchar (the bytes of a token). */
int h1_is_tchar(unsigned char c);

/** What the head says about the request. */
typedef struct h1_head {
    /* the request line, pointing into it */
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;             /* HTTP/1.minor */
    /* from the target and the fields */
    const char *origin;    /* path and query of the target */
    size_t origin_len;
    int origin_slash;      /* 1: "/" goes before origin (an absolute-form
                              target with an empty path) */
    const char *host;      /* NULL when none */
    size_t host_len;
    int connect;           /* CONNECT: the rest of the stream is a tunnel */
    int chunked;
    int64_t content_length; /* -1 when absent */
    int keep_alive;
    int expect_continue;
} h1_head;

/** Splits and checks a request line ("GET / HTTP/1.1", without CRLF).
 *  @return 0, or an HTTP status (400, 505) with *why set. */
int h1_head_line(h1_head *h, const char *line, size_t len, const char **why);

/** Checks the fields (lowercase names, trimmed values) against the request
 *  line and fills in the rest of h.
 *  @return 0, or an HTTP status (400, 413, 501) with *why set. */
int h1_head_fields(h1_head *h, const pc_kv *f, size_t n,
                   uint64_t max_body, const char **why);

#endif
