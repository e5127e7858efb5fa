/* jsonsink.c - doc nodes from a frontend's pc_json_sink calls.
 *
 * The containers being filled are kept on a stack (on the C stack while
 * shallow, then in the arena), so nesting costs no recursion here. The
 * frontend limits how deep a request may nest before it emits anything;
 * JSONSINK_MAX_DEPTH holds for any frontend. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonsink.h"
#include "doc/doc.h"

typedef struct jsink {
    struct arena *a;
    doc **stack;   /* open containers, innermost last */
    size_t n, cap;
    const char *key; /* pending member key, a NUL-terminated copy in a */
    size_t klen;
    uint32_t khash;
    int have_key, have_root;
    int failed; /* a call was refused: the build fails even if emit goes on */
    doc *root;
} jsink;

static int result(jsink *s, int rc)
{
    if (rc != 0)
        s->failed = 1;
    return rc;
}

/* Puts v where the document is: the root, the next array element, or the
 * member named by the pending key. */
static int place(jsink *s, const doc *v, int nullable)
{
    if (!v && !nullable)
        return -1;
    if (s->n == 0) {
        if (s->have_root)
            return -1;
        s->have_root = 1;
        s->root = (doc *)v;
        return 0;
    }
    doc *top = s->stack[s->n - 1];
    if (doc_type_of(top) == DOC_ARRAY)
        return doc_append(s->a, top, v) != 0 ? -1 : 0;
    if (!s->have_key)
        return -1;
    s->have_key = 0;
    /* A repeated key replaces the earlier value: the last one wins, as in
     * a protobuf map and in json-c's own parser. */
    return doc_set_ref(s->a, top, s->key, s->klen, s->khash, v) != 0 ? -1 : 0;
}

static int open_container(jsink *s, doc *c)
{
    if (!c || s->n >= JSONSINK_MAX_DEPTH)
        return -1;
    if (s->n == s->cap) {
        size_t cap = 2 * s->cap;
        doc **st = arena_alloc(s->a, cap * sizeof *st);
        if (!st)
            return -1;
        memcpy(st, s->stack, s->n * sizeof *st);
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
    jsink *s = arg;
    return result(s, open_container(s, doc_new_object(s->a, 0)));
}

static int k_array_begin(void *arg)
{
    jsink *s = arg;
    return result(s, open_container(s, doc_new_array(s->a, 0)));
}

static int k_end(void *arg)
{
    jsink *s = arg;
    if (s->n == 0 || s->have_key)
        return result(s, -1);
    s->n--;
    return 0;
}

static int k_key(void *arg, const char *p, size_t len)
{
    jsink *s = arg;
    if (s->n == 0 || s->have_key || doc_type_of(s->stack[s->n - 1]) != DOC_OBJECT ||
        len > (size_t)INT_MAX || (len && memchr(p, '\0', len)))
        return result(s, -1);
    char *k = arena_alloc(s->a, len + 1);
    if (!k)
        return result(s, -1);
    if (len)
        memcpy(k, p, len);
    k[len] = '\0';
    s->key = k;
    s->klen = len;
    s->khash = doc_hash(k, len);
    s->have_key = 1;
    return 0;
}

static int k_string(void *arg, const char *p, size_t len)
{
    jsink *s = arg;
    if (len > (size_t)INT32_MAX)
        return result(s, -1);
    return result(s, place(s, doc_new_str(s->a, len ? p : "", len), 0));
}

/* What json-c's parser makes of the shortest text for d: an int for whole
 * numbers below 10^15 (so `1` stays 1, not 1.0), else a double that is
 * written as that text again. */
static int k_number(void *arg, double d)
{
    jsink *s = arg;
    if (!isfinite(d))
        return result(s, -1);
    if (d == floor(d) && fabs(d) < 1e15)
        return result(s, place(s, doc_new_int(s->a, (int64_t)d), 0));
    char b[32];
    for (int prec = 15;; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (prec == 17 || strtod(b, NULL) == d)
            break;
    }
    for (char *c = b; *c; c++)
        if (*c == ',') /* a locale with a decimal comma */
            *c = '.';
    doc *v = doc_new_double(s->a, d);
    size_t n = strlen(b);
    char *t = v ? arena_alloc(s->a, n + 1) : NULL;
    if (!t)
        return result(s, -1);
    memcpy(t, b, n + 1);
    v->aux.text = t;
    return result(s, place(s, v, 0));
}

static int k_boolean(void *arg, int b)
{
    jsink *s = arg;
    return result(s, place(s, doc_new_bool(s->a, b != 0), 0));
}

static int k_null(void *arg)
{
    return result(arg, place(arg, NULL, 1));
}

const doc *jsonsink_build(int (*emit)(const void *, const pc_json_sink *),
                              const void *emit_arg, struct arena *a)
{
    doc *shallow[16];
    jsink s;
    memset(&s, 0, sizeof s);
    s.a = a;
    s.stack = shallow;
    s.cap = sizeof shallow / sizeof shallow[0];
    pc_json_sink sink = {&s, k_object_begin, k_array_begin, k_end, k_key,
                         k_string, k_number, k_boolean, k_null};
    if (emit(emit_arg, &sink) != 0 || s.failed || s.n != 0 || s.have_key ||
        doc_type_of(s.root) != DOC_OBJECT)
        return NULL;
    doc_seal(s.root);
    return s.root;
}

