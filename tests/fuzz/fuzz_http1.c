/*
 * fuzz_http1.c - the HTTP/1.1 request side of the envoy_ext_authz frontend
 * (h1_parser + h1_response), driven without sockets.
 *
 * The last input byte (still part of the input) chooses how the input is cut
 * into feeds and whether the request callback pauses parsing, so plain
 * HTTP seeds work as they are and incremental parsing, pipelining and
 * pause/resume are all exercised. Every request is checked for the
 * invariants the frontend relies on and answered, as the connection would.
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
    srv_buf out;
} fz_state;

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
    for (size_t i = 0; i < r->n_headers; i++) {
        fz_check_str(r->headers[i].key);
        fz_check_str(r->headers[i].value);
        for (size_t k = 0; k < r->headers[i].key.len; k++)
            if (r->headers[i].key.ptr[k] >= 'A' && r->headers[i].key.ptr[k] <= 'Z')
                abort(); /* names must come out lowercase */
    }
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[size - 1];
    fz_state st;
    memset(&st, 0, sizeof(st));
    st.pause_every = mode & 3;
    size_t chunk = (size_t)(mode >> 2) + 1; /* 1..64 bytes per feed */
    h1_limits lim = {4096, 4096, 64, 1024};
    h1_callbacks cb = {fz_on_request, fz_on_continue};
    h1_parser *p = h1_parser_new(&lim, &cb, &st);
    if (!p)
        return 0;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t used = h1_parser_feed(p, data + off, n);
        if (used < 0) {
            int status = h1_parser_error_status(p);
            if (status != 400 && status != 413 && status != 414 &&
                status != 431 && status != 500 && status != 501 &&
                status != 505)
                abort();
            srv_buf_reset(&st.out);
            h1_response_write(&st.out, status, NULL, 0, "text/plain", "", 0,
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
    srv_buf_free(&st.out);
    return 0;
}
