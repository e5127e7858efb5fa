/* cache_store.h - the entries of one cache stripe: a hash table over
 * HMAC'd keys and a segmented LRU bounded in bytes.
 *
 * Successes enter a probation segment; a hit there promotes the entry to
 * the protected segment (at most CSTORE_PROTECTED_PCT of the success
 * budget; its least recently used entries fall back to probation). New
 * entries evict from probation first, and only when the sketch says the
 * new key was asked for more often than the entry it would push out
 * (TinyLFU admission): a flood of keys seen once is refused instead of
 * flushing keys in use, even keys whose reuse comes after more other keys
 * than fit. Denials have a budget of their own and only ever evict other
 * denials.
 *
 * Not thread-safe: the caller holds the stripe's lock. */
#ifndef PC_CACHE_CACHE_STORE_H
#define PC_CACHE_CACHE_STORE_H
#include <stddef.h>
#include <stdint.h>
#include <portcullis/abi.h>
#include "cache_sketch.h"
#include "util/list.h"

typedef struct doc_shared doc_shared;

#define CSTORE_PROTECTED_PCT 80
/* The frequency sketch may use 1/CSTORE_SKETCH_SHARE of the budget. */
#define CSTORE_SKETCH_SHARE 16

typedef enum { CSEG_PROBATION, CSEG_PROTECTED, CSEG_DENY, CSEG_N } cstore_seg;

typedef struct centry {
    uint8_t k[32];
    struct centry *hnext;         /* hash chain */
    list_node link;               /* in its segment, most recent first */
    int64_t expires_ns;
    size_t bytes;                 /* what this entry counts against the budget */
    pc_status st;
    uint8_t seg;
    doc_shared *val;              /* one reference; requests that hit take more */
} centry;

typedef struct cstore_list {
    list_node ring;               /* centry.link, most recent first */
    size_t bytes, count;
} cstore_list;

typedef struct cstore {
    centry **buckets;
    size_t nbuckets, count;
    cstore_list seg[CSEG_N];
    size_t ok_bytes_max, protected_bytes_max, deny_bytes_max;
    size_t ok_count_max, deny_count_max; /* 0 = bytes only */
    size_t sketch_bytes_max;
    csketch sketch;
    uint64_t evictions, expirations, rejections;
} cstore;

/* Budgets in bytes for successes and for denials; entry caps (0 = none). */
void cstore_init(cstore *s, size_t ok_bytes, size_t deny_bytes,
                 size_t ok_count, size_t deny_count);
void cstore_clear(cstore *s);
/* The live entry for k, or NULL (an expired one is dropped). */
centry *cstore_find(cstore *s, const uint8_t k[32], int64_t now_ns);
/* Counts a lookup of k for admission (hits and misses alike). */
void cstore_record(cstore *s, const uint8_t k[32]);
/* Records a hit: moves e up (probation -> protected). */
void cstore_touch(cstore *s, centry *e);
/* Stores a result, taking the reference val (dropped when not stored).
 * Replaces an entry with the same key. 0 if stored, -1 if it does not fit,
 * was refused admission, or memory ran out. */
int cstore_put(cstore *s, const uint8_t k[32], pc_status st,
               doc_shared *val, int64_t expires_ns, int64_t now_ns);
/* Bytes used by all segments and the sketch. */
size_t cstore_bytes(const cstore *s);
/* The heap held by a stored value (its arena and header). */
size_t cstore_value_bytes(const doc_shared *v);
#endif
