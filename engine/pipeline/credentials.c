#include <string.h>
#include "credentials.h"
#include "util/str.h"

/* request.headers of the Authorization JSON (lowercase names). */
static const doc *headers_of(const doc *root)
{
    return doc_get(doc_get(root, "request", 7, NULL), "headers", 7, NULL);
}

static const char *header(const doc *root, const char *name)
{
    return doc_str(doc_getz(headers_of(root), name), NULL);
}

/* Header names in the Authorization JSON are lowercase; a configured
 * customHeader keeps its spelling. Names that do not fit the buffer are
 * matched by a scan ignoring case. */
static const char *header_ci(const doc *root, const char *name)
{
    char low[256];
    size_t n = strlen(name);
    if (n < sizeof low) {
        str_lower(low, name, n + 1);
        return header(root, low);
    }
    const doc *hdrs = headers_of(root);
    for (size_t i = 0; i < doc_len(hdrs); i++) {
        const doc_member *m = doc_member_at(hdrs, i);
        if (str_icmp(m->key, name) == 0)
            return doc_str(m->val, NULL);
    }
    return NULL;
}


/* URL-decodes in place; returns the new length. */
static size_t url_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && str_hexval((unsigned char)s[i + 1]) >= 0 &&
            str_hexval((unsigned char)s[i + 2]) >= 0) {
            s[o++] = (char)(str_hexval((unsigned char)s[i + 1]) * 16 +
                            str_hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '+') {
            s[o++] = ' ';
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

static int from_query(const char *name, const doc *root, reqctx *rq,
                      const char **out, size_t *len)
{
    const char *path = doc_str(doc_get(doc_get(root, "request", 7, NULL), "path", 4, NULL),
                               NULL);
    const char *q = path ? strchr(path, '?') : NULL;
    if (!q)
        return 0;
    size_t nlen = strlen(name);
    for (const char *s = q + 1; *s;) {
        const char *amp = strchr(s, '&');
        const char *hash = strchr(s, '#');
        const char *end = amp ? amp : s + strlen(s);
        if (hash && hash < end)
            end = hash;
        const char *eq = memchr(s, '=', (size_t)(end - s));
        size_t klen = eq ? (size_t)(eq - s) : (size_t)(end - s);
        if (klen == nlen && memcmp(s, name, nlen) == 0 && eq) {
            /* Decoded into the request's memory: it lives as long as root. */
            size_t raw = (size_t)(end - eq - 1);
            char *d = arena_alloc(&rq->mem, raw + 1);
            if (!d)
                return 0;
            memcpy(d, eq + 1, raw);
            size_t dl = url_decode(d, raw);
            d[dl] = '\0';
            *out = d;
            *len = dl;
            return dl > 0;
        }
        if (!amp || (hash && hash < amp))
            break;
        s = amp + 1;
    }
    return 0;
}

static int from_cookie(const char *name, const doc *root,
                       const char **out, size_t *len)
{
    const char *c = header(root, "cookie");
    size_t nlen = strlen(name);
    while (c && *c) {
        while (*c == ' ' || *c == ';' || *c == ',')
            c++;
        const char *end = strchr(c, ';');
        if (!end)
            end = c + strlen(c);
        if ((size_t)(end - c) > nlen && memcmp(c, name, nlen) == 0 && c[nlen] == '=') {
            *out = c + nlen + 1;
            *len = (size_t)(end - c) - nlen - 1;
            return *len > 0;
        }
        c = end;
    }
    return 0;
}

int cred_extract(const ac_eval *ev, const doc *root, reqctx *rq,
                 const char **out, size_t *len)
{
    const char *v;
    switch (ev->cred) {
    case CRED_AUTH_HEADER: {
        /* Authorino matches "<prefix> " exactly, case-sensitively. */
        v = header(root, "authorization");
        size_t pl = strlen(ev->cred_name);
        if (v && pl == 0) {
            *out = v;
            *len = strlen(v);
            return *len > 0;
        }
        if (!v || strncmp(v, ev->cred_name, pl) != 0 || v[pl] != ' ')
            return 0;
        *out = v + pl + 1;
        *len = strlen(*out);
        return *len > 0;
    }
    case CRED_CUSTOM_HEADER:
        v = header_ci(root, ev->cred_name);
        if (!v || !*v)
            return 0;
        *out = v;
        *len = strlen(v);
        return 1;
    case CRED_QUERY:
        return from_query(ev->cred_name, root, rq, out, len);
    case CRED_COOKIE:
        return from_cookie(ev->cred_name, root, out, len);
    }
    return 0;
}
