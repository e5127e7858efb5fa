/* The evaluator: runs a compiled program against a json-c tree.
 *
 * Steps between two boundaries (a `|`, or a modifier) form a run. Inside a run a wildcard
 * key backtracks: like gjson, it picks the first member for which the rest of the run
 * resolves. Plain key and index steps borrow from the tree and allocate nothing; only `#`
 * results and modifiers create objects, which the evaluator holds until the caller takes
 * its own reference. */
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

static void drop(struct sel_cur *c)
{
    json_object_put(c->hold);
    c->hold = NULL;
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

static int truthy(struct json_object *v, int want_true)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return !want_true;
    case json_type_boolean:
        return json_object_get_boolean(v) == want_true;
    case json_type_int:
    case json_type_double:
        return (json_object_get_double(v) != 0) == want_true;
    case json_type_string: {
        int b = parse_bool(json_object_get_string(v));
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

static int compare(const struct sel_query *q, int present, struct json_object *v)
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
    switch (json_object_get_type(v)) {
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
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
    case json_type_int:
    case json_type_double: {
        double d = json_object_get_double(v);
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
    case json_type_boolean:
        return cmp_bool(q->op, json_object_get_boolean(v), q->value, q->vlen);
    default:
        return 0;
    }
}

static int is_container(struct json_object *v)
{
    enum json_type t = json_object_get_type(v);
    return t == json_type_object || t == json_type_array;
}

/* A query path reads members, so a scalar element only matches a query without one. */
static int query_match(const struct sel_query *q, struct json_object *elem, int depth,
                       int *match)
{
    struct sel_cur c = {elem, NULL, SEL_PRESENT};
    if (q->path.n == 0) {
        if (is_container(elem))
            c.state = SEL_LOST;
    } else if (!is_container(elem)) {
        *match = 0;
        return 0;
    } else if (sel_eval(&q->path, &c, depth + 1) != 0) {
        drop(&c);
        return -1;
    }
    *match = compare(q, c.state == SEL_PRESENT, c.v);
    drop(&c);
    return 0;
}

/* Applies sub (when it has steps) to each element of arr, keeping elements that pass the
 * query q (when given) and results that exist; a new array. */
static int each(const struct sel_prog *sub, const struct sel_query *q, struct json_object *arr,
                int depth, struct json_object **out)
{
    size_t n = json_object_array_length(arr);
    struct json_object *r = json_object_new_array_ext(n > 1024 ? 1024 : (int)n);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        if (q) {
            int m;
            if (query_match(q, e, depth, &m) != 0)
                goto fail;
            if (!m)
                continue;
        }
        struct sel_cur c = {e, NULL, SEL_PRESENT};
        if (sub->n && sel_eval(sub, &c, depth + 1) != 0) {
            drop(&c);
            goto fail;
        }
        int bad = 0;
        if (c.state == SEL_PRESENT) {
            struct json_object *v = json_object_get(c.v);
            if (json_object_array_add(r, v) != 0) {
                json_object_put(v);
                bad = 1;
            }
        }
        drop(&c);
        if (bad)
            goto fail;
    }
    *out = r;
    return 0;
fail:
    json_object_put(r);
    return -1;
}

static void result(struct sel_cur *out, struct json_object *v, struct json_object *hold,
                   int state)
{
    out->v = v;
    out->hold = hold;
    out->state = state;
}

/* Navigates steps [i, j) of one run from v (present, kept alive by the caller). */
static int walk(const struct sel_prog *p, size_t i, size_t j, struct json_object *v, int depth,
                struct sel_cur *out)
{
    for (size_t k = i; k < j; k++) {
        const struct sel_step *st = &p->steps[k];
        int last = k + 1 == j;
        enum json_type t = json_object_get_type(v);
        /* gjson runs a following modifier on nothing only if the container of the last
         * component was found. */
        int fail = last && is_container(v) ? SEL_REACHED : SEL_LOST;
        struct json_object *child, *made;

        switch (st->op) {
        case SEL_COUNT:
            if (t == json_type_array) {
                made = json_object_new_int64((int64_t)json_object_array_length(v));
                if (!made)
                    return -1;
                result(out, made, made, SEL_PRESENT);
                return 0;
            }
            /* On an object `#` is an ordinary member name. */
            if (t != json_type_object || !json_object_object_get_ex(v, "#", &child))
                break;
            v = child;
            continue;
        case SEL_KEY:
            if (t == json_type_object) {
                struct lh_table *tb = json_object_get_object(v);
                struct lh_entry *e = st->hash_fn && tb->hash_fn == st->hash_fn
                    ? lh_table_lookup_entry_w_hash(tb, st->key, st->hash)
                    : lh_table_lookup_entry(tb, st->key);
                if (!e)
                    break;
                child = (struct json_object *)lh_entry_v(e);
            } else if (t == json_type_array && st->has_index &&
                       st->index < json_object_array_length(v)) {
                child = json_object_array_get_idx(v, st->index);
            } else {
                break;
            }
            v = child;
            continue;
        case SEL_WILD: {
            if (t != json_type_object)
                break;
            int reached = 0;
            struct json_object_iterator it = json_object_iter_begin(v);
            struct json_object_iterator end = json_object_iter_end(v);
            for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *name = json_object_iter_peek_name(&it);
                if (!sel_glob(name, strlen(name), st->key, st->keylen))
                    continue;
                child = json_object_iter_peek_value(&it);
                if (last) {
                    result(out, child, NULL, SEL_PRESENT);
                    return 0;
                }
                struct sel_cur r;
                if (walk(p, k + 1, j, child, depth, &r) != 0)
                    return -1;
                if (r.state == SEL_PRESENT) {
                    *out = r;
                    return 0;
                }
                reached |= r.state == SEL_REACHED;
            }
            result(out, NULL, NULL, last || reached ? SEL_REACHED : SEL_LOST);
            return 0;
        }
        case SEL_FANOUT:
            if (t == json_type_array) {
                if (each(&st->sub, NULL, v, depth, &made) != 0)
                    return -1;
                result(out, made, made, SEL_PRESENT);
                return 0;
            }
            if (t == json_type_object && json_object_object_get_ex(v, "#", &child)) {
                struct sel_cur c = {child, NULL, SEL_PRESENT};
                if (sel_eval(&st->sub, &c, depth + 1) != 0) {
                    drop(&c);
                    return -1;
                }
                *out = c;
                return 0;
            }
            break;
        case SEL_QUERY:
            if (t != json_type_array)
                break;
            if (st->q->all) {
                if (each(&st->sub, st->q, v, depth, &made) != 0)
                    return -1;
                result(out, made, made, SEL_PRESENT);
                return 0;
            } else {
                size_t n = json_object_array_length(v);
                struct json_object *hit = NULL;
                int found = 0;
                for (size_t e = 0; e < n && !found; e++) {
                    hit = json_object_array_get_idx(v, e);
                    if (query_match(st->q, hit, depth, &found) != 0)
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
        result(out, NULL, NULL, fail);
        return 0;
    }
    result(out, v, NULL, SEL_PRESENT);
    return 0;
}

static size_t run_end(const struct sel_prog *p, size_t i)
{
    size_t j = i + 1;
    while (j < p->n && !p->steps[j].pipe && p->steps[j].op != SEL_MOD)
        j++;
    return j;
}

int sel_eval(const struct sel_prog *p, struct sel_cur *cur, int depth)
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
            struct json_object *o = NULL;
            int present = 0;
            if (st->mod->apply(&st->arg, cur->state == SEL_PRESENT ? cur->v : NULL,
                               cur->state == SEL_PRESENT, &o, &present) != 0) {
                json_object_put(o);
                return -1;
            }
            if (!present) {
                json_object_put(o);
                o = NULL;
            }
            drop(cur);
            cur->hold = o;
            cur->v = o;
            cur->state = present ? SEL_PRESENT : SEL_REACHED;
            continue;
        }
        size_t j = run_end(p, i);
        if (cur->state != SEL_PRESENT) {
            drop(cur);
            cur->v = NULL;
            cur->state = SEL_LOST;
            i = j;
            continue;
        }
        struct sel_cur r;
        if (walk(p, i, j, cur->v, depth, &r) != 0)
            return -1;
        if (r.hold || r.state != SEL_PRESENT)
            drop(cur);
        if (r.hold)
            cur->hold = r.hold;
        cur->v = r.v;
        cur->state = r.state;
        i = j;
    }
    return 0;
}
