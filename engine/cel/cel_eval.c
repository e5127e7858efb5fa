/* cel_eval.c - the evaluator: a walk of the checked tree with CEL's semantics
 * (error-absorbing && and ||, heterogeneous equality, overflow errors, optional
 * chaining, macros). Every value lives in the evaluation's arena. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cel/cel_int.h"

static cel_value no_overload(cel_ctx *c, const char *op, cel_value a, cel_value b)
{
    return cel_errv(c, "no such overload: %s %s %s", cel_type_name(a), op, cel_type_name(b));
}

/* The document node of variable i; 0 when the root has no such member. */
static int var_node(cel_ctx *c, int i, const void **out)
{
    if (i < CEL_VAR_CACHE && c->varstate[i]) {
        *out = c->varnode[i];
        return c->varstate[i] == 1;
    }
    int found = 0;
    const cel_doc_ops *ops = c->act->ops;
    const void *v = NULL;
    if (!c->act->root)
        ;
    else if (ops == c->p->prepared)
        v = ops->member_prepared(c->act->root, c->p->vars[i], c->p->varlen[i], c->p->varhint[i], &found);
    else
        v = ops->member(c->act->root, c->p->vars[i], c->p->varlen[i], &found);
    if (i < CEL_VAR_CACHE) {
        c->varnode[i] = v;
        c->varstate[i] = found ? 1 : 2;
    }
    *out = v;
    return found;
}

__attribute__((noinline)) static cel_value var(cel_ctx *c, const cel_node *n)
{
    if (c->act->values) return c->act->values[n->slot];
    const void *v;
    if (!var_node(c, n->slot, &v)) return cel_errv(c, "no such attribute: %s", c->p->vars[n->slot]);
    return cel_from_doc(c->act->ops, v);
}

static cel_value select_field(cel_ctx *c, cel_value v, const cel_value *f, int opt);
static cel_value index_value(cel_ctx *c, cel_value v, cel_value k, int opt);

/* var.k1.k2...: straight down the document while the nodes are objects; anything
 * else (a bound value, a missing key, a non-object) takes the general route for its
 * exact result or error. */
__attribute__((noinline)) static cel_value path(cel_ctx *c, const cel_node *n)
{
    const cel_doc_ops *ops = c->act->ops;
    cel_value v;
    uint32_t i = 0;
    if (c->act->values) {
        v = c->act->values[n->slot];
    } else {
        const void *node;
        if (!var_node(c, n->slot, &node)) return cel_errv(c, "no such attribute: %s", c->p->vars[n->slot]);
        int prepared = ops == c->p->prepared;
        /* member() finds nothing in what is not an object; the general route then says why */
        for (; i < n->nkeys && node; i++) {
            int found;
            const void *next = prepared ? ops->member_prepared(node, n->keys[i].u.s, n->keys[i].n, n->khint[i], &found)
                                        : ops->member(node, n->keys[i].u.s, n->keys[i].n, &found);
            if (!found) break;
            node = next;
        }
        v = cel_from_doc(ops, node);
    }
    for (; i < n->nkeys; i++) {
        v = n->keys[i].sub & CEL_KEY_INDEX ? index_value(c, v, n->keys[i], 0) : select_field(c, v, &n->keys[i], 0);
        if (cel_is_err(v)) {
            if (!v.n) v.n = (uint32_t)n->kcol[i];
            return v;
        }
    }
    return v;
}

/* x.f, and x.?f when opt: a map's key; an optional propagates through. */
__attribute__((noinline)) static cel_value select_field(cel_ctx *c, cel_value v, const cel_value *f, int opt)
{
    if (v.kind == CEL_OPTIONAL) {
        /* inside an optional chain every selection is optional: a missing key is none */
        if (!v.n) return v;
        return select_field(c, *v.u.opt, f, 1);
    }
    if (v.kind != CEL_MAP) return cel_errv(c, "type '%s' does not support field selection", cel_type_name(v));
    cel_value out;
    int rc = cel_map_find(c, v, *f, &out);
    if (rc < 0) return out;
    if (opt) return cel_optional(c, rc ? &out : NULL);
    if (!rc) return cel_errv(c, "no such key: %.*s", (int)f->n, f->u.s);
    return out;
}

static int list_index(cel_ctx *c, cel_value idx, size_t len, size_t *out, cel_value *err)
{
    int64_t i;
    if (idx.kind == CEL_INT) i = idx.u.i;
    else if (idx.kind == CEL_UINT) i = idx.u.u > INT64_MAX ? INT64_MAX : (int64_t)idx.u.u;
    else if (idx.kind == CEL_DOUBLE && idx.u.d == trunc(idx.u.d) && fabs(idx.u.d) < 9e18) i = (int64_t)idx.u.d;
    else {
        *err = cel_errv(c, "no such overload: list[%s]", cel_type_name(idx));
        return -1;
    }
    if (i < 0 || (uint64_t)i >= len) {
        *err = cel_errv(c, "index out of range: %lld", (long long)i);
        return 0;
    }
    *out = (size_t)i;
    return 1;
}

__attribute__((noinline)) static cel_value index_value(cel_ctx *c, cel_value v, cel_value k, int opt)
{
    if (v.kind == CEL_OPTIONAL) {
        if (!v.n) return v;
        return index_value(c, *v.u.opt, k, 1);
    }
    cel_value out;
    if (v.kind == CEL_MAP) {
        int rc = cel_map_find(c, v, k, &out);
        if (rc < 0) return out;
        if (opt) return cel_optional(c, rc ? &out : NULL);
        if (!rc) {
            if (k.kind == CEL_STRING) return cel_errv(c, "no such key: %.*s", (int)k.n, k.u.s);
            return cel_errv(c, "no such key");
        }
        return out;
    }
    if (v.kind == CEL_LIST) {
        size_t i;
        int rc = list_index(c, k, cel_list_len(c, v), &i, &out);
        if (rc < 0 || (rc == 0 && !opt)) return out;
        if (rc == 0) return cel_optional(c, NULL);
        out = cel_list_get(c, v, i);
        return opt ? cel_optional(c, &out) : out;
    }
    return cel_errv(c, "type '%s' does not support indexing", cel_type_name(v));
}

__attribute__((noinline)) static cel_value has_field(cel_ctx *c, cel_value v, const cel_value *f)
{
    if (v.kind == CEL_OPTIONAL) {
        if (!v.n) return cel_bool(0);
        return has_field(c, *v.u.opt, f);
    }
    if (v.kind != CEL_MAP) return cel_errv(c, "invalid type for has(): %s", cel_type_name(v));
    cel_value out;
    int rc = cel_map_find(c, v, *f, &out);
    return rc < 0 ? out : cel_bool(rc);
}

/* && and ||: false (true) wins over an error on either side, in either order. */
__attribute__((noinline)) static cel_value logic(cel_ctx *c, const cel_node *n, int is_and)
{
    cel_value l = cel_eval_child(c, n->args[0]);
    if (l.kind == CEL_BOOL && l.u.b != is_and) return l;
    cel_value r = cel_eval_child(c, n->args[1]);
    if (r.kind == CEL_BOOL && r.u.b != is_and) return r;
    if (l.kind == CEL_BOOL && r.kind == CEL_BOOL) return l;
    if (cel_is_err(l)) return l;
    if (cel_is_err(r)) return r;
    return cel_errv(c, "no such overload: %s %s %s", cel_type_name(l), is_and ? "&&" : "||", cel_type_name(r));
}


__attribute__((noinline)) static cel_value relation(cel_ctx *c, int op, cel_value a, cel_value b)
{
    if (op == N_EQ || op == N_NE) {
        int e = cel_equal(c, a, b);
        return cel_bool(op == N_EQ ? e : !e);
    }
    if (op == N_IN) {
        if (b.kind == CEL_LIST) {
            size_t len = cel_list_len(c, b);
            for (size_t i = 0; i < len; i++)
                if (cel_equal(c, a, cel_list_get(c, b, i))) return cel_bool(1);
            return cel_bool(0);
        }
        if (b.kind == CEL_MAP) {
            cel_value out;
            int rc = cel_map_find(c, b, a, &out);
            return rc < 0 ? out : cel_bool(rc);
        }
        return no_overload(c, "in", a, b);
    }
    int r = cel_compare(a, b);
    static const char *const names[] = {"<", "<=", ">", ">="};
    if (r == -2 || a.kind == CEL_NULL || a.kind == CEL_LIST || a.kind == CEL_MAP)
        return no_overload(c, names[op - N_LT], a, b);
    if (r == 2) return cel_bool(0); /* NaN is unordered */
    switch (op) {
    case N_LT: return cel_bool(r < 0);
    case N_LE: return cel_bool(r <= 0);
    case N_GT: return cel_bool(r > 0);
    default: return cel_bool(r >= 0);
    }
}

__attribute__((noinline)) static cel_value build_list(cel_ctx *c, const cel_node *n)
{
    cel_value *e = cel_alloc(c->a, (n->nargs ? n->nargs : 1) * sizeof *e);
    if (!e) return cel_nomem(c);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->nargs; i++) {
        cel_value v = cel_eval_child(c, n->args[i]);
        if (cel_is_err(v)) return v;
        if (n->optf && n->optf[i]) {
            if (v.kind != CEL_OPTIONAL) return cel_errv(c, "optional list element is not an optional");
            if (!v.n) continue;
            v = *v.u.opt;
        }
        e[k++] = v;
    }
    cel_value l = {CEL_LIST, 0, k, {.l = e}};
    return l;
}

__attribute__((noinline)) static cel_value build_map(cel_ctx *c, const cel_node *n)
{
    uint32_t cnt = n->nargs / 2;
    cel_pair *e = cel_alloc(c->a, (cnt ? cnt : 1) * sizeof *e);
    if (!e) return cel_nomem(c);
    uint32_t k = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        cel_value key = cel_eval_child(c, n->args[2 * i]);
        if (cel_is_err(key)) return key;
        cel_value v = cel_eval_child(c, n->args[2 * i + 1]);
        if (cel_is_err(v)) return v;
        if (key.kind != CEL_STRING && key.kind != CEL_INT && key.kind != CEL_UINT && key.kind != CEL_BOOL)
            return cel_errv(c, "unsupported key type: %s", cel_type_name(key));
        if (n->optf && n->optf[i]) {
            if (v.kind != CEL_OPTIONAL) return cel_errv(c, "optional map entry is not an optional");
            if (!v.n) continue;
            v = *v.u.opt;
        }
        cel_value m = {CEL_MAP, 0, k, {.m = e}}, dummy;
        if (cel_map_find(c, m, key, &dummy) == 1) return cel_errv(c, "Failed with repeated key");
        e[k].k = key;
        e[k++].v = v;
    }
    cel_value m = {CEL_MAP, 0, k, {.m = e}};
    return m;
}

__attribute__((noinline)) static cel_value comprehension(cel_ctx *c, const cel_node *n)
{
    cel_value range = cel_eval_child(c, n->args[0]);
    if (cel_is_err(range)) return range;
    cel_value *slot = &c->locals[n->slot];
    if (n->fn == C_OPTMAP || n->fn == C_OPTFLATMAP) {
        if (range.kind != CEL_OPTIONAL) return cel_errv(c, "no such overload: %s.optMap", cel_type_name(range));
        if (!range.n) return range;
        *slot = *range.u.opt;
        cel_value r = cel_eval_child(c, n->args[1]);
        if (cel_is_err(r) || n->fn == C_OPTFLATMAP) {
            if (!cel_is_err(r) && r.kind != CEL_OPTIONAL)
                return cel_errv(c, "optFlatMap: result is not an optional");
            return r;
        }
        return cel_optional(c, &r);
    }
    size_t len;
    const cel_value *keys = NULL;
    if (range.kind == CEL_LIST) len = cel_list_len(c, range);
    else if (range.kind == CEL_MAP) {
        if (!(keys = cel_map_keys(c, range, &len))) return cel_nomem(c);
    } else return cel_errv(c, "expression of type '%s' cannot be the range of a comprehension",
                           cel_type_name(range));
    cel_value *out = NULL;
    uint32_t nout = 0;
    if (n->fn == C_MAP || n->fn == C_MAP_FILTER || n->fn == C_FILTER)
        if (!(out = cel_alloc(c->a, (len ? len : 1) * sizeof *out))) return cel_nomem(c);
    cel_value err = {CEL_NULL, 0, 0, {.i = 0}};
    int have_err = 0;
    int64_t count = 0;
    for (size_t i = 0; i < len; i++) {
        /* each iteration costs a step even when its body is a literal; running out is
         * never absorbed by all() or exists() */
        if (++c->steps > c->max_steps) {
            cel_value e = {CEL_ERROR, 1, (uint32_t)n->col, {.err = "evaluation cost limit exceeded: steps"}};
            return e;
        }
        cel_value x = keys ? keys[i] : cel_list_get(c, range, i);
        *slot = x;
        cel_value r = cel_eval_child(c, n->args[1]);
        switch (n->fn) {
        case C_ALL:
        case C_EXISTS: {
            int want = n->fn == C_EXISTS; /* the value that decides */
            if (r.kind == CEL_BOOL) {
                if (r.u.b == want) return r;
            } else if (!have_err) {
                err = cel_is_err(r) ? r : cel_errv(c, "no such overload: predicate is %s", cel_type_name(r));
                have_err = 1;
            }
            break;
        }
        case C_EXISTS_ONE:
            if (cel_is_err(r)) return r;
            if (r.kind != CEL_BOOL) return cel_errv(c, "no such overload: predicate is %s", cel_type_name(r));
            count += r.u.b;
            break;
        case C_MAP:
            if (cel_is_err(r)) return r;
            out[nout++] = r;
            break;
        case C_FILTER:
        case C_MAP_FILTER:
            if (cel_is_err(r)) return r;
            if (r.kind != CEL_BOOL) return cel_errv(c, "no such overload: filter predicate is %s", cel_type_name(r));
            if (!r.u.b) break;
            if (n->fn == C_MAP_FILTER) {
                *slot = x;
                r = cel_eval_child(c, n->args[2]);
                if (cel_is_err(r)) return r;
                out[nout++] = r;
            } else {
                out[nout++] = x;
            }
            break;
        }
    }
    switch (n->fn) {
    case C_ALL: return have_err ? err : cel_bool(1);
    case C_EXISTS: return have_err ? err : cel_bool(0);
    case C_EXISTS_ONE: return cel_bool(count == 1);
    default: {
        cel_value l = {CEL_LIST, 0, nout, {.l = out}};
        return l;
    }
    }
}

__attribute__((noinline)) static cel_value call(cel_ctx *c, const cel_node *n)
{
    cel_value argv[8];
    int na = (int)n->nargs;
    for (int i = 0; i < na; i++) {
        argv[i] = cel_eval_child(c, n->args[i]);
        if (cel_is_err(argv[i])) return argv[i];
    }
    return cel_fn_at(n->fn)->fn(c, n, argv, na);
}

static cel_value eval(cel_ctx *c, const cel_node *n)
{
    cel_value a, b;
    switch (n->op) {
    case N_LIT: return n->lit;
    case N_VAR: return var(c, n);
    case N_PATH: return path(c, n);
    case N_LOCAL: return c->locals[n->slot];
    case N_SELECT:
        a = cel_eval_child(c, n->args[0]);
        return cel_is_err(a) ? a : select_field(c, a, &n->lit, n->opt);
    case N_HAS:
        a = cel_eval_child(c, n->args[0]);
        return cel_is_err(a) ? a : has_field(c, a, &n->lit);
    case N_INDEX:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        b = cel_eval_child(c, n->args[1]);
        return cel_is_err(b) ? b : index_value(c, a, b, n->opt);
    case N_CALL: return call(c, n);
    case N_LIST: return build_list(c, n);
    case N_MAP: return build_map(c, n);
    case N_AND: return logic(c, n, 1);
    case N_OR: return logic(c, n, 0);
    case N_NOT:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        if (a.kind != CEL_BOOL) return cel_errv(c, "no such overload: !%s", cel_type_name(a));
        return cel_bool(!a.u.b);
    case N_NEG:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        if (a.kind == CEL_INT) {
            if (a.u.i == INT64_MIN) return cel_errv(c, "integer overflow");
            return cel_int(-a.u.i);
        }
        if (a.kind == CEL_DOUBLE) return cel_double(-a.u.d);
        if (a.kind == CEL_DURATION) return cel_arith(c, N_SUB, (cel_value){CEL_DURATION, 0, 0, {.sec = 0}}, a);
        return cel_errv(c, "no such overload: -%s", cel_type_name(a));
    case N_COND:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        if (a.kind != CEL_BOOL) return cel_errv(c, "no such overload: %s ? _ : _", cel_type_name(a));
        return cel_eval_child(c, n->args[a.u.b ? 1 : 2]);
    case N_ADD: case N_SUB: case N_MUL: case N_DIV: case N_MOD:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        b = cel_eval_child(c, n->args[1]);
        return cel_is_err(b) ? b : cel_arith(c, n->op, a, b);
    case N_EQ: case N_NE: case N_LT: case N_LE: case N_GT: case N_GE: case N_IN:
        a = cel_eval_child(c, n->args[0]);
        if (cel_is_err(a)) return a;
        b = cel_eval_child(c, n->args[1]);
        if (cel_is_err(b)) return b;
        if ((n->op == N_EQ || n->op == N_NE) && a.kind == CEL_STRING && b.kind == CEL_STRING)
            return cel_bool((a.n == b.n && cel_mem_eq(a.u.s, b.u.s, a.n)) == (n->op == N_EQ));
        return relation(c, n->op, a, b);
    case N_COMP: return comprehension(c, n);
    default: return cel_errv(c, "unsupported expression");
    }
}

cel_value cel_eval_node(cel_ctx *c, const cel_node *n)
{
    if (++c->steps > c->max_steps) {
        cel_value v = {CEL_ERROR, 1, (uint32_t)n->col, {.err = "evaluation cost limit exceeded: steps"}};
        return v;
    }
    cel_value r = eval(c, n);
    if (r.kind == CEL_ERROR && !r.n) r.n = (uint32_t)n->col; /* where it arose */
    return r;
}

int cel_eval(const cel_program *p, const cel_activation *act, const cel_limits *lim, cel_arena *arena,
             cel_value *out, cel_error *err)
{
    cel_ctx c; /* varnode[] is read only where varstate[] says it was written */
    c.p = p;
    c.act = act;
    c.a = arena;
    c.steps = 0;
    c.max_steps = lim && lim->max_steps ? lim->max_steps : CEL_DEFAULT_MAX_STEPS;
    c.locals = NULL;
    memset(c.varstate, 0, sizeof c.varstate);
    if (p->nlocals && !(c.locals = cel_alloc(arena, (size_t)p->nlocals * sizeof *c.locals))) {
        cel_err_at(err, NULL, 0, "evaluation cost limit exceeded: allocation");
        return -1;
    }
    cel_value v = cel_eval_node(&c, p->root);
    if (v.kind == CEL_ERROR) {
        cel_err_at(err, p->src, (int)v.n, "%s", v.u.err);
        return -1;
    }
    *out = v;
    return 0;
}

int cel_value_to_bool(const cel_value *v, cel_error *err)
{
    if (v->kind == CEL_BOOL) return v->u.b;
    cel_err_at(err, NULL, 0, "expression is of type %s, not bool", cel_type_name(*v));
    return -1;
}

int cel_eval_predicate(const cel_program *p, const cel_activation *act, const cel_limits *lim,
                       cel_arena *arena, cel_error *err)
{
    cel_value v;
    int rc = cel_eval(p, act, lim, arena, &v, err);
    if (rc == 0) rc = cel_value_to_bool(&v, err);
    cel_arena_reset(arena);
    return rc;
}
