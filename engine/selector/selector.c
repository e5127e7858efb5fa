/* Public entry points: compile a text into a path or a template, resolve, print. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "selector.h"
#include "sel_internal.h"

struct sel_expr {
    char *text;
    int is_template;
    struct sel_prog prog;       /* a path */
    int is_static;              /* prog is plain keys and indexes only */
    struct sel_tpart *parts;    /* a template */
    size_t nparts;
};

static sel_expr *compile(const char *text, int allow_template, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!text) {
        sel_errf(err, errlen, "no selector");
        return NULL;
    }
    size_t len = strlen(text);
    if (len > SEL_MAX_TEXT) {
        sel_errf(err, errlen, "selector longer than %d bytes", SEL_MAX_TEXT);
        return NULL;
    }
    sel_expr *e = calloc(1, sizeof *e);
    if (!e || !(e->text = strdup(text))) {
        free(e);
        sel_errf(err, errlen, "out of memory");
        return NULL;
    }
    int r;
    if (allow_template && sel_template_detect(text, len)) {
        e->is_template = 1;
        r = sel_template_parse(text, len, &e->parts, &e->nparts, err, errlen);
    } else {
        r = sel_parse_path(text, 0, len, 0, &e->prog, err, errlen);
        e->is_static = r == 0 && sel_prog_is_static(&e->prog);
    }
    if (r != 0) {
        sel_free(e);
        return NULL;
    }
    return e;
}

sel_expr *sel_compile(const char *text, char *err, size_t errlen)
{
    return compile(text, 1, err, errlen);
}

sel_expr *sel_compile_path(const char *text, char *err, size_t errlen)
{
    return compile(text, 0, err, errlen);
}

void sel_free(sel_expr *e)
{
    if (!e)
        return;
    sel_prog_clear(&e->prog);
    sel_template_free(e->parts, e->nparts);
    free(e->text);
    free(e);
}

int sel_is_template(const sel_expr *e)
{
    return e ? e->is_template : 0;
}

const char *sel_source(const sel_expr *e)
{
    return e ? e->text : "";
}

/* Template text: literals and the text of each placeholder's value, as one string node. */
static int resolve_template(const sel_expr *e, const doc *root, struct arena *a,
                            const doc **out)
{
    char local[256];
    buf b;
    buf_init_on(&b, local, sizeof local);
    for (size_t i = 0; i < e->nparts; i++) {
        const struct sel_tpart *pt = &e->parts[i];
        if (!pt->is_path) {
            buf_append(&b, pt->lit, pt->litlen);
            continue;
        }
        /* Null and missing both print as nothing. */
        struct sel_cur c = {root, SEL_PRESENT};
        if (pt->is_static) {
            c.v = sel_eval_static(&pt->prog, root);
        } else if (sel_eval(&pt->prog, &c, a, 0) != 0) {
            buf_free(&b);
            return -1;
        }
        if (c.state != SEL_PRESENT || !c.v)
            continue;
        size_t n;
        const char *s = doc_str(c.v, &n);
        /* Other values are written as JSON text straight into the buffer. */
        if (s ? buf_append(&b, s, n) != 0 : doc_to_json(&b, c.v) != 0) {
            buf_free(&b);
            return -1;
        }
    }
    *out = sel_buf_to_doc(&b, a);
    buf_free(&b);
    return *out ? 0 : -1;
}

int sel_resolve(const sel_expr *e, const doc *root, struct arena *a, const doc **out)
{
    *out = NULL;
    if (!e)
        return -1;
    if (e->is_static) {
        *out = sel_eval_static(&e->prog, root);
        return 0;
    }
    if (e->is_template)
        return resolve_template(e, root, a, out);
    struct sel_cur c = {root, SEL_PRESENT};
    if (sel_eval(&e->prog, &c, a, 0) != 0)
        return -1;
    if (c.state == SEL_PRESENT)
        *out = c.v;
    return 0;
}

const char *sel_text(const doc *v, struct arena *a, size_t *len)
{
    size_t n = 0;
    const char *s = "";
    if (doc_type_of(v) == DOC_STRING)
        s = doc_str(v, &n);
    else if (v && !(s = sel_doc_text(a, v, &n)))
        return NULL;
    if (len)
        *len = n;
    return s;
}

