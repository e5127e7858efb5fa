/* doc_json.c - JSON text to doc nodes and back.
 *
 * The parser is strict RFC 8259 in one pass, iterative (an explicit stack of
 * at most DOC_MAX_DEPTH open containers), and allocates only from the
 * arena. Where RFC 8259 leaves the result open it does what json-c 0.16
 * does, so that values read the same as when json-c parsed them:
 *  - an escaped lone surrogate (\uD800 not followed by an escaped low
 *    surrogate, or a low one alone) becomes U+FFFD, as in json-c (and Go's
 *    encoding/json); raw UTF-8 must be valid (no overlong forms, no encoded
 *    surrogates, nothing past U+10FFFF) or the text is rejected;
 *  - duplicate keys: the last value wins, at the position of the first;
 *  - a number with a fraction or an exponent is a double that keeps its
 *    text, written back as it was (json-c's json_object_new_double_s);
 *  - an integer outside int64 is also a double keeping its text (json-c
 *    saturates those below INT64_MIN and keeps those up to UINT64_MAX as
 *    uint64, a type doc does not have; keeping the text writes all of them
 *    back as they came).
 * json-c in strict mode also accepts "1.", "-01", NaN, Infinity, single
 * quotes, raw control characters and malformed UTF-8 in strings; this parser
 * rejects them.
 *
 * The writer produces json-c's JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE text byte for byte. One difference: a key
 * with a NUL byte is written whole (json-c's keys are C strings and cannot
 * hold one). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "doc.h"
#include "util/buf.h"

typedef const unsigned char *cursor;

/* ---- scanning ---- */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t load8(cursor p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Non-zero when some byte of x is zero. */
static inline uint64_t has_zero(uint64_t x) { return (x - ONES) & ~x & HIGHS; }

/* Non-zero when some byte of x is '"', '\\' or below 0x20: the bytes a
 * string cannot hold as they are, in either direction. */
static inline uint64_t has_special(uint64_t x)
{
    return has_zero(x ^ (ONES * '"')) | has_zero(x ^ (ONES * '\\')) |
           ((x - ONES * 0x20) & ~x & HIGHS);
}

/* 1: '"', '\\' and control characters; 2: bytes from 0x80. */
static const unsigned char stop_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* The first byte at or after p that is '"', '\\', a control character or
 * (when stop_high) at or above 0x80; end when none. */
static inline cursor scan_plain(cursor p, cursor end, int stop_high)
{
#if defined(__SSE2__)
    /* 16 bytes at a time (x86-64 always has SSE2). As signed bytes, those
     * from 0x80 are below 0x20 too, which is what stop_high wants. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20), ctl = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i low = stop_high ? _mm_cmplt_epi8(x, space)
                                : _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                _mm_cmpeq_epi8(x, bslash)), low);
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    uint64_t high = stop_high ? HIGHS : 0;
    while (end - p >= 8) {
        /* Each test marks its first hit exactly (a borrow only runs up
         * from a hit), so the lowest mark is the first stop. */
        uint64_t x = load8(p), m = has_special(x) | (x & high);
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    unsigned char mask = stop_high ? 3 : 1;
    while (p < end && !(stop_class[*p] & mask))
        p++;
    return p;
}

static inline cursor skip_ws(cursor p, cursor end)
{
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* ---- errors ---- */

typedef struct {
    struct arena *a;
    cursor start, end;
    char *err;
    size_t errlen;
} parser;

static int fail(parser *ps, cursor at, const char *fmt, ...) PC_PRINTF(3, 4);
static int fail(parser *ps, cursor at, const char *fmt, ...)
{
    if (!ps->err || !ps->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < ps->errlen)
        snprintf(ps->err + n, ps->errlen - (size_t)n, " at offset %zu",
                 (size_t)(at - ps->start));
    return -1;
}

/* "unexpected ..." for the byte at `at` (or the end). */
static int fail_char(parser *ps, cursor at, const char *what)
{
    if (at >= ps->end)
        return fail(ps, at, "unexpected end of input%s", what);
    if (*at > 0x20 && *at < 0x7f)
        return fail(ps, at, "unexpected character '%c'%s", *at, what);
    return fail(ps, at, "unexpected byte 0x%02x%s", *at, what);
}

static int fail_mem(parser *ps, cursor at)
{
    return fail(ps, at, "out of memory (or past the arena's limit)");
}

/* ---- strings ---- */

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The code unit of the 4 hex digits at p (p + 4 <= lim), or -1. */
static long hex4(cursor p)
{
    long u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        u = u << 4 | h;
    }
    return u;
}

static unsigned char *put_utf8(unsigned char *o, unsigned long u)
{
    if (u < 0x80) {
        *o++ = (unsigned char)u;
    } else if (u < 0x800) {
        *o++ = (unsigned char)(0xc0 | u >> 6);
        *o++ = (unsigned char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        *o++ = (unsigned char)(0xe0 | u >> 12);
        *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
        *o++ = (unsigned char)(0x80 | (u & 0x3f));
    } else {
        *o++ = (unsigned char)(0xf0 | u >> 18);
        *o++ = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
        *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
        *o++ = (unsigned char)(0x80 | (u & 0x3f));
    }
    return o;
}

/* The length of the valid UTF-8 sequence starting at p (its lead byte is
 * >= 0x80) before lim, or 0 (RFC 3629's table: no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static size_t utf8_len(cursor p, cursor lim)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if ((size_t)(lim - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Decodes the escapes and checks the UTF-8 of the string body [p, lim)
 * (lim is its closing quote) into o, which has room for lim - p bytes: no
 * escape decodes longer than it is written. Returns the end of the output,
 * or NULL after setting the error. */
static unsigned char *decode(parser *ps, cursor p, cursor lim, unsigned char *o)
{
    static const unsigned char fffd[3] = {0xef, 0xbf, 0xbd};
    while (p < lim) {
        cursor q = scan_plain(p, lim, 1);
        if (q > p) {
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
            p = q;
            if (p == lim)
                break;
        }
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t n = utf8_len(p, lim);
            if (!n) {
                fail(ps, p, "invalid UTF-8 in string");
                return NULL;
            }
            memcpy(o, p, n);
            o += n;
            p += n;
            continue;
        }
        if (c < 0x20) {
            fail(ps, p, "control character 0x%02x in string", c);
            return NULL;
        }
        /* c == '\\' (a '"' before lim cannot be: lim is the first unescaped one) */
        cursor esc = p++;
        switch (p < lim ? *p : 0) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            long u = lim - p >= 5 ? hex4(p + 1) : -1;
            if (u < 0) {
                fail(ps, esc, "invalid \\u escape in string");
                return NULL;
            }
            p += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                /* a pair only when an escaped low surrogate follows */
                long lo = lim - p >= 7 && p[1] == '\\' && p[2] == 'u' ? hex4(p + 3) : -1;
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                    o = put_utf8(o, (unsigned long)u);
                } else {
                    memcpy(o, fffd, 3);
                    o += 3;
                }
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                memcpy(o, fffd, 3);
                o += 3;
            } else {
                o = put_utf8(o, (unsigned long)u);
            }
            break;
        }
        default:
            if (p < lim && *p > 0x20 && *p < 0x7f)
                fail(ps, esc, "invalid escape '\\%c' in string", *p);
            else
                fail(ps, esc, "invalid escape in string");
            return NULL;
        }
        p++;
    }
    return o;
}

/* parse_str past the first byte (r) that is not plain: escapes, UTF-8,
 * or an error. */
static __attribute__((noinline)) cursor parse_str_slow(parser *ps, cursor q, cursor r,
                                                       const char **s, uint32_t *n)
{
    cursor p = q + 1, end = ps->end;
    /* Find the closing quote, then decode into room for the raw length. */
    while (r < end && *r != '"') {
        /* an escape's second byte is never the end; control characters
         * and bad UTF-8 are reported by decode */
        r += *r == '\\' && end - r > 1 ? 2 : 1;
        r = scan_plain(r, end, 0);
    }
    if (r >= end) {
        fail(ps, q, "unterminated string");
        return NULL;
    }
    if ((size_t)(r - p) > UINT32_MAX - 1) {
        fail(ps, q, "string too long");
        return NULL;
    }
    unsigned char *d = arena_alloc(ps->a, (size_t)(r - p) + 1);
    if (!d) {
        fail_mem(ps, q);
        return NULL;
    }
    unsigned char *e = decode(ps, p, r, d);
    if (!e)
        return NULL;
    *e = '\0';
    *s = (const char *)d;
    *n = (uint32_t)(e - d);
    return r + 1;
}

/* The string whose opening quote is at q: its bytes, NUL-terminated, in the
 * arena. Returns the position after the closing quote, or NULL. */
static inline cursor parse_str(parser *ps, cursor q, const char **s, uint32_t *n)
{
    cursor p = q + 1, end = ps->end;
    /* The common case: nothing to decode or check. */
    cursor r = scan_plain(p, end, 1);
    if (r == end || *r != '"' || (size_t)(r - p) > UINT32_MAX - 1)
        return parse_str_slow(ps, q, r, s, n);
    size_t len = (size_t)(r - p);
    char *d = arena_alloc(ps->a, len + 1);
    if (!d) {
        fail_mem(ps, q);
        return NULL;
    }
    memcpy(d, p, len);
    d[len] = '\0';
    *s = d;
    *n = (uint32_t)len;
    return r + 1;
}

/* ---- numbers and literals ---- */

/* The value of the number text [s, e) (already checked against the
 * grammar) when it is exact in one IEEE operation: at most 19 significant
 * digits making at most 2^53, times or divided by a power of ten up to
 * 10^22, both exact, so the one rounding is the correct one (Clinger's fast
 * path). 0 when strtod must do it. */
static int fast_double(cursor s, cursor e, double *out)
{
#if FLT_EVAL_METHOD == 0
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int neg = *s == '-', nd = 0, e10 = 0;
    uint64_t m = 0;
    s += neg;
    for (int frac = 0; s < e; s++) {
        if (*s == '.') {
            frac = 1;
            continue;
        }
        if (*s == 'e' || *s == 'E')
            break;
        if (m || *s != '0') {
            if (++nd > 19)
                return 0;
            m = m * 10 + (unsigned)(*s - '0');
        }
        e10 -= frac;
    }
    if (s < e) {
        int eneg = 0, x = 0;
        if (*++s == '+' || *s == '-')
            eneg = *s++ == '-';
        for (; s < e; s++)
            if ((x = x * 10 + (*s - '0')) > 1000)
                return 0;
        e10 += eneg ? -x : x;
    }
    if (m > (1ull << 53))
        return 0;
    double d = (double)m;
    if (m && e10 < 0) {
        if (e10 < -22)
            return 0;
        d /= p10[-e10];
    } else if (m) {
        if (e10 > 22)
            return 0;
        d *= p10[e10];
    }
    *out = neg ? -d : d;
    return 1;
#else
    (void)s, (void)e, (void)out;
    return 0;
#endif
}

static cursor parse_num(parser *ps, cursor q, const doc **v)
{
    cursor p = q, end = ps->end;
    int neg = 0, big = 0, dbl = 0;
    uint64_t u = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            fail(ps, p - 1, "leading zero in number");
            return NULL;
        }
    } else if (p < end && *p >= '1' && *p <= '9') {
        /* |INT64_MIN| = 9223372036854775808: past that, or past INT64_MAX
         * for a positive one, the integer is kept as a double. */
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = *p - '0';
            if (big)
                continue;
            if (u > 922337203685477580ull || (u == 922337203685477580ull && d > 7u + (unsigned)neg))
                big = 1;
            else
                u = u * 10 + d;
        }
    } else {
        fail_char(ps, p, " (a digit expected)");
        return NULL;
    }
    if (p < end && *p == '.') {
        dbl = 1;
        if (++p >= end || *p < '0' || *p > '9') {
            fail_char(ps, p, " (a digit expected)");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        dbl = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            fail_char(ps, p, " (a digit expected)");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    doc *d;
    if (!dbl && !big) {
        d = doc_new_int(ps->a, neg ? (int64_t)(0 - u) : (int64_t)u);
    } else {
        size_t len = (size_t)(p - q);
        char *t = arena_alloc(ps->a, len + 1);
        if (!t) {
            fail_mem(ps, q);
            return NULL;
        }
        memcpy(t, q, len);
        t[len] = '\0';
        /* The grammar above is a subset of strtod's (in the C locale the
         * server runs in), so it reads the whole text. */
        double x;
        if (!fast_double(q, p, &x))
            x = strtod(t, NULL);
        d = doc_new_double(ps->a, x);
        if (d)
            d->aux.text = t;
    }
    if (!d) {
        fail_mem(ps, q);
        return NULL;
    }
    *v = d;
    return p;
}

/* The literal word (true, false, null) at q. */
static cursor parse_word(parser *ps, cursor q, const char *word, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (q + i >= ps->end || q[i] != (unsigned char)word[i]) {
            fail_char(ps, q + i, "");
            return NULL;
        }
    return q + n;
}

/* ---- the parser ---- */

/* Whether obj may hold a key twice, so that doc_dedupe has work: a small
 * object (no index to keep) whose keys' hashes all differ has none. */
static int may_repeat(const doc *obj)
{
    if (obj->n > DOC_INDEX_MIN)
        return 1;
    for (uint32_t i = 1; i < obj->n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (obj->u.members[i].hash == obj->u.members[j].hash)
                return 1;
    return 0;
}

typedef struct {
    doc *c;          /* the open array or object */
    const char *key; /* object: the key of the member being read */
    uint32_t klen, hash;
} frame;

int doc_parse(struct arena *a, const char *text, size_t len, const doc **out, char *err,
              size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    cursor p = (cursor)text, end = p + len;
    parser ps = {a, p, end, err, errlen};
    frame st[DOC_MAX_DEPTH];
    int depth = 0;
    const doc *v = NULL;
    frame *f;

value:
    p = skip_ws(p, end);
    if (p == end)
        return fail_char(&ps, p, "");
    switch (*p) {
    case '{':
    case '[': {
        if (depth == DOC_MAX_DEPTH)
            return fail(&ps, p, "nesting deeper than %d", DOC_MAX_DEPTH);
        int obj = *p == '{';
        doc *c = obj ? doc_new_object(a, 0) : doc_new_array(a, 0);
        if (!c)
            return fail_mem(&ps, p);
        p = skip_ws(p + 1, end);
        if (p < end && *p == (obj ? '}' : ']')) {
            p++;
            v = c;
            break;
        }
        f = &st[depth++];
        f->c = c;
        if (obj)
            goto key;
        goto value;
    }
    case '"': {
        const char *s;
        uint32_t n;
        cursor q = p;
        if (!(p = parse_str(&ps, q, &s, &n)))
            return -1;
        if (!(v = doc_new_str_ref(a, s, n)))
            return fail_mem(&ps, q);
        break;
    }
    case 't':
        if (!(p = parse_word(&ps, p, "true", 4)))
            return -1;
        if (!(v = doc_new_bool(a, 1)))
            return fail_mem(&ps, p);
        break;
    case 'f':
        if (!(p = parse_word(&ps, p, "false", 5)))
            return -1;
        if (!(v = doc_new_bool(a, 0)))
            return fail_mem(&ps, p);
        break;
    case 'n':
        if (!(p = parse_word(&ps, p, "null", 4)))
            return -1;
        v = NULL;
        break;
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            if (!(p = parse_num(&ps, p, &v)))
                return -1;
            break;
        }
        return fail_char(&ps, p, "");
    }

done: /* v is complete; p is just after it */
    if (depth == 0) {
        p = skip_ws(p, end);
        if (p != end)
            return fail_char(&ps, p, " after the value");
        *out = v;
        return 0;
    }
    f = &st[depth - 1];
    if (f->c->type == DOC_ARRAY) {
        if (doc_append(a, f->c, v))
            return fail_mem(&ps, p);
    } else if (doc_add_new(a, f->c, f->key, f->klen, f->hash, 0, v)) {
        return fail_mem(&ps, p);
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        if (f->c->type == DOC_ARRAY)
            goto value;
        goto key;
    }
    if (p < end && *p == (f->c->type == DOC_ARRAY ? ']' : '}')) {
        p++;
        if (f->c->type == DOC_OBJECT && may_repeat(f->c) && doc_dedupe(a, f->c))
            return fail_mem(&ps, p);
        v = f->c;
        depth--;
        goto done;
    }
    return fail_char(&ps, p, f->c->type == DOC_ARRAY ? " (',' or ']' expected)"
                                                     : " (',' or '}' expected)");

key: /* f is the open object; p is at its next key (white space skipped) */
    if (p >= end || *p != '"')
        return fail_char(&ps, p, " (a quoted key expected)");
    if (!(p = parse_str(&ps, p, &f->key, &f->klen)))
        return -1;
    f->hash = doc_hash(f->key, f->klen);
    p = skip_ws(p, end);
    if (p >= end || *p != ':')
        return fail_char(&ps, p, " (':' expected)");
    p++;
    goto value;
}

/* ---- the writer ---- */

/* Output, through dst[0..cap): a staging area flushed to a buf, a
 * staging area only counted (b NULL, counting), or the exact memory the
 * text goes to (neither; it never fills). */
typedef struct {
    char *dst;
    size_t len, cap;
    buf *b;
    int counting;
    size_t counted; /* counting: bytes flushed */
    int failed;
} out;

static void flush(out *o)
{
    if (o->b) {
        if (o->len && buf_append(o->b, o->dst, o->len))
            o->failed = 1;
    } else if (o->counting) {
        o->counted += o->len;
    } else {
        o->failed = 1; /* exact memory: the count was wrong (cannot happen) */
        return;
    }
    o->len = 0;
}

static void put_slow(out *o, const char *s, size_t n)
{
    flush(o);
    if (o->failed)
        return;
    if (n >= o->cap) {
        if (o->b && buf_append(o->b, s, n))
            o->failed = 1;
        o->counted += n;
        return;
    }
    memcpy(o->dst, s, n);
    o->len = n;
}

static inline void put(out *o, const char *s, size_t n)
{
    if (o->cap - o->len < n) {
        put_slow(o, s, n);
        return;
    }
    memcpy(o->dst + o->len, s, n);
    o->len += n;
}

static inline void putc1(out *o, char c)
{
    if (o->cap == o->len) {
        put_slow(o, &c, 1);
        return;
    }
    o->dst[o->len++] = c;
}

static void put_str(out *o, const char *str, size_t n)
{
    /* json-c's escapes; other control characters as \u00XX with json-c's
     * lowercase hex. */
    static const char hex[] = "0123456789abcdef";
    cursor s = (cursor)str, e = s + n;
    cursor r = scan_plain(s, e, 0);
    if (r == e && o->cap - o->len >= n + 2) { /* nothing to escape, and room */
        char *d = o->dst + o->len;
        d[0] = '"';
        memcpy(d + 1, str, n);
        d[n + 1] = '"';
        o->len += n + 2;
        return;
    }
    putc1(o, '"');
    for (;; r = scan_plain(s, e, 0)) {
        if (r > s)
            put(o, (const char *)s, (size_t)(r - s));
        if (r == e)
            break;
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t k = 2;
        switch (*r) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex[*r >> 4];
            esc[5] = hex[*r & 0xf];
            k = 6;
        }
        put(o, esc, k);
        s = r + 1;
    }
    putc1(o, '"');
}

static void put_int(out *o, int64_t i)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--p = '-';
    put(o, p, (size_t)(tmp + sizeof tmp - p));
}

/* json_object_double_to_json_string_format with json-c's default format. */
static void put_double(out *o, double d)
{
    char tmp[64];
    int n;
    if (isnan(d))
        n = snprintf(tmp, sizeof tmp, "NaN");
    else if (isinf(d))
        n = snprintf(tmp, sizeof tmp, d > 0 ? "Infinity" : "-Infinity");
    else {
        n = snprintf(tmp, sizeof tmp, "%.17g", d);
        if (n < 0 || (size_t)n >= sizeof tmp - 2) {
            o->failed = 1;
            return;
        }
        char *comma = strchr(tmp, ','); /* a locale's decimal comma */
        if (comma)
            *comma = '.';
        int digit = (tmp[0] >= '0' && tmp[0] <= '9') ||
                    (tmp[0] == '-' && tmp[1] >= '0' && tmp[1] <= '9');
        if (digit && !strchr(tmp, '.') && !strchr(tmp, 'e')) {
            memcpy(tmp + n, ".0", 3);
            n += 2;
        }
    }
    put(o, tmp, (size_t)n);
}

static int put_value(out *o, const doc *v, int depth)
{
    if (!v) {
        put(o, "null", 4);
        return 0;
    }
    if (depth > DOC_MAX_DEPTH)
        return -1;
    switch (v->type) {
    case DOC_BOOL:
        if (v->u.b)
            put(o, "true", 4);
        else
            put(o, "false", 5);
        break;
    case DOC_INT: put_int(o, v->u.i); break;
    case DOC_DOUBLE:
        if (v->aux.text)
            put(o, v->aux.text, strlen(v->aux.text));
        else
            put_double(o, v->u.d);
        break;
    case DOC_STRING: put_str(o, v->u.s, v->n); break;
    case DOC_ARRAY:
        putc1(o, '[');
        for (uint32_t i = 0; i < v->n; i++) {
            if (i)
                putc1(o, ',');
            if (put_value(o, v->u.items[i], depth + 1))
                return -1;
        }
        putc1(o, ']');
        break;
    case DOC_OBJECT:
        putc1(o, '{');
        for (uint32_t i = 0; i < v->n; i++) {
            const doc_member *m = &v->u.members[i];
            if (i)
                putc1(o, ',');
            put_str(o, m->key, m->klen);
            putc1(o, ':');
            if (put_value(o, m->val, depth + 1))
                return -1;
        }
        putc1(o, '}');
        break;
    default: return -1;
    }
    return o->failed ? -1 : 0;
}

int doc_to_json(struct buf *b, const doc *v)
{
    char stage[2048];
    size_t was = b->len;
    out o = {.dst = stage, .cap = sizeof stage, .b = b, .failed = b->failed};
    int rc = put_value(&o, v, 0);
    if (rc == 0)
        flush(&o);
    if (rc == 0 && !o.failed && !b->failed)
        return 0;
    if (!b->failed && b->data) { /* too deep: take back what was flushed */
        b->len = was;
        b->data[was] = '\0';
    }
    return -1;
}

const char *doc_to_json_arena(struct arena *a, const doc *v, size_t *len)
{
    /* Counted first, so the text is written once into memory of its size. */
    char stage[2048];
    out o = {.dst = stage, .cap = sizeof stage, .counting = 1};
    if (put_value(&o, v, 0))
        return NULL;
    size_t n = o.counted + o.len;
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    o = (out){.dst = p, .cap = n};
    if (put_value(&o, v, 0) || o.len != n)
        return NULL;
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}
