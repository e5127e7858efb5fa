/*
 * fuzz_http1.c - the HTTP/1.1 request side of the envoy_ext_authz frontend
 * (h1_parser + h1_response), driven without sockets.
 *
 * The last input byte (still part of the input) chooses how the input is cut
 * into feeds and whether the request callback pauses parsing, so plain
 * HTTP seeds work as they are and incremental parsing, pipelining and
 * pause/resume are all exercised. Every request is checked for the
 * invariants the frontend relies on and answered, as the connection would.
 * The input is parsed twice, whole and in pieces: the requests and the
 * final status must be the same, since a parser whose result depends on
 * where TCP cut the stream is a smuggling bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1_parser.h"
#include "h1_response.h"
#include "server_buf.h"

typedef struct fz_state {
    int pause_every;
    int n;
    uint64_t hash; /* of every request seen, in order */
    srv_buf out;
} fz_state;

static void fz_mix(fz_state *st, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        st->hash = (st->hash ^ b[i]) * 1099511628211u;
    st->hash = (st->hash ^ n) * 1099511628211u;
}

static void fz_mix_str(fz_state *st, pc_str s)
{
    fz_mix(st, s.ptr, s.len);
}

static int fz_is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void fz_check_str(pc_str s)
{
    if (s.len && !s.ptr)
        abort();
    /* Touch every byte: ASan reports reads past what the parser owns. */
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < s.len; i++)
        sink ^= (unsigned char)s.ptr[i];
    (void)sink;
}

static int fz_on_request(void *arg, const h1_request *r)
{
    fz_state *st = arg;
    fz_check_str(r->method);
    fz_check_str(r->target);
    fz_check_str(r->path);
    fz_check_str(r->query);
    fz_check_str(r->fragment);
    fz_check_str(r->host);
    fz_check_str(r->body);
    if (r->path.len > r->target.len || r->body.len > 4096)
        abort();
    if (r->target.len && r->target.ptr[0] != '/' && r->target.ptr[0] != '*')
        abort(); /* origin-form, asterisk-form, or empty for CONNECT */
    for (size_t i = 0; i < r->n_headers; i++) {
        fz_check_str(r->headers[i].key);
        fz_check_str(r->headers[i].value);
        if (r->headers[i].key.len == 0)
            abort();
        for (size_t k = 0; k < r->headers[i].key.len; k++)
            if (!fz_is_tchar((unsigned char)r->headers[i].key.ptr[k]))
                abort(); /* names are lowercase tokens */
        for (size_t k = 0; k < r->headers[i].value.len; k++) {
            unsigned char c = (unsigned char)r->headers[i].value.ptr[k];
            if (c == '\r' || c == '\n' || c == 0)
                abort(); /* no line breaks or NUL get through */
        }
        fz_mix_str(st, r->headers[i].key);
        fz_mix_str(st, r->headers[i].value);
    }
    fz_mix_str(st, r->method);
    fz_mix_str(st, r->target);
    fz_mix_str(st, r->host);
    fz_mix_str(st, r->body);
    fz_mix(st, &r->keep_alive, sizeof(r->keep_alive));
    /* Echo the headers back: the writer must drop what cannot be sent. */
    pc_header hs[8];
    size_t n = r->n_headers < 8 ? r->n_headers : 8;
    for (size_t i = 0; i < n; i++) {
        hs[i].name = r->headers[i].key;
        hs[i].value = r->headers[i].value;
    }
    srv_buf_reset(&st->out);
    if (h1_response_write(&st->out, 200, hs, n, NULL, r->body.ptr,
                          r->body.len, r->keep_alive) != 0)
        abort();
    st->n++;
    return st->pause_every && st->n % st->pause_every == 0 ? H1_PAUSE
                                                           : H1_CONTINUE;
}

static void fz_on_continue(void *arg)
{
    fz_state *st = arg;
    h1_response_continue(&st->out);
}

/* Parses data in feeds of `chunk` bytes; returns the final status (0 when
 * no error) and leaves the requests' hash in st. */
static int fz_run(const uint8_t *data, size_t size, size_t chunk,
                  int pause_every, fz_state *st)
{
    memset(st, 0, sizeof(*st));
    st->pause_every = pause_every;
    h1_limits lim = {4096, 4096, 64, 1024};
    h1_callbacks cb = {fz_on_request, fz_on_continue};
    h1_parser *p = h1_parser_new(&lim, &cb, st);
    if (!p)
        abort();
    int status = 0;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t used = h1_parser_feed(p, data + off, n);
        if (used < 0) {
            status = h1_parser_error_status(p);
            if (status != 400 && status != 413 && status != 414 &&
                status != 431 && status != 500 && status != 501 &&
                status != 505)
                abort();
            srv_buf_reset(&st->out);
            h1_response_write(&st->out, status, NULL, 0, "text/plain", "", 0,
                              0);
            break;
        }
        if ((size_t)used > n)
            abort();
        off += (size_t)used;
        if (h1_parser_paused(p))
            h1_parser_resume(p);
        else if ((size_t)used < n)
            abort(); /* only a pause may leave bytes unparsed */
    }
    h1_parser_eof(p);
    h1_parser_free(p);
    srv_buf_free(&st->out);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[size - 1];
    size_t chunk = (size_t)(mode >> 2) + 1; /* 1..64 bytes per feed */
    fz_state whole, pieces;
    int a = fz_run(data, size, size, 0, &whole);
    int b = fz_run(data, size, chunk, mode & 3, &pieces);
    if (a != b || whole.n != pieces.n || whole.hash != pieces.hash)
        abort(); /* the result depends on where the stream was cut */
    return 0;
}
