/* The cache behind pc_host.cache_lookup: single-flight, TTLs per verdict,
 * errors never stored, fills lowering (never raising) their TTL. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "cache/cache.h"
#include "cu_main.h"
#include "pipeline/evalctx.h"
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
        *out = (pc_value *)reqctx_keep(ev->rq, json_object_new_int(f->value));
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
    *value = out ? json_object_get_int((struct json_object *)out) : -1;
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
    CU_ASSERT_EQUAL(json_object_get_int((struct json_object *)out), 5);
    CU_ASSERT_EQUAL(atomic_load(&f.calls), 1);
    evalctx_done(&ev);
    reqctx_clear(&rq);
    cache_free(c);
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
        {NULL, NULL}};
    return cu_add_suite("cache", cases);
}
