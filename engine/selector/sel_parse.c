/* Path parser: turns gjson path text into a program of steps, once, at config load.
 *
 * Grammar as gjson reads it: components split on `.` and `|`; `\` escapes; a component
 * beginning with `@` is a modifier whose argument (after `:`) is either a balanced JSON value
 * or raw text running to the next `|`; `#` is length, `#.` applies the rest of the path up to
 * the next `|` to every element, `#(...)` / `#(...)#` are queries. */
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"

#define NPOS ((size_t)-1)

struct parser {
    const char *s;
    char *err;
    size_t errlen;
};

struct stepvec {
    struct sel_step *v;
    size_t n, cap;
};

static int parse_seq(struct parser *P, size_t *pos, size_t end, int depth, int stop_at_pipe,
                     struct sel_prog *out);

static void step_clear(struct sel_step *st)
{
    free(st->key);
    sel_prog_clear(&st->sub);
    if (st->q) {
        sel_prog_clear(&st->q->path);
        free(st->q->value);
        free(st->q);
    }
    sel_modarg_clear(&st->arg);
    memset(st, 0, sizeof *st);
}

void sel_prog_clear(struct sel_prog *p)
{
    for (size_t i = 0; i < p->n; i++)
        step_clear(&p->steps[i]);
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

static int push(struct stepvec *sv, const struct sel_step *st)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 4;
        struct sel_step *v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return -1;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = *st;
    return 0;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int oom(struct parser *P)
{
    sel_errf(P->err, P->errlen, "out of memory");
    return -1;
}

static void unexpected(struct parser *P, size_t i)
{
    unsigned char c = (unsigned char)P->s[i];
    if (c > ' ' && c < 0x7f)
        sel_errf(P->err, P->errlen, "unexpected character '%c' at offset %zu", c, i);
    else
        sel_errf(P->err, P->errlen, "unexpected byte 0x%02x at offset %zu", c, i);
}

/* End (one past) of a balanced group or string starting at p, as gjson's squash finds it;
 * NPOS when the text ends first. */
static size_t squash_end(const char *s, size_t p, size_t end)
{
    size_t i = p;
    int depth = 0;
    if (s[p] == '"') {
        for (i = p + 1; i < end; i++) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                return i + 1;
        }
        return NPOS;
    }
    for (; i < end; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < end && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= end)
                return NPOS;
        } else if (c == '{' || c == '[' || c == '(') {
            depth++;
        } else if (c == '}' || c == ']' || c == ')') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return NPOS;
}

static int parse_key(struct parser *P, size_t *pos, size_t end, struct sel_step *st)
{
    const char *s = P->s;
    size_t i = *pos;
    buf key = {0}, pat = {0};
    int wild = 0;
    while (i < end && s[i] != '.' && s[i] != '|') {
        if (s[i] == '\\') {
            /* A trailing backslash escapes nothing and is dropped, as in gjson. */
            if (i + 1 < end) {
                buf_putc(&key, s[i + 1]);
                buf_putc(&pat, '\\');
                buf_putc(&pat, s[i + 1]);
            }
            i += 2;
            continue;
        }
        if (s[i] == '*' || s[i] == '?')
            wild = 1;
        buf_putc(&key, s[i]);
        buf_putc(&pat, s[i]);
        i++;
    }
    if (i > end)
        i = end;
    if (key.failed || pat.failed) {
        buf_free(&key);
        buf_free(&pat);
        return oom(P);
    }
    if (key.len == 0) {
        buf_free(&key);
        buf_free(&pat);
        sel_errf(P->err, P->errlen, "empty path component at offset %zu", *pos);
        return -1;
    }
    if (wild) {
        st->op = SEL_WILD;
        st->key = pat.data;
        st->keylen = pat.len;
        buf_free(&key);
    } else {
        st->op = SEL_KEY;
        st->key = key.data;
        st->keylen = key.len;
        buf_free(&pat);
        /* All digits names an element too; huge numbers simply never match. */
        size_t idx = 0;
        int digits = 1;
        for (size_t k = 0; k < key.len; k++) {
            char c = st->key[k];
            if (c < '0' || c > '9') {
                digits = 0;
                break;
            }
            size_t d = (size_t)(c - '0');
            idx = idx > (SIZE_MAX - d) / 10 ? SIZE_MAX : idx * 10 + d;
        }
        st->has_index = digits;
        st->index = idx;
        /* The member's hash, so a request's lookup (doc_get_h) need not hash the name. */
        st->hash = doc_hash(st->key ? st->key : "", st->keylen);
    }
    *pos = i;
    return 0;
}

static int parse_mod(struct parser *P, size_t *pos, size_t end, struct sel_step *st)
{
    const char *s = P->s;
    size_t at = *pos, i = at + 1;
    while (i < end && s[i] != '.' && s[i] != '|' && s[i] != ':')
        i++;
    const char *name = s + at + 1;
    size_t nlen = i - at - 1;
    if (nlen == 0) {
        sel_errf(P->err, P->errlen, "missing modifier name at offset %zu", at);
        return -1;
    }
    st->op = SEL_MOD;
    st->mod = sel_mod_find(name, nlen);
    if (!st->mod) {
        if (sel_mod_is_unsupported(name, nlen))
            sel_errf(P->err, P->errlen, "modifier '@%.*s' is not supported at offset %zu",
                     (int)nlen, name, at);
        else
            sel_errf(P->err, P->errlen,
                     "unknown modifier '@%.*s' at offset %zu (write '\\@' for a key that "
                     "starts with '@')", (int)nlen > 64 ? 64 : (int)nlen, name, at);
        return -1;
    }
    size_t argoff = i;
    if (i < end && s[i] == ':') {
        i++;
        argoff = i;
        if (i < end) {
            size_t e;
            if (s[i] == '{' || s[i] == '[' || s[i] == '"') {
                e = squash_end(s, i, end);
                if (e == NPOS) {
                    sel_errf(P->err, P->errlen, "unterminated modifier argument at offset %zu",
                             i);
                    return -1;
                }
            } else {
                /* Raw arguments run to the next `|`, skipping over balanced groups. */
                e = i;
                while (e < end && s[e] != '|') {
                    if (s[e] == '{' || s[e] == '[' || s[e] == '"' || s[e] == '(') {
                        size_t g = squash_end(s, e, end);
                        e = g == NPOS ? end : g;
                    } else {
                        e++;
                    }
                }
            }
            st->arg.present = 1;
            st->arg.raw = dupn(s + i, e - i);
            st->arg.rawlen = e - i;
            if (!st->arg.raw)
                return oom(P);
            i = e;
        }
    }
    if (st->mod->prepare) {
        char msg[160] = "";
        if (st->mod->prepare(&st->arg, msg, sizeof msg) != 0) {
            sel_errf(P->err, P->errlen, "%s at offset %zu", msg, argoff);
            return -1;
        }
    }
    *pos = i;
    return 0;
}

static size_t trim_left(const char *s, size_t a, size_t b)
{
    while (a < b && (unsigned char)s[a] <= ' ')
        a++;
    return a;
}

static size_t trim_right(const char *s, size_t a, size_t b)
{
    while (b > a && (unsigned char)s[b - 1] <= ' ')
        b--;
    return b;
}

static int is_op_char(char c)
{
    return c == '!' || c == '=' || c == '<' || c == '>' || c == '%';
}

/* Query value: quoted strings lose their quotes (and escapes); anything else is kept raw. */
static int query_value(struct parser *P, struct sel_query *q, const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        if (memchr(v, '\\', n)) {
            struct json_object *o = sel_parse_json(v, n);
            if (o && json_object_is_type(o, json_type_string)) {
                q->vlen = (size_t)json_object_get_string_len(o);
                q->value = dupn(json_object_get_string(o), q->vlen);
                json_object_put(o);
                return q->value ? 0 : oom(P);
            }
            json_object_put(o);
        }
        v++;
        n -= 2;
    }
    q->value = dupn(v, n);
    q->vlen = n;
    return q->value ? 0 : oom(P);
}

static void query_tilde_and_number(struct sel_query *q)
{
    const char *v = q->value;
    if (q->vlen > 0 && v[0] == '~') {
        const char *t = v + 1;
        q->tilde = !strcmp(t, "*") ? SEL_T_ANY : !strcmp(t, "null") ? SEL_T_NULL
                 : !strcmp(t, "true") ? SEL_T_TRUE : !strcmp(t, "false") ? SEL_T_FALSE
                 : SEL_T_OTHER;
    }
    char *endp = NULL;
    double d = q->vlen ? strtod(v, &endp) : 0;
    q->num = (endp && *endp == '\0') ? d : 0;
}

static int parse_query(struct parser *P, size_t *pos, size_t end, int depth,
                       struct sel_step *st)
{
    const char *s = P->s;
    size_t q0 = *pos, i = q0 + 2, j = 0;
    int d = 1;
    for (; i < end; i++) {
        char c = s[i];
        if (d == 1 && j == 0 && is_op_char(c)) {
            j = i;
            continue;
        }
        if (c == '\\') {
            i++;
        } else if (c == '[' || c == '(') {
            d++;
        } else if (c == ']' || c == ')') {
            if (--d == 0)
                break;
        } else if (c == '"') {
            for (i++; i < end && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
        }
    }
    if (d > 0 || i >= end) {
        sel_errf(P->err, P->errlen, "unterminated query at offset %zu", q0);
        return -1;
    }
    size_t close = i;
    struct sel_query *q = calloc(1, sizeof *q);
    if (!q)
        return oom(P);
    st->op = SEL_QUERY;
    st->q = q;

    size_t pa = trim_left(s, q0 + 2, j ? j : close);
    size_t pb = trim_right(s, pa, j ? j : close);
    if (j) {
        size_t va = j, vb = trim_right(s, j, close);
        size_t n = vb - va, opsz;
        const char *v = s + va;
        if (n >= 2 && v[0] == '!' && v[1] == '=') {
            q->op = SEL_Q_NE; opsz = 2;
        } else if (n >= 2 && v[0] == '!' && v[1] == '%') {
            q->op = SEL_Q_NLIKE; opsz = 2;
        } else if (n >= 2 && v[0] == '<' && v[1] == '=') {
            q->op = SEL_Q_LE; opsz = 2;
        } else if (n >= 2 && v[0] == '>' && v[1] == '=') {
            q->op = SEL_Q_GE; opsz = 2;
        } else if (n >= 2 && v[0] == '=' && v[1] == '=') {
            q->op = SEL_Q_EQ; opsz = 2;
        } else if (v[0] == '<') {
            q->op = SEL_Q_LT; opsz = 1;
        } else if (v[0] == '>') {
            q->op = SEL_Q_GT; opsz = 1;
        } else if (v[0] == '=') {
            q->op = SEL_Q_EQ; opsz = 1;
        } else if (v[0] == '%') {
            q->op = SEL_Q_LIKE; opsz = 1;
        } else {
            sel_errf(P->err, P->errlen, "invalid query operator at offset %zu", j);
            return -1;
        }
        va = trim_left(s, va + opsz, vb);
        if (query_value(P, q, s + va, vb - va) != 0)
            return -1;
        query_tilde_and_number(q);
    } else {
        q->op = SEL_Q_EXISTS;
    }
    if (pb > pa) {
        size_t pp = pa;
        if (parse_seq(P, &pp, pb, depth + 1, 0, &q->path) != 0)
            return -1;
    }

    i = close + 1;
    if (i < end && s[i] == '#') {
        q->all = 1;
        i++;
        if (i < end && s[i] == '.') {
            i++;
            if (parse_seq(P, &i, end, depth + 1, 1, &st->sub) != 0)
                return -1;
        }
    }
    *pos = i;
    return 0;
}

static int parse_seq(struct parser *P, size_t *pos, size_t end, int depth, int stop_at_pipe,
                     struct sel_prog *out)
{
    const char *s = P->s;
    struct stepvec sv = {0};
    size_t i = *pos;
    int pipe = 0, wild_run = 0;

    if (depth > SEL_MAX_NEST) {
        sel_errf(P->err, P->errlen, "selector nested too deeply at offset %zu", i);
        return -1;
    }
    if (i >= end || s[i] == '.' || s[i] == '|') {
        sel_errf(P->err, P->errlen, "empty path component at offset %zu", i);
        return -1;
    }
    for (;;) {
        struct sel_step st;
        memset(&st, 0, sizeof st);
        st.off = i;
        st.pipe = (unsigned char)pipe;
        char c = s[i];
        int r;
        if (c == '@') {
            r = parse_mod(P, &i, end, &st);
        } else if (c == '#' && i + 1 < end && s[i + 1] == '.') {
            st.op = SEL_FANOUT;
            i += 2;
            r = parse_seq(P, &i, end, depth + 1, 1, &st.sub);
        } else if (c == '#' && i + 1 < end && (s[i + 1] == '(' || s[i + 1] == '[')) {
            r = parse_query(P, &i, end, depth, &st);
        } else if (c == '#' && (i + 1 == end || s[i + 1] == '|')) {
            st.op = SEL_COUNT;
            i++;
            r = 0;
        } else if (c == '[' || c == '{') {
            sel_errf(P->err, P->errlen, "multipaths are not supported at offset %zu", i);
            r = -1;
        } else if (c == '!') {
            sel_errf(P->err, P->errlen,
                     "literals are not supported at offset %zu (write '\\!' for a key that "
                     "starts with '!')", i);
            r = -1;
        } else {
            r = parse_key(P, &i, end, &st);
        }
        if (r == 0 && (st.pipe || st.op == SEL_MOD))
            wild_run = 0;
        if (r == 0 && st.op == SEL_WILD && ++wild_run > SEL_MAX_WILD) {
            sel_errf(P->err, P->errlen, "too many wildcard keys in one path at offset %zu",
                     st.off);
            r = -1;
        }
        if (r == 0 && push(&sv, &st) != 0)
            r = oom(P);
        if (r != 0) {
            step_clear(&st);
            goto fail;
        }
        if (i >= end)
            break;
        if (s[i] == '|') {
            if (stop_at_pipe)
                break;
            pipe = 1;
        } else if (s[i] == '.') {
            pipe = 0;
        } else {
            unexpected(P, i);
            goto fail;
        }
        i++;
        if (i >= end || s[i] == '.' || s[i] == '|') {
            sel_errf(P->err, P->errlen, "empty path component at offset %zu", i);
            goto fail;
        }
    }
    *pos = i;
    out->steps = sv.v;
    out->n = sv.n;
    return 0;
fail:
    out->steps = sv.v;
    out->n = sv.n;
    sel_prog_clear(out);
    return -1;
}

int sel_parse_path(const char *text, size_t begin, size_t end, int depth,
                   struct sel_prog *out, char *err, size_t errlen)
{
    struct parser P = {text, err, errlen};
    memset(out, 0, sizeof *out);
    if (begin >= end) {
        sel_errf(err, errlen, "empty selector");
        return -1;
    }
    if (end - begin >= 2 && text[begin] == '.' && text[begin + 1] == '.') {
        sel_errf(err, errlen, "JSON Lines paths ('..') are not supported at offset %zu", begin);
        return -1;
    }
    size_t pos = begin;
    if (parse_seq(&P, &pos, end, depth, 0, out) != 0)
        return -1;
    if (pos != end) {
        unexpected(&P, pos);
        sel_prog_clear(out);
        return -1;
    }
    return 0;
}
