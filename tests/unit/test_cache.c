/* The cache behind pc_host.cache_lookup: single-flight, TTLs per verdict,
 * errors never stored, fills lowering (never raising) their TTL; the
 * segmented LRU under a byte budget, and its metrics. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "doc/doc.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include "cache/cache.h"
#include "cu_main.h"
#include "metrics/metrics.h"
#include "eval/evalctx.h"
#include "util/clock.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

typedef struct fill_ctl {
    atomic_int calls;
    int sleep_ms;
    pc_status result;
    int64_t set_ttl;    /* -1 = leave the TTL alone */
    int value;
} fill_ctl;

static pc_status fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    fill_ctl *f = arg;
    atomic_fetch_add(&f->calls, 1);
    if (f->sleep_ms)
        sleep_ms(f->sleep_ms);
    if (f->set_ttl >= 0)
        *ttl_ms = f->set_ttl;
    if (f->result != PC_ERROR)
        *out = (pc_value *)doc_new_int(&ev->rq->mem, f->value);
    return f->result;
}

/* One lookup with its own request context, as a worker thread would. */
static pc_status lookup(pc_cache *c, const char *key, fill_ctl *f, int64_t deadline_ns,
                        int *value)
{
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, deadline_ns, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    const pc_value *out = NULL;
    pc_status st = cache_lookup(c, &ev, key, strlen(key), fill, f, &out, NULL);
    *value = out ? (int)doc_int((const doc *)out) : -1;
    evalctx_done(&ev);
    reqctx_clear(&rq);
    return st;
}

static pc_cache *mk(int64_t ok_ms, int64_t deny_ms)
{
    pc_cache_opts o = {.struct_size = sizeof o, .name = "test",
                       .ok_ttl_ms = ok_ms, .deny_ttl_ms = deny_ms};
    return cache_new(&o);
}

typedef struct sf_arg {
    pc_cache *c;
    fill_ctl *f;
    pthread_barrier_t *bar;
    pc_status st;
    int value;
} sf_arg;

static void *sf_thread(void *p)
{
    sf_arg *a = p;
    pthread_barrier_wait(a->bar);
    a->st = lookup(a->c, "one-token\naud", a->f, 0, &a->value);
    return NULL;
}

static void test_single_flight(void)
{
    enum { N = 32 };
    pc_cache *c = mk(60000, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    fill_ctl f = {.sleep_ms = 300, .result = PC_OK, .set_ttl = -1, .value = 42};
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N);
    pthread_t th[N];
    sf_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (sf_arg){.c = c, .f = &f, .bar = &bar};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, sf_thread, &args[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(args[i].st, PC_OK);
        CU_ASSERT_EQUAL(args[i].value, 42);
    }
    cache_stats s;
    cache_get_stats(c, &s);
    CU_ASSERT_EQUAL(s.fills, 1);
    CU_ASSERT_EQUAL(s.waits + s.hits, N - 1);
    /* Afterwards a hit, still one fill. */
    int v;
    CU_ASSERT_EQUAL(lookup(c, "one-token\naud", &f, 0, &v), PC_OK);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    cache_free(c);
}

static void test_deny_ttl(void)
{
    pc_cache *c = mk(60000, 150);
    fill_ctl f = {.result = PC_DENY, .set_ttl = -1, .value = 7};
    int v;
    CU_ASSERT_EQUAL(lookup(c, "bad", &f, 0, &v), PC_DENY);
    CU_ASSERT_EQUAL(lookup(c, "bad", &f, 0, &v), PC_DENY);
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    sleep_ms(250);
    CU_ASSERT_EQUAL(lookup(c, "bad", &f, 0, &v), PC_DENY);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 2);
    cache_free(c);

    /* denyTTL 0: denials are never stored. */
    c = mk(60000, 0);
    atomic_store(&f.calls, 0);
    lookup(c, "bad", &f, 0, &v);
    lookup(c, "bad", &f, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 2);
    CU_ASSERT_EQUAL(cache_size(c), 0);
    cache_free(c);
}

static void test_error_not_cached(void)
{
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_ERROR, .set_ttl = -1};
    int v;
    CU_ASSERT_EQUAL(lookup(c, "k", &f, 0, &v), PC_ERROR);
    CU_ASSERT_EQUAL(cache_size(c), 0);
    f.result = PC_OK;
    f.value = 5;
    CU_ASSERT_EQUAL(lookup(c, "k", &f, 0, &v), PC_OK);
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 2);
    CU_ASSERT_EQUAL(cache_size(c), 1);
    cache_free(c);
}

static void test_fill_lowers_ttl(void)
{
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = 100, .value = 1};
    int v;
    lookup(c, "short", &f, 0, &v);
    lookup(c, "short", &f, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    sleep_ms(200);
    lookup(c, "short", &f, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 2);
    cache_free(c);

    /* A fill cannot raise the TTL above the cache's own. */
    c = mk(100, 60000);
    fill_ctl g = {.result = PC_OK, .set_ttl = 3600000, .value = 1};
    lookup(c, "long", &g, 0, &v);
    sleep_ms(200);
    lookup(c, "long", &g, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&g.calls), 2);
    cache_free(c);

    /* TTL 0 from the fill (an already expired token): not stored. */
    c = mk(60000, 60000);
    fill_ctl z = {.result = PC_OK, .set_ttl = 0, .value = 1};
    lookup(c, "expired", &z, 0, &v);
    CU_ASSERT_EQUAL(v, 1);
    lookup(c, "expired", &z, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&z.calls), 2);
    cache_free(c);
}

typedef struct slow_arg {
    pc_cache *c;
    fill_ctl *f;
} slow_arg;

static void *slow_leader(void *p)
{
    slow_arg *a = p;
    int v;
    lookup(a->c, "slow", a->f, 0, &v);
    return NULL;
}

static void test_waiter_deadline(void)
{
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.sleep_ms = 600, .result = PC_OK, .set_ttl = -1, .value = 3};
    slow_arg a = {c, &f};
    pthread_t th;
    pthread_create(&th, NULL, slow_leader, &a);
    while (atomic_load(&f.calls) == 0)
        sleep_ms(5);
    int64_t t0 = clock_mono_ns();
    int v;
    pc_status st = lookup(c, "slow", &f, t0 + 50 * 1000000LL, &v);
    int64_t took_ms = (clock_mono_ns() - t0) / 1000000;
    CU_ASSERT_EQUAL(st, PC_ERROR);
    CU_ASSERT(took_ms < 400);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    cache_free(c);
}

static void test_keys_distinct(void)
{
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 9};
    int v;
    lookup(c, "tok\naud-a", &f, 0, &v);
    lookup(c, "tok\naud-b", &f, 0, &v);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 2);
    CU_ASSERT_EQUAL(cache_size(c), 2);
    cache_free(c);
}

/* A NULL fill only peeks: a miss is PC_AGAIN (nothing stored, no flight),
 * a hit answers as usual. */
static void test_peek(void)
{
    pc_cache *c = mk(60000, 60000);
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    const pc_value *out = NULL;
    CU_ASSERT_EQUAL(cache_lookup(c, &ev, "k", 1, NULL, NULL, &out, NULL), PC_AGAIN);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(cache_size(c), 0);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 5};
    int v;
    CU_ASSERT_EQUAL(lookup(c, "k", &f, 0, &v), PC_OK);
    CU_ASSERT_EQUAL(cache_lookup(c, &ev, "k", 1, NULL, NULL, &out, NULL), PC_OK);
    CU_ASSERT_EQUAL(doc_int((const doc *)out), 5);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    evalctx_done(&ev);
    reqctx_clear(&rq);
    cache_free(c);
}

/* ---- the byte budget and the segmented LRU ---- */

static int64_t n_filled(fill_ctl *f)
{
    return atomic_load(&f->calls);
}

static void key_of(char *k, size_t n, const char *prefix, int i)
{
    snprintf(k, n, "%s-%d", prefix, i);
}

/* Fills n keys (or looks them up): returns how many lookups called fill. */
static int pass(pc_cache *c, const char *prefix, int from, int n, fill_ctl *f)
{
    int64_t before = n_filled(f);
    char k[64];
    int v;
    for (int i = from; i < from + n; i++) {
        key_of(k, sizeof k, prefix, i);
        lookup(c, k, f, 0, &v);
    }
    return (int)(n_filled(f) - before);
}

/* What one entry with an int value costs against the budget. */
static size_t entry_cost(void)
{
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    pass(c, "probe", 0, 1, &f);
    cache_stats st;
    cache_get_stats(c, &st);
    cache_free(c);
    return st.bytes - st.sketch_bytes;
}

/* The old FIFO held 10,000 entries: 25,000 live keys must all still hit. */
static void test_more_keys_than_old_cap(void)
{
    enum { N = 25000 };
    cache_set_default_max_bytes(0);
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    CU_ASSERT_EQUAL(pass(c, "live", 0, N, &f), N);
    CU_ASSERT_EQUAL(pass(c, "live", 0, N, &f), 0);
    CU_ASSERT_EQUAL(cache_size(c), N);
    cache_stats st;
    cache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.hits, N);
    CU_ASSERT_EQUAL(st.evictions, 0);
    CU_ASSERT_EQUAL(st.max_bytes, CACHE_DEFAULT_MAX_BYTES);
    cache_free(c);
}

/* Keys that were hit survive a flood of 100,000 keys seen once, with a
 * budget of about 3,200 entries. */
static void test_flood_keeps_hot_keys(void)
{
    enum { HOT = 300, FLOOD = 100000 };
    cache_set_default_max_bytes(entry_cost() * 3200);
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    CU_ASSERT_EQUAL(pass(c, "hot", 0, HOT, &f), HOT);
    CU_ASSERT_EQUAL(pass(c, "hot", 0, HOT, &f), 0); /* each hit once */
    CU_ASSERT_EQUAL(pass(c, "flood", 0, FLOOD, &f), FLOOD);
    CU_ASSERT_EQUAL(pass(c, "hot", 0, HOT, &f), 0);
    cache_stats st;
    cache_get_stats(c, &st);
    /* The flood took the free room and was refused the rest. */
    CU_ASSERT(st.entries > HOT + 1000);
    CU_ASSERT(st.evictions + st.rejections >= FLOOD - 3200);
    CU_ASSERT(st.bytes <= st.max_bytes);
    cache_free(c);
    cache_set_default_max_bytes(0);
}

/* Keys reused every round, with more one-shot keys between two uses than
 * the cache holds: an LRU alone would evict each before its reuse. */
static void test_reuse_after_more_than_fits(void)
{
    enum { HOT = 1000, ROUNDS = 8, BETWEEN = 3000 };
    cache_set_default_max_bytes(entry_cost() * 2000);
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    int missed = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int m = pass(c, "user", 0, HOT, &f);
        if (r >= 3)
            missed += m;
        if (getenv("CACHE_TEST_VERBOSE")) {
            cache_stats st;
            cache_get_stats(c, &st);
            fprintf(stderr, "round %d: %d missed; entries %zu (probation %zu, protected %zu), "
                    "%llu evicted, %llu refused\n", r, m, st.entries, st.seg_entries[0],
                    st.seg_entries[1], (unsigned long long)st.evictions,
                    (unsigned long long)st.rejections);
        }
        pass(c, "once", r * BETWEEN, BETWEEN, &f);
    }
    /* From the fourth round on, at least 95% of reuses hit. */
    CU_ASSERT(missed < (ROUNDS - 3) * HOT / 20);
    if (missed >= (ROUNDS - 3) * HOT / 20)
        fprintf(stderr, "missed %d of %d reuses\n", missed, (ROUNDS - 3) * HOT);
    cache_free(c);
    cache_set_default_max_bytes(0);
}

/* A stream of denied keys never pushes out a success, even one never hit. */
static void test_denials_never_evict_successes(void)
{
    enum { OK = 400, BAD = 60000 };
    size_t cost = entry_cost();
    cache_set_default_max_bytes(cost * 4000);
    pc_cache *c = mk(60000, 60000);
    fill_ctl ok = {.result = PC_OK, .set_ttl = -1, .value = 1};
    fill_ctl bad = {.result = PC_DENY, .set_ttl = -1, .value = 0};
    CU_ASSERT_EQUAL(pass(c, "good", 0, OK, &ok), OK);
    /* A client retrying one bad token amid the stream stays answered from
     * the cache. */
    fill_ctl retry = {.result = PC_DENY, .set_ttl = -1, .value = 0};
    for (int i = 0; i < BAD; i += 100) {
        CU_ASSERT_EQUAL(pass(c, "bad", i, 100, &bad), 100);
        pass(c, "retried", 0, 1, &retry);
    }
    CU_ASSERT_EQUAL(pass(c, "good", 0, OK, &ok), 0);
    cache_stats st;
    cache_get_stats(c, &st);
    /* Denials stay in their slice of the budget. */
    CU_ASSERT(st.seg_entries[2] * cost <= st.max_bytes / CACHE_DENY_SHARE);
    CU_ASSERT(st.seg_entries[2] > 0);
    CU_ASSERT_EQUAL(st.seg_entries[0] + st.seg_entries[1], OK);
    CU_ASSERT_EQUAL(n_filled(&retry), 1);
    cache_free(c);
    cache_set_default_max_bytes(0);
}

/* A value shaped like a TokenReview user, of about `extra` more bytes. */
static pc_status user_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    int *n = arg;
    (void)ttl_ms;
    struct arena *a = &ev->rq->mem;
    doc *o = doc_new_object(a, 0);
    doc_set(a, o, "username", 8, doc_new_str(a, "system:serviceaccount:ns:name", 29));
    doc_set(a, o, "uid", 3, doc_new_str(a, "2a4c7f3e-16b5-4d6c-a1d0", 23));
    doc *g = doc_new_array(a, 0);
    for (int i = 0; i < 1 + *n % 7; i++)
        doc_append(a, g, doc_new_str(a, "system:authenticated", 20));
    doc_set(a, o, "groups", 6, g);
    char pad[512];
    int len = (*n * 37) % (int)(sizeof pad - 1);
    memset(pad, 'x', (size_t)len);
    pad[len] = '\0';
    doc_set(a, o, "extra", 5, doc_new_str(a, pad, (size_t)len));
    *out = (pc_value *)o;
    return *n % 5 == 0 ? PC_DENY : PC_OK;
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MEASURABLE 0
#endif
#endif
#ifndef HEAP_MEASURABLE
#define HEAP_MEASURABLE 1
#endif

/* Values of different sizes, successes and denials: the bytes held never
 * pass the budget, and the budget is close to the heap really used. */
static void test_byte_cap_holds(void)
{
    const size_t budget = 512 * 1024;
    cache_set_default_max_bytes(budget);
    pc_cache *c = mk(60000, 60000);
    reqctx rq;
    pc_eval ev;
    char k[64];
    for (int i = 0; i < 20000; i++) {
        reqctx_init(&rq, 0, NULL);
        evalctx_init(&ev, &rq, NULL, NULL);
        const pc_value *out = NULL;
        key_of(k, sizeof k, "user", i);
        cache_lookup(c, &ev, k, strlen(k), user_fill, &i, &out, NULL);
        evalctx_done(&ev);
        reqctx_clear(&rq);
        if (i % 500 == 0) {
            cache_stats st;
            cache_get_stats(c, &st);
            CU_ASSERT(st.bytes <= budget);
        }
    }
    cache_stats st;
    cache_get_stats(c, &st);
    CU_ASSERT(st.bytes <= budget);
    CU_ASSERT(st.bytes > budget / 2); /* it is used, not just refused */
    CU_ASSERT(st.evictions + st.rejections > 0);
    CU_ASSERT(st.seg_entries[0] + st.seg_entries[1] > st.seg_entries[2]);
    cache_free(c);

    /* The estimate tracks the heap: fill a fresh cache that evicts nothing
     * and compare with malloc's own count. */
    if (HEAP_MEASURABLE) {
        cache_set_default_max_bytes(64u << 20);
        c = mk(60000, 60000);
        size_t before = mallinfo2().uordblks;
        for (int i = 1; i < 4000; i++) {
            if (i % 5 == 0)
                continue;
            reqctx_init(&rq, 0, NULL);
            evalctx_init(&ev, &rq, NULL, NULL);
            const pc_value *out = NULL;
            key_of(k, sizeof k, "heap", i);
            cache_lookup(c, &ev, k, strlen(k), user_fill, &i, &out, NULL);
            evalctx_done(&ev);
            reqctx_clear(&rq);
        }
        size_t used = mallinfo2().uordblks - before;
        cache_get_stats(c, &st);
        CU_ASSERT(st.bytes >= used / 2);
        CU_ASSERT(st.bytes <= used * 2);
        if (getenv("CACHE_TEST_VERBOSE") || st.bytes < used / 2 || st.bytes > used * 2)
            fprintf(stderr, "estimate %zu bytes, heap grew %zu\n", st.bytes, used);
        cache_free(c);
    }
    cache_set_default_max_bytes(0);
}

static unsigned long long metric(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
        p += n;
    }
    return (unsigned long long)-1;
}

/* portcullis_cache_* on /metrics: hits, misses, evictions, entries, bytes,
 * and counters that survive the cache being freed. */
static void test_metrics(void)
{
    size_t cost = entry_cost();
    cache_set_default_max_bytes(cost * 16 * 64);
    pc_cache *c = mk(60000, 60000);
    pc_cache_opts o = {.struct_size = sizeof o, .name = "metrics-test",
                       .ok_ttl_ms = 60000, .deny_ttl_ms = 60000};
    pc_cache *c2 = cache_new(&o);
    cache_free(c);
    c = cache_new(&o);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    pass(c, "m", 0, 3, &f);          /* 3 misses */
    pass(c, "m", 0, 3, &f);          /* 3 hits */
    pass(c2, "m", 0, 2, &f);         /* 2 misses on the other cache */
    pass(c2, "m", 0, 1, &f);         /* 1 hit */
    char *text = metrics_render(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_hits_total{cache=\"metrics-test\"}"), 4);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_misses_total{cache=\"metrics-test\"}"), 5);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_entries{cache=\"metrics-test\"}"), 5);
    free(text);
    /* Keys asked for once are refused when full; asked for again, they
     * push out keys asked for once. */
    pass(c, "many", 0, 2000, &f);
    pass(c, "many", 1000, 1000, &f);
    cache_stats a, b;
    cache_get_stats(c, &a);
    cache_get_stats(c2, &b);
    CU_ASSERT(a.evictions > 0);
    CU_ASSERT(a.rejections > 0);
    text = metrics_render(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_hits_total{cache=\"metrics-test\"}"),
                    a.hits + b.hits);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_misses_total{cache=\"metrics-test\"}"),
                    a.misses + b.misses);
    CU_ASSERT_EQUAL(a.hits + a.misses, 3006);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_evictions_total{cache=\"metrics-test\"}"),
                    a.evictions + b.evictions);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_rejections_total{cache=\"metrics-test\"}"),
                    a.rejections + b.rejections);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_entries{cache=\"metrics-test\"}"),
                    a.entries + b.entries);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_bytes{cache=\"metrics-test\"}"),
                    a.bytes + b.bytes);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_max_bytes{cache=\"metrics-test\"}"),
                    2 * cost * 16 * 64);
    CU_ASSERT(strstr(text, "# TYPE portcullis_cache_hits_total counter\n") != NULL);
    CU_ASSERT(strstr(text, "# TYPE portcullis_cache_bytes gauge\n") != NULL);
    free(text);
    uint64_t hits = a.hits + b.hits, misses = a.misses + b.misses;
    /* Freed: the counters stay, the sizes go. */
    cache_free(c);
    cache_free(c2);
    text = metrics_render(NULL);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_hits_total{cache=\"metrics-test\"}"), hits);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_misses_total{cache=\"metrics-test\"}"),
                    misses);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_entries{cache=\"metrics-test\"}"), 0);
    CU_ASSERT_EQUAL(metric(text, "portcullis_cache_bytes{cache=\"metrics-test\"}"), 0);
    free(text);
    cache_set_default_max_bytes(0);
}

/* A plugin's entry cap holds besides the byte budget (rounded up to the
 * 16 stripes), and keys in use still win over one-shot keys. */
static void test_entry_cap(void)
{
    pc_cache_opts o = {.struct_size = sizeof o, .name = "capped", .ok_ttl_ms = 60000,
                       .deny_ttl_ms = 0, .max_entries = 160};
    pc_cache *c = cache_new(&o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    pass(c, "hot", 0, 40, &f);
    pass(c, "hot", 0, 40, &f);
    pass(c, "once", 0, 5000, &f);
    CU_ASSERT(cache_size(c) <= 160);
    CU_ASSERT(cache_size(c) > 100);
    CU_ASSERT_EQUAL(pass(c, "hot", 0, 40, &f), 0);
    cache_free(c);
}

typedef struct hammer_arg {
    pc_cache *c;
    fill_ctl *f;
    unsigned seed;
    int lookups;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    char k[64];
    int v;
    for (int i = 0; i < a->lookups; i++) {
        int r = (int)(rand_r(&a->seed) % 4000);
        /* A hot tenth of the keys takes most lookups. */
        key_of(k, sizeof k, "mt", r % 10 ? r / 10 : r);
        lookup(a->c, k, a->f, 0, &v);
    }
    return NULL;
}

/* Eight threads over a budget smaller than the key set: counts add up and
 * the budget holds (run under the sanitizers too). */
static void test_threads_under_budget(void)
{
    enum { T = 8, L = 20000 };
    cache_set_default_max_bytes(entry_cost() * 1000);
    pc_cache *c = mk(60000, 60000);
    fill_ctl f = {.result = PC_OK, .set_ttl = -1, .value = 1};
    pthread_t th[T];
    hammer_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (hammer_arg){c, &f, (unsigned)i * 7919u + 1, L};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    cache_stats st;
    cache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.hits + st.misses, (uint64_t)T * L);
    CU_ASSERT_EQUAL(st.fills, (uint64_t)n_filled(&f));
    CU_ASSERT(st.bytes <= st.max_bytes);
    CU_ASSERT(st.hits > st.misses);
    cache_free(c);
    cache_set_default_max_bytes(0);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"32 threads, one key, slow fill: one fill", test_single_flight},
        {"denials live for the deny TTL", test_deny_ttl},
        {"errors are never cached", test_error_not_cached},
        {"fill lowers, never raises, the TTL", test_fill_lowers_ttl},
        {"waiters give up at their deadline", test_waiter_deadline},
        {"different keys fill separately", test_keys_distinct},
        {"a NULL fill peeks without waiting", test_peek},
        {"25,000 live keys (old cap 10,000) all hit", test_more_keys_than_old_cap},
        {"a flood of one-shot keys keeps hot keys", test_flood_keeps_hot_keys},
        {"keys reused after more others than fit still hit", test_reuse_after_more_than_fits},
        {"denials never evict successes", test_denials_never_evict_successes},
        {"the byte budget holds and tracks the heap", test_byte_cap_holds},
        {"metrics count hits, misses, evictions, size", test_metrics},
        {"8 threads under a small budget", test_threads_under_budget},
        {"max_entries caps entries too", test_entry_cap},
        {NULL, NULL}};
    return cu_add_suite("cache", cases);
}
