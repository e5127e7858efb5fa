/* cache.c - lookups with single-flight over striped, segmented-LRU
 * stores (cache_store.c). Each stripe has its own lock, its own share of
 * the byte budget and its own counters, so a lookup touches one lock. */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache.h"
#include "cache_store.h"
#include "doc/doc.h"
#include "eval/evalctx.h"
#include "util/clock.h"
#include "util/list.h"

#define STRIPES 16

typedef struct flight {
    uint8_t k[32];
    list_node link;               /* in its stripe's flights while in the air */
    int done, refs;
    int leader_expired;   /* the leader ran out of time: waiters retry */
    pc_status st;
    doc_shared *val;              /* for the waiters: one reference */
    pthread_cond_t cv;
} flight;

typedef struct stripe {
    pthread_mutex_t mu;
    cstore store;
    list_node flights;    /* lookups in progress, by key */
    uint64_t hits, misses, fills, waits; /* counted under mu */
} stripe;

struct pc_cache {
    char *name;
    int64_t ok_ttl_ms, deny_ttl_ms;
    size_t max_bytes;
    stripe s[STRIPES];
    struct pc_cache *reg_next;    /* cache_metrics.c's list of live caches */
};

static _Atomic size_t g_default_max_bytes = CACHE_DEFAULT_MAX_BYTES;

void cache_set_default_max_bytes(size_t n)
{
    g_default_max_bytes = n ? n : CACHE_DEFAULT_MAX_BYTES;
}

size_t cache_default_max_bytes(void)
{
    return g_default_max_bytes;
}

pc_cache *cache_new(const pc_cache_opts *o)
{
    if (!o || o->struct_size < offsetof(pc_cache_opts, max_entries) ||
        o->ok_ttl_ms < 0 || o->deny_ttl_ms < 0)
        return NULL;
    pc_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(o->name && *o->name ? o->name : "cache");
    if (!c->name) {
        free(c);
        return NULL;
    }
    c->ok_ttl_ms = o->ok_ttl_ms;
    c->deny_ttl_ms = o->deny_ttl_ms;
    size_t max_entries = o->struct_size >= offsetof(pc_cache_opts, max_entries) +
                         sizeof o->max_entries ? o->max_entries : 0;
    c->max_bytes = cache_default_max_bytes();
    /* Denials get their own slice, so a flood of bad tokens can only push
     * out other denials; with no deny TTL they get nothing. */
    size_t deny = c->deny_ttl_ms ? c->max_bytes / CACHE_DENY_SHARE : 0;
    size_t ok = c->max_bytes - deny;
    size_t deny_n = max_entries ? (max_entries + CACHE_DENY_SHARE - 1) / CACHE_DENY_SHARE : 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&c->s[i].mu, NULL);
        list_init(&c->s[i].flights);
        cstore_init(&c->s[i].store, ok / STRIPES, deny / STRIPES,
                    max_entries ? (max_entries + STRIPES - 1) / STRIPES : 0,
                    deny_n ? (deny_n + STRIPES - 1) / STRIPES : 0);
    }
    cache_key_init();
    cache_metrics_add(c);
    return c;
}

void cache_free(pc_cache *c)
{
    if (!c)
        return;
    cache_metrics_remove(c);
    for (int i = 0; i < STRIPES; i++) {
        cstore_clear(&c->s[i].store);
        pthread_mutex_destroy(&c->s[i].mu);
    }
    free(c->name);
    free(c);
}

const char *cache_name(const pc_cache *c)
{
    return c->name;
}

pc_cache **cache_reg_next(pc_cache *c)
{
    return &c->reg_next;
}

/* Hands the evaluation's request a reference to a cached value: the
 * value is read-only, so hits share it instead of copying it. */
static const pc_value *materialise(pc_eval *ev, doc_shared *val)
{
    if (!val || evalctx_hold(ev, doc_shared_ref(val)) != 0)
        return NULL;
    return (const pc_value *)doc_shared_root(val);
}

/* The leader unlinks its flight when done, so later lookups never join a
 * finished flight; the last holder frees it. */
static void flight_unlink(stripe *s, flight *f)
{
    (void)s;
    if (list_linked(&f->link))
        list_remove(&f->link);
}

static void flight_release(stripe *s, flight *f)
{
    (void)s;
    if (--f->refs > 0)
        return;
    pthread_cond_destroy(&f->cv);
    doc_shared_unref(f->val);
    free(f);
}

static int wait_flight(stripe *s, flight *f, int64_t deadline_ns)
{
    while (!f->done) {
        if (!deadline_ns) {
            pthread_cond_wait(&f->cv, &s->mu);
            continue;
        }
        /* The condvar uses CLOCK_MONOTONIC (see flight creation). */
        struct timespec ts = {deadline_ns / 1000000000, deadline_ns % 1000000000};
        if (pthread_cond_timedwait(&f->cv, &s->mu, &ts) == ETIMEDOUT && !f->done)
            return -1;
    }
    return 0;
}

pc_status cache_lookup(pc_cache *c, pc_eval *ev, const void *key,
                       size_t key_len, pc_cache_fill_fn fill, void *arg,
                       const pc_value **out, int *filled)
{
    uint8_t k[32];
    *out = NULL;
    if (filled)
        *filled = 0;
    cache_key_hash(key, key_len, k);
    stripe *s = &c->s[k[0] % STRIPES];
    pthread_mutex_lock(&s->mu);
    cstore_record(&s->store, k);
    centry *e = cstore_find(&s->store, k, clock_mono_ns());
    if (e) {
        pc_status st = e->st;
        *out = materialise(ev, e->val);
        cstore_touch(&s->store, e);
        s->hits++;
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    s->misses++;
    if (!fill) {
        /* A non-blocking peek: never wait for a flight or start one. */
        pthread_mutex_unlock(&s->mu);
        return PC_AGAIN;
    }
    list_node *n, *nx;
retry:
    /* Every path that waits (and so unlocks) ends in a return or a retry:
     * the walk never goes on from a node another thread may have freed. */
    LIST_FOREACH_SAFE(n, nx, &s->flights) {
        flight *f = LIST_ENTRY(n, flight, link);
        if (memcmp(f->k, k, 32) != 0)
            continue;
        s->waits++;
        f->refs++;
        int64_t deadline = evalctx_deadline(ev);
        if (wait_flight(s, f, deadline) < 0) {
            flight_release(s, f);
            pthread_mutex_unlock(&s->mu);
            if (ev)
                evalctx_reason(ev, "timed out waiting for a shared lookup");
            return PC_ERROR;
        }
        pc_status st = f->st;
        /* A leader that failed only because its own request ran out of
         * time says nothing about the key: take over if time is left. */
        if (st == PC_ERROR && f->leader_expired &&
            !evalctx_expired(ev)) {
            flight_release(s, f);
            goto retry;
        }
        if (st != PC_ERROR)
            *out = materialise(ev, f->val);
        flight_release(s, f);
        pthread_mutex_unlock(&s->mu);
        if (st == PC_ERROR && ev && !evalctx_has_reason(ev))
            evalctx_reason(ev, "shared lookup failed");
        return st;
    }
    flight *f = calloc(1, sizeof *f);
    if (!f) {
        pthread_mutex_unlock(&s->mu);
        return PC_ERROR;
    }
    memcpy(f->k, k, 32);
    f->refs = 1;
    list_init(&f->link);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    list_push_front(&s->flights, &f->link);
    s->fills++;
    pthread_mutex_unlock(&s->mu);

    if (filled)
        *filled = 1;
    pc_value *val = NULL;
    int64_t ttl = -1;
    pc_status st = fill(arg, ev, &val, &ttl);
    if (st != PC_OK && st != PC_DENY)
        st = PC_ERROR;
    /* One read-only copy for the store and the waiters; the filler keeps
     * its own value. */
    doc_shared *keep = NULL;
    if (st != PC_ERROR && val) {
        doc_shared *already = doc_shared_of((const doc *)val); /* a shared root */
        keep = already ? doc_shared_ref(already) : doc_share((const doc *)val);
    }
    int64_t base = st == PC_OK ? c->ok_ttl_ms : c->deny_ttl_ms;
    if (ttl < 0 || ttl > base)
        ttl = base;

    int64_t now = clock_mono_ns();
    pthread_mutex_lock(&s->mu);
    /* The entry and the waiters share keep, each with a reference. */
    if (st != PC_ERROR && ttl > 0 && (!val || keep))
        cstore_put(&s->store, k, st, doc_shared_ref(keep),
                   ttl > (INT64_MAX - now) / 1000000 ? INT64_MAX : now + ttl * 1000000, now);
    f->done = 1;
    f->st = st;
    f->val = keep;
    f->leader_expired = st == PC_ERROR && evalctx_expired(ev);
    pthread_cond_broadcast(&f->cv);
    flight_unlink(s, f);
    flight_release(s, f);
    pthread_mutex_unlock(&s->mu);
    *out = val;
    return st;
}

size_t cache_size(pc_cache *c)
{
    cache_stats st;
    cache_get_stats(c, &st);
    return st.entries;
}

void cache_get_stats(pc_cache *c, cache_stats *out)
{
    memset(out, 0, sizeof *out);
    out->max_bytes = c->max_bytes;
    for (int i = 0; i < STRIPES; i++) {
        stripe *s = &c->s[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->fills += s->fills;
        out->waits += s->waits;
        out->evictions += s->store.evictions;
        out->expirations += s->store.expirations;
        out->rejections += s->store.rejections;
        out->entries += s->store.count;
        out->bytes += cstore_bytes(&s->store);
        out->sketch_bytes += csketch_bytes(&s->store.sketch);
        for (int g = 0; g < CSEG_N; g++)
            out->seg_entries[g] += s->store.seg[g].count;
        pthread_mutex_unlock(&s->mu);
    }
}
