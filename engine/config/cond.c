/* cond.c - pattern expressions (selector/operator/value, patternRef, all,
 * any). Regexes are compiled once here, never per request (Authorino
 * recompiles them on every evaluation). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "celcfg.h"
#include "cfgerr.h"
#include "cond.h"
#include "selector/selector.h"
#include "util/thread_exit.h"

struct pc_cond {
    cond_kind kind;
    sel_expr *sel;
    cond_op op;
    char *value;
    size_t vlen;
    pcre2_code *re;
    pc_cond **kids;
    size_t n;
    cel_program *cel; /* COND_CEL */
    char *path;       /* COND_CEL: where it was written, for reasons */
};

static const char *const op_names[] = {"eq", "neq", "incl", "excl", "matches"};

void cond_free(pc_cond *c)
{
    if (!c)
        return;
    sel_free(c->sel);
    free(c->value);
    if (c->re)
        pcre2_code_free(c->re);
    for (size_t i = 0; i < c->n; i++)
        cond_free(c->kids[i]);
    free(c->kids);
    cel_program_free(c->cel);
    free(c->path);
    free(c);
}

static int add_kid(pc_cond *parent, pc_cond *kid)
{
    pc_cond **k = realloc(parent->kids, (parent->n + 1) * sizeof *k);
    if (!k)
        return -1;
    parent->kids = k;
    parent->kids[parent->n++] = kid;
    return 0;
}

/* The value of a pattern is compared with gjson's String() of the selected
 * value, so any scalar the user wrote is turned into that same text. */
static char *value_text(struct json_object *v, size_t *len)
{
    struct arena a;
    arena_init(&a, 0);
    int err = 0;
    const doc *d = doc_from_jsonc(&a, v, NULL, &err);
    const char *s = err ? NULL : sel_text(d, &a, len);
    char *out = s ? malloc(*len + 1) : NULL;
    if (out) {
        memcpy(out, s, *len);
        out[*len] = '\0';
    }
    arena_free(&a);
    return out;
}

/* Every field of a pattern item must be one the item's form declares: a
 * typo such as `valu` would otherwise change what the rule means. */
static int only_fields(struct json_object *o, const char *path,
                       const char *const *allowed, cfgerr *ce)
{
    int rc = 0;
    json_object_object_foreach(o, k, v) {
        (void)v;
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (*a)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, k);
        cfgerr_unknown(ce, o, k, p);
        rc = -1;
    }
    return rc;
}

static const char *const pattern_fields[] = {"selector", "operator", "value", NULL};

static pc_cond *compile_pattern(struct json_object *o, const char *path,
                                cfgerr *ce)
{
    char p[512];
    struct json_object *jsel, *jop, *jval;
    int bad = only_fields(o, path, pattern_fields, ce) < 0;
    if (!json_object_object_get_ex(o, "selector", &jsel) ||
        !json_object_is_type(jsel, json_type_string)) {
        snprintf(p, sizeof p, "%s.selector", path);
        cfgerr_error(ce, jsel ? jsel : o, p, "expected a selector string");
        return NULL;
    }
    pc_cond *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = COND_PATTERN;
    char err[256];
    c->sel = sel_compile_path(json_object_get_string(jsel), err, sizeof err);
    if (!c->sel) {
        snprintf(p, sizeof p, "%s.selector", path);
        cfgerr_error(ce, jsel, p, "%s", err);
        cond_free(c);
        return NULL;
    }
    json_object_object_get_ex(o, "operator", &jop);
    const char *ops = jop && json_object_is_type(jop, json_type_string)
                          ? json_object_get_string(jop) : NULL;
    int found = 0;
    for (int i = 0; ops && i < 5; i++)
        if (strcmp(ops, op_names[i]) == 0) {
            c->op = (cond_op)i;
            found = 1;
        }
    if (!found) {
        snprintf(p, sizeof p, "%s.operator", path);
        cfgerr_error(ce, jop ? jop : o, p,
                     "expected one of eq, neq, incl, excl, matches");
        cond_free(c);
        return NULL;
    }
    /* Every operator compares with a value. A missing one is not read as
     * "": `{operator: neq}` would then hold for every non-empty input. */
    snprintf(p, sizeof p, "%s.value", path);
    if (!json_object_object_get_ex(o, "value", &jval) || !jval) {
        cfgerr_error(ce, o, p, "the %s operator needs a value (write value: \"\" "
                     "to compare with the empty string)", op_names[c->op]);
        cond_free(c);
        return NULL;
    }
    if (json_object_is_type(jval, json_type_object) ||
        json_object_is_type(jval, json_type_array)) {
        cfgerr_error(ce, jval, p, "expected a string");
        cond_free(c);
        return NULL;
    }
    c->value = value_text(jval, &c->vlen);
    if (!c->value) {
        cond_free(c);
        return NULL;
    }
    if (c->op == COND_MATCHES) {
        int ec;
        PCRE2_SIZE eo;
        c->re = pcre2_compile((PCRE2_SPTR)c->value, c->vlen, PCRE2_UTF, &ec, &eo,
                              NULL);
        if (!c->re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            cfgerr_error(ce, jval, p, "invalid regular expression at offset %zu: %s",
                         (size_t)eo, (const char *)msg);
            cond_free(c);
            return NULL;
        }
        pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
    }
    if (bad) {
        cond_free(c);
        return NULL;
    }
    return c;
}

static int compile_list_into(pc_cond *parent, struct json_object *list,
                             const char *path, const cond_named *named,
                             cfgerr *ce);

/* Compiles one item and adds it to parent. Inside `any`, the patterns a
 * patternRef names become separate OR terms, as in Authorino. */
static int compile_item(pc_cond *parent, struct json_object *o,
                        const char *path, const cond_named *named, cfgerr *ce)
{
    char p[512];
    struct json_object *v;
    if (!json_object_is_type(o, json_type_object)) {
        cfgerr_error(ce, o, path, "expected a pattern object");
        return -1;
    }
    if (json_object_object_get_ex(o, "predicate", &v)) {
        static const char *const cel_fields[] = {"predicate", NULL};
        int bad = only_fields(o, path, cel_fields, ce) < 0;
        snprintf(p, sizeof p, "%s.predicate", path);
        pc_cond *c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->kind = COND_CEL;
        c->cel = celcfg_compile(v, p, ce);
        c->path = strdup(p);
        if (bad || !c->cel || !c->path || add_kid(parent, c) < 0) {
            cond_free(c);
            return -1;
        }
        return 0;
    }
    if (json_object_object_get_ex(o, "patternRef", &v)) {
        static const char *const ref_fields[] = {"patternRef", NULL};
        if (only_fields(o, path, ref_fields, ce) < 0)
            return -1;
        snprintf(p, sizeof p, "%s.patternRef", path);
        struct json_object *list;
        if (!json_object_is_type(v, json_type_string)) {
            cfgerr_error(ce, v, p, "expected a pattern name");
            return -1;
        }
        if (!named || !named->patterns ||
            !json_object_object_get_ex(named->patterns, json_object_get_string(v),
                                       &list)) {
            cfgerr_error(ce, v, p, "no pattern named \"%s\" in spec.patterns",
                         json_object_get_string(v));
            return -1;
        }
        char np[512];
        snprintf(np, sizeof np, "%s.%s", named->path ? named->path : "spec.patterns",
                 json_object_get_string(v));
        if (parent->kind == COND_ANY)
            return compile_list_into(parent, list, np, NULL, ce);
        pc_cond *all = calloc(1, sizeof *all);
        if (!all)
            return -1;
        all->kind = COND_ALL;
        if (compile_list_into(all, list, np, NULL, ce) < 0 || add_kid(parent, all) < 0) {
            cond_free(all);
            return -1;
        }
        return 0;
    }
    int is_all = json_object_object_get_ex(o, "all", &v);
    if (is_all || json_object_object_get_ex(o, "any", &v)) {
        static const char *const all_fields[] = {"all", NULL};
        static const char *const any_fields[] = {"any", NULL};
        if (only_fields(o, path, is_all ? all_fields : any_fields, ce) < 0)
            return -1;
        snprintf(p, sizeof p, "%s.%s", path, is_all ? "all" : "any");
        pc_cond *g = calloc(1, sizeof *g);
        if (!g)
            return -1;
        g->kind = is_all ? COND_ALL : COND_ANY;
        if (compile_list_into(g, v, p, named, ce) < 0 || add_kid(parent, g) < 0) {
            cond_free(g);
            return -1;
        }
        return 0;
    }
    pc_cond *c = compile_pattern(o, path, ce);
    if (!c)
        return -1;
    if (add_kid(parent, c) < 0) {
        cond_free(c);
        return -1;
    }
    return 0;
}

static int compile_list_into(pc_cond *parent, struct json_object *list,
                             const char *path, const cond_named *named,
                             cfgerr *ce)
{
    if (!list)
        return 0;
    if (!json_object_is_type(list, json_type_array)) {
        cfgerr_error(ce, list, path, "expected a list of patterns");
        return -1;
    }
    int rc = 0;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (compile_item(parent, json_object_array_get_idx(list, i), p, named, ce) < 0)
            rc = -1; /* keep going: report every broken pattern at once */
    }
    return rc;
}

pc_cond *cond_compile(struct json_object *list, const char *path,
                      const cond_named *named, cfgerr *ce)
{
    pc_cond *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = COND_ALL;
    if (compile_list_into(c, list, path, named, ce) < 0) {
        cond_free(c);
        return NULL;
    }
    return c;
}

static _Thread_local pcre2_match_data *t_md;
static pcre2_match_context *g_mctx;
static pthread_once_t g_mctx_once = PTHREAD_ONCE_INIT;

static void free_match_data(void *md)
{
    pcre2_match_data_free(md);
}

/* One read-only match context bounds every match: a pattern that
 * backtracks without end is an error (deny), not a stuck worker. */
static void make_match_context(void)
{
    g_mctx = pcre2_match_context_create(NULL);
    if (!g_mctx)
        return;
    pcre2_set_match_limit(g_mctx, COND_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(g_mctx, COND_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(g_mctx, COND_REGEX_HEAP_LIMIT_KIB);
}

/* 1 match, 0 none, -1 error: a subject that is not valid UTF-8 (the
 * pattern is UTF), a match or depth limit reached, out of memory. */
static int regex_match(const pcre2_code *re, const char *s, size_t len,
                       char *why, size_t whylen, const char *src)
{
    pthread_once(&g_mctx_once, make_match_context);
    if (!t_md) {
        if (!(t_md = pcre2_match_data_create(1, NULL))) {
            snprintf(why, whylen, "out of memory matching %s", src);
            return -1;
        }
        thread_at_exit(free_match_data, t_md);
    }
    if (!g_mctx) {
        snprintf(why, whylen, "out of memory matching %s", src);
        return -1;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, t_md, g_mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
        snprintf(why, whylen, "%s is not valid UTF-8; cannot match it", src);
        return -1;
    }
    PCRE2_UCHAR msg[128];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", rc);
    snprintf(why, whylen, "regular expression failed on %s: %s", src,
             (const char *)msg);
    return -1;
}

static int text_eq(const char *s, size_t len, const pc_cond *c)
{
    return len == c->vlen && memcmp(s, c->value, len) == 0;
}

/* incl/excl read the selected value as gjson's Array(): an array is its
 * elements, a missing value (or null) is empty, a scalar is a one-element
 * list. An element is compared by its String(). -1 when a text could not
 * be had (the arena's limit or memory). */
static int includes(const doc *v, const pc_cond *c, struct arena *a)
{
    int arr = doc_type_of(v) == DOC_ARRAY;
    size_t n = !v ? 0 : arr ? doc_len(v) : 1;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = sel_text(arr ? doc_at(v, i) : v, a, &len);
        if (!s)
            return -1;
        if (text_eq(s, len, c))
            return 1;
    }
    return 0;
}

static int eval_pattern(const pc_cond *c, const doc *root, struct arena *a, char *why,
                        size_t whylen)
{
    const doc *v = NULL;
    const char *src = sel_source(c->sel);
    if (sel_resolve(c->sel, root, a, &v) < 0) {
        snprintf(why, whylen, "cannot resolve selector %s", src);
        return -1;
    }
    int r = -1;
    size_t len = 0;
    const char *s = NULL;
    if (c->op == COND_INCL || c->op == COND_EXCL) {
        if (doc_type_of(v) == DOC_OBJECT) {
            snprintf(why, whylen, "%s: %s needs a list or a single value, got an object",
                     src, op_names[c->op]);
        } else if ((r = includes(v, c, a)) < 0) {
            snprintf(why, whylen, "out of memory reading %s", src);
        } else if (c->op == COND_EXCL) {
            r = !r;
        }
    } else if (!(s = sel_text(v, a, &len))) {
        /* A list or an object compares as its JSON text, as gjson's
         * String() gives it to Authorino: `neq ""` on an object is the
         * guides' way to say "present". */
        snprintf(why, whylen, "out of memory reading %s", src);
    } else if (c->op == COND_MATCHES) {
        r = regex_match(c->re, s, len, why, whylen, src);
    } else {
        r = text_eq(s, len, c) == (c->op == COND_EQ);
    }
    return r;
}

int cond_eval(const pc_cond *c, const doc *root, struct arena *a, char *why,
                  size_t whylen)
{
    switch (c->kind) {
    case COND_PATTERN:
        return eval_pattern(c, root, a, why, whylen);
    case COND_CEL:
        return celcfg_predicate(c->cel, c->path, root, why, whylen);
    case COND_ALL:
        for (size_t i = 0; i < c->n; i++) {
            int r = cond_eval(c->kids[i], root, a, why, whylen);
            if (r != 1)
                return r;
        }
        return 1;
    case COND_ANY:
        for (size_t i = 0; i < c->n; i++) {
            int r = cond_eval(c->kids[i], root, a, why, whylen);
            if (r != 0)
                return r;
        }
        return 0;
    }
    return -1;
}

