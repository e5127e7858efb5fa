/* cel_arith.c - + - * / % on int (overflow is an error), uint, double, strings,
 * bytes, lists, durations and timestamps. No implicit numeric conversion: 1 + 1.0
 * is an error, as in CEL. */
#include <math.h>
#include <string.h>
#include "cel/cel_int.h"

static cel_value overflow(cel_ctx *c) { return cel_errv(c, "integer overflow"); }

static cel_value concat(cel_ctx *c, cel_value a, cel_value b)
{
    if ((uint64_t)a.n + b.n > UINT32_MAX) return cel_nomem(c);
    char *s = cel_alloc(c->a, (size_t)a.n + b.n + 1);
    if (!s) return cel_nomem(c);
    if (a.n) memcpy(s, a.u.s, a.n);
    if (b.n) memcpy(s + a.n, b.u.s, b.n);
    s[a.n + b.n] = '\0';
    cel_value v = a;
    v.u.s = s;
    v.n = a.n + b.n;
    v.sub = (a.sub & b.sub & CEL_Z) && a.kind == CEL_STRING ? CEL_Z : 0;
    return v;
}

static cel_value list_concat(cel_ctx *c, cel_value a, cel_value b)
{
    size_t na = cel_list_len(c, a), nb = cel_list_len(c, b);
    if (na + nb > UINT32_MAX) return cel_nomem(c);
    cel_value *e = cel_alloc(c->a, (na + nb ? na + nb : 1) * sizeof *e);
    if (!e) return cel_nomem(c);
    for (size_t i = 0; i < na; i++) e[i] = cel_list_get(c, a, i);
    for (size_t i = 0; i < nb; i++) e[na + i] = cel_list_get(c, b, i);
    c->steps += (na + nb) / 8;
    cel_value l = {CEL_LIST, 0, (uint32_t)(na + nb), {.l = e}};
    return l;
}

/* durations and timestamps as (seconds, nanos) with 0 <= nanos < 1e9 */
static cel_value time_value(cel_ctx *c, cel_kind k, int64_t sec, int64_t nsec)
{
    sec += nsec / 1000000000;
    nsec %= 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        sec--;
    }
    if (k == CEL_TIMESTAMP && (sec < CEL_TS_MIN || sec > CEL_TS_MAX))
        return cel_errv(c, "timestamp out of range");
    if (k == CEL_DURATION && (sec < -CEL_DUR_MAX_SEC || sec > CEL_DUR_MAX_SEC))
        return cel_errv(c, "duration out of range");
    cel_value v = {(uint8_t)k, 0, (uint32_t)nsec, {.sec = sec}};
    return v;
}

static cel_value time_arith(cel_ctx *c, int op, cel_value a, cel_value b)
{
    int64_t s;
    if (op == N_ADD) {
        if (a.kind == CEL_DURATION && b.kind == CEL_TIMESTAMP) {
            cel_value t = a;
            a = b;
            b = t;
        }
        if (b.kind != CEL_DURATION) goto bad;
        if (__builtin_add_overflow(a.u.sec, b.u.sec, &s)) return overflow(c);
        return time_value(c, (cel_kind)a.kind, s, (int64_t)a.n + b.n);
    }
    if (op == N_SUB) {
        if (__builtin_sub_overflow(a.u.sec, b.u.sec, &s)) return overflow(c);
        if (a.kind == CEL_TIMESTAMP && b.kind == CEL_TIMESTAMP)
            return time_value(c, CEL_DURATION, s, (int64_t)a.n - b.n);
        if (b.kind == CEL_DURATION) return time_value(c, (cel_kind)a.kind, s, (int64_t)a.n - b.n);
    }
bad:
    return cel_errv(c, "no such overload: %s %c %s", cel_type_name(a), "+-*/%"[op - N_ADD], cel_type_name(b));
}

cel_value cel_arith(cel_ctx *c, int op, cel_value a, cel_value b)
{
    if ((a.kind == CEL_DURATION || a.kind == CEL_TIMESTAMP) && (b.kind == CEL_DURATION || b.kind == CEL_TIMESTAMP))
        return time_arith(c, op, a, b);
    if (a.kind != b.kind) goto bad;
    switch (a.kind) {
    case CEL_INT: {
        int64_t r, x = a.u.i, y = b.u.i;
        switch (op) {
        case N_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(c); break;
        case N_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(c); break;
        case N_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(c); break;
        case N_DIV:
            if (!y) return cel_errv(c, "division by zero");
            if (x == INT64_MIN && y == -1) return overflow(c);
            r = x / y;
            break;
        default:
            if (!y) return cel_errv(c, "modulus by zero");
            r = (x == INT64_MIN && y == -1) ? 0 : x % y;
        }
        return cel_int(r);
    }
    case CEL_UINT: {
        uint64_t r, x = a.u.u, y = b.u.u;
        switch (op) {
        case N_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(c); break;
        case N_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(c); break;
        case N_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(c); break;
        case N_DIV:
            if (!y) return cel_errv(c, "division by zero");
            r = x / y;
            break;
        default:
            if (!y) return cel_errv(c, "modulus by zero");
            r = x % y;
        }
        return cel_uint(r);
    }
    case CEL_DOUBLE:
        switch (op) {
        case N_ADD: return cel_double(a.u.d + b.u.d);
        case N_SUB: return cel_double(a.u.d - b.u.d);
        case N_MUL: return cel_double(a.u.d * b.u.d);
        case N_DIV: return cel_double(a.u.d / b.u.d);
        default: goto bad;
        }
    case CEL_STRING:
    case CEL_BYTES:
        if (op == N_ADD) return concat(c, a, b);
        goto bad;
    case CEL_LIST:
        if (op == N_ADD) return list_concat(c, a, b);
        goto bad;
    default: break;
    }
bad:
    return cel_errv(c, "no such overload: %s %c %s", cel_type_name(a), "+-*/%"[op - N_ADD], cel_type_name(b));
}
