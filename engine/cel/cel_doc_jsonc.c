/* cel_doc_jsonc.c - the document interface over json-c trees, so expressions
 * read the Authorization JSON in place. Every JSON number is a double, as
 * Authorino's conversion to google.protobuf.Struct gives. */
#include <string.h>
#include <json-c/json.h>
#include <json-c/linkhash.h>
#include <pthread.h>
#include "cel/cel.h"

static cel_doc_type j_type(const void *n)
{
    switch (json_object_get_type((struct json_object *)n)) {
    case json_type_boolean: return CEL_DOC_BOOL;
    case json_type_int:
    case json_type_double: return CEL_DOC_NUMBER;
    case json_type_string: return CEL_DOC_STRING;
    case json_type_array: return CEL_DOC_ARRAY;
    case json_type_object: return CEL_DOC_OBJECT;
    default: return CEL_DOC_NULL;
    }
}

static const void *j_member(const void *n, const char *key, size_t klen, int *found)
{
    struct json_object *o = (struct json_object *)n, *v = NULL;
    *found = 0;
    if (!json_object_is_type(o, json_type_object)) return NULL;
    (void)klen; /* key is a C string of that length */
    *found = json_object_object_get_ex(o, key, &v);
    return v;
}

static const void *j_index(const void *n, size_t i)
{
    return json_object_array_get_idx((struct json_object *)n, i);
}

static size_t j_length(const void *n)
{
    struct json_object *o = (struct json_object *)n;
    if (json_object_is_type(o, json_type_array)) return json_object_array_length(o);
    if (json_object_is_type(o, json_type_object)) return (size_t)json_object_object_length(o);
    return 0;
}

static const char *j_string(const void *n, size_t *len)
{
    struct json_object *o = (struct json_object *)n;
    *len = (size_t)json_object_get_string_len(o);
    return json_object_get_string(o);
}

static double j_number(const void *n) { return json_object_get_double((struct json_object *)n); }
static int j_boolean(const void *n) { return json_object_get_boolean((struct json_object *)n); }

static int j_each(const void *n, int (*fn)(void *, const char *, size_t, const void *), void *ctx)
{
    struct json_object *o = (struct json_object *)n;
    if (!json_object_is_type(o, json_type_object)) return 0;
    json_object_object_foreach(o, k, v) {
        int rc = fn(ctx, k, strlen(k), v);
        if (rc) return rc;
    }
    return 0;
}

/* A prepared key is its hash under json-c's string hash, so a lookup skips hashing.
 * Objects are created with the hash function current at that time; one made after
 * json_global_set_string_hash changed it is looked up the ordinary way. */
static lh_hash_fn *prepared_fn;
static pthread_once_t prepared_once = PTHREAD_ONCE_INIT;

static void find_hash_fn(void)
{
    struct json_object *o = json_object_new_object();
    if (o) prepared_fn = json_object_get_object(o)->hash_fn;
    json_object_put(o);
}

static uint64_t j_prepare_key(const char *key, size_t klen)
{
    (void)klen;
    pthread_once(&prepared_once, find_hash_fn);
    return prepared_fn ? prepared_fn(key) : 0;
}

static const void *j_member_prepared(const void *n, const char *key, size_t klen, uint64_t h, int *found)
{
    struct lh_table *t = json_object_get_object((struct json_object *)n); /* NULL: not an object */
    if (!t) {
        *found = 0;
        return NULL;
    }
    if (t->hash_fn != prepared_fn) return j_member(n, key, klen, found);
    struct lh_entry *e = lh_table_lookup_entry_w_hash(t, key, (unsigned long)h);
    *found = e != NULL;
    return e ? lh_entry_v(e) : NULL;
}

const cel_doc_ops cel_doc_jsonc = {j_type,  j_member,  j_index, j_length, j_string, j_number,
                                   j_boolean, j_each, j_prepare_key, j_member_prepared};
