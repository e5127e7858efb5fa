/* cel_strings.c - the strings extension (cel-go ext.Strings, as Authorino
 * enables it): charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace,
 * split, substring, trim, join, reverse, strings.quote (format is cel_format.c).
 * Indexes count code points, not bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"
#include "util/str.h"

#define NOV(c, name, v) cel_errv(c, "no such overload: %s.%s", cel_type_name(v), name)

/* byte offset of code point i (i <= count) */
static size_t cp_off(const char *s, size_t n, size_t i)
{
    size_t p = 0;
    while (p < n && i) {
        p++;
        while (p < n && ((unsigned char)s[p] & 0xC0) == 0x80) p++;
        i--;
    }
    return p;
}

static int int_arg(cel_value v, int64_t *out)
{
    if (v.kind != CEL_INT) return -1;
    *out = v.u.i;
    return 0;
}

static cel_value f_char_at(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    int64_t i;
    if (a[0].kind != CEL_STRING || int_arg(a[1], &i)) return NOV(c, "charAt", a[0]);
    size_t len = cel_utf8_count(a[0].u.s, a[0].n);
    if (i < 0 || (uint64_t)i > len) return cel_errv(c, "index out of range: %lld", (long long)i);
    size_t p = cp_off(a[0].u.s, a[0].n, (size_t)i), q = cp_off(a[0].u.s, a[0].n, (size_t)i + 1);
    return cel_str(a[0].u.s + p, q - p);
}

static cel_value index_of(cel_ctx *c, cel_value *a, int na, int last)
{
    const char *name = last ? "lastIndexOf" : "indexOf";
    if (a[0].kind != CEL_STRING || a[1].kind != CEL_STRING) return NOV(c, name, a[0]);
    const char *s = a[0].u.s, *t = a[1].u.s;
    size_t n = a[0].n, m = a[1].n, len = cel_utf8_count(s, n);
    int64_t from = last ? (int64_t)len : 0;
    if (na == 3 && int_arg(a[2], &from)) return NOV(c, name, a[0]);
    if (from < 0 || (uint64_t)from > len) return cel_errv(c, "index out of range: %lld", (long long)from);
    if (!m) return cel_int(from);
    size_t start = last ? 0 : cp_off(s, n, (size_t)from);
    if (!last) { /* memmem is linear; a match of valid UTF-8 starts on a code point */
        c->steps += n / 64;
        const char *hit = start < n ? memmem(s + start, n - start, t, m) : NULL;
        if (!hit) return cel_int(-1);
        return cel_int(from + (int64_t)cel_utf8_count(s + start, (size_t)(hit - (s + start))));
    }
    /* the last match starting at or before code point `from`: a backward scan, whose
     * worst case (n * m) is charged before it runs */
    c->steps += (uint64_t)(n / 64 + 1) * (m / 16 + 1);
    if (c->steps > c->max_steps) return cel_errv(c, "evaluation cost limit exceeded: steps");
    size_t limit = cp_off(s, n, (size_t)from);
    if (m > n) return cel_int(-1);
    for (size_t p = limit + m > n ? n - m : limit;; p--) {
        if (!memcmp(s + p, t, m)) return cel_int((int64_t)cel_utf8_count(s, p));
        if (p == 0) break;
    }
    return cel_int(-1);
}

static cel_value f_index_of(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    return index_of(c, a, na, 0);
}

static cel_value f_last_index_of(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    return index_of(c, a, na, 1);
}

static cel_value change_case(cel_ctx *c, cel_value *a, int upper)
{
    if (a[0].kind != CEL_STRING) return NOV(c, upper ? "upperAscii" : "lowerAscii", a[0]);
    cel_value v = cel_str_dup(c, CEL_STRING, a[0].u.s, a[0].n);
    if (cel_is_err(v)) return v;
    char *s = (char *)v.u.s;
    if (upper) str_upper(s, s, v.n);
    else str_lower(s, s, v.n);
    return v;
}

static cel_value f_lower(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    return change_case(c, a, 0);
}

static cel_value f_upper(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    return change_case(c, a, 1);
}

static cel_value f_replace(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    int64_t limit = -1;
    if (a[0].kind != CEL_STRING || a[1].kind != CEL_STRING || a[2].kind != CEL_STRING ||
        (na == 4 && int_arg(a[3], &limit)))
        return NOV(c, "replace", a[0]);
    const char *s = a[0].u.s, *old = a[1].u.s;
    size_t len = a[0].n, on = a[1].n;
    cel_sbuf b = {c, NULL, 0, 0, 0};
    size_t p = 0;
    int64_t done = 0;
    while (p <= len && (limit < 0 || done < limit)) {
        const char *hit;
        if (on == 0) {
            hit = s + p; /* an empty pattern matches before every code point and at the end */
        } else {
            hit = p < len ? memmem(s + p, len - p, old, on) : NULL;
            if (!hit) break;
        }
        cel_sb_put(&b, s + p, (size_t)(hit - (s + p)));
        cel_sb_put(&b, a[2].u.s, a[2].n);
        done++;
        p = (size_t)(hit - s) + on;
        if (on == 0) {
            if (p >= len) {
                p = len + 1;
                break;
            }
            size_t q = p + 1;
            while (q < len && ((unsigned char)s[q] & 0xC0) == 0x80) q++;
            cel_sb_put(&b, s + p, q - p);
            p = q;
        }
    }
    if (p < len) cel_sb_put(&b, s + p, len - p);
    return cel_sb_done(&b);
}

static cel_value f_split(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    int64_t limit = -1;
    if (a[0].kind != CEL_STRING || a[1].kind != CEL_STRING || (na == 3 && int_arg(a[2], &limit)))
        return NOV(c, "split", a[0]);
    const char *s = a[0].u.s, *sep = a[1].u.s;
    size_t len = a[0].n, sn = a[1].n;
    size_t max = cel_utf8_count(s, len) + 1;
    if (limit == 0) {
        cel_value l = {CEL_LIST, 0, 0, {.l = NULL}};
        return l;
    }
    cel_value *e = cel_alloc(c->a, max * sizeof *e);
    if (!e) return cel_nomem(c);
    uint32_t k = 0;
    size_t p = 0;
    c->steps += len / 32;
    if (sn == 0) {
        while (p < len) {
            size_t q = p + 1;
            while (q < len && ((unsigned char)s[q] & 0xC0) == 0x80) q++;
            if (limit > 0 && k + 1 == (uint64_t)limit) q = len;
            e[k++] = cel_str(s + p, q - p);
            p = q;
        }
    } else {
        for (;;) {
            const char *hit = (limit < 0 || k + 1 < (uint64_t)limit) && p <= len
                                  ? memmem(s + p, len - p, sep, sn) : NULL;
            if (!hit) {
                e[k++] = cel_str(s + p, len - p);
                break;
            }
            e[k++] = cel_str(s + p, (size_t)(hit - (s + p)));
            p = (size_t)(hit - s) + sn;
        }
    }
    cel_value l = {CEL_LIST, 0, k, {.l = e}};
    return l;
}

static cel_value f_substring(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    int64_t from, to;
    if (a[0].kind != CEL_STRING || int_arg(a[1], &from)) return NOV(c, "substring", a[0]);
    size_t len = cel_utf8_count(a[0].u.s, a[0].n);
    to = (int64_t)len;
    if (na == 3 && int_arg(a[2], &to)) return NOV(c, "substring", a[0]);
    if (from < 0 || (uint64_t)from > len) return cel_errv(c, "index out of range: %lld", (long long)from);
    if (to < 0 || (uint64_t)to > len) return cel_errv(c, "index out of range: %lld", (long long)to);
    if (from > to) return cel_errv(c, "invalid substring range. start: %lld, end: %lld", (long long)from, (long long)to);
    size_t p = cp_off(a[0].u.s, a[0].n, (size_t)from), q = cp_off(a[0].u.s, a[0].n, (size_t)to);
    return cel_str(a[0].u.s + p, q - p);
}

/* Unicode White_Space, as Go's strings.TrimSpace */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (n && (s[0] == ' ' || (s[0] >= 9 && s[0] <= 13))) return 1;
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0)) return 2;
    if (n >= 3 && s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) return 3;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
        return 3;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) return 3;
    if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) return 3;
    return 0;
}

static cel_value f_trim(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_STRING) return NOV(c, "trim", a[0]);
    const unsigned char *s = (const unsigned char *)a[0].u.s;
    size_t p = 0, q = a[0].n, k;
    while (p < q && (k = space_at(s + p, q - p))) p += k;
    while (q > p) {
        size_t b = q - 1;
        while (b > p && (s[b] & 0xC0) == 0x80) b--;
        if (space_at(s + b, q - b) != q - b) break;
        q = b;
    }
    return cel_str(a[0].u.s + p, q - p);
}

static cel_value f_join(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n;
    if (a[0].kind != CEL_LIST || (na == 2 && a[1].kind != CEL_STRING)) return NOV(c, "join", a[0]);
    cel_sbuf b = {c, NULL, 0, 0, 0};
    size_t len = cel_list_len(c, a[0]);
    for (size_t i = 0; i < len; i++) {
        cel_value e = cel_list_get(c, a[0], i);
        if (e.kind != CEL_STRING) return cel_errv(c, "join: list element is %s, not string", cel_type_name(e));
        if (i && na == 2) cel_sb_put(&b, a[1].u.s, a[1].n);
        cel_sb_put(&b, e.u.s, e.n);
    }
    return cel_sb_done(&b);
}

static cel_value f_reverse(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_STRING) return NOV(c, "reverse", a[0]);
    char *o = cel_alloc(c->a, a[0].n + 1);
    if (!o) return cel_nomem(c);
    const char *s = a[0].u.s;
    size_t q = a[0].n, w = 0;
    while (q > 0) {
        size_t b = q - 1;
        while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
        memcpy(o + w, s + b, q - b);
        w += q - b;
        q = b;
    }
    o[w] = '\0';
    return cel_str(o, w);
}

static void quote_into(cel_sbuf *b, const char *s, size_t n)
{
    cel_sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *e = NULL;
        switch (ch) {
        case '\a': e = "\\a"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\v': e = "\\v"; break;
        case '\\': e = "\\\\"; break;
        case '"': e = "\\\""; break;
        }
        if (e) cel_sb_put(b, e, 2);
        else cel_sb_put(b, s + i, 1);
    }
    cel_sb_put(b, "\"", 1);
}

static cel_value f_quote(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_STRING) return cel_errv(c, "no such overload: strings.quote(%s)", cel_type_name(a[0]));
    cel_sbuf b = {c, NULL, 0, 0, 0};
    quote_into(&b, a[0].u.s, a[0].n);
    return cel_sb_done(&b);
}

const cel_fdef cel_strings_fns[] = {
    {"charAt", -1, -1, 2, 2, f_char_at},
    {"indexOf", -1, -1, 2, 3, f_index_of},
    {"lastIndexOf", -1, -1, 2, 3, f_last_index_of},
    {"lowerAscii", -1, -1, 1, 1, f_lower},
    {"upperAscii", -1, -1, 1, 1, f_upper},
    {"replace", -1, -1, 3, 4, f_replace},
    {"split", -1, -1, 2, 3, f_split},
    {"substring", -1, -1, 2, 3, f_substring},
    {"trim", -1, -1, 1, 1, f_trim},
    {"join", -1, -1, 1, 2, f_join},
    {"reverse", -1, -1, 1, 1, f_reverse},
    {"strings.quote", 1, 1, -1, -1, f_quote},
    {NULL, 0, 0, 0, 0, NULL}};
