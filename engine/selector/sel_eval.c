/* The evaluator: runs a compiled program against a request document (engine/doc).
 *
 * Steps between two boundaries (a `|`, or a modifier) form a run. Inside a run a wildcard
 * key backtracks: like gjson, it picks the first member for which the rest of the run
 * resolves. Plain key and index steps read the document (doc_get_h with the hash computed
 * at compile time) and allocate nothing; only `#` results and modifiers build nodes, in the
 * caller's arena. Nodes of the document are never written. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <string.h>
#include "sel_internal.h"
#include "util/str.h"

static int eval_depth_ok(int depth)
{
    return depth <= 2 * SEL_MAX_NEST + 2;
}

/* Go's strconv.ParseBool on the lower-cased string: 1 true, 0 false, -1 neither. */
static int parse_bool(const char *s)
{
    if (!strcmp(s, "1") || !str_icmp(s, "t") || !str_icmp(s, "true"))
        return 1;
    if (!strcmp(s, "0") || !str_icmp(s, "f") || !str_icmp(s, "false"))
        return 0;
    return -1;
}

static int truthy(const doc *v, int want_true)
{
    switch (doc_type_of(v)) {
    case DOC_NULL:
        return !want_true;
    case DOC_BOOL:
        return doc_bool(v) == want_true;
    case DOC_INT:
    case DOC_DOUBLE:
        return (doc_double(v) != 0) == want_true;
    case DOC_STRING: {
        int b = parse_bool(doc_str(v, NULL));
        return b >= 0 && b == want_true;
    }
    default:
        return 0;
    }
}

static int eq_text(const char *a, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(a, lit, n) == 0;
}

/* gjson's comparison of a boolean element with the query's value text. */
static int cmp_bool(enum sel_qop op, int b, const char *rpv, size_t rlen)
{
    if (b) {
        switch (op) {
        case SEL_Q_EQ: return eq_text(rpv, rlen, "true");
        case SEL_Q_NE: return !eq_text(rpv, rlen, "true");
        case SEL_Q_GT: return eq_text(rpv, rlen, "false");
        case SEL_Q_GE: return 1;
        default: return 0;
        }
    }
    switch (op) {
    case SEL_Q_EQ: return eq_text(rpv, rlen, "false");
    case SEL_Q_NE: return !eq_text(rpv, rlen, "false");
    case SEL_Q_LT: return eq_text(rpv, rlen, "true");
    case SEL_Q_LE: return 1;
    default: return 0;
    }
}

static int compare(const struct sel_query *q, int present, const doc *v)
{
    if (q->tilde != SEL_T_NONE) {
        int ish;
        switch (q->tilde) {
        case SEL_T_ANY: ish = present; break;
        case SEL_T_NULL: ish = !present || v == NULL; break;
        case SEL_T_TRUE: ish = present && truthy(v, 1); break;
        case SEL_T_FALSE: ish = !present || truthy(v, 0); break;
        default: return 0;
        }
        return q->op == SEL_Q_EXISTS ? 1 : cmp_bool(q->op, ish, "true", 4);
    }
    if (!present)
        return 0;
    if (q->op == SEL_Q_EXISTS)
        return 1;
    switch (doc_type_of(v)) {
    case DOC_STRING: {
        size_t n;
        const char *s = doc_str(v, &n);
        if (q->op == SEL_Q_LIKE || q->op == SEL_Q_NLIKE)
            return sel_glob(s, n, q->value, q->vlen) == (q->op == SEL_Q_LIKE);
        int c = memcmp(s, q->value, n < q->vlen ? n : q->vlen);
        if (c == 0)
            c = n < q->vlen ? -1 : n > q->vlen;
        switch (q->op) {
        case SEL_Q_EQ: return c == 0;
        case SEL_Q_NE: return c != 0;
        case SEL_Q_LT: return c < 0;
        case SEL_Q_LE: return c <= 0;
        case SEL_Q_GT: return c > 0;
        case SEL_Q_GE: return c >= 0;
        default: return 0;
        }
    }
    case DOC_INT:
    case DOC_DOUBLE: {
        double d = doc_double(v);
        switch (q->op) {
        case SEL_Q_EQ: return d == q->num;
        case SEL_Q_NE: return d != q->num;
        case SEL_Q_LT: return d < q->num;
        case SEL_Q_LE: return d <= q->num;
        case SEL_Q_GT: return d > q->num;
        case SEL_Q_GE: return d >= q->num;
        default: return 0;
        }
    }
    case DOC_BOOL:
        return cmp_bool(q->op, doc_bool(v), q->value, q->vlen);
    default:
        return 0;
    }
}

static int is_container(const doc *v)
{
    doc_type t = doc_type_of(v);
    return t == DOC_OBJECT || t == DOC_ARRAY;
}

/* A query path reads members, so a scalar element only matches a query without one. */
static int query_match(const struct sel_query *q, const doc *elem, struct arena *a, int depth,
                       int *match)
{
    struct sel_cur c = {elem, SEL_PRESENT};
    if (q->path.n == 0) {
        if (is_container(elem))
            c.state = SEL_LOST;
    } else if (!is_container(elem)) {
        *match = 0;
        return 0;
    } else if (sel_eval(&q->path, &c, a, depth + 1) != 0) {
        return -1;
    }
    *match = compare(q, c.state == SEL_PRESENT, c.v);
    return 0;
}

/* Applies sub (when it has steps) to each element of arr, keeping elements that pass the
 * query q (when given) and results that exist; a new array. */
static int each(const struct sel_prog *sub, const struct sel_query *q, const doc *arr,
                struct arena *a, int depth, const doc **out)
{
    size_t n = doc_len(arr);
    doc *r = doc_new_array(a, q ? 0 : n);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const doc *e = doc_at(arr, i);
        if (q) {
            int m;
            if (query_match(q, e, a, depth, &m) != 0)
                return -1;
            if (!m)
                continue;
        }
        struct sel_cur c = {e, SEL_PRESENT};
        if (sub->n && sel_eval(sub, &c, a, depth + 1) != 0)
            return -1;
        if (c.state == SEL_PRESENT && doc_append(a, r, c.v) != 0)
            return -1;
    }
    *out = r;
    return 0;
}

static void result(struct sel_cur *out, const doc *v, int state)
{
    out->v = v;
    out->state = state;
}

/* The "#" member of an object (on an object `#` is an ordinary member name). */
static const doc *hash_member(const doc *v, int *found)
{
    return doc_get(v, "#", 1, found);
}

/* Navigates steps [i, j) of one run from v (present). */
static int walk(const struct sel_prog *p, size_t i, size_t j, const doc *v, struct arena *a,
                int depth, struct sel_cur *out)
{
    for (size_t k = i; k < j; k++) {
        const struct sel_step *st = &p->steps[k];
        int last = k + 1 == j;
        doc_type t = doc_type_of(v);
        /* gjson runs a following modifier on nothing only if the container of the last
         * component was found. */
        int fail = last && is_container(v) ? SEL_REACHED : SEL_LOST;
        const doc *child;
        const doc *made;
        int found;

        switch (st->op) {
        case SEL_COUNT:
            if (t == DOC_ARRAY) {
                if (!(made = doc_new_int(a, (int64_t)doc_len(v))))
                    return -1;
                result(out, made, SEL_PRESENT);
                return 0;
            }
            child = hash_member(v, &found);
            if (!found)
                break;
            v = child;
            continue;
        case SEL_KEY:
            if (t == DOC_OBJECT) {
                child = doc_get_h(v, st->key, st->keylen, st->hash, &found);
                if (!found)
                    break;
            } else if (t == DOC_ARRAY && st->has_index && st->index < doc_len(v)) {
                child = doc_at(v, st->index);
            } else {
                break;
            }
            v = child;
            continue;
        case SEL_WILD: {
            if (t != DOC_OBJECT)
                break;
            int reached = 0;
            for (size_t m = 0; m < v->n; m++) {
                const doc_member *mb = doc_member_at(v, m);
                if (!sel_glob(mb->key, mb->klen, st->key, st->keylen))
                    continue;
                child = mb->val;
                if (last) {
                    result(out, child, SEL_PRESENT);
                    return 0;
                }
                struct sel_cur r;
                if (walk(p, k + 1, j, child, a, depth, &r) != 0)
                    return -1;
                if (r.state == SEL_PRESENT) {
                    *out = r;
                    return 0;
                }
                reached |= r.state == SEL_REACHED;
            }
            result(out, NULL, last || reached ? SEL_REACHED : SEL_LOST);
            return 0;
        }
        case SEL_FANOUT:
            if (t == DOC_ARRAY) {
                if (each(&st->sub, NULL, v, a, depth, &made) != 0)
                    return -1;
                result(out, made, SEL_PRESENT);
                return 0;
            }
            child = hash_member(v, &found);
            if (found) {
                struct sel_cur c = {child, SEL_PRESENT};
                if (sel_eval(&st->sub, &c, a, depth + 1) != 0)
                    return -1;
                *out = c;
                return 0;
            }
            break;
        case SEL_QUERY:
            if (t != DOC_ARRAY)
                break;
            if (st->q->all) {
                if (each(&st->sub, st->q, v, a, depth, &made) != 0)
                    return -1;
                result(out, made, SEL_PRESENT);
                return 0;
            } else {
                size_t n = doc_len(v);
                const doc *hit = NULL;
                found = 0;
                for (size_t e = 0; e < n && !found; e++) {
                    hit = doc_at(v, e);
                    if (query_match(st->q, hit, a, depth, &found) != 0)
                        return -1;
                }
                if (!found)
                    break;
                v = hit;
                continue;
            }
        default:
            break;
        }
        result(out, NULL, fail);
        return 0;
    }
    result(out, v, SEL_PRESENT);
    return 0;
}

static size_t run_end(const struct sel_prog *p, size_t i)
{
    size_t j = i + 1;
    while (j < p->n && !p->steps[j].pipe && p->steps[j].op != SEL_MOD)
        j++;
    return j;
}

int sel_eval(const struct sel_prog *p, struct sel_cur *cur, struct arena *a, int depth)
{
    if (!eval_depth_ok(depth))
        return -1;
    size_t i = 0;
    while (i < p->n) {
        const struct sel_step *st = &p->steps[i];
        if (st->op == SEL_MOD) {
            i++;
            if (cur->state == SEL_LOST)
                continue;
            const doc *o = NULL;
            int present = 0;
            if (st->mod->apply(&st->arg, cur->state == SEL_PRESENT ? cur->v : NULL,
                               cur->state == SEL_PRESENT, a, &o, &present) != 0)
                return -1;
            cur->v = present ? o : NULL;
            cur->state = present ? SEL_PRESENT : SEL_REACHED;
            continue;
        }
        size_t j = run_end(p, i);
        if (cur->state != SEL_PRESENT) {
            cur->v = NULL;
            cur->state = SEL_LOST;
            i = j;
            continue;
        }
        struct sel_cur r;
        if (walk(p, i, j, cur->v, a, depth, &r) != 0)
            return -1;
        *cur = r;
        i = j;
    }
    return 0;
}

int sel_prog_is_static(const struct sel_prog *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->steps[i].op != SEL_KEY)
            return 0;
    return 1;
}

/* Plain keys and indexes only: what is missing stays missing whatever follows (no modifier
 * can run on it), so the REACHED/LOST distinction and the run boundaries do not matter. */
const doc *sel_eval_static(const struct sel_prog *p, const doc *v)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct sel_step *st = &p->steps[i];
        if (!v)
            return NULL;
        if (v->type == DOC_OBJECT) {
            v = doc_get_h(v, st->key, st->keylen, st->hash, NULL);
        } else if (v->type == DOC_ARRAY && st->has_index) {
            v = st->index < v->n ? v->u.items[st->index] : NULL;
        } else {
            return NULL;
        }
    }
    return v;
}
