/* The meaning of a request head. Every rule here closes a way for two
 * parsers to disagree about where a request ends or whom it is for: one
 * Host, one framing (a final "chunked" or one Content-Length value), and an
 * absolute-form target whose authority overrides Host. */
#include "h1_head.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar, one bit per byte: names are checked byte by byte on the
 * request path. */
static const uint32_t h1_tchar_bits[8] = {
    0x00000000u, /* 0x00-0x1f: controls */
    0x03ff6cfau, /* 0x20-0x3f: ! # $ % & ' * + - . 0-9 */
    0xc7fffffeu, /* 0x40-0x5f: A-Z ^ _ */
    0x57ffffffu, /* 0x60-0x7f: ` a-z | ~ */
    0, 0, 0, 0,  /* 0x80-0xff */
};

int h1_is_tchar(unsigned char c)
{
    return (h1_tchar_bits[c >> 5] >> (c & 31)) & 1;
}

static int h1_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int h1_eq(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static int h1_ieq(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* uri-host [ ":" port ] from RFC 3986: reg-name, IPv4 or an IP-literal.
 * Userinfo is refused: "user@host" names a different host to a reader that
 * splits at the wrong '@'. */
static int h1_authority_ok(const char *s, size_t n, int need_port)
{
    size_t i = 0, host_end;
    if (n > 0 && s[0] == '[') {
        while (i < n && s[i] != ']') {
            char c = s[i];
            if (i > 0 && !(h1_is_digit(c) || (c >= 'a' && c <= 'f') ||
                           (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
                return 0;
            i++;
        }
        if (i == n || i < 2)
            return 0;
        host_end = ++i;
    } else {
        while (i < n && s[i] != ':') {
            unsigned char c = (unsigned char)s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  h1_is_digit((char)c) || strchr("-._~%!$&'()*+,;=", c)))
                return 0;
            i++;
        }
        host_end = i;
        if (host_end == 0)
            return 0;
    }
    if (i == n)
        return !need_port;
    if (s[i] != ':' || host_end != i)
        return 0;
    size_t digits = 0;
    for (i++; i < n; i++, digits++)
        if (!h1_is_digit(s[i]))
            return 0;
    return need_port ? digits > 0 : 1;
}

/* Reads the target's form (RFC 9112 section 3.2). */
static int h1_target(h1_head *h, const char **why)
{
    const char *t = h->target;
    size_t n = h->target_len;
    if (h->connect) {
        if (!h1_authority_ok(t, n, 1)) {
            *why = "CONNECT needs an authority-form target (host:port)";
            return 400;
        }
        h->origin = "";
        h->origin_len = 0;
        h->host = t;
        h->host_len = n;
        return 0;
    }
    if (t[0] == '/') {
        h->origin = t;
        h->origin_len = n;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (!h1_eq(h->method, h->method_len, "OPTIONS")) {
            *why = "asterisk-form target outside OPTIONS";
            return 400;
        }
        h->origin = t;
        h->origin_len = n;
        return 0;
    }
    /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
    const char *sep = memchr(t, ':', n);
    size_t sl = sep ? (size_t)(sep - t) : 0;
    if (!sep || n - sl < 3 || memcmp(sep, "://", 3) != 0) {
        *why = "invalid request target";
        return 400;
    }
    if (!h1_ieq(t, sl, "http") && !h1_ieq(t, sl, "https")) {
        *why = "request target with a scheme other than http or https";
        return 400;
    }
    const char *a = sep + 3, *end = t + n, *p = a;
    while (p < end && *p != '/' && *p != '?' && *p != '#')
        p++;
    if (memchr(a, '@', (size_t)(p - a))) {
        *why = "userinfo in the request target";
        return 400;
    }
    if (!h1_authority_ok(a, (size_t)(p - a), 0)) {
        *why = "invalid authority in the request target";
        return 400;
    }
    h->host = a;
    h->host_len = (size_t)(p - a);
    h->origin = p;
    h->origin_len = (size_t)(end - p);
    h->origin_slash = p == end || *p != '/';
    return 0;
}

int h1_head_line(h1_head *h, const char *line, size_t len, const char **why)
{
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    /* method SP request-target SP HTTP-version, one SP each: a reader that
     * splits on runs of whitespace would see other parts. */
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = NULL;
    for (const char *q = line + len; q > line; q--)
        if (q[-1] == ' ') {
            sp2 = q - 1;
            break;
        }
    if (!sp1 || sp1 == sp2) {
        *why = "malformed request line";
        return 400;
    }
    h->method = line;
    h->method_len = (size_t)(sp1 - line);
    h->target = sp1 + 1;
    h->target_len = (size_t)(sp2 - sp1 - 1);
    const char *v = sp2 + 1;
    size_t vl = (size_t)(line + len - v);
    if (h->method_len == 0) {
        *why = "empty method";
        return 400;
    }
    for (size_t i = 0; i < h->method_len; i++)
        if (!h1_is_tchar((unsigned char)line[i])) {
            *why = "invalid method";
            return 400;
        }
    if (h->target_len == 0 || memchr(h->target, ' ', h->target_len)) {
        *why = "invalid request target";
        return 400;
    }
    if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || !h1_is_digit(v[5]) ||
        v[6] != '.' || !h1_is_digit(v[7])) {
        *why = "invalid HTTP version";
        return 400;
    }
    if (v[5] != '1') {
        *why = "HTTP version not supported";
        return 505;
    }
    h->minor = v[7] - '0';
    h->connect = h1_eq(h->method, h->method_len, "CONNECT");
    return h1_target(h, why);
}

/* Walks a comma-separated list, skipping empty elements and OWS. */
typedef struct h1_list {
    const char *p, *end;
} h1_list;

static int h1_list_next(h1_list *l, const char **el, size_t *n)
{
    for (;;) {
        while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == ','))
            l->p++;
        if (l->p >= l->end)
            return 0;
        const char *s = l->p;
        while (l->p < l->end && *l->p != ',')
            l->p++;
        const char *e = l->p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            *el = s;
            *n = (size_t)(e - s);
            return 1;
        }
    }
}

/* Content-Length: every value of every line must be the same number (RFC
 * 9110 section 8.6); UINT64_MAX stands for "more than fits". */
static int h1_content_length(const pc_kv *f, int64_t *out, uint64_t *val,
                             const char **why)
{
    h1_list l = {f->value.ptr, f->value.ptr + f->value.len};
    const char *el;
    size_t n;
    int any = 0;
    while (h1_list_next(&l, &el, &n)) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!h1_is_digit(el[i])) {
                *why = "invalid Content-Length";
                return 400;
            }
            unsigned d = (unsigned)(el[i] - '0');
            v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        }
        if (*out >= 0 && *val != v) {
            *why = "Content-Length values differ";
            return 400;
        }
        *val = v;
        *out = 0;
        any = 1;
    }
    if (!any) {
        *why = "empty Content-Length";
        return 400;
    }
    return 0;
}

/* Transfer-Encoding: only a single final "chunked" is a length we can
 * trust (RFC 9112 section 6.3); other codings are not implemented. */
static int h1_transfer_encoding(const pc_kv *f, size_t n, int *n_chunked,
                                int *last_chunked, int *unknown,
                                const char **why)
{
    for (size_t i = 0; i < n; i++) {
        if (!h1_eq(f[i].key.ptr, f[i].key.len, "transfer-encoding"))
            continue;
        h1_list l = {f[i].value.ptr, f[i].value.ptr + f[i].value.len};
        const char *el;
        size_t len;
        int any = 0;
        while (h1_list_next(&l, &el, &len)) {
            size_t k = 0;
            while (k < len && h1_is_tchar((unsigned char)el[k]))
                k++;
            if (k == 0 || (k < len && el[k] != ';' && el[k] != ' ' &&
                           el[k] != '\t')) {
                *why = "invalid Transfer-Encoding";
                return 400;
            }
            int chunked = h1_ieq(el, k, "chunked");
            if (chunked && k < len) {
                *why = "chunked with parameters";
                return 400;
            }
            *n_chunked += chunked;
            *unknown |= !chunked;
            *last_chunked = chunked;
            any = 1;
        }
        if (!any) {
            *why = "empty Transfer-Encoding";
            return 400;
        }
    }
    return 0;
}

static void h1_connection(const pc_kv *f, int *close, int *ka)
{
    h1_list l = {f->value.ptr, f->value.ptr + f->value.len};
    const char *el;
    size_t n;
    while (h1_list_next(&l, &el, &n)) {
        if (h1_ieq(el, n, "close"))
            *close = 1;
        else if (h1_ieq(el, n, "keep-alive"))
            *ka = 1;
    }
}

int h1_head_fields(h1_head *h, const pc_kv *f, size_t n, uint64_t max_body,
                   const char **why)
{
    size_t n_host = 0, n_te = 0;
    const pc_kv *host = NULL;
    uint64_t cl = 0;
    int close = 0, ka = 0, rc;
    for (size_t i = 0; i < n; i++) {
        const char *k = f[i].key.ptr;
        size_t kl = f[i].key.len;
        if (h1_eq(k, kl, "host")) {
            n_host++;
            host = &f[i];
        } else if (h1_eq(k, kl, "content-length")) {
            if ((rc = h1_content_length(&f[i], &h->content_length, &cl, why)))
                return rc;
        } else if (h1_eq(k, kl, "transfer-encoding")) {
            n_te++;
        } else if (h1_eq(k, kl, "connection")) {
            h1_connection(&f[i], &close, &ka);
        } else if (h1_eq(k, kl, "expect")) {
            h->expect_continue =
                h1_ieq(f[i].value.ptr, f[i].value.len, "100-continue");
        }
    }
    /* RFC 9112 section 3.2: exactly one Host in HTTP/1.1, and a valid one
     * (it may be empty only when the target has no authority). */
    if (n_host > 1) {
        *why = "more than one Host header";
        return 400;
    }
    if (n_host == 0 && h->minor >= 1) {
        *why = "HTTP/1.1 request without Host";
        return 400;
    }
    if (host && host->value.len &&
        !h1_authority_ok(host->value.ptr, host->value.len, 0)) {
        *why = "invalid Host header";
        return 400;
    }
    if (!h->host && host) {
        h->host = host->value.ptr;
        h->host_len = host->value.len;
    }
    if (n_te) {
        if (h->content_length >= 0) {
            *why = "both Transfer-Encoding and Content-Length";
            return 400;
        }
        if (h->minor == 0) {
            *why = "Transfer-Encoding in an HTTP/1.0 request";
            return 400;
        }
        int n_chunked = 0, last_chunked = 0, unknown = 0;
        if ((rc = h1_transfer_encoding(f, n, &n_chunked, &last_chunked,
                                       &unknown, why)))
            return rc;
        if (!last_chunked) {
            *why = "Transfer-Encoding does not end in chunked";
            return 400;
        }
        if (n_chunked > 1) {
            *why = "chunked applied more than once";
            return 400;
        }
        if (unknown) {
            *why = "unsupported transfer coding";
            return 501;
        }
        h->chunked = 1;
    }
    if (h->content_length >= 0) {
        if (cl > max_body) {
            *why = "request body too large";
            return 413;
        }
        h->content_length = (int64_t)cl;
    }
    h->keep_alive = h->minor >= 1 ? !close : (ka && !close);
    if (h->connect)
        h->keep_alive = 0;
    return 0;
}
