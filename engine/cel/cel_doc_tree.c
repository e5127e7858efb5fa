/* cel_doc_tree.c - the document interface over engine/doc nodes, the form
 * the request document takes. Constant keys are prepared as the nodes'
 * member hash, so a path such as auth.identity.name costs no hashing when
 * it is evaluated. Every JSON number is a double, as over json-c. */
#include "cel/cel.h"
#include "doc/doc.h"

static cel_doc_type t_type(const void *n)
{
    switch (doc_type_of(n)) {
    case DOC_BOOL: return CEL_DOC_BOOL;
    case DOC_INT:
    case DOC_DOUBLE: return CEL_DOC_NUMBER;
    case DOC_STRING: return CEL_DOC_STRING;
    case DOC_ARRAY: return CEL_DOC_ARRAY;
    case DOC_OBJECT: return CEL_DOC_OBJECT;
    default: return CEL_DOC_NULL;
    }
}

static const void *t_member(const void *n, const char *key, size_t klen, int *found)
{
    return doc_get(n, key, klen, found);
}

static const void *t_index(const void *n, size_t i) { return doc_at(n, i); }
static size_t t_length(const void *n) { return doc_len(n); }

static const char *t_string(const void *n, size_t *len)
{
    const char *s = doc_str(n, len);
    if (!s) {
        *len = 0;
        return "";
    }
    return s;
}

static double t_number(const void *n) { return doc_double(n); }
static int t_boolean(const void *n) { return doc_bool(n); }

static int t_each(const void *n, int (*fn)(void *, const char *, size_t, const void *), void *ctx)
{
    const doc *o = n;
    if (doc_type_of(o) != DOC_OBJECT) return 0;
    for (size_t i = 0; i < o->n; i++) {
        const doc_member *m = doc_member_at(o, i);
        int rc = fn(ctx, m->key, m->klen, m->val);
        if (rc) return rc;
    }
    return 0;
}

static uint64_t t_prepare_key(const char *key, size_t klen) { return doc_hash(key, klen); }

static const void *t_member_prepared(const void *n, const char *key, size_t klen, uint64_t h, int *found)
{
    return doc_get_h(n, key, klen, (uint32_t)h, found);
}

const cel_doc_ops cel_doc_tree = {t_type,  t_member,  t_index, t_length, t_string, t_number,
                                  t_boolean, t_each, t_prepare_key, t_member_prepared};
