/* jsonsink.c - json-c values from a frontend's pc_json_sink calls.
 *
 * The containers being filled are kept on a heap stack, so nesting costs
 * no C stack here; how deep a request may nest is the frontend's limit,
 * checked before it emits anything. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonsink.h"

typedef struct jsink {
    struct json_object **stack; /* open containers, innermost last */
    size_t n, cap;
    char *key;                  /* pending member key, NUL-terminated */
    size_t key_cap;
    int have_key;
    struct json_object *root;
} jsink;

/* Puts v where the document is: the root, the next array element, or the
 * member named by the pending key. Takes v (also on failure). */
static int place(jsink *s, struct json_object *v, int nullable)
{
    if (!v && !nullable)
        return -1;
    if (s->n == 0) {
        if (s->root) {
            json_object_put(v);
            return -1;
        }
        s->root = v;
        return 0;
    }
    struct json_object *top = s->stack[s->n - 1];
    int rc;
    if (json_object_is_type(top, json_type_array)) {
        rc = json_object_array_add(top, v);
    } else {
        if (!s->have_key) {
            json_object_put(v);
            return -1;
        }
        s->have_key = 0;
        /* A repeated key replaces the earlier value: the last one wins,
         * as in a protobuf map and in json-c's own parser. */
        rc = json_object_object_add(top, s->key, v);
    }
    if (rc != 0)
        json_object_put(v);
    return rc != 0 ? -1 : 0;
}

static int open_container(jsink *s, struct json_object *c)
{
    if (!c)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct json_object **st = realloc(s->stack, cap * sizeof *st);
        if (!st) {
            json_object_put(c);
            return -1;
        }
        s->stack = st;
        s->cap = cap;
    }
    if (place(s, c, 0) != 0)
        return -1;
    s->stack[s->n++] = c;
    return 0;
}

static int k_object_begin(void *arg)
{
    return open_container(arg, json_object_new_object());
}

static int k_array_begin(void *arg)
{
    return open_container(arg, json_object_new_array());
}

static int k_end(void *arg)
{
    jsink *s = arg;
    if (s->n == 0 || s->have_key)
        return -1;
    s->n--;
    return 0;
}

static int k_key(void *arg, const char *p, size_t len)
{
    jsink *s = arg;
    if (s->n == 0 || s->have_key ||
        !json_object_is_type(s->stack[s->n - 1], json_type_object) ||
        (len && memchr(p, '\0', len)) || len == SIZE_MAX)
        return -1;
    if (len + 1 > s->key_cap) {
        char *k = realloc(s->key, len + 1);
        if (!k)
            return -1;
        s->key = k;
        s->key_cap = len + 1;
    }
    if (len)
        memcpy(s->key, p, len);
    s->key[len] = '\0';
    s->have_key = 1;
    return 0;
}

static int k_string(void *arg, const char *p, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return -1;
    return place(arg, json_object_new_string_len(len ? p : "", (int)len), 0);
}

/* What json-c's parser makes of the shortest text for d: an int for whole
 * numbers below 10^15 (so `1` stays 1, not 1.0), else a double that prints
 * as that text again. */
static int k_number(void *arg, double d)
{
    if (!isfinite(d))
        return -1;
    if (d == floor(d) && fabs(d) < 1e15)
        return place(arg, json_object_new_int64((int64_t)d), 0);
    char b[32];
    for (int prec = 15;; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (prec == 17 || strtod(b, NULL) == d)
            break;
    }
    for (char *c = b; *c; c++)
        if (*c == ',') /* a locale with a decimal comma */
            *c = '.';
    return place(arg, json_object_new_double_s(d, b), 0);
}

static int k_boolean(void *arg, int b)
{
    return place(arg, json_object_new_boolean(b != 0), 0);
}

static int k_null(void *arg)
{
    return place(arg, NULL, 1);
}

struct json_object *jsonsink_build(int (*emit)(const void *, const pc_json_sink *),
                                   const void *emit_arg)
{
    jsink s;
    memset(&s, 0, sizeof s);
    pc_json_sink sink = {&s, k_object_begin, k_array_begin, k_end, k_key,
                         k_string, k_number, k_boolean, k_null};
    int rc = emit(emit_arg, &sink);
    struct json_object *root = s.root;
    if (rc != 0 || s.n != 0 || s.have_key ||
        !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        root = NULL;
    }
    free(s.stack);
    free(s.key);
    return root;
}
