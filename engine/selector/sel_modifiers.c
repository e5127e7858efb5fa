/* The modifier table and gjson's built-in modifiers, working on document nodes instead of
 * raw JSON text. An absent input (present == 0) stands for gjson's empty document: the
 * result is what gjson's modifier gives for "" (for example `@keys` gives [] and `@tostr`
 * ""). Results are new nodes in the arena that may point at values of the input; the input
 * itself is never changed. Arguments are read with json-c at compile time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"
#include "sel_mods.h"
#include "util/str.h"

/* Strict parse of exactly n bytes (surrounding whitespace allowed). s[n] must be readable;
 * when it is not a NUL the text is copied first. */
int sel_json_parse(const char *s, size_t n, struct json_object **out)
{
    *out = NULL;
    if (n >= INT_MAX)
        return -1;
    if (s[n] != '\0') {
        char *copy = malloc(n + 1);
        if (!copy)
            return -1;
        memcpy(copy, s, n);
        copy[n] = '\0';
        int r = sel_json_parse(copy, n, out);
        free(copy);
        return r;
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok)
        return -1;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    /* The terminating NUL is passed too: json-c needs it to finish a top-level number. */
    struct json_object *o = json_tokener_parse_ex(tok, s, (int)n + 1);
    int ok = json_tokener_get_error(tok) == json_tokener_success &&
             json_tokener_get_parse_end(tok) >= n;
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(o);
        return -1;
    }
    *out = o;
    return 0;
}

struct json_object *sel_parse_json(const char *s, size_t n)
{
    struct json_object *o;
    return sel_json_parse(s, n, &o) == 0 ? o : NULL;
}

void sel_modarg_clear(struct sel_modarg *a)
{
    free(a->raw);
    free(a->s1);
    free(a->s2);
    memset(a, 0, sizeof *a);
}

/* gjson's Result.Bool() for option flags such as {"deep":true}. */
static int gjson_bool(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        return json_object_get_boolean(v);
    case json_type_int:
    case json_type_double:
        return json_object_get_double(v) != 0;
    case json_type_string: {
        const char *s = json_object_get_string(v);
        return !strcmp(s, "1") || !str_icmp(s, "t") || !str_icmp(s, "true");
    }
    default:
        return 0;
    }
}

/* Reads one boolean option from a JSON object argument into a->mode. */
static int prepare_flag(struct sel_modarg *a, const char *name, const char *mod, char *err,
                        size_t errlen)
{
    a->mode = 0;
    if (!a->present || a->rawlen == 0)
        return 0;
    struct json_object *o;
    if (sel_json_parse(a->raw, a->rawlen, &o) != 0) {
        sel_errf(err, errlen, "@%s expects a JSON object argument such as {\"%s\":true}", mod,
                 name);
        return -1;
    }
    struct json_object *v;
    if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, &v))
        a->mode = gjson_bool(v);
    json_object_put(o);
    return 0;
}

#define MOD_ARGS                                                                         \
    const struct sel_modarg *a, const doc *in, int present, struct arena *ar,            \
        const doc **out, int *outp

static int unchanged(const doc *in, int present, const doc **out, int *outp)
{
    *out = in;
    *outp = present;
    return 0;
}

/* A new node as the present result; -1 when the arena gave none. */
static int made(const doc *r, const doc **out, int *outp)
{
    *out = r;
    *outp = 1;
    return r ? 0 : -1;
}

static int mod_this(MOD_ARGS)
{
    (void)a;
    (void)ar;
    return unchanged(in, present, out, outp);
}

static int mod_reverse(MOD_ARGS)
{
    (void)a;
    doc_type t = present ? doc_type_of(in) : DOC_NULL;
    if (t == DOC_ARRAY) {
        size_t n = doc_len(in);
        doc *r = doc_new_array(ar, n);
        for (size_t i = n; r && i-- > 0;)
            if (doc_append(ar, r, doc_at(in, i)) != 0)
                return -1;
        return made(r, out, outp);
    }
    if (t == DOC_OBJECT) {
        size_t n = doc_len(in);
        doc *r = doc_new_object(ar, n);
        /* The input's keys are distinct and outlive the result. */
        for (size_t i = n; r && i-- > 0;) {
            const doc_member *m = doc_member_at(in, i);
            if (doc_add_new(ar, r, m->key, m->klen, m->hash, 0, m->val) != 0)
                return -1;
        }
        return made(r, out, outp);
    }
    return unchanged(in, present, out, outp);
}

static int mod_keys(MOD_ARGS)
{
    (void)a;
    if (!present)
        return made(doc_new_array(ar, 0), out, outp);
    if (doc_type_of(in) == DOC_OBJECT) {
        size_t n = doc_len(in);
        doc *r = doc_new_array(ar, n);
        for (size_t i = 0; r && i < n; i++) {
            const doc_member *m = doc_member_at(in, i);
            doc *k = doc_new_str_ref(ar, m->key, m->klen);
            if (!k || doc_append(ar, r, k) != 0)
                return -1;
        }
        return made(r, out, outp);
    }
    /* gjson lists a null per array element, and one for a scalar. */
    size_t n = doc_type_of(in) == DOC_ARRAY ? doc_len(in) : 1;
    doc *r = doc_new_array(ar, n);
    for (size_t i = 0; r && i < n; i++)
        if (doc_append(ar, r, NULL) != 0)
            return -1;
    return made(r, out, outp);
}

static int mod_values(MOD_ARGS)
{
    (void)a;
    if (present && doc_type_of(in) == DOC_ARRAY)
        return unchanged(in, present, out, outp);
    if (!present)
        return made(doc_new_array(ar, 0), out, outp);
    if (doc_type_of(in) == DOC_OBJECT) {
        size_t n = doc_len(in);
        doc *r = doc_new_array(ar, n);
        for (size_t i = 0; r && i < n; i++)
            if (doc_append(ar, r, doc_member_at(in, i)->val) != 0)
                return -1;
        return made(r, out, outp);
    }
    doc *r = doc_new_array(ar, 1);
    if (r && doc_append(ar, r, in) != 0)
        return -1;
    return made(r, out, outp);
}

static int mod_tostr(MOD_ARGS)
{
    (void)a;
    size_t len = 0;
    const char *s = present ? sel_doc_text(ar, in, &len) : "";
    if (!s)
        return -1;
    /* The text was just built in ar, so the node may keep it. */
    return made(present ? doc_new_str_ref(ar, s, len) : doc_new_str(ar, "", 0), out, outp);
}

static int mod_fromstr(MOD_ARGS)
{
    (void)a;
    *out = NULL;
    *outp = 0;
    if (!present || !in)
        return 0;
    if (doc_type_of(in) != DOC_STRING)
        return unchanged(in, present, out, outp);
    size_t n;
    const char *s = doc_str(in, &n);
    const doc *o;
    int r = sel_doc_parse(ar, s, n, &o);
    if (r < 0)
        return -1;
    if (r == 0) {
        *out = o;
        *outp = 1;
    }
    return 0;
}

static int flatten_into(struct arena *ar, doc *dst, const doc *arr, int deep, int depth)
{
    if (depth > SEL_MAX_DOC)
        return -1;
    size_t n = doc_len(arr);
    for (size_t i = 0; i < n; i++) {
        const doc *v = doc_at(arr, i);
        if (doc_type_of(v) == DOC_ARRAY) {
            if (deep) {
                if (flatten_into(ar, dst, v, deep, depth + 1) != 0)
                    return -1;
            } else {
                size_t m = doc_len(v);
                for (size_t k = 0; k < m; k++)
                    if (doc_append(ar, dst, doc_at(v, k)) != 0)
                        return -1;
            }
        } else if (doc_append(ar, dst, v) != 0) {
            return -1;
        }
    }
    return 0;
}

static int prep_flatten(struct sel_modarg *a, char *err, size_t errlen)
{
    return prepare_flag(a, "deep", "flatten", err, errlen);
}

static int mod_flatten(MOD_ARGS)
{
    if (!present || doc_type_of(in) != DOC_ARRAY)
        return unchanged(in, present, out, outp);
    doc *r = doc_new_array(ar, doc_len(in));
    if (!r || flatten_into(ar, r, in, a->mode, 0) != 0)
        return -1;
    return made(r, out, outp);
}

static int prep_join(struct sel_modarg *a, char *err, size_t errlen)
{
    return prepare_flag(a, "preserve", "join", err, errlen);
}

/* Merges the objects of an array; later members win unless {"preserve":true}, where gjson
 * keeps every duplicate and a later lookup finds the first. */
static int mod_join(MOD_ARGS)
{
    if (!present || doc_type_of(in) != DOC_ARRAY)
        return unchanged(in, present, out, outp);
    doc *r = doc_new_object(ar, 0);
    if (!r)
        return -1;
    size_t n = doc_len(in);
    for (size_t i = 0; i < n; i++) {
        const doc *o = doc_at(in, i);
        if (doc_type_of(o) != DOC_OBJECT)
            continue;
        for (size_t k = 0; k < o->n; k++) {
            const doc_member *m = doc_member_at(o, k);
            int found = 0;
            if (a->mode)
                (void)doc_get_h(r, m->key, m->klen, m->hash, &found);
            if (!found && doc_set_ref(ar, r, m->key, m->klen, m->hash, m->val) != 0)
                return -1;
        }
    }
    return made(r, out, outp);
}

static const struct sel_modifier mods[] = {
    {"this", NULL, mod_this},
    {"reverse", NULL, mod_reverse},
    {"keys", NULL, mod_keys},
    {"values", NULL, mod_values},
    {"tostr", NULL, mod_tostr},
    {"fromstr", NULL, mod_fromstr},
    {"flatten", prep_flatten, mod_flatten},
    {"join", prep_join, mod_join},
    /* Values here are parsed documents, always valid and printed compactly. */
    {"valid", NULL, mod_this},
    {"ugly", NULL, mod_this},
    {"extract", sel_prep_extract, sel_mod_extract},
    {"replace", sel_prep_replace, sel_mod_replace},
    {"case", sel_prep_case, sel_mod_case},
    {"base64", sel_prep_base64, sel_mod_base64},
    {"strip", NULL, sel_mod_strip},
};

const struct sel_modifier *sel_mod_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        if (strlen(mods[i].name) == len && memcmp(mods[i].name, name, len) == 0)
            return &mods[i];
    return NULL;
}

/* gjson built-ins left out: their output is formatting (@pretty) or rarely used. */
int sel_mod_is_unsupported(const char *name, size_t len)
{
    static const char *const names[] = {"pretty", "group", "dig"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return 1;
    return 0;
}
