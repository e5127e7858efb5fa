/* Tests for the frontend's HTTP/1.1 request parser (h1_parser, h1_head):
 * what RFC 9112 accepts comes out whole, whatever the feed sizes, and every
 * smuggling-relevant malformation gets its status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "h1_parser.h"

typedef struct seen {
    int n;
    char host[128], target[256], path[128], method[32], body[256];
    int keep_alive;
    int64_t content_length;
    size_t n_headers;
    int continues;
} seen;

static void cp(char *dst, size_t cap, pc_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static int on_req(void *arg, const h1_request *r)
{
    seen *s = arg;
    s->n++;
    cp(s->host, sizeof(s->host), r->host);
    cp(s->target, sizeof(s->target), r->target);
    cp(s->path, sizeof(s->path), r->path);
    cp(s->method, sizeof(s->method), r->method);
    cp(s->body, sizeof(s->body), r->body);
    s->keep_alive = r->keep_alive;
    s->content_length = r->content_length;
    s->n_headers = r->n_headers;
    return H1_CONTINUE;
}

static void on_continue(void *arg)
{
    ((seen *)arg)->continues++;
}

/* Feeds msg (len bytes) in pieces of `step`; returns the error status, 0
 * when everything parsed. */
static int parse_in(const char *msg, size_t len, size_t step, seen *s)
{
    memset(s, 0, sizeof(*s));
    h1_limits lim = {4096, 1024, 32, 256};
    h1_callbacks cb = {on_req, on_continue};
    h1_parser *p = h1_parser_new(&lim, &cb, s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int st = 0;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < step ? len - off : step;
        ssize_t used = h1_parser_feed(p, msg + off, n);
        if (used < 0) {
            st = h1_parser_error_status(p);
            CU_ASSERT(st >= 400);
            CU_ASSERT(h1_parser_error_text(p)[0] != '\0');
            break;
        }
        CU_ASSERT_EQUAL((size_t)used, n);
        off += n;
    }
    h1_parser_free(p);
    return st;
}

/* The same status whether it arrives whole or one byte at a time. */
static int parse(const char *msg, size_t len, seen *s)
{
    int whole = parse_in(msg, len, len ? len : 1, s);
    seen one;
    int bytewise = parse_in(msg, len, 1, &one);
    CU_ASSERT_EQUAL(whole, bytewise);
    CU_ASSERT_EQUAL(s->n, one.n);
    CU_ASSERT_STRING_EQUAL(s->host, one.host);
    CU_ASSERT_STRING_EQUAL(s->body, one.body);
    return whole;
}

#define PARSE(lit, s) parse(lit, sizeof(lit) - 1, s)

static void test_accepts_plain_requests(void)
{
    seen s;
    CU_ASSERT_EQUAL(PARSE("GET /a/b?x=1 HTTP/1.1\r\nHost: api.test\r\n"
                          "X-A:  v  \r\n\r\n", &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_STRING_EQUAL(s.host, "api.test");
    CU_ASSERT_STRING_EQUAL(s.target, "/a/b?x=1");
    CU_ASSERT_STRING_EQUAL(s.path, "/a/b");
    CU_ASSERT_EQUAL(s.keep_alive, 1);
    CU_ASSERT_EQUAL(s.content_length, -1);
    CU_ASSERT_EQUAL(PARSE("\r\nPOST /check HTTP/1.1\r\nHost: h:8080\r\n"
                          "Content-Length: 5\r\nConnection: close\r\n\r\n"
                          "hello", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.body, "hello");
    CU_ASSERT_EQUAL(s.keep_alive, 0);
    CU_ASSERT_EQUAL(s.content_length, 5);
    /* HTTP/1.0 may leave Host out; keep-alive only when asked. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\r\n\r\n", &s), 0);
    CU_ASSERT_EQUAL(s.keep_alive, 0);
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                          &s), 0);
    CU_ASSERT_EQUAL(s.keep_alive, 1);
    /* An empty Host is allowed (no authority). */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\r\nHost:\r\n\r\n", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.host, "");
    /* A higher minor version is read as 1.1. */
    CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &s), 0);
}

static void test_chunked_and_pipelined(void)
{
    seen s;
    CU_ASSERT_EQUAL(PARSE("POST /c HTTP/1.1\r\nHost: a\r\n"
                          "Transfer-Encoding: chunked\r\n"
                          "Expect: 100-continue\r\n\r\n"
                          "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\n"
                          "Trailer-A: x\r\n\r\n"
                          "GET /next HTTP/1.1\r\nHost: b\r\n\r\n", &s), 0);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.target, "/next");
    CU_ASSERT_STRING_EQUAL(s.host, "b");
    CU_ASSERT_EQUAL(PARSE("POST /c HTTP/1.1\r\nHost: a\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"
                          "A\r\n0123456789\r\n0\r\n\r\n", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.body, "0123456789");
    CU_ASSERT_EQUAL(s.content_length, 10);
    /* Identical Content-Length values are one length (RFC 9110 8.6). */
    CU_ASSERT_EQUAL(PARSE("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
                          "Content-Length: 2, 2\r\n\r\nok", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.body, "ok");
}

static void test_absolute_form_wins_over_host(void)
{
    seen s;
    CU_ASSERT_EQUAL(PARSE("GET http://real.test:81/p?q=1 HTTP/1.1\r\n"
                          "Host: other.test\r\n\r\n", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.host, "real.test:81");
    CU_ASSERT_STRING_EQUAL(s.target, "/p?q=1");
    CU_ASSERT_STRING_EQUAL(s.path, "/p");
    CU_ASSERT_EQUAL(PARSE("GET HTTPS://real.test?q HTTP/1.1\r\n"
                          "Host: other.test\r\n\r\n", &s), 0);
    CU_ASSERT_STRING_EQUAL(s.host, "real.test");
    CU_ASSERT_STRING_EQUAL(s.target, "/?q");
    CU_ASSERT_EQUAL(PARSE("GET http://u@real.test/ HTTP/1.1\r\nHost: a\r\n\r\n",
                          &s), 400);
    CU_ASSERT_EQUAL(PARSE("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", &s),
                    400);
    CU_ASSERT_EQUAL(PARSE("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", &s), 400);
    CU_ASSERT_EQUAL(PARSE("GET * HTTP/1.1\r\nHost: a\r\n\r\n", &s), 400);
    CU_ASSERT_EQUAL(PARSE("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &s), 0);
    CU_ASSERT_EQUAL(PARSE("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", &s), 400);
}

typedef struct bad {
    const char *what;
    const char *msg;
    size_t len; /* 0: strlen */
    int status;
} bad;

static const bad bads[] = {
    {"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 0, 400},
    {"invalid Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 0, 400},
    {"whitespace before the first header",
     "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400},
    {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 0, 400},
    {"empty header name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 0, 400},
    {"invalid name byte", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 0, 400},
    {"line without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 0, 400},
    {"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n", 35, 400},
    {"DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f\r\n\r\n", 0, 400},
    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 0, 400},
    {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 0, 400},
    {"bare LF after a field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 0, 400},
    {"bare CR ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\rX", 0, 400},
    {"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
    {"TE gzip only", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: gzip\r\n\r\n", 0, 400},
    {"TE chunked then gzip", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 400},
    {"TE gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0, 501},
    {"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
     400},
    {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n", 0, 400},
    {"TE chunked with a parameter", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 400},
    {"CL values differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     "Content-Length: 2\r\n\r\nab", 0, 400},
    {"CL list differs", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2"
     "\r\n\r\nab", 0, 400},
    {"CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\na", 0,
     400},
    {"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 0,
     400},
    {"CL overflow", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Content-Length: 99999999999999999999999999\r\n\r\n", 0, 413},
    {"CL over the limit", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Content-Length: 1025\r\n\r\n", 0, 413},
    {"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff1\r\n", 0, 413},
    {"chunk size not hex", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 0, 400},
    {"chunk size missing", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n;x\r\n", 0, 400},
    {"chunk data without CRLF", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 0, 400},
    {"chunk size bare LF", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 0, 400},
    {"chunk size bare CR", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n", 0, 400},
    {"blank after chunk size", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 0, 400},
    {"obs-fold in a trailer", "POST / HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n", 0, 400},
    {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, 505},
    {"HTTP/0.9 request line", "GET / HTTP/0.9\r\n\r\n", 0, 505},
    {"HTTP/1.1 lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"two-digit version", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 0, 400},
    {"no version", "GET /\r\n\r\n", 0, 400},
    {"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"tab in the request line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"NUL in the target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 28, 400},
    {"8-bit byte in the target", "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", 0,
     400},
    {"invalid method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"CONNECT without a port", "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 0,
     400},
    {"bare LF before the request", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0,
     400},
};

static void test_rejects_malformed(void)
{
    char longline[400];
    memset(longline, 'a', sizeof(longline));
    memcpy(longline, "GET /", 5);
    memcpy(longline + sizeof(longline) - 4, "\r\n\r\n", 4);
    seen s;
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        const bad *b = &bads[i];
        size_t len = b->len ? b->len : strlen(b->msg);
        int want = b->status;
        int got = parse(b->msg, len, &s);
        if (got != want)
            fprintf(stderr, "  %s: got %d, want %d\n", b->what, got, want);
        CU_ASSERT_EQUAL(got, want);
        CU_ASSERT_EQUAL(s.n, 0);
    }
    CU_ASSERT_EQUAL(parse(longline, sizeof(longline), &s), 414);
}

/* Every byte value in a header name, a header value and the request
 * target (snprintf writes a %c of 0 too): only the RFC's classes get
 * through. */
static void test_byte_classes(void)
{
    const char *tchars = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        int tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') ||
                    (c && c < 128 && strchr(tchars, c));
        int vbyte = c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
        int tbyte = c > 0x20 && c < 0x7f;
        char msg[80];
        seen s;
        int n = snprintf(msg, sizeof(msg),
                         "GET / HTTP/1.1\r\nHost: a\r\nX%cY: v\r\n\r\n", c);
        int st = parse(msg, (size_t)n, &s);
        if ((st == 0) != (tchar || c == ':'))
            fprintf(stderr, "  name byte 0x%02x: status %d\n", c, st);
        CU_ASSERT_EQUAL(st == 0, tchar || c == ':'); /* "X:Y: v" is valid */
        n = snprintf(msg, sizeof(msg),
                     "GET / HTTP/1.1\r\nHost: a\r\nX: a%cb\r\n\r\n", c);
        st = parse(msg, (size_t)n, &s);
        if ((st == 0) != vbyte)
            fprintf(stderr, "  value byte 0x%02x: status %d\n", c, st);
        CU_ASSERT_EQUAL(st == 0, vbyte);
        n = snprintf(msg, sizeof(msg),
                     "GET /a%cb HTTP/1.1\r\nHost: a\r\n\r\n", c);
        st = parse(msg, (size_t)n, &s);
        if ((st == 0) != tbyte)
            fprintf(stderr, "  target byte 0x%02x: status %d\n", c, st);
        CU_ASSERT_EQUAL(st == 0, tbyte);
    }
}

static void test_limits(void)
{
    seen s;
    /* 1025 bytes of chunks against a 1024-byte body limit */
    char msg[2048];
    int n = snprintf(msg, sizeof(msg), "POST / HTTP/1.1\r\nHost: a\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n400\r\n");
    memset(msg + n, 'x', 1024);
    n += 1024;
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\r\n1\r\n");
    CU_ASSERT_EQUAL(parse(msg, (size_t)n, &s), 413);
    /* 33 header lines against a limit of 32 */
    n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 32; i++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "X%d: y\r\n", i);
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\r\n");
    CU_ASSERT_EQUAL(parse(msg, (size_t)n, &s), 431);
    /* header bytes over 4096 */
    char big[5000];
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'v', 4200);
    n += 4200;
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n\r\n");
    CU_ASSERT_EQUAL(parse(big, (size_t)n, &s), 431);
    /* cut short */
    h1_limits lim = {4096, 1024, 32, 256};
    h1_callbacks cb = {on_req, on_continue};
    h1_parser *p = h1_parser_new(&lim, &cb, &s);
    CU_ASSERT_EQUAL(h1_parser_stage(p), H1_STAGE_IDLE);
    const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n";
    CU_ASSERT_EQUAL(h1_parser_feed(p, head, sizeof(head) - 1),
                    (ssize_t)sizeof(head) - 1);
    CU_ASSERT_EQUAL(h1_parser_stage(p), H1_STAGE_HEAD);
    CU_ASSERT_EQUAL(h1_parser_feed(p, "\r\nab", 4), 4);
    CU_ASSERT_EQUAL(h1_parser_stage(p), H1_STAGE_BODY);
    CU_ASSERT_EQUAL(h1_parser_started(p), 1);
    CU_ASSERT_EQUAL(h1_parser_eof(p), -1);
    CU_ASSERT_EQUAL(h1_parser_error_status(p), 400);
    h1_parser_free(p);
}

static int pause_req(void *arg, const h1_request *r)
{
    on_req(arg, r);
    return H1_PAUSE;
}

static void test_pause_and_resume(void)
{
    seen s;
    memset(&s, 0, sizeof(s));
    h1_limits lim = {4096, 1024, 32, 256};
    h1_callbacks cb = {pause_req, NULL};
    h1_parser *p = h1_parser_new(&lim, &cb, &s);
    const char two[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t first = (sizeof(two) - 1) / 2;
    CU_ASSERT_EQUAL(h1_parser_feed(p, two, sizeof(two) - 1), (ssize_t)first);
    CU_ASSERT(h1_parser_paused(p));
    CU_ASSERT_EQUAL(h1_parser_feed(p, two + first, first), 0);
    h1_parser_resume(p);
    CU_ASSERT_EQUAL(h1_parser_feed(p, two + first, first), (ssize_t)first);
    CU_ASSERT_EQUAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.target, "/2");
    h1_parser_free(p);
}

static void test_connect_tunnels(void)
{
    seen s;
    CU_ASSERT_EQUAL(PARSE("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443"
                          "\r\n\r\n\x16\x03\x01 not http", &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_EQUAL(s.keep_alive, 0);
    CU_ASSERT_STRING_EQUAL(s.host, "a.test:443");
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"accepts plain requests", test_accepts_plain_requests},
        {"chunked and pipelined", test_chunked_and_pipelined},
        {"absolute-form wins over Host", test_absolute_form_wins_over_host},
        {"rejects malformed heads and bodies", test_rejects_malformed},
        {"byte classes", test_byte_classes},
        {"limits", test_limits},
        {"pause and resume", test_pause_and_resume},
        {"CONNECT tunnels", test_connect_tunnels},
        {NULL, NULL},
    };
    return cu_add_suite("h1_parser", cases);
}
