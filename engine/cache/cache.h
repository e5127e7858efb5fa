/* cache.h - a TTL cache with single-flight, behind pc_host's cache
 * services and every evaluator's `cache: {key, ttl}`.
 *
 * Modelled on Kubernetes' token cache: keys are HMAC-SHA256 under a random
 * per-process key (no raw token is ever stored, and a 1 MB key costs 32
 * bytes), successes and denials have their own TTLs, errors are never
 * stored, and N concurrent misses on one key cause one fill.
 *
 * Memory is bounded in bytes (key, value and bookkeeping), not entries:
 * a segmented LRU with TinyLFU admission (cache_store.h) keeps entries
 * that are being hit over keys seen once, and denials live in their own
 * 1/CACHE_DENY_SHARE of the budget. */
#ifndef PC_CACHE_CACHE_H
#define PC_CACHE_CACHE_H
#include <portcullis/host.h>

/* Byte budget of each cache (the server setting cache.maxBytes). */
#define CACHE_DEFAULT_MAX_BYTES ((size_t)64 << 20)
/* Denials get 1/CACHE_DENY_SHARE of a cache's budget. */
#define CACHE_DENY_SHARE 8

/* Sets the budget of caches made from now on (0 =
 * CACHE_DEFAULT_MAX_BYTES). */
void cache_set_default_max_bytes(size_t n);
size_t cache_default_max_bytes(void);

pc_cache *cache_new(const pc_cache_opts *opts);
void cache_free(pc_cache *c);
/* As pc_host.cache_lookup; *filled (if not NULL) is set to 1 when this
 * call ran fill itself. */
pc_status cache_lookup(pc_cache *c, pc_eval *ev, const void *key,
                       size_t key_len, pc_cache_fill_fn fill, void *arg,
                       const pc_value **out, int *filled);
/* Entries currently stored. */
size_t cache_size(pc_cache *c);
/* Counters since creation, and the current size. */
typedef struct cache_stats {
    uint64_t hits, misses, fills, waits, evictions, expirations, rejections;
    size_t entries, bytes, max_bytes;
    size_t sketch_bytes;   /* of bytes: the admission sketch */
    size_t seg_entries[3]; /* probation, protected, denials */
} cache_stats;
void cache_get_stats(pc_cache *c, cache_stats *out);
const char *cache_name(const pc_cache *c);

/* HMAC-SHA256 under the per-process cache key (cache_key.c). */
void cache_key_init(void);
void cache_key_hash(const void *key, size_t len, uint8_t out[32]);

/* The registry behind the portcullis_cache_* metrics (cache_metrics.c). */
void cache_metrics_add(pc_cache *c);
void cache_metrics_remove(pc_cache *c);
pc_cache **cache_reg_next(pc_cache *c);
#endif
