#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "celcfg.h"
#include "cfgerr.h"
#include "selector/selector.h"
#include "vos.h"

struct pc_vos {
    /* A static value: read-only nodes in the vos's own arena, handed out by
     * reference to every request on every thread. */
    struct arena own;
    const doc *value;
    sel_expr *sel;
    cel_program *cel; /* expression */
};

pc_vos *vos_compile(struct json_object *spec, const char *path, cfgerr *ce)
{
    char p[512];
    struct json_object *v;
    if (!json_object_is_type(spec, json_type_object)) {
        cfgerr_error(ce, spec, path,
                     "expected {value: ...}, {selector: ...} or {expression: ...}");
        return NULL;
    }
    int bad = 0;
    json_object_object_foreach(spec, k, kv) {
        (void)kv;
        if (strcmp(k, "value") && strcmp(k, "selector") && strcmp(k, "expression")) {
            snprintf(p, sizeof p, "%s.%s", path, k);
            cfgerr_unknown(ce, spec, k, p);
            bad = 1;
        }
    }
    if (bad)
        return NULL;
    pc_vos *out = calloc(1, sizeof *out);
    if (!out)
        return NULL;
    arena_init(&out->own, 0); /* bounded by the config's own size */
    int have = 0;
    if (json_object_object_get_ex(spec, "expression", &v)) {
        snprintf(p, sizeof p, "%s.expression", path);
        if (!(out->cel = celcfg_compile(v, p, ce))) {
            free(out);
            return NULL;
        }
        have = 1;
    }
    if (json_object_object_get_ex(spec, "selector", &v)) {
        if (have) {
            cfgerr_error(ce, spec, path, "set one of value, selector or expression");
            vos_free(out);
            return NULL;
        }
        snprintf(p, sizeof p, "%s.selector", path);
        if (!json_object_is_type(v, json_type_string)) {
            cfgerr_error(ce, v, p, "expected a selector string");
            vos_free(out);
            return NULL;
        }
        char err[256];
        out->sel = sel_compile(json_object_get_string(v), err, sizeof err);
        if (!out->sel) {
            cfgerr_error(ce, v, p, "%s", err);
            vos_free(out);
            return NULL;
        }
        have = 1;
    }
    if (json_object_object_get_ex(spec, "value", &v)) {
        if (have) {
            cfgerr_error(ce, spec, path, "set one of value, selector or expression");
            vos_free(out);
            return NULL;
        }
        int err = 0;
        out->value = doc_from_jsonc(&out->own, v, NULL, &err);
        if (err) {
            cfgerr_error(ce, v, path, "out of memory copying the value");
            vos_free(out);
            return NULL;
        }
        have = 1;
    }
    if (!have) {
        cfgerr_error(ce, spec, path,
                     "expected {value: ...}, {selector: ...} or {expression: ...}");
        vos_free(out);
        return NULL;
    }
    return out;
}

pc_vos *vos_from_selector(const char *text, char *err, size_t errlen)
{
    pc_vos *out = calloc(1, sizeof *out);
    if (!out)
        return NULL;
    arena_init(&out->own, 0); /* bounded by the config's own size */
    out->sel = sel_compile(text, err, errlen);
    if (!out->sel) {
        free(out);
        return NULL;
    }
    return out;
}

void vos_free(pc_vos *v)
{
    if (!v)
        return;
    arena_free(&v->own);
    sel_free(v->sel);
    cel_program_free(v->cel);
    free(v);
}

int vos_resolve(const pc_vos *v, const doc *root, struct arena *a, const doc **out,
                    char *why, size_t whylen)
{
    *out = NULL;
    if (v->cel)
        return celcfg_value(v->cel, root, a, out, why, whylen);
    if (v->sel) {
        int r = sel_resolve(v->sel, root, a, out);
        if (r < 0 && why && whylen)
            snprintf(why, whylen, "cannot resolve selector %s", sel_source(v->sel));
        return r;
    }
    *out = v->value;
    return 0;
}

