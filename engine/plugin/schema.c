#include "plugin/schema.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- the compiled form ------------------------------------------------- */

enum {
    T_NULL = 1 << 0,
    T_BOOL = 1 << 1,
    T_INT = 1 << 2,
    T_NUM = 1 << 3, /* any number, integers included */
    T_STR = 1 << 4,
    T_ARR = 1 << 5,
    T_OBJ = 1 << 6,
};

enum additional { ADD_ANY, ADD_NONE, ADD_SCHEMA };

struct node;

struct prop {
    const char *name; /* points into the schema document */
    struct node *schema;
};

struct bound {
    int set;
    long double v;
};

struct node {
    int never;      /* the boolean schema false */
    unsigned types; /* 0: any type */
    struct prop *props;
    size_t nprops;
    const char **required;
    size_t nrequired;
    enum additional additional;
    struct node *add_schema;
    struct node *items;
    struct json_object *enum_vals; /* borrowed from the schema document */
    int has_const;
    struct json_object *const_val;
    int has_default;
    struct json_object *default_val; /* borrowed; NULL is JSON null */
    struct bound min, max, xmin, xmax;
    int xmin_draft4, xmax_draft4;
    long long min_len, max_len, min_items, max_items; /* -1: unset */
    pcre2_code *re;
    const char *pattern;
    struct node **one_of;
    size_t n_one_of;
    struct node **any_of;
    size_t n_any_of;
};

struct schema {
    struct json_object *doc; /* owns every string and value the nodes borrow */
    struct node *root;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nprops; i++)
        node_free(n->props[i].schema);
    free(n->props);
    free(n->required);
    node_free(n->add_schema);
    node_free(n->items);
    if (n->re)
        pcre2_code_free(n->re);
    for (size_t i = 0; i < n->n_one_of; i++)
        node_free(n->one_of[i]);
    free(n->one_of);
    for (size_t i = 0; i < n->n_any_of; i++)
        node_free(n->any_of[i]);
    free(n->any_of);
    free(n);
}

void schema_free(schema *s)
{
    if (!s)
        return;
    node_free(s->root);
    json_object_put(s->doc);
    free(s);
}

/* ---- small helpers shared by both halves ------------------------------- */

/* json-c's getters take non-const pointers though they do not write. */
static struct json_object *mut(const struct json_object *o)
{
    return (struct json_object *)o;
}

static int is_number(const struct json_object *o)
{
    return o && (json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double));
}

static long double num_value(const struct json_object *o)
{
    if (json_object_is_type(o, json_type_double))
        return json_object_get_double(o);
    int64_t i = json_object_get_int64(o);
    if (i == INT64_MAX)
        return (long double)json_object_get_uint64(o); /* may exceed int64 */
    return (long double)i;
}

static int num_is_integral(const struct json_object *o)
{
    if (json_object_is_type(o, json_type_int))
        return 1;
    double d = json_object_get_double(o);
    return isfinite(d) && d == floor(d);
}

/* Equality as JSON Schema defines it: numbers by value (1 == 1.0), objects
 * regardless of key order. */
static int json_equal(const struct json_object *a, const struct json_object *b)
{
    if (!a || !b)
        return a == b;
    if (is_number(a) && is_number(b))
        return num_value(a) == num_value(b);
    enum json_type t = json_object_get_type(a);
    if (t != json_object_get_type(b))
        return 0;
    switch (t) {
    case json_type_boolean:
        return !json_object_get_boolean(a) == !json_object_get_boolean(b);
    case json_type_string: {
        int la = json_object_get_string_len(a), lb = json_object_get_string_len(b);
        return la == lb && memcmp(json_object_get_string(mut(a)), json_object_get_string(mut(b)),
                                  (size_t)la) == 0;
    }
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!json_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return 0;
        return 1;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b))
            return 0;
        json_object_object_foreach(mut(a), key, val) {
            struct json_object *other;
            if (!json_object_object_get_ex(b, key, &other) || !json_equal(val, other))
                return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

/* ---- compiling --------------------------------------------------------- */

struct cc {
    char *err;
    size_t errlen;
    char path[512]; /* where in the schema we are, for messages */
    size_t plen;
};

static void cerr(struct cc *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return;
    size_t off = 0;
    if (c->plen) {
        int n = snprintf(c->err, c->errlen, "%s: ", c->path);
        off = n < 0 ? 0 : ((size_t)n < c->errlen ? (size_t)n : c->errlen - 1);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + off, c->errlen - off, fmt, ap);
    va_end(ap);
}

static size_t cpush(struct cc *c, const char *fmt, ...)
{
    size_t old = c->plen;
    if (c->plen + 1 >= sizeof c->path)
        return old;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - c->plen - 1;
    return old;
}

static void cpop(struct cc *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static struct node *compile_node(struct cc *c, struct json_object *j);

/* A sub-schema under keyword (and optionally a key or index below it). */
static struct node *compile_sub(struct cc *c, struct json_object *j, const char *fmt, ...)
{
    size_t old = c->plen;
    char seg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seg, sizeof seg, fmt, ap);
    va_end(ap);
    cpush(c, "%s%s", (c->plen && seg[0] != '[') ? "." : "", seg);
    struct node *n = compile_node(c, j);
    cpop(c, old);
    return n;
}

static const char *type_names[] = { "null", "boolean", "integer", "number", "string", "array", "object" };

static int type_bit(const char *name)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(name, type_names[i]) == 0)
            return 1 << i;
    return 0;
}

static int kw_type(struct cc *c, struct node *n, struct json_object *val)
{
    if (json_object_is_type(val, json_type_string)) {
        int bit = type_bit(json_object_get_string(val));
        if (!bit) {
            cerr(c, "unknown type \"%s\" (expected null, boolean, integer, number, string, array or object)",
                 json_object_get_string(val));
            return -1;
        }
        n->types = (unsigned)bit;
        return 0;
    }
    if (json_object_is_type(val, json_type_array) && json_object_array_length(val) > 0) {
        for (size_t i = 0; i < json_object_array_length(val); i++) {
            struct json_object *e = json_object_array_get_idx(val, i);
            int bit = json_object_is_type(e, json_type_string) ? type_bit(json_object_get_string(e)) : 0;
            if (!bit) {
                cerr(c, "\"type\" entries must be type names (null, boolean, integer, number, string, array, object)");
                return -1;
            }
            n->types |= (unsigned)bit;
        }
        return 0;
    }
    cerr(c, "\"type\" must be a type name or a non-empty list of type names");
    return -1;
}

static int kw_properties(struct cc *c, struct node *n, struct json_object *val)
{
    if (!json_object_is_type(val, json_type_object)) {
        cerr(c, "\"properties\" must be an object of schemas");
        return -1;
    }
    size_t cnt = (size_t)json_object_object_length(val);
    n->props = calloc(cnt ? cnt : 1, sizeof *n->props);
    if (!n->props) {
        cerr(c, "out of memory");
        return -1;
    }
    json_object_object_foreach(val, key, sub) {
        struct node *child = compile_sub(c, sub, "properties.%s", key);
        if (!child)
            return -1;
        n->props[n->nprops].name = key;
        n->props[n->nprops].schema = child;
        n->nprops++;
    }
    return 0;
}

static int kw_required(struct cc *c, struct node *n, struct json_object *val)
{
    if (!json_object_is_type(val, json_type_array)) {
        cerr(c, "\"required\" must be a list of field names");
        return -1;
    }
    size_t cnt = json_object_array_length(val);
    n->required = calloc(cnt ? cnt : 1, sizeof *n->required);
    if (!n->required) {
        cerr(c, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cnt; i++) {
        struct json_object *e = json_object_array_get_idx(val, i);
        if (!json_object_is_type(e, json_type_string)) {
            cerr(c, "\"required\" must be a list of field names");
            return -1;
        }
        n->required[n->nrequired++] = json_object_get_string(e);
    }
    return 0;
}

static int kw_additional(struct cc *c, struct node *n, struct json_object *val)
{
    if (json_object_is_type(val, json_type_boolean)) {
        n->additional = json_object_get_boolean(val) ? ADD_ANY : ADD_NONE;
        return 0;
    }
    if (!json_object_is_type(val, json_type_object)) {
        cerr(c, "\"additionalProperties\" must be true, false or a schema");
        return -1;
    }
    n->add_schema = compile_sub(c, val, "additionalProperties");
    if (!n->add_schema)
        return -1;
    n->additional = ADD_SCHEMA;
    return 0;
}

static int kw_items(struct cc *c, struct node *n, struct json_object *val)
{
    if (json_object_is_type(val, json_type_array)) {
        cerr(c, "\"items\" must be one schema (the list form is not supported)");
        return -1;
    }
    n->items = compile_sub(c, val, "items");
    return n->items ? 0 : -1;
}

static int kw_enum(struct cc *c, struct node *n, struct json_object *val)
{
    if (!json_object_is_type(val, json_type_array) || json_object_array_length(val) == 0) {
        cerr(c, "\"enum\" must be a non-empty list");
        return -1;
    }
    n->enum_vals = val;
    return 0;
}

static int kw_const(struct cc *c, struct node *n, struct json_object *val)
{
    n->has_const = 1;
    n->const_val = val;
    return 0;
}

static int get_bound(struct cc *c, const char *kw, struct json_object *val, struct bound *b)
{
    if (!is_number(val)) {
        cerr(c, "\"%s\" must be a number", kw);
        return -1;
    }
    b->set = 1;
    b->v = num_value(val);
    if (isnan((double)b->v)) {
        cerr(c, "\"%s\" must be a number", kw);
        return -1;
    }
    return 0;
}

static int kw_minimum(struct cc *c, struct node *n, struct json_object *val)
{
    return get_bound(c, "minimum", val, &n->min);
}

static int kw_maximum(struct cc *c, struct node *n, struct json_object *val)
{
    return get_bound(c, "maximum", val, &n->max);
}

static int kw_xmin(struct cc *c, struct node *n, struct json_object *val)
{
    if (json_object_is_type(val, json_type_boolean)) {
        n->xmin_draft4 = json_object_get_boolean(val) ? 1 : 0;
        return 0;
    }
    return get_bound(c, "exclusiveMinimum", val, &n->xmin);
}

static int kw_xmax(struct cc *c, struct node *n, struct json_object *val)
{
    if (json_object_is_type(val, json_type_boolean)) {
        n->xmax_draft4 = json_object_get_boolean(val) ? 1 : 0;
        return 0;
    }
    return get_bound(c, "exclusiveMaximum", val, &n->xmax);
}

static int get_count(struct cc *c, const char *kw, struct json_object *val, long long *out)
{
    if (!is_number(val) || !num_is_integral(val) || num_value(val) < 0 ||
        num_value(val) > (long double)INT32_MAX) {
        cerr(c, "\"%s\" must be a non-negative integer", kw);
        return -1;
    }
    *out = (long long)num_value(val);
    return 0;
}

static int kw_min_length(struct cc *c, struct node *n, struct json_object *val)
{
    return get_count(c, "minLength", val, &n->min_len);
}

static int kw_max_length(struct cc *c, struct node *n, struct json_object *val)
{
    return get_count(c, "maxLength", val, &n->max_len);
}

static int kw_min_items(struct cc *c, struct node *n, struct json_object *val)
{
    return get_count(c, "minItems", val, &n->min_items);
}

static int kw_max_items(struct cc *c, struct node *n, struct json_object *val)
{
    return get_count(c, "maxItems", val, &n->max_items);
}

static int kw_pattern(struct cc *c, struct node *n, struct json_object *val)
{
    if (!json_object_is_type(val, json_type_string)) {
        cerr(c, "\"pattern\" must be a string");
        return -1;
    }
    int code;
    PCRE2_SIZE off;
    n->pattern = json_object_get_string(val);
    n->re = pcre2_compile((PCRE2_SPTR)n->pattern, (PCRE2_SIZE)json_object_get_string_len(val),
                          PCRE2_UTF, &code, &off, NULL);
    if (!n->re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        cerr(c, "\"pattern\" does not compile at offset %zu: %s", (size_t)off, (char *)msg);
        return -1;
    }
    return 0;
}

static int compile_list(struct cc *c, const char *kw, struct json_object *val, struct node ***out,
                        size_t *count)
{
    if (!json_object_is_type(val, json_type_array) || json_object_array_length(val) == 0) {
        cerr(c, "\"%s\" must be a non-empty list of schemas", kw);
        return -1;
    }
    size_t cnt = json_object_array_length(val);
    *out = calloc(cnt, sizeof **out);
    if (!*out) {
        cerr(c, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cnt; i++) {
        struct node *b = compile_sub(c, json_object_array_get_idx(val, i), "%s[%zu]", kw, i);
        if (!b)
            return -1;
        (*out)[(*count)++] = b;
    }
    return 0;
}

static int kw_one_of(struct cc *c, struct node *n, struct json_object *val)
{
    return compile_list(c, "oneOf", val, &n->one_of, &n->n_one_of);
}

static int kw_any_of(struct cc *c, struct node *n, struct json_object *val)
{
    return compile_list(c, "anyOf", val, &n->any_of, &n->n_any_of);
}

static int kw_ignored(struct cc *c, struct node *n, struct json_object *val)
{
    return 0;
}

static int kw_default(struct cc *c, struct node *n, struct json_object *val)
{
    n->has_default = 1;
    n->default_val = val;
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(struct cc *c, struct node *n, struct json_object *val);
} keywords[] = {
    { "type", kw_type },
    { "properties", kw_properties },
    { "required", kw_required },
    { "additionalProperties", kw_additional },
    { "items", kw_items },
    { "enum", kw_enum },
    { "const", kw_const },
    { "minimum", kw_minimum },
    { "maximum", kw_maximum },
    { "exclusiveMinimum", kw_xmin },
    { "exclusiveMaximum", kw_xmax },
    { "minLength", kw_min_length },
    { "maxLength", kw_max_length },
    { "minItems", kw_min_items },
    { "maxItems", kw_max_items },
    { "pattern", kw_pattern },
    { "oneOf", kw_one_of },
    { "anyOf", kw_any_of },
    { "default", kw_default },
    { "description", kw_ignored },
    { "title", kw_ignored },
    { "examples", kw_ignored },
    { "$schema", kw_ignored },
    { "$comment", kw_ignored },
};

static int node_accepts(const struct node *n, const struct json_object *v);

static struct node *compile_node(struct cc *c, struct json_object *j)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n) {
        cerr(c, "out of memory");
        return NULL;
    }
    n->min_len = n->max_len = n->min_items = n->max_items = -1;
    if (json_object_is_type(j, json_type_boolean)) {
        n->never = !json_object_get_boolean(j);
        return n;
    }
    if (!json_object_is_type(j, json_type_object)) {
        cerr(c, "a schema must be an object or a boolean");
        node_free(n);
        return NULL;
    }
    json_object_object_foreach(j, key, val) {
        size_t k = 0, nk = sizeof keywords / sizeof keywords[0];
        while (k < nk && strcmp(keywords[k].name, key) != 0)
            k++;
        if (k == nk) {
            cerr(c, "unknown keyword \"%s\"", key);
            node_free(n);
            return NULL;
        }
        if (keywords[k].fn(c, n, val) != 0) {
            node_free(n);
            return NULL;
        }
    }
    /* Draft 4 wrote exclusiveMinimum: true beside minimum. */
    if (n->xmin_draft4) {
        if (!n->min.set) {
            cerr(c, "\"exclusiveMinimum\": true needs \"minimum\"");
            node_free(n);
            return NULL;
        }
        n->xmin = n->min;
        n->min.set = 0;
    }
    if (n->xmax_draft4) {
        if (!n->max.set) {
            cerr(c, "\"exclusiveMaximum\": true needs \"maximum\"");
            node_free(n);
            return NULL;
        }
        n->xmax = n->max;
        n->max.set = 0;
    }
    /* A default is applied to configs before create sees them, so it must
     * be a value the schema itself accepts. */
    if (n->has_default && !node_accepts(n, n->default_val)) {
        cerr(c, "\"default\" is not a value this schema accepts");
        node_free(n);
        return NULL;
    }
    return n;
}

schema *schema_compile(const char *json_text, char *err, size_t errlen)
{
    struct cc c = { .err = err, .errlen = errlen };
    if (err && errlen)
        err[0] = '\0';
    if (!json_text) {
        cerr(&c, "no schema text");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        cerr(&c, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    size_t len = strlen(json_text);
    struct json_object *doc = NULL;
    if (len >= INT32_MAX) {
        json_tokener_free(tok);
        cerr(&c, "schema text too long");
        return NULL;
    }
    /* The terminating NUL goes in too: it tells the tokener the text ends
     * here, which a bare literal such as `true` needs. */
    doc = json_tokener_parse_ex(tok, json_text, (int)len + 1);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        json_object_put(doc);
        cerr(&c, "invalid JSON at offset %zu: %s", end,
             jerr == json_tokener_continue ? "unexpected end of text" : json_tokener_error_desc(jerr));
        return NULL;
    }
    while (end < len && strchr(" \t\r\n", json_text[end]))
        end++;
    if (end < len) {
        json_object_put(doc);
        cerr(&c, "invalid JSON at offset %zu: unexpected text after the schema", end);
        return NULL;
    }
    if (!json_object_is_type(doc, json_type_object) && !json_object_is_type(doc, json_type_boolean)) {
        json_object_put(doc);
        cerr(&c, "a schema must be an object or a boolean");
        return NULL;
    }
    schema *s = calloc(1, sizeof *s);
    if (!s) {
        json_object_put(doc);
        cerr(&c, "out of memory");
        return NULL;
    }
    s->doc = doc;
    s->root = compile_node(&c, doc);
    if (!s->root) {
        schema_free(s);
        return NULL;
    }
    return s;
}

/* ---- validating -------------------------------------------------------- */

struct problem {
    char *path;
    const struct json_object *node;
    char *msg;
    int unknown;
};

struct problems {
    struct problem *v;
    size_t n, cap;
};

struct vpath {
    char buf[1024];
    size_t len;
};

/* Problems go to the caller's callback, or into a list while oneOf/anyOf try
 * their branches. */
struct vctx {
    struct vpath *path;
    schema_report_fn report;
    void *arg;
    struct problems *collect;
    int errors;
};

static void problems_clear(struct problems *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].msg);
    }
    free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

static void deliver(struct vctx *c, const char *path, const struct json_object *node, const char *msg,
                    int unknown)
{
    c->errors++;
    if (!c->collect) {
        if (c->report)
            c->report(c->arg, path, node, msg, unknown);
        return;
    }
    struct problems *p = c->collect;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 4;
        struct problem *nv = realloc(p->v, ncap * sizeof *nv);
        if (!nv)
            return; /* counted, not kept: the branch still fails */
        p->v = nv;
        p->cap = ncap;
    }
    char *pc = strdup(path), *mc = strdup(msg);
    if (!pc || !mc) {
        free(pc);
        free(mc);
        return;
    }
    p->v[p->n++] = (struct problem){ .path = pc, .node = node, .msg = mc, .unknown = unknown };
}

static void emit(struct vctx *c, const struct json_object *node, int unknown, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    deliver(c, c->path->buf, node, msg, unknown);
}

static size_t vpush(struct vpath *p, const char *fmt, ...)
{
    size_t old = p->len;
    if (p->len + 1 >= sizeof p->buf)
        return old;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, sizeof p->buf - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < sizeof p->buf - p->len ? (size_t)n : sizeof p->buf - p->len - 1;
    return old;
}

static void vpop(struct vpath *p, size_t old)
{
    p->len = old;
    p->buf[old] = '\0';
}

static int plain_key(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++) {
        char ch = *k;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '$'))
            return 0;
    }
    return 1;
}

static size_t push_key(struct vpath *p, const char *key)
{
    if (plain_key(key))
        return vpush(p, "%s%s", p->len ? "." : "", key);
    size_t old = vpush(p, "[\"");
    for (const char *k = key; *k; k++) {
        if (*k == '"' || *k == '\\')
            vpush(p, "\\%c", *k);
        else if ((unsigned char)*k < 0x20)
            vpush(p, "\\u%04x", (unsigned)(unsigned char)*k);
        else
            vpush(p, "%c", *k);
    }
    vpush(p, "\"]");
    return old;
}

/* -- describing types, for "expected ..." messages -- */

struct sbuf {
    char *b;
    size_t cap, len;
};

static void sb_add(struct sbuf *s, const char *fmt, ...)
{
    if (s->len + 1 >= s->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n < s->cap - s->len ? (size_t)n : s->cap - s->len - 1;
}

/* Only numbers: integer and number together read as "number". */
static unsigned norm_types(unsigned t)
{
    if ((t & T_NUM) && (t & T_INT))
        t &= ~(unsigned)T_INT;
    return t;
}

static const char *plural_of(unsigned t)
{
    switch (norm_types(t)) {
    case T_NULL: return "nulls";
    case T_BOOL: return "booleans";
    case T_INT: return "integers";
    case T_NUM: return "numbers";
    case T_STR: return "strings";
    case T_ARR: return "lists";
    case T_OBJ: return "objects";
    default: return NULL;
    }
}

/* Appends to ph the phrases for the types n allows ("a string", "a list of
 * strings", ...), skipping ones already there; returns the new count. An array
 * whose items have a single type names it, as users think of "a list of
 * strings" rather than "an array". */
#define PHRASE_LEN 48
static size_t type_phrases(const struct node *n, char ph[][PHRASE_LEN], size_t max, size_t cnt)
{
    static const struct {
        unsigned bit;
        const char *phrase;
    } order[] = {
        { T_STR, "a string" }, { T_INT, "an integer" }, { T_NUM, "a number" }, { T_BOOL, "a boolean" },
        { T_OBJ, "an object" }, { T_ARR, "a list" },    { T_NULL, "null" },
    };
    unsigned t = norm_types(n->types);
    for (size_t i = 0; i < sizeof order / sizeof order[0] && cnt < max; i++) {
        if (!(t & order[i].bit))
            continue;
        char one[PHRASE_LEN];
        if (order[i].bit == T_ARR && n->items && !n->items->never && plural_of(n->items->types))
            snprintf(one, sizeof one, "a list of %s", plural_of(n->items->types));
        else
            snprintf(one, sizeof one, "%s", order[i].phrase);
        size_t k = 0;
        while (k < cnt && strcmp(ph[k], one) != 0)
            k++;
        if (k == cnt)
            memcpy(ph[cnt++], one, sizeof one);
    }
    return cnt;
}

static void join_phrases(struct sbuf *s, char ph[][PHRASE_LEN], size_t cnt)
{
    for (size_t i = 0; i < cnt; i++) {
        if (i)
            sb_add(s, i + 1 == cnt ? " or " : ", ");
        sb_add(s, "%s", ph[i]);
    }
}

/* -- values in messages -- */

static void fmt_num(char *buf, size_t len, long double v)
{
    snprintf(buf, len, "%.15Lg", v);
}

/* Renders v as JSON text. Done here rather than with
 * json_object_to_json_string, which caches its output inside the object and
 * so would write to a schema other threads are reading. */
static void add_json(struct sbuf *s, const struct json_object *v)
{
    char b[64];
    switch (json_object_get_type(v)) {
    case json_type_null:
        sb_add(s, "null");
        break;
    case json_type_boolean:
        sb_add(s, json_object_get_boolean(v) ? "true" : "false");
        break;
    case json_type_int:
    case json_type_double:
        fmt_num(b, sizeof b, num_value(v));
        sb_add(s, "%s", b);
        break;
    case json_type_string: {
        const char *str = json_object_get_string(mut(v));
        size_t len = (size_t)json_object_get_string_len(v);
        sb_add(s, "\"");
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)str[i];
            if (ch == '"' || ch == '\\')
                sb_add(s, "\\%c", ch);
            else if (ch < 0x20)
                sb_add(s, "\\u%04x", ch);
            else
                sb_add(s, "%c", ch);
        }
        sb_add(s, "\"");
        break;
    }
    case json_type_array:
        sb_add(s, "[");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (i)
                sb_add(s, ",");
            add_json(s, json_object_array_get_idx(v, i));
        }
        sb_add(s, "]");
        break;
    case json_type_object: {
        int first = 1;
        sb_add(s, "{");
        json_object_object_foreach(mut(v), key, val) {
            sb_add(s, first ? "\"%s\":" : ",\"%s\":", key);
            first = 0;
            add_json(s, val);
        }
        sb_add(s, "}");
        break;
    }
    }
}

/* In a list of choices plain words read best bare ("one of eq, neq"); anything
 * that could be misread (empty, spaces, commas) keeps its JSON quotes. */
static void add_choice(struct sbuf *s, const struct json_object *v)
{
    if (json_object_is_type(v, json_type_string)) {
        const char *str = json_object_get_string(mut(v));
        if (*str && (size_t)json_object_get_string_len(v) == strlen(str) &&
            !strpbrk(str, ", \"\\\t\r\n")) {
            sb_add(s, "%s", str);
            return;
        }
    }
    add_json(s, v);
}

static unsigned value_kind(const struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return T_NULL;
    case json_type_boolean: return T_BOOL;
    case json_type_int: return T_INT;
    case json_type_double: return num_is_integral(v) ? T_INT : T_NUM;
    case json_type_string: return T_STR;
    case json_type_array: return T_ARR;
    case json_type_object: return T_OBJ;
    }
    return 0;
}

static int type_fits(const struct node *n, const struct json_object *v)
{
    if (n->never)
        return 0;
    if (!n->types)
        return 1;
    unsigned k = value_kind(v);
    if (k == T_INT)
        return (n->types & (T_INT | T_NUM)) != 0;
    return (n->types & k) != 0;
}

static void validate_node(const struct node *n, const struct json_object *v, struct vctx *c);

static size_t utf8_length(const char *s, size_t len)
{
    size_t cnt = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            cnt++;
    return cnt;
}

static void check_number(const struct node *n, const struct json_object *v, struct vctx *c)
{
    long double x = num_value(v);
    char b[64];
    if (n->min.set && !(x >= n->min.v)) {
        fmt_num(b, sizeof b, n->min.v);
        emit(c, v, 0, "must be at least %s", b);
    }
    if (n->xmin.set && !(x > n->xmin.v)) {
        fmt_num(b, sizeof b, n->xmin.v);
        emit(c, v, 0, "must be greater than %s", b);
    }
    if (n->max.set && !(x <= n->max.v)) {
        fmt_num(b, sizeof b, n->max.v);
        emit(c, v, 0, "must be at most %s", b);
    }
    if (n->xmax.set && !(x < n->xmax.v)) {
        fmt_num(b, sizeof b, n->xmax.v);
        emit(c, v, 0, "must be less than %s", b);
    }
}

static void check_string(const struct node *n, const struct json_object *v, struct vctx *c)
{
    const char *s = json_object_get_string(mut(v));
    size_t len = (size_t)json_object_get_string_len(v);
    if (n->min_len >= 0 || n->max_len >= 0) {
        size_t cps = utf8_length(s, len);
        if (n->min_len >= 0 && cps < (size_t)n->min_len) {
            if (n->min_len == 1)
                emit(c, v, 0, "must not be empty");
            else
                emit(c, v, 0, "must be at least %lld characters long", n->min_len);
        }
        if (n->max_len >= 0 && cps > (size_t)n->max_len)
            emit(c, v, 0, "must be at most %lld character%s long", n->max_len, n->max_len == 1 ? "" : "s");
    }
    if (n->re) {
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        if (!md) {
            emit(c, v, 0, "could not be checked against the pattern \"%s\" (out of memory)", n->pattern);
            return;
        }
        int rc = pcre2_match(n->re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
        pcre2_match_data_free(md);
        if (rc == PCRE2_ERROR_NOMATCH)
            emit(c, v, 0, "must match the pattern \"%s\"", n->pattern);
        else if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
            emit(c, v, 0, "is not valid UTF-8");
        else if (rc < 0)
            emit(c, v, 0, "could not be checked against the pattern \"%s\"", n->pattern);
    }
}

static void check_array(const struct node *n, const struct json_object *v, struct vctx *c)
{
    size_t cnt = json_object_array_length(v);
    if (n->min_items >= 0 && cnt < (size_t)n->min_items) {
        if (n->min_items == 1)
            emit(c, v, 0, "must not be an empty list");
        else
            emit(c, v, 0, "must have at least %lld items", n->min_items);
    }
    if (n->max_items >= 0 && cnt > (size_t)n->max_items)
        emit(c, v, 0, "must have at most %lld item%s", n->max_items, n->max_items == 1 ? "" : "s");
    if (!n->items)
        return;
    for (size_t i = 0; i < cnt; i++) {
        size_t old = vpush(c->path, "[%zu]", i);
        validate_node(n->items, json_object_array_get_idx(v, i), c);
        vpop(c->path, old);
    }
}

static void check_object(const struct node *n, const struct json_object *v, struct vctx *c)
{
    for (size_t i = 0; i < n->nrequired; i++)
        if (!json_object_object_get_ex(v, n->required[i], NULL))
            emit(c, v, 0, "missing required field \"%s\"", n->required[i]);

    json_object_object_foreach(mut(v), key, val) {
        const struct node *sub = NULL;
        for (size_t i = 0; i < n->nprops && !sub; i++)
            if (strcmp(n->props[i].name, key) == 0)
                sub = n->props[i].schema;
        if (!sub && n->additional == ADD_NONE) {
            emit(c, v, 1, "unknown field \"%s\"", key);
            continue;
        }
        if (!sub)
            sub = n->additional == ADD_SCHEMA ? n->add_schema : NULL;
        if (!sub)
            continue;
        size_t old = push_key(c->path, key);
        validate_node(sub, val, c);
        vpop(c->path, old);
    }
}

/* Runs every branch against v, collecting problems; returns how many branches
 * passed and, through best, the branch that came closest (see schema.h). */
static size_t try_branches(struct node *const *br, size_t nbr, const struct json_object *v,
                           struct vctx *c, struct problems *best_out)
{
    size_t passed = 0;
    int best = -1, best_fits = 0, best_errors = 0;
    struct problems best_p = { 0 };
    for (size_t i = 0; i < nbr; i++) {
        struct problems p = { 0 };
        struct vctx sub = { .path = c->path, .collect = &p };
        int fits = type_fits(br[i], v);
        validate_node(br[i], v, &sub);
        if (sub.errors == 0)
            passed++;
        if (best < 0 || (fits && !best_fits) || (fits == best_fits && sub.errors < best_errors)) {
            problems_clear(&best_p);
            best_p = p;
            best = (int)i;
            best_fits = fits;
            best_errors = sub.errors;
        } else {
            problems_clear(&p);
        }
    }
    *best_out = best_p;
    /* No branch's type fits: one message naming every allowed form beats a
     * list of type errors, one per branch. */
    if (!best_fits) {
        problems_clear(best_out);
        char ph[16][PHRASE_LEN];
        size_t cnt = 0;
        for (size_t i = 0; i < nbr; i++)
            if (!br[i]->never)
                cnt = type_phrases(br[i], ph, 16, cnt);
        char msg[512];
        struct sbuf s = { msg, sizeof msg, 0 };
        msg[0] = '\0';
        if (cnt) {
            sb_add(&s, "expected ");
            join_phrases(&s, ph, cnt);
        } else {
            sb_add(&s, "not allowed here");
        }
        struct vctx tmp = { .path = c->path, .collect = best_out };
        deliver(&tmp, c->path->buf, v, msg, 0);
    }
    return passed;
}

static void replay(struct vctx *c, struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        deliver(c, p->v[i].path, p->v[i].node, p->v[i].msg, p->v[i].unknown);
    if (p->n == 0)
        emit(c, NULL, 0, "does not match any allowed form"); /* problems lost to OOM */
}

static void validate_node(const struct node *n, const struct json_object *v, struct vctx *c)
{
    if (n->never) {
        emit(c, v, 0, "not allowed here");
        return;
    }
    if (!type_fits(n, v)) {
        char ph[8][PHRASE_LEN];
        size_t cnt = type_phrases(n, ph, 8, 0);
        char msg[512];
        struct sbuf s = { msg, sizeof msg, 0 };
        msg[0] = '\0';
        join_phrases(&s, ph, cnt);
        emit(c, v, 0, "expected %s", msg);
        return;
    }
    if (n->has_const && !json_equal(v, n->const_val)) {
        char msg[512];
        struct sbuf s = { msg, sizeof msg, 0 };
        msg[0] = '\0';
        add_json(&s, n->const_val);
        emit(c, v, 0, "expected %s", msg);
        return;
    }
    if (n->enum_vals) {
        size_t cnt = json_object_array_length(n->enum_vals), i = 0;
        while (i < cnt && !json_equal(v, json_object_array_get_idx(n->enum_vals, i)))
            i++;
        if (i == cnt) {
            char msg[512];
            struct sbuf s = { msg, sizeof msg, 0 };
            msg[0] = '\0';
            if (cnt == 1) {
                add_json(&s, json_object_array_get_idx(n->enum_vals, 0));
                emit(c, v, 0, "expected %s", msg);
            } else {
                for (i = 0; i < cnt; i++) {
                    if (i)
                        sb_add(&s, ", ");
                    add_choice(&s, json_object_array_get_idx(n->enum_vals, i));
                }
                emit(c, v, 0, "expected one of %s", msg);
            }
            return;
        }
    }
    switch (value_kind(v)) {
    case T_INT:
    case T_NUM:
        check_number(n, v, c);
        break;
    case T_STR:
        check_string(n, v, c);
        break;
    case T_ARR:
        check_array(n, v, c);
        break;
    case T_OBJ:
        check_object(n, v, c);
        break;
    default:
        break;
    }
    if (n->n_any_of) {
        struct problems best;
        if (try_branches(n->any_of, n->n_any_of, v, c, &best) == 0)
            replay(c, &best);
        problems_clear(&best);
    }
    if (n->n_one_of) {
        struct problems best;
        size_t passed = try_branches(n->one_of, n->n_one_of, v, c, &best);
        if (passed == 0)
            replay(c, &best);
        else if (passed > 1)
            emit(c, v, 0, "matches more than one of the allowed forms; it must match exactly one");
        problems_clear(&best);
    }
}

/* Does v pass n? No report, no allocation kept. */
static int node_accepts(const struct node *n, const struct json_object *v)
{
    struct vpath path = { .len = 0 };
    path.buf[0] = '\0';
    struct problems p = { 0 };
    struct vctx c = { .path = &path, .collect = &p };
    validate_node(n, v, &c);
    problems_clear(&p);
    return c.errors == 0;
}

int schema_validate(const schema *s, const struct json_object *v, schema_report_fn report, void *arg)
{
    if (!s || !s->root)
        return -1;
    struct vpath path = { .len = 0 };
    path.buf[0] = '\0';
    struct vctx c = { .path = &path, .report = report, .arg = arg };
    validate_node(s->root, v, &c);
    return c.errors;
}

/* ---- defaults ---------------------------------------------------------- */

static int apply_node(const struct node *n, struct json_object *v);

/* Of oneOf/anyOf branches, only one that the value passes contributes its
 * defaults: a branch the value does not take says nothing about it. */
static int apply_branches(struct node *const *br, size_t nbr, struct json_object *v)
{
    for (size_t i = 0; i < nbr; i++)
        if (node_accepts(br[i], v))
            return apply_node(br[i], v);
    return 0;
}

static int apply_node(const struct node *n, struct json_object *v)
{
    if (n->never)
        return 0;
    if (json_object_is_type(v, json_type_object)) {
        for (size_t i = 0; i < n->nprops; i++) {
            const struct node *sub = n->props[i].schema;
            struct json_object *have;
            if (json_object_object_get_ex(v, n->props[i].name, &have)) {
                if (apply_node(sub, have) < 0)
                    return -1;
                continue;
            }
            if (!sub->has_default)
                continue;
            struct json_object *copy = NULL;
            if (sub->default_val && json_object_deep_copy(sub->default_val, &copy, NULL) != 0)
                return -1;
            if (json_object_object_add(v, n->props[i].name, copy) != 0) {
                json_object_put(copy);
                return -1;
            }
            /* The copy may itself be an object whose members have defaults. */
            if (copy && apply_node(sub, copy) < 0)
                return -1;
        }
        if (n->additional == ADD_SCHEMA) {
            json_object_object_foreach(v, key, val) {
                size_t i = 0;
                while (i < n->nprops && strcmp(n->props[i].name, key) != 0)
                    i++;
                if (i == n->nprops && apply_node(n->add_schema, val) < 0)
                    return -1;
            }
        }
    } else if (json_object_is_type(v, json_type_array) && n->items) {
        size_t cnt = json_object_array_length(v);
        for (size_t i = 0; i < cnt; i++)
            if (apply_node(n->items, json_object_array_get_idx(v, i)) < 0)
                return -1;
    }
    if (apply_branches(n->any_of, n->n_any_of, v) < 0 ||
        apply_branches(n->one_of, n->n_one_of, v) < 0)
        return -1;
    return 0;
}

int schema_apply_defaults(const schema *s, struct json_object *v)
{
    if (!s || !s->root)
        return -1;
    return apply_node(s->root, v);
}
