/* cache_sketch.h - a count-min sketch of how often keys were looked up
 * recently (TinyLFU), so the store only admits a new key over the entry
 * it would push out when the new key has been asked for more often.
 *
 * Four rows of saturating 4-bit counts (kept in bytes), indexed by
 * independent bytes of the HMAC'd key; all counts halve every 10 x width
 * records so old popularity fades. The width follows the store's size
 * within a byte limit the store reserves for it.
 * Not thread-safe: the caller holds the stripe's lock. */
#ifndef PC_CACHE_CACHE_SKETCH_H
#define PC_CACHE_CACHE_SKETCH_H
#include <stddef.h>
#include <stdint.h>

typedef struct csketch {
    uint8_t *row;          /* 4 x width counts */
    size_t width;          /* a power of two, 0 until first use */
    size_t records, reset_at;
} csketch;

void csketch_free(csketch *s);
/* Counts one lookup of k. */
void csketch_record(csketch *s, const uint8_t k[32]);
/* The estimated recent lookups of k (0..15). */
unsigned csketch_estimate(const csketch *s, const uint8_t k[32]);
/* Widens the sketch to at least `entries` counters a row, keeping every
 * estimate, as far as max_bytes allows. */
void csketch_fit(csketch *s, size_t entries, size_t max_bytes);
size_t csketch_bytes(const csketch *s);
#endif
