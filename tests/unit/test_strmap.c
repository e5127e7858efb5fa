/* Tests for engine/util/strmap: the open-addressing string -> pointer map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "util/strmap.h"

static int tags[20000]; /* distinct addresses to store as values */

static void test_put_get(void)
{
    strmap *m = strmap_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "a"));

    CU_ASSERT_EQUAL(strmap_put(m, "a", &tags[1], NULL), 0);
    CU_ASSERT_EQUAL(strmap_put(m, "b", &tags[2], NULL), 0);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "a"), &tags[1]);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "b"), &tags[2]);
    CU_ASSERT_PTR_NULL(strmap_get(m, "c"));
    CU_ASSERT_PTR_NULL(strmap_get(m, "A")); /* case matters */
    CU_ASSERT_EQUAL(strmap_count(m), 2);

    void *old = NULL;
    CU_ASSERT_EQUAL(strmap_put(m, "a", &tags[3], &old), 1);
    CU_ASSERT_PTR_EQUAL(old, &tags[1]);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "a"), &tags[3]);
    CU_ASSERT_EQUAL(strmap_count(m), 2);
    strmap_free(m, NULL);
}

static void test_add_keeps_first(void)
{
    strmap *m = strmap_new(0);
    void *held = NULL;
    CU_ASSERT_EQUAL(strmap_addn(m, "k", 1, &tags[1], &held), 0);
    CU_ASSERT_PTR_NULL(held);
    CU_ASSERT_EQUAL(strmap_addn(m, "k", 1, &tags[2], &held), 1);
    CU_ASSERT_PTR_EQUAL(held, &tags[1]);
    CU_ASSERT_EQUAL(strmap_addn(m, "k", 1, &tags[2], NULL), 1);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "k"), &tags[1]);
    CU_ASSERT_EQUAL(strmap_count(m), 1);
    CU_ASSERT_EQUAL(strmap_addn(NULL, "k", 1, &tags[2], NULL), -1);
    strmap_free(m, NULL);
}

static void test_keys_are_copied(void)
{
    strmap *m = strmap_new(4);
    char key[16];
    snprintf(key, sizeof key, "host-%d", 7);
    CU_ASSERT_EQUAL(strmap_put(m, key, &tags[7], NULL), 0);
    memset(key, 'x', sizeof key - 1);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "host-7"), &tags[7]);
    strmap_free(m, NULL);
}

static void test_lengths_and_nul(void)
{
    strmap *m = strmap_new(0);
    /* Prefixes and embedded NULs are distinct keys. */
    CU_ASSERT_EQUAL(strmap_putn(m, "ab\0c", 4, &tags[1], NULL), 0);
    CU_ASSERT_EQUAL(strmap_putn(m, "ab", 2, &tags[2], NULL), 0);
    CU_ASSERT_EQUAL(strmap_putn(m, "", 0, &tags[3], NULL), 0);
    CU_ASSERT_PTR_EQUAL(strmap_getn(m, "ab\0c", 4), &tags[1]);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "ab"), &tags[2]);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, ""), &tags[3]);
    CU_ASSERT_PTR_EQUAL(strmap_getn(m, "abcdef", 2), &tags[2]); /* a slice needs no NUL */
    CU_ASSERT_PTR_NULL(strmap_getn(m, "ab\0", 3));
    CU_ASSERT_EQUAL(strmap_count(m), 3);
    strmap_free(m, NULL);
}

static void test_null_values_and_find(void)
{
    strmap *m = strmap_new(0);
    CU_ASSERT_EQUAL(strmap_put(m, "none", NULL, NULL), 0);
    void *v = &tags[0];
    CU_ASSERT_EQUAL(strmap_find(m, "none", 4, &v), 1);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(strmap_find(m, "nope", 4, &v), 0);
    CU_ASSERT_EQUAL(strmap_find(m, "none", 4, NULL), 1);
    strmap_free(m, NULL);
}

static void test_bad_arguments(void)
{
    CU_ASSERT_EQUAL(strmap_put(NULL, "a", NULL, NULL), -1);
    strmap *m = strmap_new(0);
    CU_ASSERT_EQUAL(strmap_put(m, NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL(strmap_putn(m, NULL, 3, NULL, NULL), -1);
    CU_ASSERT_PTR_NULL(strmap_get(m, NULL));
    CU_ASSERT_PTR_NULL(strmap_get(NULL, "a"));
    CU_ASSERT_EQUAL(strmap_del(m, NULL, NULL), 0);
    CU_ASSERT_EQUAL(strmap_count(NULL), 0);
    CU_ASSERT_EQUAL(strmap_iterate(NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    strmap_free(m, NULL);
    strmap_free(NULL, NULL);
    CU_ASSERT_PTR_NULL(strmap_new((size_t)-1));
}

static void test_grow_many(void)
{
    strmap *m = strmap_new(0);
    char key[32];
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "svc-%d.example.com", i);
        CU_ASSERT_EQUAL(strmap_put(m, key, &tags[i], NULL), 0);
    }
    CU_ASSERT_EQUAL(strmap_count(m), (size_t)n);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "svc-%d.example.com", i);
        if (strmap_get(m, key) != &tags[i])
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "svc-20000.example.com"));
    strmap_free(m, NULL);
}

/* Deleting must keep every other key reachable, whatever probe runs the
 * deleted keys sat in: delete every third key, check all, then reinsert. */
static void test_delete(void)
{
    strmap *m = strmap_new(0);
    char key[32];
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        strmap_put(m, key, &tags[i], NULL);
    }
    void *old = NULL;
    CU_ASSERT_EQUAL(strmap_del(m, "k3", &old), 1);
    CU_ASSERT_PTR_EQUAL(old, &tags[3]);
    CU_ASSERT_EQUAL(strmap_del(m, "k3", &old), 0);
    CU_ASSERT_EQUAL(strmap_del(m, "missing", NULL), 0);
    for (int i = 0; i < n; i += 3) {
        snprintf(key, sizeof key, "k%d", i);
        if (i != 3)
            CU_ASSERT_EQUAL(strmap_del(m, key, NULL), 1);
    }
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        void *want = (i % 3 == 0) ? NULL : &tags[i];
        if (strmap_get(m, key) != want)
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(strmap_count(m), (size_t)(n - (n + 2) / 3));
    for (int i = 0; i < n; i += 3) {
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT_EQUAL(strmap_put(m, key, &tags[i], NULL), 0);
    }
    CU_ASSERT_EQUAL(strmap_count(m), (size_t)n);
    wrong = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (strmap_get(m, key) != &tags[i])
            wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* Delete everything: the map ends empty and still works. */
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        strmap_del(m, key, NULL);
    }
    CU_ASSERT_EQUAL(strmap_count(m), 0);
    CU_ASSERT_PTR_NULL(strmap_get(m, "k1"));
    CU_ASSERT_EQUAL(strmap_put(m, "again", &tags[9], NULL), 0);
    CU_ASSERT_PTR_EQUAL(strmap_get(m, "again"), &tags[9]);
    strmap_free(m, NULL);
}

struct walk {
    int seen[100];
    int calls;
    int stop_after;
};

static int walk_fn(void *arg, const char *key, size_t len, void *value)
{
    struct walk *w = arg;
    int idx = (int)((int *)value - tags);
    char want[16];
    snprintf(want, sizeof want, "w%d", idx);
    if (idx >= 0 && idx < 100 && strlen(key) == len && strcmp(key, want) == 0)
        w->seen[idx]++;
    w->calls++;
    return (w->stop_after && w->calls == w->stop_after) ? 42 : 0;
}

static void test_iterate(void)
{
    strmap *m = strmap_new(0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "w%d", i);
        strmap_put(m, key, &tags[i], NULL);
    }
    struct walk w = { { 0 } };
    CU_ASSERT_EQUAL(strmap_iterate(m, walk_fn, &w), 0);
    CU_ASSERT_EQUAL(w.calls, 100);
    int once = 0;
    for (int i = 0; i < 100; i++)
        once += w.seen[i] == 1;
    CU_ASSERT_EQUAL(once, 100);

    struct walk stop = { { 0 }, 0, 5 };
    CU_ASSERT_EQUAL(strmap_iterate(m, walk_fn, &stop), 42);
    CU_ASSERT_EQUAL(stop.calls, 5);
    strmap_free(m, NULL);
}

static int freed;
static void count_free(void *v)
{
    free(v);
    freed++;
}

static void test_free_values(void)
{
    strmap *m = strmap_new(0);
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "%d", i);
        strmap_put(m, key, malloc(8), NULL);
    }
    freed = 0;
    strmap_free(m, count_free);
    CU_ASSERT_EQUAL(freed, 10);
}

static void test_hash(void)
{
    CU_ASSERT_EQUAL(strmap_hash("abc", 3), strmap_hash("abcd", 3));
    CU_ASSERT_NOT_EQUAL(strmap_hash("abc", 3), strmap_hash("abd", 3));
    CU_ASSERT_NOT_EQUAL(strmap_hash("", 0), strmap_hash("\0", 1));
    /* The low bits pick the slot: keys differing in one character must not
     * pile onto a few slots. */
    unsigned used[64] = { 0 };
    char key[16];
    for (int i = 0; i < 640; i++) {
        snprintf(key, sizeof key, "h%03d", i);
        used[strmap_hash(key, strlen(key)) & 63]++;
    }
    int empty = 0;
    for (int i = 0; i < 64; i++)
        empty += used[i] == 0;
    CU_ASSERT(empty < 4);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        { "put and get", test_put_get },
        { "add keeps the first value", test_add_keeps_first },
        { "keys are copied", test_keys_are_copied },
        { "lengths and NUL bytes", test_lengths_and_nul },
        { "NULL values and find", test_null_values_and_find },
        { "bad arguments", test_bad_arguments },
        { "grow to 20000", test_grow_many },
        { "delete", test_delete },
        { "iterate", test_iterate },
        { "free values", test_free_values },
        { "hash", test_hash },
        { NULL, NULL },
    };
    return cu_add_suite("strmap", cases);
}
