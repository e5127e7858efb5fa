/* cel_parse.c - recursive-descent parser for the CEL grammar (langdef.md), with
 * macros (has, all, exists, exists_one, map, filter, optMap, optFlatMap)
 * expanded into their own nodes as the tree is built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_lex.h"

typedef struct parser {
    cel_lexer lx;
    cel_tok t; /* current token */
    int depth;
    cel_error *err;
} parser;

static const char *const reserved[] = {"as", "break", "const", "continue", "else", "for", "function",
                                       "if", "import", "let", "loop", "package", "namespace",
                                       "return", "var", "void", "while", NULL};

static int fail(parser *p, size_t off, const char *msg)
{
    if (!p->err->msg[0])
        cel_err_at(p->err, p->lx.src, (int)off + 1, "%s", msg);
    return -1;
}

static int next(parser *p) { return cel_lex_next(&p->lx, &p->t); }
static int is_p(parser *p, int c) { return p->t.type == T_PUNCT && p->t.punct == c; }
static int is_word(parser *p, const char *w)
{
    size_t n = strlen(w);
    return p->t.type == T_IDENT && p->t.punct != '`' && p->t.len == n &&
           memcmp(p->lx.src + p->t.off, w, n) == 0;
}
static int expect(parser *p, int c, const char *what)
{
    if (!is_p(p, c)) {
        char m[64];
        snprintf(m, sizeof m, "expected %s", what);
        return fail(p, p->t.off, m);
    }
    return next(p);
}

static cel_node *mk(parser *p, int op, size_t off, uint32_t nargs)
{
    cel_node *n = cel_alloc(p->lx.pool, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->col = (int32_t)off + 1;
    n->nargs = nargs;
    if (nargs && !(n->args = cel_alloc(p->lx.pool, nargs * sizeof *n->args))) return NULL;
    return n;
}

/* Sets the height after the children are in place; refuses trees too deep to walk. */
static cel_node *seal(parser *p, cel_node *n)
{
    if (!n) return NULL;
    unsigned h = 0;
    for (uint32_t i = 0; i < n->nargs; i++)
        if (n->args[i] && n->args[i]->h > h) h = n->args[i]->h;
    if (h + 1 > CEL_MAX_DEPTH) {
        fail(p, (size_t)n->col - 1, "expression nested too deeply");
        return NULL;
    }
    n->h = (uint16_t)(h + 1);
    return n;
}

static cel_node *bin(parser *p, int op, size_t off, cel_node *l, cel_node *r)
{
    cel_node *n = mk(p, op, off, 2);
    if (!n) return NULL;
    n->args[0] = l;
    n->args[1] = r;
    return seal(p, n);
}

/* Names are copied NUL-terminated: a field name is a document key, looked up as is. */
static cel_value name_of(parser *p, const cel_tok *t)
{
    const char *s = t->punct == '`' ? t->s : p->lx.src + t->off;
    size_t n = t->punct == '`' ? t->slen : t->len;
    char *z = cel_alloc(p->lx.pool, n + 1);
    if (!z) return cel_str("", 0);
    memcpy(z, s, n);
    z[n] = '\0';
    return cel_strz(z, n);
}

static cel_node *parse_expr(parser *p);

/* ExprList up to the closing character; collects nodes and `?` flags. */
typedef struct { cel_node *v[256]; uint8_t opt[256]; uint32_t n; } nodelist;

static int parse_list(parser *p, int close, nodelist *l, int allow_opt, int pairs)
{
    l->n = 0;
    while (!is_p(p, close)) {
        if (l->n + 2 > sizeof l->v / sizeof l->v[0]) return fail(p, p->t.off, "too many elements");
        uint8_t opt = 0;
        if (allow_opt && is_p(p, '?')) {
            opt = 1;
            if (next(p)) return -1;
        }
        cel_node *e = parse_expr(p);
        if (!e) return -1;
        l->opt[l->n] = opt;
        l->v[l->n++] = e;
        if (pairs) {
            if (expect(p, ':', "':'")) return -1;
            if (!(e = parse_expr(p))) return -1;
            l->v[l->n++] = e;
        }
        if (!is_p(p, ',')) break;
        if (next(p)) return -1;
    }
    return expect(p, close, close == ')' ? "')'" : close == ']' ? "']'" : "'}'");
}

static cel_node *from_list(parser *p, int op, size_t off, const nodelist *l, int pairs)
{
    cel_node *n = mk(p, op, off, l->n);
    if (!n) return NULL;
    if (l->n) memcpy(n->args, l->v, l->n * sizeof *n->args);
    int anyopt = 0;
    for (uint32_t i = 0; i < l->n; i += pairs ? 2 : 1) anyopt |= l->opt[i];
    if (anyopt) {
        uint32_t cnt = pairs ? l->n / 2 : l->n;
        if (!(n->optf = cel_alloc(p->lx.pool, cnt ? cnt : 1))) return NULL;
        for (uint32_t i = 0; i < cnt; i++) n->optf[i] = l->opt[pairs ? 2 * i : i];
    }
    return seal(p, n);
}

static int name_is(const cel_value *v, const char *s)
{
    return v->n == strlen(s) && memcmp(v->u.s, s, v->n) == 0;
}

/* Expands a macro call, or returns the plain call. target NULL for global calls. */
static cel_node *call(parser *p, size_t off, cel_value name, cel_node *target, const nodelist *l)
{
    if (!target && name_is(&name, "has") && l->n == 1) {
        cel_node *a = l->v[0];
        if (a->op != N_SELECT || a->opt) {
            fail(p, off, "invalid argument to has() macro");
            return NULL;
        }
        a->op = N_HAS;
        return a;
    }
    static const struct { const char *name; int args, kind; } macros[] = {
        {"all", 2, C_ALL}, {"exists", 2, C_EXISTS}, {"exists_one", 2, C_EXISTS_ONE},
        {"existsOne", 2, C_EXISTS_ONE}, {"map", 2, C_MAP}, {"map", 3, C_MAP_FILTER},
        {"filter", 2, C_FILTER}, {"optMap", 2, C_OPTMAP}, {"optFlatMap", 2, C_OPTFLATMAP}};
    if (target) {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
            if (!name_is(&name, macros[i].name) || (int)l->n != macros[i].args) continue;
            if (l->v[0]->op != N_IDENT) {
                fail(p, (size_t)l->v[0]->col - 1, "argument is not an identifier");
                return NULL;
            }
            cel_node *n = mk(p, N_COMP, off, l->n);
            if (!n) return NULL;
            n->fn = (uint16_t)macros[i].kind;
            n->lit = l->v[0]->lit; /* variable name */
            n->args[0] = target;
            for (uint32_t k = 1; k < l->n; k++) n->args[k] = l->v[k];
            return seal(p, n);
        }
    }
    uint32_t na = l->n + (target != NULL);
    cel_node *n = mk(p, N_CALL, off, na);
    if (!n) return NULL;
    n->lit = name;
    n->member = target != NULL;
    if (target) n->args[0] = target;
    if (l->n) memcpy(n->args + (target != NULL), l->v, l->n * sizeof *n->args);
    return seal(p, n);
}

static int enter(parser *p)
{
    if (++p->depth > CEL_MAX_DEPTH) return fail(p, p->t.off, "expression nested too deeply");
    return 0;
}

static cel_node *literal(parser *p)
{
    cel_node *n = mk(p, N_LIT, p->t.off, 0);
    if (!n) return NULL;
    switch (p->t.type) {
    case T_INT:
        if (p->t.u > INT64_MAX) {
            fail(p, p->t.off, "integer literal out of range");
            return NULL;
        }
        n->lit = cel_int((int64_t)p->t.u);
        break;
    case T_UINT: n->lit = cel_uint(p->t.u); break;
    case T_DOUBLE: n->lit = cel_double(p->t.d); break;
    case T_STRING: n->lit = p->t.nul_inside ? cel_str(p->t.s, p->t.slen) : cel_strz(p->t.s, p->t.slen); break;
    case T_BYTES: n->lit = cel_bytes(p->t.s, p->t.slen); break;
    }
    if (next(p)) return NULL;
    return seal(p, n);
}

static cel_node *primary(parser *p)
{
    size_t off = p->t.off;
    nodelist *l = NULL;
    cel_node *r = NULL;
    if (enter(p)) return NULL;
    if (p->t.type >= T_INT && p->t.type <= T_BYTES) {
        r = literal(p);
    } else if (is_p(p, '(')) {
        if (next(p)) return NULL;
        r = parse_expr(p);
        if (r && expect(p, ')', "')'")) r = NULL;
    } else if (is_p(p, '[') || is_p(p, '{')) {
        int map = is_p(p, '{');
        if (next(p) || !(l = malloc(sizeof *l))) goto out;
        if (parse_list(p, map ? '}' : ']', l, 1, map) == 0)
            r = from_list(p, map ? N_MAP : N_LIST, off, l, map);
    } else if (p->t.type == T_IDENT || is_p(p, '.')) {
        int dot = is_p(p, '.');
        if (dot && next(p)) goto out;
        if (p->t.type != T_IDENT || p->t.punct == '`') {
            fail(p, p->t.off, "expected identifier");
            goto out;
        }
        cel_tok id = p->t;
        if (is_word(p, "true") || is_word(p, "false") || is_word(p, "null")) {
            if (dot) { fail(p, id.off, "expected identifier"); goto out; }
            r = mk(p, N_LIT, off, 0);
            if (r) r->lit = is_word(p, "null") ? cel_null() : cel_bool(is_word(p, "true"));
            if (r && next(p)) r = NULL;
            r = seal(p, r);
            goto out;
        }
        for (int i = 0; reserved[i]; i++)
            if (is_word(p, reserved[i]) || is_word(p, "in")) {
                fail(p, id.off, "reserved identifier");
                goto out;
            }
        if (next(p)) goto out;
        if (is_p(p, '(')) {
            if (next(p) || !(l = malloc(sizeof *l))) goto out;
            if (parse_list(p, ')', l, 0, 0) == 0) r = call(p, id.off, name_of(p, &id), NULL, l);
        } else {
            r = mk(p, N_IDENT, id.off, 0);
            if (r) r->lit = name_of(p, &id);
            r = seal(p, r);
        }
    } else if (p->t.type == T_EOF) {
        fail(p, p->t.off, "unexpected end of expression");
    } else {
        fail(p, p->t.off, "unexpected token");
    }
out:
    free(l);
    p->depth--;
    return r;
}

/* A dotted name (Ident or Select chain of identifiers) may start a message literal. */
static int is_qualified(const cel_node *n)
{
    while (n->op == N_SELECT && !n->opt) n = n->args[0];
    return n->op == N_IDENT;
}

static cel_node *member(parser *p)
{
    cel_node *n = primary(p);
    while (n) {
        size_t off = p->t.off;
        if (is_p(p, '.')) {
            if (next(p)) return NULL;
            int opt = 0;
            if (is_p(p, '?')) {
                opt = 1;
                if (next(p)) return NULL;
            }
            if (p->t.type != T_IDENT) return fail(p, p->t.off, "expected field name"), NULL;
            cel_tok id = p->t;
            if (next(p)) return NULL;
            if (!opt && is_p(p, '(') && id.punct != '`') {
                nodelist *l = malloc(sizeof *l);
                if (!l || next(p) || parse_list(p, ')', l, 0, 0)) {
                    free(l);
                    return NULL;
                }
                if (enter(p) == 0) n = call(p, id.off, name_of(p, &id), n, l);
                else n = NULL;
                p->depth--;
                free(l);
                continue;
            }
            cel_node *s = mk(p, N_SELECT, id.off, 1);
            if (!s) return NULL;
            s->args[0] = n;
            s->lit = name_of(p, &id);
            s->opt = (uint8_t)opt;
            n = seal(p, s);
        } else if (is_p(p, '[')) {
            if (next(p)) return NULL;
            int opt = 0;
            if (is_p(p, '?')) {
                opt = 1;
                if (next(p)) return NULL;
            }
            cel_node *i = parse_expr(p);
            if (!i || expect(p, ']', "']'")) return NULL;
            n = bin(p, N_INDEX, off, n, i);
            if (n) n->opt = (uint8_t)opt;
        } else if (is_p(p, '{') && is_qualified(n)) {
            /* Message construction: parsed so the grammar is whole; the checker
             * refuses it since the environment declares no message types. */
            if (next(p)) return NULL;
            nodelist *l = malloc(sizeof *l);
            if (!l) return NULL;
            cel_node *s = NULL;
            if (parse_list(p, '}', l, 1, 1) == 0) s = from_list(p, N_STRUCT, (size_t)n->col - 1, l, 1);
            free(l);
            if (!s) return NULL;
            n = s;
        } else {
            break;
        }
    }
    return n;
}

static cel_node *unary(parser *p)
{
    size_t off = p->t.off;
    if (is_p(p, '!') || is_p(p, '-')) {
        int c = p->t.punct, count = 0;
        while (is_p(p, c)) {
            if (next(p)) return NULL;
            count++;
        }
        /* -9223372036854775808 is a literal, not the negation of one out of range */
        if (c == '-' && p->t.type == T_INT && p->t.u == (uint64_t)INT64_MAX + 1) {
            cel_tok save = p->t;
            size_t pos = p->lx.pos;
            if (next(p)) return NULL;
            if (!is_p(p, '.') && !is_p(p, '[')) {
                cel_node *n = mk(p, N_LIT, off, 0);
                if (!n) return NULL;
                n->lit = cel_int(INT64_MIN);
                n = seal(p, n);
                for (int i = 1; n && i < count; i++) {
                    cel_node *m = mk(p, N_NEG, off, 1);
                    if (!m) return NULL;
                    m->args[0] = n;
                    n = seal(p, m);
                }
                return n;
            }
            p->t = save;
            p->lx.pos = pos;
        }
        cel_node *n = member(p);
        for (int i = 0; n && i < count; i++) {
            cel_node *m = mk(p, c == '!' ? N_NOT : N_NEG, off, 1);
            if (!m) return NULL;
            m->args[0] = n;
            n = seal(p, m);
        }
        return n;
    }
    return member(p);
}

static cel_node *multiplication(parser *p)
{
    cel_node *l = unary(p);
    while (l && (is_p(p, '*') || is_p(p, '/') || is_p(p, '%'))) {
        int c = p->t.punct;
        size_t off = p->t.off;
        if (next(p)) return NULL;
        cel_node *r = unary(p);
        if (!r) return NULL;
        l = bin(p, c == '*' ? N_MUL : c == '/' ? N_DIV : N_MOD, off, l, r);
    }
    return l;
}

static cel_node *addition(parser *p)
{
    cel_node *l = multiplication(p);
    while (l && (is_p(p, '+') || is_p(p, '-'))) {
        int c = p->t.punct;
        size_t off = p->t.off;
        if (next(p)) return NULL;
        cel_node *r = multiplication(p);
        if (!r) return NULL;
        l = bin(p, c == '+' ? N_ADD : N_SUB, off, l, r);
    }
    return l;
}

static int relop(parser *p)
{
    if (p->t.type == T_PUNCT) switch (p->t.punct) {
        case '<': return N_LT;
        case '>': return N_GT;
        case P_LE: return N_LE;
        case P_GE: return N_GE;
        case P_EQ: return N_EQ;
        case P_NE: return N_NE;
        }
    if (is_word(p, "in")) return N_IN;
    return -1;
}

static cel_node *relation(parser *p)
{
    cel_node *l = addition(p);
    int op;
    while (l && (op = relop(p)) >= 0) {
        size_t off = p->t.off;
        if (next(p)) return NULL;
        cel_node *r = addition(p);
        if (!r) return NULL;
        l = bin(p, op, off, l, r);
    }
    return l;
}

static cel_node *conditional_and(parser *p)
{
    cel_node *l = relation(p);
    while (l && is_p(p, P_AND)) {
        size_t off = p->t.off;
        if (next(p)) return NULL;
        cel_node *r = relation(p);
        if (!r) return NULL;
        l = bin(p, N_AND, off, l, r);
    }
    return l;
}

static cel_node *conditional_or(parser *p)
{
    cel_node *l = conditional_and(p);
    while (l && is_p(p, P_OR)) {
        size_t off = p->t.off;
        if (next(p)) return NULL;
        cel_node *r = conditional_and(p);
        if (!r) return NULL;
        l = bin(p, N_OR, off, l, r);
    }
    return l;
}

static cel_node *parse_expr(parser *p)
{
    if (enter(p)) return NULL;
    cel_node *c = conditional_or(p);
    if (c && is_p(p, '?')) {
        size_t off = p->t.off;
        cel_node *n = mk(p, N_COND, off, 3);
        if (!n || next(p)) return NULL;
        n->args[0] = c;
        if (!(n->args[1] = conditional_or(p)) || expect(p, ':', "':'")) return NULL;
        if (!(n->args[2] = parse_expr(p))) return NULL;
        c = seal(p, n);
    }
    p->depth--;
    return c;
}

cel_node *cel_parse(cel_arena *pool, const char *src, size_t len, cel_error *err)
{
    parser p = {{src, len, 0, pool, err}, {0}, 0, err};
    err->msg[0] = '\0';
    err->column = 0;
    if (len > CEL_MAX_EXPR_LEN) {
        cel_err_at(err, NULL, 0, "expression longer than %d bytes", CEL_MAX_EXPR_LEN);
        return NULL;
    }
    if (next(&p)) return NULL;
    cel_node *n = parse_expr(&p);
    if (n && p.t.type != T_EOF) {
        fail(&p, p.t.off, "unexpected token");
        return NULL;
    }
    if (!n && !err->msg[0]) fail(&p, p.t.off, "out of memory");
    return n;
}
