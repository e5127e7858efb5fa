/* cel_format.c - the strings extension's format(): %s %d %f %e %x %X %o %b, with
 * values printed as cel-go prints them (lists and maps as text, map keys sorted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"

#define NOV(c, name, v) cel_errv(c, "no such overload: %s.%s", cel_type_name(v), name)

static int fmt_value(cel_ctx *c, cel_sbuf *b, cel_value v, int nested);

static int by_text(const void *x, const void *y)
{
    return cel_compare(((const cel_pair *)x)->k, ((const cel_pair *)y)->k);
}

static int fmt_list(cel_ctx *c, cel_sbuf *b, cel_value v)
{
    cel_sb_put(b, "[", 1);
    size_t len = cel_list_len(c, v);
    for (size_t i = 0; i < len; i++) {
        if (i) cel_sb_put(b, ", ", 2);
        if (fmt_value(c, b, cel_list_get(c, v, i), 1)) return -1;
    }
    cel_sb_put(b, "]", 1);
    return 0;
}

static int fmt_value(cel_ctx *c, cel_sbuf *b, cel_value v, int nested)
{
    char buf[64];
    size_t len;
    switch (v.kind) {
    case CEL_STRING:
    case CEL_BYTES:
        cel_sb_put(b, v.u.s, v.n);
        return 0;
    case CEL_NULL: cel_sb_put(b, "null", 4); return 0;
    case CEL_BOOL: cel_sb_put(b, v.u.b ? "true" : "false", v.u.b ? 4 : 5); return 0;
    case CEL_INT: len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)v.u.i); break;
    case CEL_UINT: len = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.u.u); break;
    case CEL_DOUBLE:
        if (v.u.d * 0 != 0 && v.u.d == v.u.d) len = (size_t)snprintf(buf, sizeof buf, v.u.d > 0 ? "Infinity" : "-Infinity");
        else len = cel_fmt_double(buf, sizeof buf, v.u.d);
        break;
    case CEL_DURATION: len = cel_fmt_duration(buf, sizeof buf, v.u.sec, (int32_t)v.n); break;
    case CEL_TIMESTAMP: len = cel_fmt_timestamp(buf, sizeof buf, v.u.sec, (int32_t)v.n); break;
    case CEL_TYPE: cel_sb_put(b, cel_kind_name((cel_kind)v.sub), strlen(cel_kind_name((cel_kind)v.sub))); return 0;
    case CEL_LIST: return fmt_list(c, b, v);
    case CEL_MAP: {
        /* entries in the order of their keys' text, as cel-go prints them */
        size_t nk;
        const cel_value *keys = cel_map_keys(c, v, &nk);
        cel_pair *e = cel_alloc(c->a, (nk ? nk : 1) * sizeof *e); /* k: text, v: key */
        if (!keys || !e) return -1;
        for (size_t i = 0; i < nk; i++) {
            cel_sbuf kb = {c, NULL, 0, 0, 0};
            if (fmt_value(c, &kb, keys[i], 1) || kb.fail) return -1;
            e[i].k = cel_sb_done(&kb);
            e[i].v = keys[i];
        }
        qsort(e, nk, sizeof *e, by_text);
        cel_sb_put(b, "{", 1);
        for (size_t i = 0; i < nk; i++) {
            cel_value val;
            if (i) cel_sb_put(b, ", ", 2);
            cel_sb_put(b, e[i].k.u.s, e[i].k.n);
            cel_sb_put(b, ": ", 2);
            if (cel_map_find(c, v, e[i].v, &val) != 1 || fmt_value(c, b, val, 1)) return -1;
        }
        cel_sb_put(b, "}", 1);
        return 0;
    }
    default: return -1;
    }
    cel_sb_put(b, buf, len);
    return 0;
}

static cel_value f_format(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_STRING || a[1].kind != CEL_LIST) return NOV(c, "format", a[0]);
    const char *f = a[0].u.s;
    size_t fn = a[0].n, argi = 0, nargs = cel_list_len(c, a[1]);
    cel_sbuf b = {c, NULL, 0, 0, 0};
    for (size_t i = 0; i < fn; i++) {
        if (f[i] != '%') {
            cel_sb_put(&b, f + i, 1);
            continue;
        }
        if (++i >= fn) return cel_errv(c, "format: unterminated formatting clause");
        if (f[i] == '%') {
            cel_sb_put(&b, "%", 1);
            continue;
        }
        int prec = -1;
        if (f[i] == '.') {
            prec = 0;
            while (++i < fn && f[i] >= '0' && f[i] <= '9')
                if (prec <= 100) prec = prec * 10 + (f[i] - '0');
            if (prec > 100) return cel_errv(c, "format: precision over 100");
            if (i >= fn) return cel_errv(c, "format: unterminated formatting clause");
        }
        if (argi >= nargs) return cel_errv(c, "format: index %zu out of range", argi);
        cel_value v = cel_list_get(c, a[1], argi++);
        char buf[512]; /* %.100f of the largest double fits */
        int len = -1;
        switch (f[i]) {
        case 's':
            if (fmt_value(c, &b, v, 0)) return cel_errv(c, "format: cannot format %s with %%s", cel_type_name(v));
            continue;
        case 'd':
            if (v.kind == CEL_INT) len = snprintf(buf, sizeof buf, "%lld", (long long)v.u.i);
            else if (v.kind == CEL_UINT) len = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.u.u);
            else if (v.kind == CEL_DOUBLE && v.u.d != v.u.d) len = snprintf(buf, sizeof buf, "NaN");
            else if (v.kind == CEL_DOUBLE && v.u.d * 0 != 0)
                len = snprintf(buf, sizeof buf, v.u.d > 0 ? "Infinity" : "-Infinity");
            break;
        case 'f': case 'e':
            if (v.kind == CEL_DOUBLE || v.kind == CEL_INT || v.kind == CEL_UINT) {
                double d = v.kind == CEL_DOUBLE ? v.u.d : v.kind == CEL_INT ? (double)v.u.i : (double)v.u.u;
                if (d != d) len = snprintf(buf, sizeof buf, "NaN");
                else if (d * 0 != 0) len = snprintf(buf, sizeof buf, d > 0 ? "Infinity" : "-Infinity");
                else len = snprintf(buf, sizeof buf, f[i] == 'f' ? "%.*f" : "%.*e", prec < 0 ? 6 : prec, d);
            }
            break;
        case 'b':
            if (v.kind == CEL_INT || v.kind == CEL_UINT || v.kind == CEL_BOOL) {
                uint64_t u = v.kind == CEL_BOOL ? (uint64_t)v.u.b : v.u.u;
                int neg = v.kind == CEL_INT && v.u.i < 0;
                if (neg) u = (uint64_t)0 - u;
                char t[70];
                int k = 0;
                do t[k++] = (char)('0' + (u & 1)); while (u >>= 1);
                len = 0;
                if (neg) buf[len++] = '-';
                while (k) buf[len++] = t[--k];
            }
            break;
        case 'o': case 'x': case 'X':
            if (v.kind == CEL_INT || v.kind == CEL_UINT) {
                int neg = v.kind == CEL_INT && v.u.i < 0;
                uint64_t u = neg ? (uint64_t)0 - v.u.u : v.u.u;
                len = snprintf(buf, sizeof buf, f[i] == 'o' ? "%s%llo" : f[i] == 'x' ? "%s%llx" : "%s%llX",
                               neg ? "-" : "", (unsigned long long)u);
            } else if (f[i] != 'o' && (v.kind == CEL_STRING || v.kind == CEL_BYTES)) {
                len = 0;
                for (size_t k = 0; k < v.n && len < (int)sizeof buf - 3; k++)
                    len += snprintf(buf + len, sizeof buf - (size_t)len, f[i] == 'x' ? "%02x" : "%02X",
                                    (unsigned char)v.u.s[k]);
                if (v.n * 2 > sizeof buf - 3) return cel_errv(c, "format: value too long for %%x");
            }
            break;
        default:
            return cel_errv(c, "format: unrecognized formatting clause '%c'", f[i]);
        }
        if (len < 0) return cel_errv(c, "format: cannot format %s with %%%c", cel_type_name(v), f[i]);
        if ((size_t)len >= sizeof buf) return cel_errv(c, "format: value too long");
        cel_sb_put(&b, buf, (size_t)len);
    }
    return cel_sb_done(&b);
}

const cel_fdef cel_format_fns[] = {
    {"format", -1, -1, 2, 2, f_format},
    {NULL, 0, 0, 0, 0, NULL}};
