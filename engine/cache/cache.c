#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache.h"
#include "config/ydoc.h"
#include "pipeline/evalctx.h"
#include "util/clock.h"
#include "util/thread_exit.h"

#define STRIPES 16
#define BUCKETS_PER_STRIPE 256

typedef struct entry {
    uint8_t k[32];
    struct entry *next;           /* bucket chain */
    struct entry *fnext, *fprev;  /* insertion order, oldest first */
    int64_t expires_ns;
    pc_status st;
    struct json_object *val;      /* private copy, only ever copied again */
} entry;

typedef struct flight {
    uint8_t k[32];
    struct flight *next;
    int done, refs;
    int leader_expired;   /* the leader ran out of time: waiters retry */
    pc_status st;
    struct json_object *val;      /* private copy for the waiters */
    pthread_cond_t cv;
} flight;

typedef struct stripe {
    pthread_mutex_t mu;
    entry *buckets[BUCKETS_PER_STRIPE];
    entry *oldest, *newest;
    size_t count;
    flight *flights;
} stripe;

struct pc_cache {
    char *name;
    int64_t ok_ttl_ms, deny_ttl_ms;
    size_t max_per_stripe;
    stripe s[STRIPES];
    atomic_uint_fast64_t hits, misses, fills, waits;
};

static uint8_t g_hkey[32];
static pthread_once_t g_hkey_once = PTHREAD_ONCE_INIT;

static void hkey_init(void)
{
    if (RAND_bytes(g_hkey, sizeof g_hkey) != 1) {
        /* No entropy from OpenSSL: fall back to the kernel directly. */
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(g_hkey, 1, sizeof g_hkey, f) != sizeof g_hkey)
            abort(); /* a guessable key would expose cached tokens */
        fclose(f);
    }
}

/* One HMAC context per thread, keyed once: the one-shot HMAC() looks the
 * digest up and sets the key on every call. */
static _Thread_local EVP_MAC_CTX *t_mac;

static void free_mac(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
}

static EVP_MAC_CTX *thread_mac(void)
{
    if (t_mac)
        return t_mac;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (ctx && EVP_MAC_init(ctx, g_hkey, sizeof g_hkey, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    if (ctx)
        thread_at_exit(free_mac, ctx);
    return t_mac = ctx;
}

void cache_key_hash(const void *key, size_t len, uint8_t out[32])
{
    pthread_once(&g_hkey_once, hkey_init);
    EVP_MAC_CTX *ctx = thread_mac();
    size_t olen = 0;
    if (ctx && EVP_MAC_init(ctx, NULL, 0, NULL) == 1 &&
        EVP_MAC_update(ctx, key, len) == 1 &&
        EVP_MAC_final(ctx, out, &olen, 32) == 1 && olen == 32)
        return;
    unsigned int ol = 32;
    HMAC(EVP_sha256(), g_hkey, sizeof g_hkey, key, len, out, &ol);
}

pc_cache *cache_new(const pc_cache_opts *o)
{
    if (!o || o->struct_size < offsetof(pc_cache_opts, max_entries) ||
        o->ok_ttl_ms < 0 || o->deny_ttl_ms < 0)
        return NULL;
    pc_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(o->name ? o->name : "cache");
    c->ok_ttl_ms = o->ok_ttl_ms;
    c->deny_ttl_ms = o->deny_ttl_ms;
    size_t max = o->struct_size >= sizeof(pc_cache_opts) && o->max_entries
                     ? o->max_entries : 10000;
    c->max_per_stripe = (max + STRIPES - 1) / STRIPES;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->s[i].mu, NULL);
    pthread_once(&g_hkey_once, hkey_init);
    return c;
}

static void entry_free(entry *e)
{
    json_object_put(e->val);
    free(e);
}

static entry **bucket_of(stripe *s, const uint8_t *k)
{
    return &s->buckets[(k[1] | (unsigned)k[2] << 8) % BUCKETS_PER_STRIPE];
}

static void unlink_entry(stripe *s, entry *e)
{
    entry **pp = bucket_of(s, e->k);
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    if (e->fprev)
        e->fprev->fnext = e->fnext;
    else
        s->oldest = e->fnext;
    if (e->fnext)
        e->fnext->fprev = e->fprev;
    else
        s->newest = e->fprev;
    s->count--;
    entry_free(e);
}

void cache_free(pc_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++) {
        stripe *s = &c->s[i];
        while (s->oldest)
            unlink_entry(s, s->oldest);
        pthread_mutex_destroy(&s->mu);
    }
    free(c->name);
    free(c);
}

static entry *find(stripe *s, const uint8_t *k)
{
    for (entry *e = *bucket_of(s, k); e; e = e->next)
        if (memcmp(e->k, k, 32) == 0)
            return e;
    return NULL;
}

static void store(pc_cache *c, stripe *s, const uint8_t *k, pc_status st,
                  struct json_object *val, int64_t ttl_ms)
{
    entry *old = find(s, k);
    if (old)
        unlink_entry(s, old);
    while (s->count >= c->max_per_stripe && s->oldest)
        unlink_entry(s, s->oldest);
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    memcpy(e->k, k, 32);
    e->st = st;
    if (val && ydoc_copy(val, &e->val) != 0) {
        free(e);
        return;
    }
    e->expires_ns = clock_mono_ns() + ttl_ms * 1000000;
    entry **b = bucket_of(s, k);
    e->next = *b;
    *b = e;
    e->fprev = s->newest;
    if (s->newest)
        s->newest->fnext = e;
    else
        s->oldest = e;
    s->newest = e;
    s->count++;
}

/* Gives the evaluation's request its own copy of a cached value (called
 * under the stripe lock: the cached copy is never touched otherwise). */
static const pc_value *materialise(pc_eval *ev, struct json_object *val)
{
    struct json_object *copy = NULL;
    if (!val || !ev || ydoc_copy(val, &copy) != 0)
        return NULL;
    return (const pc_value *)reqctx_keep(ev->rq, copy);
}

/* The leader unlinks its flight when done, so later lookups never join a
 * finished flight; the last holder frees it. */
static void flight_unlink(stripe *s, flight *f)
{
    for (flight **pp = &s->flights; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
}

static void flight_release(stripe *s, flight *f)
{
    (void)s;
    if (--f->refs > 0)
        return;
    pthread_cond_destroy(&f->cv);
    json_object_put(f->val);
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
    entry *e = find(s, k);
    if (e && e->expires_ns <= clock_mono_ns()) {
        unlink_entry(s, e);
        e = NULL;
    }
    if (e) {
        pc_status st = e->st;
        *out = materialise(ev, e->val);
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add(&c->hits, 1);
        return st;
    }
    atomic_fetch_add(&c->misses, 1);
    if (!fill) {
        /* A non-blocking peek: never wait for a flight or start one. */
        pthread_mutex_unlock(&s->mu);
        return PC_AGAIN;
    }
retry:
    for (flight *f = s->flights; f; f = f->next) {
        if (memcmp(f->k, k, 32) != 0)
            continue;
        atomic_fetch_add(&c->waits, 1);
        f->refs++;
        int64_t deadline = ev && ev->rq ? ev->rq->deadline_ns : 0;
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
            !(ev && ev->rq && reqctx_expired(ev->rq))) {
            flight_release(s, f);
            goto retry;
        }
        if (st != PC_ERROR)
            *out = materialise(ev, f->val);
        flight_release(s, f);
        pthread_mutex_unlock(&s->mu);
        if (st == PC_ERROR && ev && !ev->has_reason)
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
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    f->next = s->flights;
    s->flights = f;
    pthread_mutex_unlock(&s->mu);

    atomic_fetch_add(&c->fills, 1);
    if (filled)
        *filled = 1;
    pc_value *val = NULL;
    int64_t ttl = -1;
    pc_status st = fill(arg, ev, &val, &ttl);
    if (st != PC_OK && st != PC_DENY)
        st = PC_ERROR;
    struct json_object *keep = NULL;
    if (st != PC_ERROR && val && ydoc_copy((struct json_object *)val, &keep) != 0)
        keep = NULL;
    int64_t base = st == PC_OK ? c->ok_ttl_ms : c->deny_ttl_ms;
    if (ttl < 0 || ttl > base)
        ttl = base;

    pthread_mutex_lock(&s->mu);
    if (st != PC_ERROR && ttl > 0 && (!val || keep))
        store(c, s, k, st, keep, ttl);
    f->done = 1;
    f->st = st;
    f->val = keep;
    f->leader_expired = st == PC_ERROR && ev && ev->rq && reqctx_expired(ev->rq);
    pthread_cond_broadcast(&f->cv);
    flight_unlink(s, f);
    flight_release(s, f);
    pthread_mutex_unlock(&s->mu);
    *out = val;
    return st;
}

size_t cache_size(pc_cache *c)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&c->s[i].mu);
        n += c->s[i].count;
        pthread_mutex_unlock(&c->s[i].mu);
    }
    return n;
}

void cache_get_stats(pc_cache *c, cache_stats *out)
{
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->fills = atomic_load(&c->fills);
    out->waits = atomic_load(&c->waits);
}
