#include "h1_parser.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_buf.h"

/* Offsets into hdr rather than pointers: hdr grows with realloc while a
 * request arrives in pieces. */
typedef struct h1_ent {
    size_t no, nl, vo, vl;
} h1_ent;

struct h1_parser {
    http_parser hp;
    http_parser_settings st;
    h1_limits lim;
    h1_callbacks cb;
    void *arg;
    srv_buf hdr;       /* target bytes, then header names and values */
    size_t target_len;
    h1_ent *ents;
    size_t n_ents, cap_ents;
    int last_was_value;
    srv_buf body;
    pc_kv *kv;
    size_t cap_kv;
    size_t header_bytes;
    int status;
    const char *errtext;
    int paused;
    int failed;
    int in_message;
    int upgraded;      /* after an Upgrade/CONNECT request: ignore the rest */
};

static h1_parser *h1_of(http_parser *hp)
{
    return (h1_parser *)hp->data;
}

static int h1_fail(h1_parser *p, int status, const char *why)
{
    if (!p->status) {
        p->status = status;
        p->errtext = why;
    }
    return 1;
}

static int h1_count(h1_parser *p, size_t n)
{
    p->header_bytes += n;
    if (p->header_bytes > p->lim.max_header_bytes)
        return h1_fail(p, 431, "request headers too large");
    return 0;
}

static int h1_on_message_begin(http_parser *hp)
{
    h1_parser *p = h1_of(hp);
    srv_buf_reset(&p->hdr);
    srv_buf_reset(&p->body);
    p->target_len = 0;
    p->n_ents = 0;
    p->last_was_value = 0;
    p->header_bytes = 0;
    p->in_message = 1;
    return 0;
}

static int h1_on_url(http_parser *hp, const char *at, size_t n)
{
    h1_parser *p = h1_of(hp);
    if (h1_count(p, n))
        return 1;
    if (srv_buf_append(&p->hdr, at, n) != 0)
        return h1_fail(p, 500, "out of memory");
    p->target_len += n;
    return 0;
}

static int h1_on_header_field(http_parser *hp, const char *at, size_t n)
{
    h1_parser *p = h1_of(hp);
    if (h1_count(p, n))
        return 1;
    if (p->n_ents == 0 || p->last_was_value) {
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
        p->last_was_value = 0;
    }
    if (srv_buf_reserve(&p->hdr, n) != 0)
        return h1_fail(p, 500, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char c = at[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        p->hdr.data[p->hdr.len++] = (uint8_t)c;
    }
    p->ents[p->n_ents - 1].nl += n;
    return 0;
}

static int h1_on_header_value(http_parser *hp, const char *at, size_t n)
{
    h1_parser *p = h1_of(hp);
    if (h1_count(p, n))
        return 1;
    if (p->n_ents == 0)
        return h1_fail(p, 400, "header value without a name");
    h1_ent *e = &p->ents[p->n_ents - 1];
    if (!p->last_was_value) {
        e->vo = p->hdr.len;
        e->vl = 0;
        p->last_was_value = 1;
    }
    if (srv_buf_append(&p->hdr, at, n) != 0)
        return h1_fail(p, 500, "out of memory");
    e->vl += n;
    return 0;
}

static const h1_ent *h1_find(const h1_parser *p, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < p->n_ents; i++) {
        const h1_ent *e = &p->ents[i];
        if (e->nl == nl && memcmp(p->hdr.data + e->no, name, nl) == 0)
            return e;
    }
    return NULL;
}

static int h1_on_headers_complete(http_parser *hp)
{
    h1_parser *p = h1_of(hp);
    int has_len = (hp->flags & F_CONTENTLENGTH) != 0;
    int chunked = (hp->flags & F_CHUNKED) != 0;
    if (has_len && hp->content_length > (uint64_t)p->lim.max_body_bytes) {
        h1_fail(p, 413, "request body too large");
        return -1; /* -1 is an error in http-parser; 1 would mean "no body" */
    }
    const h1_ent *ex = h1_find(p, "expect");
    if (ex && (chunked || (has_len && hp->content_length > 0))) {
        const char *v = (const char *)p->hdr.data + ex->vo;
        if (ex->vl == 12 && strncasecmp(v, "100-continue", 12) == 0 &&
            p->cb.on_continue)
            p->cb.on_continue(p->arg);
    }
    return 0;
}

static int h1_on_body(http_parser *hp, const char *at, size_t n)
{
    h1_parser *p = h1_of(hp);
    if (p->body.len + n > p->lim.max_body_bytes || p->body.len + n < n)
        return h1_fail(p, 413, "request body too large");
    if (srv_buf_append(&p->body, at, n) != 0)
        return h1_fail(p, 500, "out of memory");
    return 0;
}

static pc_str h1_str(const h1_parser *p, size_t off, size_t len)
{
    pc_str s;
    s.ptr = len ? (const char *)p->hdr.data + off : "";
    s.len = len;
    return s;
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

static int h1_on_message_complete(http_parser *hp)
{
    h1_parser *p = h1_of(hp);
    if (p->n_ents > p->cap_kv) {
        pc_kv *kv = realloc(p->kv, p->n_ents * sizeof(*kv));
        if (!kv)
            return h1_fail(p, 500, "out of memory");
        p->kv = kv;
        p->cap_kv = p->n_ents;
    }
    h1_request r;
    memset(&r, 0, sizeof(r));
    r.host = pc_str_c(NULL);
    for (size_t i = 0; i < p->n_ents; i++) {
        h1_ent *e = &p->ents[i];
        /* http-parser keeps trailing blanks of a value; HTTP says they are
         * not part of it. */
        while (e->vl && (p->hdr.data[e->vo + e->vl - 1] == ' ' ||
                         p->hdr.data[e->vo + e->vl - 1] == '\t'))
            e->vl--;
        p->kv[i].key = h1_str(p, e->no, e->nl);
        p->kv[i].value = h1_str(p, e->vo, e->vl);
        if (e->nl == 4 && memcmp(p->kv[i].key.ptr, "host", 4) == 0 &&
            r.host.len == 0)
            r.host = p->kv[i].value;
    }
    r.headers = p->kv;
    r.n_headers = p->n_ents;
    r.method = pc_str_c(http_method_str((enum http_method)hp->method));
    r.target = h1_str(p, 0, p->target_len);
    h1_split_target(&r);
    r.protocol = pc_str_c(hp->http_major == 1 && hp->http_minor == 0
                              ? "HTTP/1.0"
                              : "HTTP/1.1");
    r.body.ptr = p->body.len ? (const char *)p->body.data : "";
    r.body.len = p->body.len;
    r.keep_alive = http_should_keep_alive(hp) && !hp->upgrade;
    r.content_length = (hp->flags & F_CONTENTLENGTH)
                           ? (int64_t)p->body.len
                           : ((hp->flags & F_CHUNKED) ? (int64_t)p->body.len
                                                      : -1);
    p->in_message = 0;
    if (hp->upgrade)
        p->upgraded = 1;
    int rc = p->cb.on_request(p->arg, &r);
    if (rc < 0)
        return h1_fail(p, 500, "request handler failed");
    if (rc == H1_PAUSE && !p->upgraded) {
        p->paused = 1;
        http_parser_pause(hp, 1);
    }
    return 0;
}

h1_parser *h1_parser_new(const h1_limits *lim, const h1_callbacks *cb,
                         void *arg)
{
    h1_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->lim = *lim;
    if (!p->lim.max_headers)
        p->lim.max_headers = 1024;
    p->cb = *cb;
    p->arg = arg;
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    http_parser_settings_init(&p->st);
    p->st.on_message_begin = h1_on_message_begin;
    p->st.on_url = h1_on_url;
    p->st.on_header_field = h1_on_header_field;
    p->st.on_header_value = h1_on_header_value;
    p->st.on_headers_complete = h1_on_headers_complete;
    p->st.on_body = h1_on_body;
    p->st.on_message_complete = h1_on_message_complete;
    return p;
}

void h1_parser_free(h1_parser *p)
{
    if (!p)
        return;
    srv_buf_free(&p->hdr);
    srv_buf_free(&p->body);
    free(p->ents);
    free(p->kv);
    free(p);
}

ssize_t h1_parser_feed(h1_parser *p, const void *data, size_t n)
{
    if (p->failed)
        return -1;
    if (p->upgraded)
        return (ssize_t)n;
    if (p->paused || n == 0)
        return 0;
    size_t done = http_parser_execute(&p->hp, &p->st, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (e == HPE_PAUSED)
        return (ssize_t)done;
    if (e != HPE_OK) {
        if (!p->status) {
            p->status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
            p->errtext = http_errno_description(e);
        }
        p->failed = 1;
        return -1;
    }
    if (p->upgraded)
        return (ssize_t)n;
    return (ssize_t)done;
}

int h1_parser_eof(h1_parser *p)
{
    if (p->failed)
        return -1;
    if (!p->in_message)
        return 0;
    p->failed = 1;
    if (!p->status) {
        p->status = 400;
        p->errtext = "connection closed mid-request";
    }
    return -1;
}

void h1_parser_resume(h1_parser *p)
{
    if (!p->paused)
        return;
    p->paused = 0;
    http_parser_pause(&p->hp, 0);
}

int h1_parser_paused(const h1_parser *p)
{
    return p->paused;
}

int h1_parser_error_status(const h1_parser *p)
{
    return p->failed ? (p->status ? p->status : 400) : 0;
}

const char *h1_parser_error_text(const h1_parser *p)
{
    return p->errtext ? p->errtext : "";
}

int h1_parser_mid_request(const h1_parser *p)
{
    return p->in_message;
}
