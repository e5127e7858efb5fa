/* The HTTP/1.1 message framing of RFC 9112 as a resumable state machine:
 * request line, field lines, then a Content-Length or chunked body. Every
 * line ends in CRLF exactly; the meaning of the head is h1_head's job. */
#include "h1_parser.h"

#include <stdlib.h>
#include <string.h>

#include "h1_head.h"
#include "server_buf.h"

#define H1_DEFAULT_MAX_HEADERS 1024
#define H1_DEFAULT_MAX_LINE 8192
/* A chunk-size line (size and extensions); extensions are ignored, so
 * there is no reason to take more. */
#define H1_MAX_CHUNK_LINE 1024

typedef enum h1_state {
    S_START,         /* before a request line: empty lines are skipped */
    S_START_LF,
    S_LINE,          /* the request line */
    S_LINE_LF,
    S_FIELD_START,   /* a field line, or the empty line ending the head */
    S_NAME,
    S_OWS,           /* after the colon */
    S_VALUE,
    S_VALUE_LF,
    S_HEAD_LF,
    S_BODY,          /* Content-Length bytes */
    S_CHUNK_SIZE,
    S_CHUNK_BWS,     /* blanks after the size: only ';' may follow */
    S_CHUNK_EXT,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_TRAILER_START, /* a trailer line, or the empty line ending the body */
    S_TRAILER_NAME,
    S_TRAILER_VALUE,
    S_TRAILER_LF,
    S_END_LF,
    S_TUNNEL         /* after CONNECT: the rest is not HTTP */
} h1_state;

/* Offsets into hdr rather than pointers: hdr grows with realloc while a
 * request arrives in pieces. */
typedef struct h1_ent {
    size_t no, nl, vo, vl;
} h1_ent;

struct h1_parser {
    h1_limits lim;
    h1_callbacks cb;
    void *arg;
    h1_state state;
    srv_buf hdr;       /* the request line, then field names and values */
    size_t line_len;
    h1_ent *ents;
    size_t n_ents, cap_ents;
    pc_kv *kv;
    size_t cap_kv;
    h1_head head;
    srv_buf origin;    /* the target when it needs a leading '/' */
    srv_buf body;
    size_t head_bytes; /* request line, fields and trailers so far */
    uint64_t left;     /* of the body or the current chunk */
    size_t chunk_line;
    int chunk_digits;
    int status;
    const char *errtext;
    int paused;
    int failed;
    int in_message;
    uint64_t started;
};

static int h1_fail(h1_parser *p, int status, const char *why)
{
    if (!p->failed) {
        p->failed = 1;
        p->status = status;
        p->errtext = why;
    }
    return -1;
}

static int h1_count(h1_parser *p, size_t n)
{
    p->head_bytes += n;
    if (p->head_bytes > p->lim.max_header_bytes)
        return h1_fail(p, 431, "request headers too large");
    return 0;
}

/* A byte that may not appear where it did: the most useful reason. */
static int h1_bad_byte(h1_parser *p, unsigned char c, const char *where)
{
    if (c == '\n')
        return h1_fail(p, 400, "bare LF (lines must end in CRLF)");
    if (c == '\r')
        return h1_fail(p, 400, "bare CR");
    if (c == 0)
        return h1_fail(p, 400, "NUL byte in the request head");
    return h1_fail(p, 400, where);
}

/* field-value bytes: VCHAR, obs-text, SP and HTAB. */
static int h1_is_vbyte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void h1_begin(h1_parser *p)
{
    srv_buf_reset(&p->hdr);
    srv_buf_reset(&p->body);
    srv_buf_reset(&p->origin);
    p->line_len = 0;
    p->n_ents = 0;
    p->in_message = 1;
    p->started++;
}

static pc_str h1_str(const h1_parser *p, size_t off, size_t len)
{
    pc_str s;
    s.ptr = len ? (const char *)p->hdr.data + off : "";
    s.len = len;
    return s;
}

static int h1_new_field(h1_parser *p)
{
    if (p->n_ents >= p->lim.max_headers)
        return h1_fail(p, 431, "too many request headers");
    if (p->n_ents == p->cap_ents) {
        size_t cap = p->cap_ents ? p->cap_ents * 2 : 32;
        h1_ent *e = realloc(p->ents, cap * sizeof(*e));
        if (!e)
            return h1_fail(p, 500, "out of memory");
        p->ents = e;
        p->cap_ents = cap;
    }
    h1_ent *e = &p->ents[p->n_ents++];
    e->no = p->hdr.len;
    e->nl = e->vo = e->vl = 0;
    return 0;
}

static void h1_split_target(h1_request *r)
{
    const char *t = r->target.ptr;
    size_t n = r->target.len, q = n, f = n;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '#') {
            f = i;
            break;
        }
        if (t[i] == '?' && q == n)
            q = i;
    }
    if (q > f)
        q = f;
    r->path.ptr = t;
    r->path.len = q;
    r->query.ptr = q < f ? t + q + 1 : "";
    r->query.len = q < f ? f - q - 1 : 0;
    r->fragment.ptr = f < n ? t + f + 1 : "";
    r->fragment.len = f < n ? n - f - 1 : 0;
}

static int h1_complete(h1_parser *p)
{
    const h1_head *h = &p->head;
    h1_request r;
    memset(&r, 0, sizeof(r));
    r.method.ptr = h->method;
    r.method.len = h->method_len;
    if (h->origin_slash) {
        if (srv_buf_append(&p->origin, "/", 1) != 0 ||
            srv_buf_append(&p->origin, h->origin, h->origin_len) != 0)
            return h1_fail(p, 500, "out of memory");
        r.target.ptr = (const char *)p->origin.data;
        r.target.len = p->origin.len;
    } else {
        r.target.ptr = h->origin_len ? h->origin : "";
        r.target.len = h->origin_len;
    }
    h1_split_target(&r);
    r.host.ptr = h->host_len ? h->host : "";
    r.host.len = h->host_len;
    r.protocol = pc_str_c(h->minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
    r.headers = p->kv;
    r.n_headers = p->n_ents;
    r.body.ptr = p->body.len ? (const char *)p->body.data : "";
    r.body.len = p->body.len;
    r.keep_alive = h->keep_alive;
    r.content_length = h->content_length >= 0 || h->chunked
                           ? (int64_t)p->body.len
                           : -1;
    p->in_message = 0;
    p->head_bytes = 0;
    p->state = h->connect ? S_TUNNEL : S_START;
    int rc = p->cb.on_request(p->arg, &r);
    if (rc < 0)
        return h1_fail(p, 500, "request handler failed");
    if (rc == H1_PAUSE && p->state != S_TUNNEL)
        p->paused = 1;
    return 0;
}

/* The empty line after the fields: decide what the head means and how the
 * body is framed. */
static int h1_head_done(h1_parser *p)
{
    if (p->n_ents > p->cap_kv) {
        pc_kv *kv = realloc(p->kv, p->n_ents * sizeof(*kv));
        if (!kv)
            return h1_fail(p, 500, "out of memory");
        p->kv = kv;
        p->cap_kv = p->n_ents;
    }
    for (size_t i = 0; i < p->n_ents; i++) {
        p->kv[i].key = h1_str(p, p->ents[i].no, p->ents[i].nl);
        p->kv[i].value = h1_str(p, p->ents[i].vo, p->ents[i].vl);
    }
    /* The line is re-read now that hdr no longer moves. */
    const char *why = "";
    int st = h1_head_line(&p->head, (const char *)p->hdr.data, p->line_len,
                          &why);
    if (!st)
        st = h1_head_fields(&p->head, p->kv, p->n_ents,
                            p->lim.max_body_bytes, &why);
    if (st)
        return h1_fail(p, st, why);
    int body = p->head.chunked || p->head.content_length > 0;
    if (body && p->head.expect_continue && p->cb.on_continue)
        p->cb.on_continue(p->arg);
    if (p->head.chunked) {
        p->state = S_CHUNK_SIZE;
        p->left = 0;
        p->chunk_line = 0;
        p->chunk_digits = 0;
    } else if (p->head.content_length > 0) {
        p->state = S_BODY;
        p->left = (uint64_t)p->head.content_length;
    } else {
        return h1_complete(p);
    }
    return 0;
}

static int h1_take_body(h1_parser *p, const uint8_t *d, size_t n)
{
    if (srv_buf_append(&p->body, d, n) != 0)
        return h1_fail(p, 500, "out of memory");
    p->left -= n;
    return 0;
}

static int h1_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The LF of a CRLF: where the line that ended leads. */
static int h1_line_end(h1_parser *p)
{
    h1_state was = p->state;
    if (was == S_CHUNK_SIZE_LF) {
        p->state = p->left ? S_CHUNK_DATA : S_TRAILER_START;
        return 0;
    }
    if (was == S_CHUNK_DATA_LF) {
        p->state = S_CHUNK_SIZE;
        p->chunk_line = 0;
        p->chunk_digits = 0;
        return 0;
    }
    if (h1_count(p, 1))
        return -1;
    if (was == S_LINE_LF) {
        /* Checked now so a bad line fails before its fields arrive; read
         * again in h1_head_done. */
        const char *why = "";
        int st = h1_head_line(&p->head, (const char *)p->hdr.data,
                              p->line_len, &why);
        if (st)
            return h1_fail(p, st, why);
    }
    if (was == S_LINE_LF || was == S_VALUE_LF)
        p->state = S_FIELD_START;
    else if (was == S_TRAILER_LF)
        p->state = S_TRAILER_START;
    else if (was == S_HEAD_LF)
        return h1_head_done(p);
    else if (was == S_END_LF)
        return h1_complete(p);
    return 0;
}

/* One byte of a chunk-size line: 1*HEXDIG [ BWS ";" extensions ] CR. */
static int h1_chunk_line_byte(h1_parser *p, unsigned char c)
{
    if (++p->chunk_line > H1_MAX_CHUNK_LINE)
        return h1_fail(p, 400, "chunk size line too long");
    if (p->state == S_CHUNK_SIZE && h1_hexval(c) >= 0) {
        /* Checked per digit against what the body may still hold: no size
         * can overflow. */
        p->left = p->left * 16 + (uint64_t)h1_hexval(c);
        p->chunk_digits = 1;
        if (p->left > p->lim.max_body_bytes - p->body.len)
            return h1_fail(p, 413, "request body too large");
        return 0;
    }
    if (!p->chunk_digits)
        return h1_bad_byte(p, c, "invalid chunk size");
    if (c == '\r') {
        if (p->state == S_CHUNK_BWS)
            return h1_fail(p, 400, "invalid chunk size");
        p->state = S_CHUNK_SIZE_LF;
    } else if (p->state == S_CHUNK_EXT) {
        if (!h1_is_vbyte(c))
            return h1_bad_byte(p, c, "invalid byte in a chunk extension");
    } else if (c == ';') {
        p->state = S_CHUNK_EXT;
    } else if (c == ' ' || c == '\t') {
        p->state = S_CHUNK_BWS;
    } else {
        return h1_bad_byte(p, c, "invalid chunk size");
    }
    return 0;
}

/* Runs the machine over d[0..n) until it is consumed, the request callback
 * paused or an error; returns the bytes used or -1. */
static ssize_t h1_run(h1_parser *p, const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && !p->paused && !p->failed) {
        unsigned char c = d[i];
        size_t run;
        switch (p->state) {
        case S_START:
            if (c != '\r' && c != '\n') {
                h1_begin(p);
                p->state = S_LINE;
                continue;
            }
            if (c == '\n')
                return h1_bad_byte(p, c, "");
            if (h1_count(p, 1))
                return -1;
            p->state = S_START_LF;
            i++;
            break;
        case S_START_LF:
            if (c != '\n')
                return h1_fail(p, 400, "bare CR");
            if (h1_count(p, 1))
                return -1;
            p->state = S_START;
            i++;
            break;
        case S_LINE:
            for (run = 0; i + run < n; run++) {
                unsigned char b = d[i + run];
                if (b < 0x20 || b >= 0x7f)
                    break;
            }
            if (p->line_len + run > p->lim.max_line_bytes)
                return h1_fail(p, 414, "request line too long");
            if (h1_count(p, run))
                return -1;
            if (run && srv_buf_append(&p->hdr, d + i, run) != 0)
                return h1_fail(p, 500, "out of memory");
            p->line_len += run;
            i += run;
            if (i == n)
                break;
            if (d[i] != '\r')
                return h1_bad_byte(p, d[i],
                                   "invalid byte in the request line");
            if (h1_count(p, 1))
                return -1;
            p->state = S_LINE_LF;
            i++;
            break;
        case S_LINE_LF:
        case S_VALUE_LF:
        case S_HEAD_LF:
        case S_CHUNK_SIZE_LF:
        case S_CHUNK_DATA_LF:
        case S_TRAILER_LF:
        case S_END_LF:
            if (c != '\n')
                return h1_fail(p, 400, "bare CR");
            i++;
            if (h1_line_end(p))
                return -1;
            break;
        case S_FIELD_START:
        case S_TRAILER_START:
            if (c == '\r') {
                if (h1_count(p, 1))
                    return -1;
                p->state = p->state == S_FIELD_START ? S_HEAD_LF : S_END_LF;
                i++;
                break;
            }
            if (c == ' ' || c == '\t')
                return h1_fail(p, 400,
                               p->n_ents || p->state == S_TRAILER_START
                                   ? "obs-fold (a line starting with "
                                     "whitespace) in the header"
                                   : "whitespace before the first header");
            if (c == ':')
                return h1_fail(p, 400, "empty header name");
            if (!h1_is_tchar(c))
                return h1_bad_byte(p, c, "invalid byte in a header name");
            if (p->state == S_FIELD_START) {
                if (h1_new_field(p))
                    return -1;
                p->state = S_NAME;
            } else {
                p->state = S_TRAILER_NAME;
            }
            break;
        case S_NAME:
        case S_TRAILER_NAME:
            for (run = 0; i + run < n && h1_is_tchar(d[i + run]); run++)
                ;
            if (h1_count(p, run))
                return -1;
            if (p->state == S_NAME && run) {
                if (srv_buf_reserve(&p->hdr, run) != 0)
                    return h1_fail(p, 500, "out of memory");
                for (size_t k = 0; k < run; k++) {
                    uint8_t b = d[i + k];
                    p->hdr.data[p->hdr.len++] =
                        b >= 'A' && b <= 'Z' ? (uint8_t)(b - 'A' + 'a') : b;
                }
                p->ents[p->n_ents - 1].nl += run;
            }
            i += run;
            if (i == n)
                break;
            c = d[i];
            if (c == ' ' || c == '\t')
                return h1_fail(p, 400,
                               "whitespace between a header name and colon");
            if (c != ':')
                return h1_bad_byte(p, c, "invalid byte in a header name");
            if (h1_count(p, 1))
                return -1;
            i++;
            if (p->state == S_NAME) {
                p->ents[p->n_ents - 1].vo = p->hdr.len;
                p->state = S_OWS;
            } else {
                p->state = S_TRAILER_VALUE;
            }
            break;
        case S_OWS:
            if (c != ' ' && c != '\t') {
                p->ents[p->n_ents - 1].vo = p->hdr.len;
                p->state = S_VALUE;
                continue;
            }
            if (h1_count(p, 1))
                return -1;
            i++;
            break;
        case S_VALUE:
        case S_TRAILER_VALUE:
            for (run = 0; i + run < n && h1_is_vbyte(d[i + run]); run++)
                ;
            if (h1_count(p, run))
                return -1;
            if (p->state == S_VALUE && run) {
                if (srv_buf_append(&p->hdr, d + i, run) != 0)
                    return h1_fail(p, 500, "out of memory");
                p->ents[p->n_ents - 1].vl += run;
            }
            i += run;
            if (i == n)
                break;
            if (d[i] != '\r')
                return h1_bad_byte(p, d[i], "invalid byte in a header value");
            if (p->state == S_VALUE) {
                /* Trailing blanks are not part of the value. */
                h1_ent *e = &p->ents[p->n_ents - 1];
                while (e->vl && (p->hdr.data[e->vo + e->vl - 1] == ' ' ||
                                 p->hdr.data[e->vo + e->vl - 1] == '\t'))
                    e->vl--;
                p->state = S_VALUE_LF;
            } else {
                p->state = S_TRAILER_LF;
            }
            if (h1_count(p, 1))
                return -1;
            i++;
            break;
        case S_BODY:
        case S_CHUNK_DATA:
            run = n - i;
            if ((uint64_t)run > p->left)
                run = (size_t)p->left;
            if (h1_take_body(p, d + i, run))
                return -1;
            i += run;
            if (p->left == 0) {
                if (p->state == S_CHUNK_DATA)
                    p->state = S_CHUNK_DATA_CR;
                else if (h1_complete(p))
                    return -1;
            }
            break;
        case S_CHUNK_DATA_CR:
            if (c != '\r')
                return h1_fail(p, 400, "chunk data not followed by CRLF");
            p->state = S_CHUNK_DATA_LF;
            i++;
            break;
        case S_CHUNK_SIZE:
        case S_CHUNK_BWS:
        case S_CHUNK_EXT:
            i++;
            if (h1_chunk_line_byte(p, c))
                return -1;
            break;
        case S_TUNNEL:
            return (ssize_t)n;
        }
    }
    if (p->failed)
        return -1;
    return p->state == S_TUNNEL ? (ssize_t)n : (ssize_t)i;
}

h1_parser *h1_parser_new(const h1_limits *lim, const h1_callbacks *cb,
                         void *arg)
{
    h1_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->lim = *lim;
    if (!p->lim.max_headers)
        p->lim.max_headers = H1_DEFAULT_MAX_HEADERS;
    if (!p->lim.max_line_bytes)
        p->lim.max_line_bytes = H1_DEFAULT_MAX_LINE;
    p->cb = *cb;
    p->arg = arg;
    p->state = S_START;
    return p;
}

void h1_parser_free(h1_parser *p)
{
    if (!p)
        return;
    srv_buf_free(&p->hdr);
    srv_buf_free(&p->body);
    srv_buf_free(&p->origin);
    free(p->ents);
    free(p->kv);
    free(p);
}

ssize_t h1_parser_feed(h1_parser *p, const void *data, size_t n)
{
    if (p->failed)
        return -1;
    if (p->state == S_TUNNEL)
        return (ssize_t)n;
    if (p->paused || n == 0)
        return 0;
    return h1_run(p, data, n);
}

int h1_parser_eof(h1_parser *p)
{
    if (p->failed)
        return -1;
    if (!p->in_message)
        return 0;
    return h1_fail(p, 400, "connection closed mid-request");
}

void h1_parser_resume(h1_parser *p)
{
    p->paused = 0;
}

int h1_parser_paused(const h1_parser *p)
{
    return p->paused;
}

int h1_parser_error_status(const h1_parser *p)
{
    return p->failed ? p->status : 0;
}

const char *h1_parser_error_text(const h1_parser *p)
{
    return p->errtext ? p->errtext : "";
}

int h1_parser_mid_request(const h1_parser *p)
{
    return p->in_message;
}

int h1_parser_stage(const h1_parser *p)
{
    if (!p->in_message || p->failed)
        return H1_STAGE_IDLE;
    return p->state >= S_BODY && p->state != S_TUNNEL ? H1_STAGE_BODY
                                                      : H1_STAGE_HEAD;
}

uint64_t h1_parser_started(const h1_parser *p)
{
    return p->started;
}
