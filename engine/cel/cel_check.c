/* cel_check.c - the load-time checker: resolves every identifier (a declared
 * variable, a macro variable, a type name), every function and its arity, and
 * compiles literal regular expressions, so evaluation never looks a name up. */
#include <stdio.h>
#include <string.h>
#include "cel/cel_int.h"

typedef struct checker {
    struct cel_program *p;
    cel_error *err;
    const cel_value *scope[CEL_MAX_DEPTH];
    int nscope;
} checker;

static int fail(checker *k, const cel_node *n, const char *fmt, const char *arg, size_t alen)
{
    char m[160];
    snprintf(m, sizeof m, fmt, (int)alen, arg);
    cel_err_at(k->err, k->p->src, n->col, "%s", m);
    return -1;
}

static int eq(const cel_value *v, const char *s) { return v->n == strlen(s) && !memcmp(v->u.s, s, v->n); }

static const struct { const char *name; cel_kind kind; } type_names[] = {
    {"int", CEL_INT}, {"uint", CEL_UINT}, {"double", CEL_DOUBLE}, {"bool", CEL_BOOL},
    {"string", CEL_STRING}, {"bytes", CEL_BYTES}, {"list", CEL_LIST}, {"map", CEL_MAP},
    {"null_type", CEL_NULL}, {"type", CEL_TYPE}, {"optional_type", CEL_OPTIONAL}};

static int var_index(checker *k, const cel_value *name)
{
    for (int i = 0; i < k->p->nvars; i++)
        if (eq(name, k->p->vars[i])) return i;
    return -1;
}

/* google.protobuf.Duration and .Timestamp are the only qualified names: types. */
static int qualified_type(cel_node *n)
{
    if (n->op != N_SELECT || n->opt) return 0;
    cel_node *a = n->args[0];
    if (a->op != N_SELECT || a->opt || !eq(&a->lit, "protobuf")) return 0;
    cel_node *g = a->args[0];
    if (g->op != N_IDENT || !eq(&g->lit, "google")) return 0;
    cel_kind kind;
    if (eq(&n->lit, "Duration")) kind = CEL_DURATION;
    else if (eq(&n->lit, "Timestamp")) kind = CEL_TIMESTAMP;
    else return 0;
    n->op = N_LIT;
    n->nargs = 0;
    n->lit = cel_type(kind);
    return 1;
}

static int check(checker *k, cel_node *n);

/* var.a.b.c becomes one N_PATH node: the evaluator walks the document with no
 * intermediate values. */
static int fuse_path(checker *k, cel_node *n)
{
    cel_node *a = n->args[0];
    if (a->op != N_VAR && a->op != N_PATH) return 0;
    if (n->op == N_INDEX) { /* var.a['b-c'] walks on like var.a.b */
        cel_node *i = n->args[1];
        if (i->op != N_LIT || i->lit.kind != CEL_STRING || !(i->lit.sub & CEL_Z)) return 0;
        n->lit = i->lit;
        n->lit.sub |= CEL_KEY_INDEX;
    }
    uint32_t nk = (a->op == N_PATH ? a->nkeys : 0) + 1;
    cel_value *keys = cel_alloc(&k->p->pool, nk * sizeof *keys);
    int32_t *cols = cel_alloc(&k->p->pool, nk * sizeof *cols);
    if (!keys || !cols) return fail(k, n, "out of memory%.*s", "", 0);
    if (a->op == N_PATH) {
        memcpy(keys, a->keys, (nk - 1) * sizeof *keys);
        memcpy(cols, a->kcol, (nk - 1) * sizeof *cols);
    }
    keys[nk - 1] = n->lit;
    cols[nk - 1] = n->col;
    n->op = N_PATH;
    n->slot = a->slot;
    n->keys = keys;
    n->kcol = cols;
    n->nkeys = nk;
    n->nargs = 0;
    return 0;
}

static int check_ident(checker *k, cel_node *n)
{
    for (int i = k->nscope - 1; i >= 0; i--)
        if (k->scope[i]->n == n->lit.n && !memcmp(k->scope[i]->u.s, n->lit.u.s, n->lit.n)) {
            n->op = N_LOCAL;
            n->slot = i;
            return 0;
        }
    int v = var_index(k, &n->lit);
    if (v >= 0) {
        n->op = N_VAR;
        n->slot = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (eq(&n->lit, type_names[i].name)) {
            n->op = N_LIT;
            n->lit = cel_type(type_names[i].kind);
            return 0;
        }
    return fail(k, n, "undeclared reference to '%.*s'", n->lit.u.s, n->lit.n);
}

static int check_call(checker *k, cel_node *n)
{
    /* namespaced functions: optional.of(x), strings.quote(s) */
    if (n->member && n->args[0]->op == N_IDENT) {
        cel_node *t = n->args[0];
        int local = 0;
        for (int i = 0; i < k->nscope; i++)
            local |= k->scope[i]->n == t->lit.n && !memcmp(k->scope[i]->u.s, t->lit.u.s, t->lit.n);
        if (!local && var_index(k, &t->lit) < 0 && (eq(&t->lit, "optional") || eq(&t->lit, "strings") ||
                                                     eq(&t->lit, "math"))) {
            size_t len = t->lit.n + 1 + n->lit.n;
            char *q = cel_alloc(&k->p->pool, len + 1);
            if (!q) return fail(k, n, "out of memory%.*s", "", 0);
            snprintf(q, len + 1, "%.*s.%.*s", (int)t->lit.n, t->lit.u.s, (int)n->lit.n, n->lit.u.s);
            n->lit = cel_str(q, len);
            n->member = 0;
            n->nargs--;
            memmove(n->args, n->args + 1, n->nargs * sizeof *n->args);
        }
    }
    const cel_fdef *f = cel_fn_lookup(n->lit.u.s, n->lit.n);
    if (!f) return fail(k, n, "undeclared reference to '%.*s'", n->lit.u.s, n->lit.n);
    int na = (int)n->nargs;
    int lo = n->member ? f->mmin : f->gmin, hi = n->member ? f->mmax : f->gmax;
    if (lo < 0)
        return fail(k, n, n->member ? "'%.*s' is not a method" : "'%.*s' must be called as a method",
                    n->lit.u.s, n->lit.n);
    if (na < lo || na > hi) {
        char m[120];
        int shown = n->member ? na - 1 : na;
        snprintf(m, sizeof m, "wrong number of arguments to '%%.*s': %d", shown);
        return fail(k, n, m, n->lit.u.s, n->lit.n);
    }
    n->fn = (uint16_t)cel_fn_id(f);
    for (uint32_t i = 0; i < n->nargs; i++)
        if (check(k, n->args[i])) return -1;
    if (eq(&n->lit, "matches") && n->nargs == 2 && n->args[1]->op == N_LIT &&
        n->args[1]->lit.kind == CEL_STRING) {
        char msg[128];
        n->re = cel_re_compile(n->args[1]->lit.u.s, n->args[1]->lit.n, msg, sizeof msg);
        if (!n->re) return fail(k, n->args[1], "invalid regular expression: %.*s", msg, strlen(msg));
        struct cel_relist *r = cel_alloc(&k->p->pool, sizeof *r);
        if (!r) {
            cel_re_free(n->re);
            n->re = NULL;
            return fail(k, n, "out of memory%.*s", "", 0);
        }
        r->re = n->re;
        r->next = k->p->res;
        k->p->res = r;
    }
    return 0;
}

static int check(checker *k, cel_node *n)
{
    switch (n->op) {
    case N_LIT: return 0;
    case N_IDENT: return check_ident(k, n);
    case N_CALL: return check_call(k, n);
    case N_STRUCT: return fail(k, n, "message construction is not supported%.*s", "", 0);
    case N_SELECT:
        if (qualified_type(n)) return 0;
        if (check(k, n->args[0])) return -1;
        return n->opt ? 0 : fuse_path(k, n);
    case N_INDEX:
        if (check(k, n->args[0]) || check(k, n->args[1])) return -1;
        return n->opt ? 0 : fuse_path(k, n);
    case N_COMP: {
        if (check(k, n->args[0])) return -1;
        if (k->nscope >= CEL_MAX_DEPTH) return fail(k, n, "macros nested too deeply%.*s", "", 0);
        k->scope[k->nscope] = &n->lit;
        n->slot = k->nscope++;
        if (k->nscope > k->p->nlocals) k->p->nlocals = k->nscope;
        int rc = 0;
        for (uint32_t i = 1; i < n->nargs && !rc; i++) rc = check(k, n->args[i]);
        k->nscope--;
        return rc;
    }
    default: break;
    }
    for (uint32_t i = 0; i < n->nargs; i++)
        if (check(k, n->args[i])) return -1;
    return 0;
}

int cel_check(struct cel_program *p, cel_error *err)
{
    checker k = {p, err, {0}, 0};
    return check(&k, p->root);
}
