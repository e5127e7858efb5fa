/* doc.h - the request document: JSON values as a tree of nodes in an arena.
 *
 * Every value a request's pipeline reads or makes (the Authorization JSON,
 * evaluator outputs, selector results, the values plugins build through
 * pc_host) is a `doc` node behind the SDK's opaque pc_value. A request's
 * nodes live in its arena and go all at once when it ends: there is no
 * per-node free and no reference count on the request path.
 *
 * Three kinds of owner:
 *  - a request's arena (doc_new_* with that arena): nodes may be changed
 *    with doc_set/doc_append while DOC_MUTABLE is set;
 *  - a configuration's arena (doc_from_jsonc at load): read-only, lives
 *    as long as the compiled AuthConfig, so any request may point at it;
 *  - a shared document (doc_share): a read-only deep copy in an arena of
 *    its own with an atomic reference count, for values that outlive one
 *    request and are read by many threads at once (cache entries, values a
 *    plugin keeps). Its nodes carry DOC_SHARED, its root DOC_ROOT.
 * Read-only nodes are never written, not even lazily (no serialisation
 * cache, no index built on first use), so any number of threads may read
 * them at once.
 *
 * JSON null is the NULL pointer, as in json-c, so "missing" and "null" read
 * the same. Objects keep their members in insertion order; a key set again
 * replaces the value in place. Objects with more than DOC_INDEX_MIN members
 * carry a hash index, so lookups and sets stay O(1) on large documents.
 * Strings are length-delimited and also NUL-terminated; they may contain
 * NUL bytes. */
#ifndef PC_DOC_DOC_H
#define PC_DOC_DOC_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "util/arena.h"

typedef enum {
    DOC_NULL = 0, /* only as a type: the node itself is NULL */
    DOC_BOOL,
    DOC_INT,
    DOC_DOUBLE,
    DOC_STRING,
    DOC_ARRAY,
    DOC_OBJECT
} doc_type;

enum {
    DOC_MUTABLE = 1, /* in a request's arena, still being built */
    DOC_SHARED = 2,  /* inside a shared document */
    DOC_ROOT = 4     /* the root of a shared document (doc_shared_of works) */
};

/* Objects with more members than this get a hash index. */
#define DOC_INDEX_MIN 8

typedef struct doc doc;

typedef struct doc_member {
    const char *key; /* NUL-terminated copy, klen bytes */
    uint32_t klen;
    uint32_t hash;   /* doc_hash(key, klen) */
    const doc *val;  /* NULL = JSON null */
} doc_member;

struct doc {
    uint8_t type;  /* doc_type */
    uint8_t flags; /* DOC_MUTABLE | DOC_SHARED | DOC_ROOT */
    uint16_t _pad;
    uint32_t n;    /* string bytes, array items or object members */
    uint32_t cap;  /* array or object: slots allocated */
    uint32_t imask;/* object: index slots - 1, 0 = no index */
    union {
        int b;
        int64_t i;
        double d;
        const char *s;
        const doc **items;
        doc_member *members;
    } u;
    union {
        uint32_t *index;  /* object: member number + 1 per slot, 0 = empty */
        const char *text; /* double: the text it was parsed from, written back
                             as is (json-c does the same), or NULL */
    } aux;
};

/* ---- keys ---------------------------------------------------------------- */

/* The member hash (FNV-1a, 32 bits). Selectors and CEL compute it once for
 * constant keys and look up with doc_get_h. */
uint32_t doc_hash(const char *key, size_t klen);

/* ---- reading (NULL-safe: NULL reads as JSON null) ----------------------- */

static inline doc_type doc_type_of(const doc *v) { return v ? (doc_type)v->type : DOC_NULL; }

/* The string's bytes (NUL-terminated) or NULL when v is not a string. */
const char *doc_str(const doc *v, size_t *len);
/* json-c's conversions, so results match what plugins saw before:
 * bool of a number is != 0, of a string is non-empty; int of a double
 * truncates (saturating), of a string parses its leading integer; and so on. */
int doc_bool(const doc *v);
int64_t doc_int(const doc *v);
double doc_double(const doc *v);
/* Array items or object members; 0 for anything else. */
size_t doc_len(const doc *v);
/* Array item i, NULL when out of range or not an array. */
const doc *doc_at(const doc *arr, size_t i);
/* Object member by key; *found (may be NULL) says whether the key exists
 * (a member may exist and be null). NULL when v is not an object. */
const doc *doc_get(const doc *obj, const char *key, size_t klen, int *found);
const doc *doc_get_h(const doc *obj, const char *key, size_t klen, uint32_t hash,
                     int *found);
/* A NUL-terminated key. */
static inline const doc *doc_getz(const doc *obj, const char *key)
{
    size_t n = 0;
    while (key[n])
        n++;
    return doc_get(obj, key, n, NULL);
}
/* Member i of an object in insertion order (i < doc_len). */
static inline const doc_member *doc_member_at(const doc *obj, size_t i)
{
    return &obj->u.members[i];
}
/* Deep equality (json-c's json_object_equal: ints and doubles of one value
 * are not equal, objects compare without regard to member order). */
int doc_equal(const doc *a, const doc *b);

/* ---- building in an arena --------------------------------------------------
 * Every constructor copies what it is given into the arena and returns NULL
 * when the arena is out of memory or past its limit; callers treat that as
 * an error, never as JSON null (compare doc_new_* results with NULL before
 * storing them). The new node is DOC_MUTABLE. */

doc *doc_new_bool(struct arena *a, int b);
doc *doc_new_int(struct arena *a, int64_t i);
doc *doc_new_double(struct arena *a, double d);
doc *doc_new_str(struct arena *a, const char *s, size_t len);
/* A string node over bytes the caller guarantees outlive the node and are
 * NUL-terminated at s[len] (constants, other nodes' strings). */
doc *doc_new_str_ref(struct arena *a, const char *s, size_t len);
/* cap_hint: expected members/items (0 = grow from a small start). */
doc *doc_new_object(struct arena *a, size_t cap_hint);
doc *doc_new_array(struct arena *a, size_t cap_hint);

/* Sets key to val (NULL = JSON null), replacing an existing member in
 * place. The key is copied. -1 when obj is not a mutable object, on memory
 * exhaustion or past the arena limit. */
int doc_set(struct arena *a, doc *obj, const char *key, size_t klen, const doc *val);
/* As doc_set with the key's hash known and the key kept by reference (it
 * must outlive the node and be NUL-terminated at key[klen]). */
int doc_set_ref(struct arena *a, doc *obj, const char *key, size_t klen, uint32_t hash,
                const doc *val);
/* Appends a member without looking for an existing one with that key: for
 * builders that know their keys are distinct (or that run doc_dedupe). */
int doc_add_new(struct arena *a, doc *obj, const char *key, size_t klen, uint32_t hash,
                int copy_key, const doc *val);
/* Keeps the last member of each key at the position of its first, as
 * doc_set would have (json-c's rule for duplicate keys), and builds the
 * index. For parsers that appended with doc_add_new. -1 on memory. */
int doc_dedupe(struct arena *a, doc *obj);
int doc_append(struct arena *a, doc *arr, const doc *val);

/* Marks v and everything below it read-only (clears DOC_MUTABLE), for
 * parts of a request's document that evaluators may read but never
 * change. */
void doc_seal(doc *v);

/* A deep copy of v into a (mutable nodes), sharing nothing with v. NULL
 * for a NULL v; *err (may be NULL) is set to 1 when the copy failed (memory
 * or depth past DOC_MAX_DEPTH), so a NULL result can be told from null. */
#define DOC_MAX_DEPTH 128
doc *doc_copy(struct arena *a, const doc *v, int *err);

/* Bytes v takes in an arena, for cache budgets. */
size_t doc_bytes(const doc *v);

/* ---- shared documents ----------------------------------------------------- */

typedef struct doc_shared doc_shared;

/* A read-only deep copy of v with one reference. NULL on memory (or v
 * NULL: null needs no sharing; check v first). */
doc_shared *doc_share(const doc *v);
/* The root node of a shared document. */
const doc *doc_shared_root(const doc_shared *s);
/* The shared document whose root is v, or NULL when v is not one. */
doc_shared *doc_shared_of(const doc *v);
doc_shared *doc_shared_ref(doc_shared *s);
void doc_shared_unref(doc_shared *s);
/* Bytes held by the shared document (its arena). */
size_t doc_shared_bytes(const doc_shared *s);

/* ---- JSON text (doc_json.c) ---------------------------------------------- */

/* Parses exactly one JSON value (RFC 8259; surrounding white space
 * allowed) into a. On success returns 0 and sets *out (NULL for null). -1
 * on a syntax error, invalid UTF-8 in a string, nesting deeper than
 * DOC_MAX_DEPTH, or memory; err (may be NULL) then gets a one-line message
 * with the byte offset. Numbers without fraction or exponent that fit in
 * int64 are DOC_INT, others DOC_DOUBLE. Duplicate keys: the last wins. */
int doc_parse(struct arena *a, const char *text, size_t len, const doc **out, char *err,
              size_t errlen);

struct buf;
/* Appends v as compact JSON text, byte for byte as json-c's
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE writes it (so
 * headers and bodies built from values stay the same). -1 when the buffer
 * failed (limit or memory) or v is nested deeper than DOC_MAX_DEPTH. */
int doc_to_json(struct buf *b, const doc *v);
/* The same text as a NUL-terminated string in the arena. NULL on failure. */
const char *doc_to_json_arena(struct arena *a, const doc *v, size_t *len);

/* ---- json-c, at the edges (doc_jsonc.c) ------------------------------------ */

struct json_object;
/* A read-only copy of a json-c tree in a (configuration documents, and the
 * request fields still decoded by json-c). *err as doc_copy. When map is
 * not NULL, every pair (json-c node, doc node) is recorded in it so that
 * config-time services can go from a doc node back to its source node (and
 * its line). */
typedef struct doc_srcmap doc_srcmap;
doc *doc_from_jsonc(struct arena *a, const struct json_object *j, doc_srcmap *map, int *err);
doc_srcmap *doc_srcmap_new(void);
void doc_srcmap_free(doc_srcmap *m);
/* The json-c node v was copied from, or NULL. */
struct json_object *doc_srcmap_find(const doc_srcmap *m, const doc *v);
/* A new json-c tree equal to v (caller puts it); 0, or -1 on memory or
 * depth. */
int doc_to_jsonc(const doc *v, struct json_object **out);

#endif
