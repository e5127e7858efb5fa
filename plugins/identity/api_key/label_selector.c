/*
 * label_selector.c - Kubernetes label selector semantics
 * (k8s.io/apimachinery/pkg/labels): every requirement must hold; matchLabels
 * entries are "key In (value)"; NotIn and DoesNotExist also hold when the
 * label is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label_selector.h"

typedef enum lsel_op { LSEL_IN, LSEL_NOT_IN, LSEL_EXISTS, LSEL_NOT_EXISTS } lsel_op;

typedef struct lsel_req {
    char *key;
    lsel_op op;
    char **values;
    size_t n_values;
} lsel_req;

struct lsel {
    lsel_req *reqs;
    size_t n, cap;
};

static char *lsel_strndup(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static lsel_req *lsel_push(lsel *sel)
{
    if (sel->n == sel->cap) {
        size_t cap = sel->cap ? sel->cap * 2 : 4;
        lsel_req *r = realloc(sel->reqs, cap * sizeof(*r));

        if (!r)
            return NULL;
        sel->reqs = r;
        sel->cap = cap;
    }
    memset(&sel->reqs[sel->n], 0, sizeof(sel->reqs[0]));
    return &sel->reqs[sel->n++];
}

static int lsel_add_value(lsel_req *r, const char *s, size_t len)
{
    char **v = realloc(r->values, (r->n_values + 1) * sizeof(*v));

    if (!v)
        return -1;
    r->values = v;
    v[r->n_values] = lsel_strndup(s, len);
    if (!v[r->n_values])
        return -1;
    r->n_values++;
    return 0;
}

typedef struct lsel_build {
    const pc_host *host;
    lsel *sel;
    char *err;
    size_t errlen;
} lsel_build;

static int lsel_add_match_label(void *arg, const char *key, const pc_value *val)
{
    lsel_build *b = arg;
    const char *s;
    size_t len = 0;
    lsel_req *r;

    s = b->host->value_string(val, &len);
    if (!s) {
        snprintf(b->err, b->errlen,
                 "selector.matchLabels.%s: value must be a string", key);
        return -1;
    }
    r = lsel_push(b->sel);
    if (!r || !(r->key = lsel_strndup(key, strlen(key))) ||
        lsel_add_value(r, s, len) != 0) {
        snprintf(b->err, b->errlen, "out of memory");
        return -1;
    }
    r->op = LSEL_IN;
    return 0;
}

static int lsel_parse_op(const char *s, lsel_op *op)
{
    static const struct { const char *name; lsel_op op; } ops[] = {
        {"In", LSEL_IN}, {"NotIn", LSEL_NOT_IN},
        {"Exists", LSEL_EXISTS}, {"DoesNotExist", LSEL_NOT_EXISTS},
    };
    size_t i;

    for (i = 0; s && i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(s, ops[i].name) == 0) {
            *op = ops[i].op;
            return 0;
        }
    }
    return -1;
}

static int lsel_add_expression(lsel_build *b, size_t idx, const pc_value *ex)
{
    const pc_host *h = b->host;
    const pc_value *vals = h->value_get(ex, "values");
    const char *key, *op_s;
    size_t key_len = 0, n_vals, i;
    lsel_op op;
    lsel_req *r;

    key = h->value_string(h->value_get(ex, "key"), &key_len);
    op_s = h->value_string(h->value_get(ex, "operator"), NULL);
    if (!key || key_len == 0) {
        snprintf(b->err, b->errlen,
                 "selector.matchExpressions[%zu].key: a non-empty string is required",
                 idx);
        return -1;
    }
    if (lsel_parse_op(op_s, &op) != 0) {
        snprintf(b->err, b->errlen,
                 "selector.matchExpressions[%zu].operator: must be In, NotIn, "
                 "Exists or DoesNotExist", idx);
        return -1;
    }
    if (vals && h->value_type(vals) != PC_TYPE_ARRAY) {
        snprintf(b->err, b->errlen,
                 "selector.matchExpressions[%zu].values: must be a list", idx);
        return -1;
    }
    n_vals = vals ? h->value_length(vals) : 0;
    /* Kubernetes refuses these shapes rather than guessing what was meant. */
    if ((op == LSEL_IN || op == LSEL_NOT_IN) && n_vals == 0) {
        snprintf(b->err, b->errlen,
                 "selector.matchExpressions[%zu].values: must be non-empty "
                 "for In and NotIn", idx);
        return -1;
    }
    if ((op == LSEL_EXISTS || op == LSEL_NOT_EXISTS) && n_vals != 0) {
        snprintf(b->err, b->errlen,
                 "selector.matchExpressions[%zu].values: must be empty for "
                 "Exists and DoesNotExist", idx);
        return -1;
    }
    r = lsel_push(b->sel);
    if (!r || !(r->key = lsel_strndup(key, key_len))) {
        snprintf(b->err, b->errlen, "out of memory");
        return -1;
    }
    r->op = op;
    for (i = 0; i < n_vals; i++) {
        size_t len = 0;
        const char *s = h->value_string(h->value_at(vals, i), &len);

        if (!s) {
            snprintf(b->err, b->errlen,
                     "selector.matchExpressions[%zu].values[%zu]: must be a string",
                     idx, i);
            return -1;
        }
        if (lsel_add_value(r, s, len) != 0) {
            snprintf(b->err, b->errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

lsel *lsel_compile(const pc_host *host, const pc_value *spec, char *err,
                   size_t errlen)
{
    lsel_build b = {host, NULL, err, errlen};
    const pc_value *labels, *exprs;
    size_t i, n;

    if (!spec || host->value_type(spec) != PC_TYPE_OBJECT) {
        snprintf(err, errlen, "selector: an object is required");
        return NULL;
    }
    b.sel = calloc(1, sizeof(*b.sel));
    if (!b.sel) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    labels = host->value_get(spec, "matchLabels");
    if (labels) {
        if (host->value_type(labels) != PC_TYPE_OBJECT) {
            snprintf(err, errlen, "selector.matchLabels: must be a map");
            goto fail;
        }
        if (host->value_foreach(labels, lsel_add_match_label, &b) != 0)
            goto fail;
    }
    exprs = host->value_get(spec, "matchExpressions");
    if (exprs) {
        if (host->value_type(exprs) != PC_TYPE_ARRAY) {
            snprintf(err, errlen, "selector.matchExpressions: must be a list");
            goto fail;
        }
        n = host->value_length(exprs);
        for (i = 0; i < n; i++) {
            const pc_value *ex = host->value_at(exprs, i);

            if (host->value_type(ex) != PC_TYPE_OBJECT) {
                snprintf(err, errlen,
                         "selector.matchExpressions[%zu]: must be an object", i);
                goto fail;
            }
            if (lsel_add_expression(&b, i, ex) != 0)
                goto fail;
        }
    }
    return b.sel;
fail:
    lsel_free(b.sel);
    return NULL;
}

static int lsel_in(const lsel_req *r, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < r->n_values; i++)
        if (strlen(r->values[i]) == len && memcmp(r->values[i], s, len) == 0)
            return 1;
    return 0;
}

int lsel_match(const pc_host *host, const lsel *sel, const pc_value *labels)
{
    size_t i;

    if (labels && host->value_type(labels) != PC_TYPE_OBJECT)
        labels = NULL;
    for (i = 0; i < sel->n; i++) {
        const lsel_req *r = &sel->reqs[i];
        const pc_value *v = labels ? host->value_get(labels, r->key) : NULL;
        size_t len = 0;
        /* A label that is not a string cannot equal any value; it still
         * "exists" for Exists/DoesNotExist. */
        const char *s = v ? host->value_string(v, &len) : NULL;
        int ok;

        switch (r->op) {
        case LSEL_IN:
            ok = s && lsel_in(r, s, len);
            break;
        case LSEL_NOT_IN:
            ok = !s || !lsel_in(r, s, len);
            break;
        case LSEL_EXISTS:
            ok = v != NULL;
            break;
        default:
            ok = v == NULL;
            break;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

size_t lsel_size(const lsel *sel)
{
    return sel ? sel->n : 0;
}

void lsel_free(lsel *sel)
{
    size_t i, j;

    if (!sel)
        return;
    for (i = 0; i < sel->n; i++) {
        for (j = 0; j < sel->reqs[i].n_values; j++)
            free(sel->reqs[i].values[j]);
        free(sel->reqs[i].values);
        free(sel->reqs[i].key);
    }
    free(sel->reqs);
    free(sel);
}
