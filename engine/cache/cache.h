/* cache.h - a TTL cache with single-flight, behind pc_host's cache
 * services and every evaluator's `cache: {key, ttl}`.
 *
 * Modelled on Kubernetes' token cache: keys are HMAC-SHA256 under a random
 * per-process key (no raw token is ever stored, and a 1 MB key costs 32
 * bytes), successes and denials have their own TTLs, errors are never
 * stored, and N concurrent misses on one key cause one fill. */
#ifndef PC_CACHE_CACHE_H
#define PC_CACHE_CACHE_H
#include <portcullis/host.h>

pc_cache *cache_new(const pc_cache_opts *opts);
void cache_free(pc_cache *c);
/* As pc_host.cache_lookup; *filled (if not NULL) is set to 1 when this
 * call ran fill itself. */
pc_status cache_lookup(pc_cache *c, pc_eval *ev, const void *key,
                       size_t key_len, pc_cache_fill_fn fill, void *arg,
                       const pc_value **out, int *filled);
/* Entries currently stored (for tests and metrics). */
size_t cache_size(pc_cache *c);
/* Counters since creation. */
typedef struct cache_stats {
    uint64_t hits, misses, fills, waits;
} cache_stats;
void cache_get_stats(pc_cache *c, cache_stats *out);
/* HMAC-SHA256 under the per-process cache key. */
void cache_key_hash(const void *key, size_t len, uint8_t out[32]);
#endif
