/* cel_optional.c - optional values (cel-go's OptionalTypes()): optional.of,
 * optional.ofNonZeroValue, optional.none, hasValue, value, orValue, or. The syntax
 * (.?, [?], optMap, optFlatMap) is the parser's and the evaluator's. */
#include "cel/cel_int.h"

#define NOV(c, name, v) cel_errv(c, "no such overload: %s(%s)", name, cel_type_name(v))

static cel_value f_opt_of(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    return cel_optional(c, &a[0]);
}

static cel_value f_opt_none(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)a; (void)na;
    return cel_optional(c, NULL);
}

static int is_zero(cel_ctx *c, cel_value v)
{
    switch (v.kind) {
    case CEL_NULL: return 1;
    case CEL_BOOL: return !v.u.b;
    case CEL_INT: return v.u.i == 0;
    case CEL_UINT: return v.u.u == 0;
    case CEL_DOUBLE: return v.u.d == 0;
    case CEL_STRING: case CEL_BYTES: return v.n == 0;
    case CEL_LIST: return cel_list_len(c, v) == 0;
    case CEL_MAP: return cel_map_len(c, v) == 0;
    case CEL_DURATION: case CEL_TIMESTAMP: return v.u.sec == 0 && v.n == 0;
    case CEL_OPTIONAL: return !v.n;
    default: return 0;
    }
}

static cel_value f_opt_nonzero(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    return cel_optional(c, is_zero(c, a[0]) ? NULL : &a[0]);
}

static cel_value f_has_value(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_OPTIONAL) return NOV(c, "hasValue", a[0]);
    return cel_bool(a[0].n);
}

static cel_value f_value(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_OPTIONAL) return NOV(c, "value", a[0]);
    if (!a[0].n) return cel_errv(c, "optional.none() dereference");
    return *a[0].u.opt;
}

static cel_value f_or_value(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_OPTIONAL) return NOV(c, "orValue", a[0]);
    return a[0].n ? *a[0].u.opt : a[1];
}

static cel_value f_or(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind != CEL_OPTIONAL || a[1].kind != CEL_OPTIONAL) return NOV(c, "or", a[0]);
    return a[0].n ? a[0] : a[1];
}

const cel_fdef cel_optional_fns[] = {
    {"optional.of", 1, 1, -1, -1, f_opt_of},
    {"optional.none", 0, 0, -1, -1, f_opt_none},
    {"optional.ofNonZeroValue", 1, 1, -1, -1, f_opt_nonzero},
    {"hasValue", -1, -1, 1, 1, f_has_value},
    {"value", -1, -1, 1, 1, f_value},
    {"orValue", -1, -1, 2, 2, f_or_value},
    {"or", -1, -1, 2, 2, f_or},
    {NULL, 0, 0, 0, 0, NULL}};
