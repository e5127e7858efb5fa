/* Evaluator cache figures: lookups per second on hits from 1, 2 and 4
 * threads (lock contention across the stripes), the hit rate when more
 * keys are live than fit an entry cap, and the hit rate of keys in use
 * while a flood of one-shot keys goes by.
 * Usage: bench_cache [lookups per thread] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "doc/doc.h"

#include "cache/cache.h"
#include "eval/evalctx.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static atomic_long g_fills;

/* A value shaped like a TokenReview user. */
static pc_status fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    (void)arg;
    (void)ttl_ms;
    atomic_fetch_add(&g_fills, 1);
    struct arena *a = &ev->rq->mem;
    doc *o = doc_new_object(a, 3), *g = doc_new_array(a, 2);
    doc_set(a, o, "username", 8, doc_new_str(a, "system:serviceaccount:default:app", 33));
    doc_set(a, o, "uid", 3, doc_new_str(a, "2a4c7f3e-16b5-4d6c-a1d0", 23));
    doc_append(a, g, doc_new_str(a, "system:serviceaccounts", 22));
    doc_append(a, g, doc_new_str(a, "system:authenticated", 20));
    doc_set(a, o, "groups", 6, g);
    *out = (pc_value *)o;
    return PC_OK;
}

static void lookup(pc_cache *c, const char *prefix, long i)
{
    char k[64];
    snprintf(k, sizeof k, "%s-%ld", prefix, i);
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    const pc_value *out = NULL;
    cache_lookup(c, &ev, k, strlen(k), fill, NULL, &out, NULL);
    evalctx_done(&ev);
    reqctx_clear(&rq);
}

static pc_cache *mk(void)
{
    pc_cache_opts o = {.struct_size = sizeof o, .name = "bench",
                       .ok_ttl_ms = 600000, .deny_ttl_ms = 60000};
    return cache_new(&o);
}

typedef struct targ {
    pc_cache *c;
    long n, keys;
    unsigned seed;
} targ;

static void *hits_thread(void *p)
{
    targ *a = p;
    for (long i = 0; i < a->n; i++)
        lookup(a->c, "hot", (long)(rand_r(&a->seed) % (unsigned)a->keys));
    return NULL;
}

static void bench_hits(long per_thread)
{
    enum { KEYS = 1000 };
    pc_cache *c = mk();
    for (long i = 0; i < KEYS; i++)
        lookup(c, "hot", i);
    for (int t = 1; t <= 4; t *= 2) {
        pthread_t th[4];
        targ a[4];
        double t0 = now_s();
        for (int i = 0; i < t; i++) {
            a[i] = (targ){c, per_thread, KEYS, (unsigned)i + 1};
            pthread_create(&th[i], NULL, hits_thread, &a[i]);
        }
        for (int i = 0; i < t; i++)
            pthread_join(th[i], NULL);
        double dt = now_s() - t0;
        printf("hits, %d thread%s: %.2f M lookups/s (%.0f ns per lookup per thread)\n", t,
               t > 1 ? "s" : "", (double)per_thread * t / dt / 1e6, dt * 1e9 / (double)per_thread);
    }
    cache_free(c);
}

static void bench_live_keys(void)
{
    enum { KEYS = 25000 };
    pc_cache *c = mk();
    for (long i = 0; i < KEYS; i++)
        lookup(c, "live", i);
    long before = atomic_load(&g_fills);
    for (long i = 0; i < KEYS; i++)
        lookup(c, "live", i);
    long missed = atomic_load(&g_fills) - before;
    printf("%d live keys, second pass: hit rate %.1f%%\n", KEYS,
           100.0 * (double)(KEYS - missed) / KEYS);
    cache_free(c);
}

/* The same room as the old entry cap: 10,000 entries' worth of bytes. */
static void budget_of_10000_entries(void)
{
#ifdef CACHE_DEFAULT_MAX_BYTES
    pc_cache *p = mk();
    lookup(p, "probe", 0);
    cache_stats st;
    cache_get_stats(p, &st);
    cache_free(p);
    size_t one = st.bytes - st.sketch_bytes;
    cache_set_default_max_bytes(one * 10000);
    printf("(budget %zu bytes = 10,000 entries of %zu bytes)\n", one * 10000, one);
#endif
}

static void bench_flood(void)
{
    enum { HOT = 5000, ROUNDS = 20, FLOOD_PER_ROUND = 5000 };
    budget_of_10000_entries();
    pc_cache *c = mk();
    long hot_lookups = 0, hot_missed = 0, next_garbage = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long before = atomic_load(&g_fills);
        for (long i = 0; i < HOT; i++)
            lookup(c, "user", i);
        if (r > 0) {
            hot_lookups += HOT;
            hot_missed += atomic_load(&g_fills) - before;
        }
        for (long i = 0; i < FLOOD_PER_ROUND; i++)
            lookup(c, "garbage", next_garbage++);
    }
    printf("%d keys in use with %ld one-shot keys between rounds: hit rate %.1f%%\n", HOT,
           (long)FLOOD_PER_ROUND, 100.0 * (double)(hot_lookups - hot_missed) / (double)hot_lookups);
    cache_free(c);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 500000;
    bench_hits(n);
    bench_live_keys();
    bench_flood();
    return 0;
}
