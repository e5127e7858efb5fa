/* userinfo_cred.c - the access token of the request, taken where the
 * identity that verified it takes it (its `credentials`: the Authorization
 * header with a prefix, a custom header, a query parameter or a cookie),
 * read from the Authorization JSON the way the engine reads credentials
 * for identity evaluators. */
#include <stdlib.h>
#include <string.h>
#include "userinfo.h"
#include "util/str.h"

static const char *header(const pc_host *h, const pc_value *root, const char *lname)
{
    return h->value_string(h->value_get(h->value_get(h->value_get(root, "request"),
                                                     "headers"), lname), NULL);
}

/* The URL-decoded value of parameter `name` in the query of request.path,
 * as a string owned by ev. */
static const char *from_query(const pc_host *h, pc_eval *ev, const pc_value *root,
                              const char *name)
{
    const char *path = h->value_string(h->value_get(h->value_get(root, "request"), "path"),
                                       NULL);
    const char *q = path ? strchr(path, '?') : NULL;
    size_t nlen = strlen(name);
    for (const char *s = q ? q + 1 : NULL; s && *s;) {
        const char *end = s + strcspn(s, "&#");
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (eq && (size_t)(eq - s) == nlen && memcmp(s, name, nlen) == 0) {
            size_t n = (size_t)(end - eq - 1), o = 0;
            char *d = malloc(n + 1);
            if (!d)
                return NULL;
            for (const char *p = eq + 1; p < end; p++) {
                if (*p == '%' && p + 2 < end && str_hexval((unsigned char)p[1]) >= 0 &&
                    str_hexval((unsigned char)p[2]) >= 0) {
                    d[o++] = (char)(str_hexval((unsigned char)p[1]) * 16 +
                                    str_hexval((unsigned char)p[2]));
                    p += 2;
                } else {
                    d[o++] = *p == '+' ? ' ' : *p;
                }
            }
            pc_value *v = o ? h->value_new_string(ev, d, o) : NULL;
            memset(d, 0, n + 1);
            free(d);
            return v ? h->value_string(v, NULL) : NULL;
        }
        if (*end != '&')
            break;
        s = end + 1;
    }
    return NULL;
}

static const char *from_cookie(const pc_host *h, pc_eval *ev, const pc_value *root,
                               const char *name)
{
    const char *c = header(h, root, "cookie");
    size_t nlen = strlen(name);
    while (c && *c) {
        c += strspn(c, " ;,");
        const char *end = c + strcspn(c, ";");
        if ((size_t)(end - c) > nlen + 1 && memcmp(c, name, nlen) == 0 && c[nlen] == '=') {
            pc_value *v = h->value_new_string(ev, c + nlen + 1, (size_t)(end - c) - nlen - 1);
            return v ? h->value_string(v, NULL) : NULL;
        }
        c = end;
    }
    return NULL;
}

const char *ui_token(const ui_inst *in, pc_eval *ev)
{
    const pc_host *h = in->h;
    const pc_value *root = h->eval_root(ev);
    const char *v;
    switch (in->cred) {
    case UI_CRED_AUTH_HEADER: {
        /* "<prefix> <token>", the prefix matched exactly as Authorino does. */
        v = header(h, root, "authorization");
        size_t pl = strlen(in->cred_name);
        if (!v || (pl && (strncmp(v, in->cred_name, pl) != 0 || v[pl] != ' ')))
            return NULL;
        v += pl ? pl + 1 : 0;
        return *v ? v : NULL;
    }
    case UI_CRED_CUSTOM_HEADER:
        v = header(h, root, in->cred_name);
        return v && *v ? v : NULL;
    case UI_CRED_QUERY:
        return from_query(h, ev, root, in->cred_name);
    case UI_CRED_COOKIE:
        return from_cookie(h, ev, root, in->cred_name);
    }
    return NULL;
}
