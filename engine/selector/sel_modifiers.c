/* The modifier table and gjson's built-in modifiers, working on json-c values instead of raw
 * JSON text. An absent input (present == 0) stands for gjson's empty document: the result
 * is what gjson's modifier gives for "" (for example `@keys` gives [] and `@tostr` ""). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"
#include "sel_mods.h"
#include "util/str.h"

#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

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

static int unchanged(struct json_object *in, int present, struct json_object **out, int *outp)
{
    *out = json_object_get(in);
    *outp = present;
    return 0;
}

static int mod_this(const struct sel_modarg *a, struct json_object *in, int present,
                    struct json_object **out, int *outp)
{
    (void)a;
    return unchanged(in, present, out, outp);
}

static int add_item(struct json_object *arr, struct json_object *v)
{
    if (json_object_array_add(arr, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static struct json_object *new_array(size_t n)
{
    return json_object_new_array_ext(n > 1024 ? 1024 : (int)n);
}

/* Collects an object's entries so they can be walked backwards. */
static struct lh_entry **entries(struct json_object *obj, size_t *n)
{
    struct lh_table *t = json_object_get_object(obj);
    size_t count = 0;
    for (struct lh_entry *e = lh_table_head(t); e; e = lh_entry_next(e))
        count++;
    struct lh_entry **v = malloc((count ? count : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t i = 0;
    for (struct lh_entry *e = lh_table_head(t); e; e = lh_entry_next(e))
        v[i++] = e;
    *n = count;
    return v;
}

static int mod_reverse(const struct sel_modarg *a, struct json_object *in, int present,
                       struct json_object **out, int *outp)
{
    (void)a;
    if (present && json_object_is_type(in, json_type_array)) {
        size_t n = json_object_array_length(in);
        struct json_object *r = new_array(n);
        if (!r)
            return -1;
        for (size_t i = n; i-- > 0;)
            if (add_item(r, json_object_get(json_object_array_get_idx(in, i))) != 0) {
                json_object_put(r);
                return -1;
            }
        *out = r;
        *outp = 1;
        return 0;
    }
    if (present && json_object_is_type(in, json_type_object)) {
        size_t n;
        struct lh_entry **ents = entries(in, &n);
        struct json_object *r = ents ? json_object_new_object() : NULL;
        if (!r) {
            free(ents);
            return -1;
        }
        for (size_t i = n; i-- > 0;) {
            struct json_object *v = json_object_get((struct json_object *)lh_entry_v(ents[i]));
            if (json_object_object_add(r, (const char *)lh_entry_k(ents[i]), v) != 0) {
                json_object_put(v);
                json_object_put(r);
                free(ents);
                return -1;
            }
        }
        free(ents);
        *out = r;
        *outp = 1;
        return 0;
    }
    return unchanged(in, present, out, outp);
}

static int mod_keys(const struct sel_modarg *a, struct json_object *in, int present,
                    struct json_object **out, int *outp)
{
    (void)a;
    struct json_object *r = json_object_new_array();
    if (!r)
        return -1;
    *out = r;
    *outp = 1;
    if (!present)
        return 0;
    if (json_object_is_type(in, json_type_object)) {
        struct json_object_iterator it = json_object_iter_begin(in);
        struct json_object_iterator end = json_object_iter_end(in);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            struct json_object *k = json_object_new_string(json_object_iter_peek_name(&it));
            if (!k || add_item(r, k) != 0)
                goto fail;
        }
        return 0;
    }
    /* gjson lists a null per array element, and one for a scalar. */
    size_t n = json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 1;
    for (size_t i = 0; i < n; i++)
        if (json_object_array_add(r, NULL) != 0)
            goto fail;
    return 0;
fail:
    json_object_put(r);
    *out = NULL;
    return -1;
}

static int mod_values(const struct sel_modarg *a, struct json_object *in, int present,
                      struct json_object **out, int *outp)
{
    (void)a;
    if (present && json_object_is_type(in, json_type_array))
        return unchanged(in, present, out, outp);
    struct json_object *r = json_object_new_array();
    if (!r)
        return -1;
    *out = r;
    *outp = 1;
    if (!present)
        return 0;
    if (json_object_is_type(in, json_type_object)) {
        struct json_object_iterator it = json_object_iter_begin(in);
        struct json_object_iterator end = json_object_iter_end(in);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
            if (add_item(r, json_object_get(json_object_iter_peek_value(&it))) != 0)
                goto fail;
        return 0;
    }
    if (add_item(r, json_object_get(in)) == 0)
        return 0;
fail:
    json_object_put(r);
    *out = NULL;
    return -1;
}

static int mod_tostr(const struct sel_modarg *a, struct json_object *in, int present,
                     struct json_object **out, int *outp)
{
    (void)a;
    size_t len = 0;
    const char *s = present ? json_object_to_json_string_length(in, TEXT_FLAGS, &len) : "";
    if (!s || len > INT_MAX)
        return -1;
    *out = json_object_new_string_len(s, (int)len);
    *outp = 1;
    return *out ? 0 : -1;
}

static int mod_fromstr(const struct sel_modarg *a, struct json_object *in, int present,
                       struct json_object **out, int *outp)
{
    (void)a;
    *out = NULL;
    *outp = 0;
    if (!present || !in)
        return 0;
    if (!json_object_is_type(in, json_type_string))
        return unchanged(in, present, out, outp);
    struct json_object *o;
    if (sel_json_parse(json_object_get_string(in), (size_t)json_object_get_string_len(in),
                       &o) == 0) {
        *out = o;
        *outp = 1;
    }
    return 0;
}

static int flatten_into(struct json_object *dst, struct json_object *arr, int deep, int depth)
{
    if (depth > SEL_MAX_DOC)
        return -1;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_array)) {
            if (deep) {
                if (flatten_into(dst, v, deep, depth + 1) != 0)
                    return -1;
            } else {
                size_t m = json_object_array_length(v);
                for (size_t k = 0; k < m; k++)
                    if (add_item(dst, json_object_get(json_object_array_get_idx(v, k))) != 0)
                        return -1;
            }
        } else if (add_item(dst, json_object_get(v)) != 0) {
            return -1;
        }
    }
    return 0;
}

static int prep_flatten(struct sel_modarg *a, char *err, size_t errlen)
{
    return prepare_flag(a, "deep", "flatten", err, errlen);
}

static int mod_flatten(const struct sel_modarg *a, struct json_object *in, int present,
                       struct json_object **out, int *outp)
{
    if (!present || !json_object_is_type(in, json_type_array))
        return unchanged(in, present, out, outp);
    struct json_object *r = json_object_new_array();
    if (!r)
        return -1;
    if (flatten_into(r, in, a->mode, 0) != 0) {
        json_object_put(r);
        return -1;
    }
    *out = r;
    *outp = 1;
    return 0;
}

static int prep_join(struct sel_modarg *a, char *err, size_t errlen)
{
    return prepare_flag(a, "preserve", "join", err, errlen);
}

/* Merges the objects of an array; later members win unless {"preserve":true}, where gjson
 * keeps every duplicate and a later lookup finds the first. */
static int mod_join(const struct sel_modarg *a, struct json_object *in, int present,
                    struct json_object **out, int *outp)
{
    if (!present || !json_object_is_type(in, json_type_array))
        return unchanged(in, present, out, outp);
    struct json_object *r = json_object_new_object();
    if (!r)
        return -1;
    size_t n = json_object_array_length(in);
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(in, i);
        if (!json_object_is_type(o, json_type_object))
            continue;
        struct json_object_iterator it = json_object_iter_begin(o);
        struct json_object_iterator end = json_object_iter_end(o);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *k = json_object_iter_peek_name(&it);
            if (a->mode && json_object_object_get_ex(r, k, NULL))
                continue;
            struct json_object *v = json_object_get(json_object_iter_peek_value(&it));
            if (json_object_object_add(r, k, v) != 0) {
                json_object_put(v);
                json_object_put(r);
                return -1;
            }
        }
    }
    *out = r;
    *outp = 1;
    return 0;
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
    /* Values here are parsed json-c trees, always valid and printed compactly. */
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
