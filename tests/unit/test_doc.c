/* Tests for the request document (engine/doc): building, lookups with and
 * without the index, duplicate keys, copies, sharing and the json-c edges. */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "cu_main.h"
#include "doc/doc.h"

static void test_scalars(void)
{
    struct arena a;
    arena_init(&a, 0);
    doc *s = doc_new_str(&a, "a\0b", 3);
    size_t n = 0;
    CU_ASSERT_EQUAL(doc_type_of(s), DOC_STRING);
    CU_ASSERT_EQUAL(memcmp(doc_str(s, &n), "a\0b", 4), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_PTR_NULL(doc_str(doc_new_int(&a, 1), NULL));
    CU_ASSERT_EQUAL(doc_type_of(NULL), DOC_NULL);
    CU_ASSERT_EQUAL(doc_int(doc_new_double(&a, 2.9)), 2);
    CU_ASSERT_EQUAL(doc_int(doc_new_double(&a, 1e300)), INT64_MAX);
    CU_ASSERT_EQUAL(doc_int(doc_new_str(&a, "42x", 3)), 42);
    CU_ASSERT_EQUAL(doc_bool(doc_new_str(&a, "", 0)), 0);
    CU_ASSERT_EQUAL(doc_bool(doc_new_str(&a, "false", 5)), 1);
    CU_ASSERT_DOUBLE_EQUAL(doc_double(doc_new_int(&a, 3)), 3.0, 0);
    CU_ASSERT_EQUAL(doc_len(s), 0);
    arena_free(&a);
}

/* n members set one by one read back in order, by key, with replacement
 * in place: below and above the index threshold. */
static void check_object(size_t n)
{
    struct arena a;
    arena_init(&a, 0);
    doc *o = doc_new_object(&a, 0);
    char k[32];
    for (size_t i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key-%zu", i);
        CU_ASSERT_EQUAL_FATAL(doc_set(&a, o, k, (size_t)kl, doc_new_int(&a, (int64_t)i)), 0);
    }
    CU_ASSERT_EQUAL(doc_len(o), n);
    /* set again: same count, same position, new value */
    CU_ASSERT_EQUAL(doc_set(&a, o, "key-0", 5, doc_new_int(&a, -1)), 0);
    CU_ASSERT_EQUAL(doc_len(o), n);
    CU_ASSERT_EQUAL(doc_int(doc_member_at(o, 0)->val), -1);
    for (size_t i = 1; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key-%zu", i);
        int found = 0;
        const doc *v = doc_get(o, k, (size_t)kl, &found);
        CU_ASSERT_TRUE(found);
        CU_ASSERT_EQUAL(doc_int(v), (int64_t)i);
        CU_ASSERT_STRING_EQUAL(doc_member_at(o, i)->key, k);
    }
    int found = 1;
    CU_ASSERT_PTR_NULL(doc_get(o, "nope", 4, &found));
    CU_ASSERT_FALSE(found);
    /* a member that is null exists */
    CU_ASSERT_EQUAL(doc_set(&a, o, "null", 4, NULL), 0);
    CU_ASSERT_PTR_NULL(doc_get(o, "null", 4, &found));
    CU_ASSERT_TRUE(found);
    CU_ASSERT_EQUAL((o->aux.index != NULL), (n + 1 > DOC_INDEX_MIN));
    arena_free(&a);
}

static void test_objects(void)
{
    check_object(1);
    check_object(DOC_INDEX_MIN);
    check_object(DOC_INDEX_MIN + 1);
    check_object(1000);
}

static void test_read_only(void)
{
    struct arena a;
    arena_init(&a, 0);
    doc *o = doc_new_object(&a, 0);
    doc *arr = doc_new_array(&a, 0);
    CU_ASSERT_EQUAL(doc_set(&a, o, "a", 1, arr), 0);
    doc_seal(o);
    CU_ASSERT_EQUAL(doc_set(&a, o, "b", 1, NULL), -1);
    CU_ASSERT_EQUAL(doc_append(&a, arr, NULL), -1);
    CU_ASSERT_EQUAL(doc_set(&a, arr, "b", 1, NULL), -1); /* not an object */
    /* a copy is mutable again */
    doc *c = doc_copy(&a, o, NULL);
    CU_ASSERT_EQUAL(doc_set(&a, c, "b", 1, NULL), 0);
    CU_ASSERT_EQUAL(doc_len(o), 1);
    arena_free(&a);
}

static void test_dedupe(void)
{
    for (size_t n = 2; n < 40; n += 7) {
        struct arena a;
        arena_init(&a, 0);
        doc *o = doc_new_object(&a, 0);
        char k[16];
        /* keys 0..n-1, then every even key again with a new value */
        for (size_t i = 0; i < n; i++) {
            int kl = snprintf(k, sizeof k, "%zu", i);
            doc_add_new(&a, o, k, (size_t)kl, doc_hash(k, (size_t)kl), 1,
                        doc_new_int(&a, (int64_t)i));
        }
        for (size_t i = 0; i < n; i += 2) {
            int kl = snprintf(k, sizeof k, "%zu", i);
            doc_add_new(&a, o, k, (size_t)kl, doc_hash(k, (size_t)kl), 1,
                        doc_new_int(&a, 1000 + (int64_t)i));
        }
        CU_ASSERT_EQUAL_FATAL(doc_dedupe(&a, o), 0);
        CU_ASSERT_EQUAL(doc_len(o), n);
        for (size_t i = 0; i < n; i++) {
            int kl = snprintf(k, sizeof k, "%zu", i);
            CU_ASSERT_STRING_EQUAL(doc_member_at(o, i)->key, k);
            CU_ASSERT_EQUAL(doc_int(doc_get(o, k, (size_t)kl, NULL)),
                            (int64_t)(i % 2 ? i : 1000 + i));
        }
        arena_free(&a);
    }
}

static void test_equal_and_copy(void)
{
    struct arena a;
    arena_init(&a, 0);
    doc *x = doc_new_object(&a, 0), *y = doc_new_object(&a, 0);
    doc_set(&a, x, "a", 1, doc_new_int(&a, 1));
    doc_set(&a, x, "b", 1, doc_new_str(&a, "s", 1));
    doc_set(&a, y, "b", 1, doc_new_str(&a, "s", 1));
    doc_set(&a, y, "a", 1, doc_new_int(&a, 1));
    CU_ASSERT_TRUE(doc_equal(x, y)); /* member order does not matter */
    doc_set(&a, y, "a", 1, doc_new_double(&a, 1));
    CU_ASSERT_FALSE(doc_equal(x, y)); /* 1 and 1.0 differ, as in json-c */
    int err = 1;
    doc *c = doc_copy(&a, x, &err);
    CU_ASSERT_FALSE(err);
    CU_ASSERT_TRUE(doc_equal(x, c));
    CU_ASSERT_PTR_NULL(doc_copy(&a, NULL, &err));
    CU_ASSERT_FALSE(err);
    /* too deep to copy */
    doc *deep = doc_new_array(&a, 0), *cur = deep;
    for (int i = 0; i < DOC_MAX_DEPTH + 5; i++) {
        doc *next = doc_new_array(&a, 0);
        doc_append(&a, cur, next);
        cur = next;
    }
    CU_ASSERT_PTR_NULL(doc_copy(&a, deep, &err));
    CU_ASSERT_TRUE(err);
    arena_free(&a);
}

static void test_limit(void)
{
    struct arena a;
    arena_init(&a, 4096);
    doc *arr = doc_new_array(&a, 0);
    int failed = 0;
    for (int i = 0; i < 10000 && !failed; i++) {
        doc *s = doc_new_str(&a, "0123456789", 10);
        failed = !s || doc_append(&a, arr, s);
    }
    CU_ASSERT_TRUE(failed); /* the arena's limit stops the build */
    CU_ASSERT_TRUE(a.total <= 4096);
    arena_free(&a);
}

static void test_shared(void)
{
    struct arena a;
    arena_init(&a, 0);
    doc *o = doc_new_object(&a, 0);
    doc_set(&a, o, "name", 4, doc_new_str(&a, "x", 1));
    doc_shared *s = doc_share(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    arena_free(&a); /* the share owns a copy */
    const doc *r = doc_shared_root(s);
    CU_ASSERT_TRUE(r->flags & DOC_ROOT);
    CU_ASSERT_TRUE(r->flags & DOC_SHARED);
    CU_ASSERT_FALSE(r->flags & DOC_MUTABLE);
    CU_ASSERT_TRUE(doc_get(r, "name", 4, NULL)->flags & DOC_SHARED);
    CU_ASSERT_PTR_EQUAL(doc_shared_of(r), s);
    CU_ASSERT_PTR_NULL(doc_shared_of(doc_get(r, "name", 4, NULL)));
    CU_ASSERT_TRUE(doc_shared_bytes(s) > 0);
    /* A small value takes one block of its own size, not a whole chunk. */
    CU_ASSERT_TRUE(doc_shared_bytes(s) < 256);
    doc_shared_ref(s);
    doc_shared_unref(s);
    CU_ASSERT_STRING_EQUAL(doc_str(doc_get(r, "name", 4, NULL), NULL), "x");
    doc_shared_unref(s);

    /* A large one is copied into exactly the bytes doc_bytes counts. */
    arena_init(&a, 0);
    doc *big = doc_new_object(&a, 0);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        int kl = snprintf(k, sizeof k, "member-%d", i);
        doc *arr = doc_new_array(&a, 0);
        for (int j = 0; j < i % 9; j++)
            doc_append(&a, arr, doc_new_str(&a, k, (size_t)kl));
        doc_set(&a, big, k, (size_t)kl, arr);
    }
    s = doc_share(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t want = doc_bytes(big), got = doc_shared_bytes(s);
    CU_ASSERT_TRUE(got >= want && got <= want + 128);
    CU_ASSERT_TRUE(doc_equal(big, doc_shared_root(s)));
    doc_shared_unref(s);
    arena_free(&a);
}

static void test_jsonc_round_trip(void)
{
    const char *text = "{\"a\":[1,2.50,\"x\",null,true,{}],\"b\":{\"c\":\"d\"},\"n\":null}";
    struct json_object *j = json_tokener_parse(text);
    struct arena a;
    arena_init(&a, 0);
    doc_srcmap *m = doc_srcmap_new();
    int err = 1;
    doc *d = doc_from_jsonc(&a, j, m, &err);
    CU_ASSERT_FALSE(err);
    CU_ASSERT_EQUAL(doc_len(d), 3);
    const doc *b = doc_getz(d, "b");
    struct json_object *jb = NULL;
    json_object_object_get_ex(j, "b", &jb);
    CU_ASSERT_PTR_EQUAL(doc_srcmap_find(m, b), jb);
    CU_ASSERT_FALSE(d->flags & DOC_MUTABLE);
    struct json_object *back = NULL;
    CU_ASSERT_EQUAL(doc_to_jsonc(d, &back), 0);
    CU_ASSERT_TRUE(json_object_equal(j, back));
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN),
                           "{\"a\":[1,2.50,\"x\",null,true,{}],\"b\":{\"c\":\"d\"},\"n\":null}");
    json_object_put(back);
    json_object_put(j);
    doc_srcmap_free(m);
    arena_free(&a);
}

int cu_register(void)
{
    static const cu_case list[] = {
        {"scalars", test_scalars},
        {"objects, with and without the index", test_objects},
        {"sealed nodes refuse changes", test_read_only},
        {"duplicate keys: the last wins at the first's place", test_dedupe},
        {"equality and deep copies", test_equal_and_copy},
        {"the arena limit bounds a build", test_limit},
        {"shared documents", test_shared},
        {"json-c round trip and source map", test_jsonc_round_trip},
        {NULL, NULL}};
    return cu_add_suite("doc", list);
}
