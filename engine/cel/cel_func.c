/* cel_func.c - the standard functions (size, contains, startsWith, endsWith,
 * matches, conversions, type, dyn), and the one table through which the checker
 * finds every function by name. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"

#define NOV(c, name, v) cel_errv(c, "no such overload: %s(%s)", name, cel_type_name(v))

size_t cel_utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t cel_fmt_double(char *out, size_t cap, double d)
{
    if (isnan(d)) return (size_t)snprintf(out, cap, "NaN");
    if (isinf(d)) return (size_t)snprintf(out, cap, d > 0 ? "+Inf" : "-Inf");
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
    /* Go writes exponents with at least two digits, as C does: 1e+06 */
    return (size_t)n;
}

static cel_value f_size(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    switch (a[0].kind) {
    case CEL_STRING: return cel_int((int64_t)cel_utf8_count(a[0].u.s, a[0].n));
    case CEL_BYTES: return cel_int(a[0].n);
    case CEL_LIST: return cel_int((int64_t)cel_list_len(c, a[0]));
    case CEL_MAP: return cel_int((int64_t)cel_map_len(c, a[0]));
    default: return NOV(c, "size", a[0]);
    }
}

static int two_strings(cel_value *a) { return a[0].kind == CEL_STRING && a[1].kind == CEL_STRING; }

static cel_value f_contains(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (!two_strings(a)) return NOV(c, "contains", a[0]);
    if (!a[1].n) return cel_bool(1);
    c->steps += a[0].n / 64;
    return cel_bool(a[0].n >= a[1].n && memmem(a[0].u.s, a[0].n, a[1].u.s, a[1].n) != NULL);
}

static cel_value f_starts(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (!two_strings(a)) return NOV(c, "startsWith", a[0]);
    return cel_bool(a[0].n >= a[1].n && cel_mem_eq(a[0].u.s, a[1].u.s, a[1].n));
}

static cel_value f_ends(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (!two_strings(a)) return NOV(c, "endsWith", a[0]);
    return cel_bool(a[0].n >= a[1].n && cel_mem_eq(a[0].u.s + a[0].n - a[1].n, a[1].u.s, a[1].n));
}

static cel_value f_matches(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)na;
    if (!two_strings(a)) return NOV(c, "matches", a[0]);
    void *re = n->re;
    if (!re) {
        /* a pattern computed at run time: checked and compiled for this call */
        char msg[128];
        if (!(re = cel_re_compile(a[1].u.s, a[1].n, msg, sizeof msg)))
            return cel_errv(c, "invalid regular expression: %s", msg);
        c->steps += 100 + a[1].n;
    }
    int rc = cel_re_match(re, a[0].u.s, a[0].n);
    if (re != n->re) cel_re_free(re);
    c->steps += a[0].n / 16;
    if (rc < 0) return cel_errv(c, "regular expression match limit exceeded");
    return cel_bool(rc);
}

/* strict decimal integer text, as Go's strconv.ParseInt */
static int parse_int(const char *s, size_t len, int is_unsigned, int64_t *i, uint64_t *u)
{
    char buf[32];
    if (!len || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t k = 0; k < len; k++)
        if (!((buf[k] >= '0' && buf[k] <= '9') || (k == 0 && (buf[k] == '-' || buf[k] == '+') && len > 1)))
            return -1;
    char *end;
    errno = 0;
    if (is_unsigned) {
        if (buf[0] == '-') return -1;
        *u = strtoull(buf, &end, 10);
    } else {
        *i = strtoll(buf, &end, 10);
    }
    return errno || *end ? -1 : 0;
}

static cel_value f_int(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    cel_value v = a[0];
    switch (v.kind) {
    case CEL_INT: return v;
    case CEL_UINT:
        if (v.u.u > INT64_MAX) return cel_errv(c, "range error converting %llu to int", (unsigned long long)v.u.u);
        return cel_int((int64_t)v.u.u);
    case CEL_DOUBLE:
        /* (minInt, maxInt) exclusive, as the spec says */
        if (!(v.u.d > -9223372036854775808.0 && v.u.d < 9223372036854775808.0))
            return cel_errv(c, "range error converting %g to int", v.u.d);
        return cel_int((int64_t)v.u.d);
    case CEL_STRING: {
        int64_t i;
        uint64_t u;
        if (parse_int(v.u.s, v.n, 0, &i, &u)) return cel_errv(c, "cannot convert string to int");
        return cel_int(i);
    }
    case CEL_TIMESTAMP: return cel_int(v.u.sec);
    default: return NOV(c, "int", v);
    }
}

static cel_value f_uint(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    cel_value v = a[0];
    switch (v.kind) {
    case CEL_UINT: return v;
    case CEL_INT:
        if (v.u.i < 0) return cel_errv(c, "range error converting %lld to uint", (long long)v.u.i);
        return cel_uint((uint64_t)v.u.i);
    case CEL_DOUBLE:
        if (!(v.u.d > -1.0 && v.u.d < 18446744073709551616.0))
            return cel_errv(c, "range error converting %g to uint", v.u.d);
        return cel_uint((uint64_t)v.u.d);
    case CEL_STRING: {
        int64_t i;
        uint64_t u;
        if (parse_int(v.u.s, v.n, 1, &i, &u)) return cel_errv(c, "cannot convert string to uint");
        return cel_uint(u);
    }
    default: return NOV(c, "uint", v);
    }
}

static cel_value f_double(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    cel_value v = a[0];
    switch (v.kind) {
    case CEL_DOUBLE: return v;
    case CEL_INT: return cel_double((double)v.u.i);
    case CEL_UINT: return cel_double((double)v.u.u);
    case CEL_STRING: {
        char buf[64];
        if (!v.n || v.n >= sizeof buf) return cel_errv(c, "cannot convert string to double");
        memcpy(buf, v.u.s, v.n);
        buf[v.n] = '\0';
        char *end;
        double d = strtod(buf, &end);
        if (*end || buf[0] == ' ' || (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')))
            return cel_errv(c, "cannot convert string to double");
        return cel_double(d);
    }
    default: return NOV(c, "double", v);
    }
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t k = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (!k || i + k > n) return 0;
        uint32_t cp = k == 1 ? b : k == 2 ? (b & 0x1F) : k == 3 ? (b & 0x0F) : (b & 0x07);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

static cel_value f_string(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    cel_value v = a[0];
    char buf[64];
    size_t len;
    switch (v.kind) {
    case CEL_STRING: return v;
    case CEL_BYTES:
        if (!valid_utf8((const unsigned char *)v.u.s, v.n)) return cel_errv(c, "invalid UTF-8 in bytes");
        return cel_str(v.u.s, v.n);
    case CEL_INT: len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)v.u.i); break;
    case CEL_UINT: len = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.u.u); break;
    case CEL_DOUBLE: len = cel_fmt_double(buf, sizeof buf, v.u.d); break;
    case CEL_BOOL: return v.u.b ? cel_str("true", 4) : cel_str("false", 5);
    case CEL_DURATION: len = cel_fmt_duration(buf, sizeof buf, v.u.sec, (int32_t)v.n); break;
    case CEL_TIMESTAMP: len = cel_fmt_timestamp(buf, sizeof buf, v.u.sec, (int32_t)v.n); break;
    default: return NOV(c, "string", v);
    }
    return cel_str_dup(c, CEL_STRING, buf, len);
}

static cel_value f_bytes(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind == CEL_BYTES) return a[0];
    if (a[0].kind == CEL_STRING) return cel_bytes(a[0].u.s, a[0].n);
    return NOV(c, "bytes", a[0]);
}

static cel_value f_bool(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind == CEL_BOOL) return a[0];
    if (a[0].kind != CEL_STRING) return NOV(c, "bool", a[0]);
    static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (int i = 0; i < 6; i++) {
        if (a[0].n == strlen(t[i]) && !memcmp(a[0].u.s, t[i], a[0].n)) return cel_bool(1);
        if (a[0].n == strlen(f[i]) && !memcmp(a[0].u.s, f[i], a[0].n)) return cel_bool(0);
    }
    return cel_errv(c, "cannot convert string to bool");
}

static cel_value f_type(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)c; (void)n; (void)na;
    return cel_type((cel_kind)a[0].kind);
}

static cel_value f_dyn(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)c; (void)n; (void)na;
    return a[0];
}

static const cel_fdef std_fns[] = {
    {"size", 1, 1, 1, 1, f_size},
    {"contains", -1, -1, 2, 2, f_contains},
    {"startsWith", -1, -1, 2, 2, f_starts},
    {"endsWith", -1, -1, 2, 2, f_ends},
    {"matches", 2, 2, 2, 2, f_matches},
    {"int", 1, 1, -1, -1, f_int},
    {"uint", 1, 1, -1, -1, f_uint},
    {"double", 1, 1, -1, -1, f_double},
    {"string", 1, 1, -1, -1, f_string},
    {"bytes", 1, 1, -1, -1, f_bytes},
    {"bool", 1, 1, -1, -1, f_bool},
    {"type", 1, 1, -1, -1, f_type},
    {"dyn", 1, 1, -1, -1, f_dyn},
    {NULL, 0, 0, 0, 0, NULL}};

static const cel_fdef *const tables[] = {std_fns, cel_optional_fns, cel_strings_fns, cel_format_fns, cel_time_fns};
#define NTABLES (int)(sizeof tables / sizeof tables[0])

const cel_fdef *cel_fn_lookup(const char *name, size_t len)
{
    for (int t = 0; t < NTABLES; t++)
        for (const cel_fdef *f = tables[t]; f->name; f++)
            if (strlen(f->name) == len && !memcmp(f->name, name, len)) return f;
    return NULL;
}

int cel_fn_id(const cel_fdef *f)
{
    for (int t = 0; t < NTABLES; t++)
        for (const cel_fdef *g = tables[t]; g->name; g++)
            if (g == f) return t << 8 | (int)(g - tables[t]);
    return -1;
}

const cel_fdef *cel_fn_at(int id) { return &tables[id >> 8][id & 0xFF]; }
