/*
 * key_table.h - a read-only set of API-key digests mapping to an entry index.
 *
 * Keys are stored only as SHA-256 digests. A lookup hashes into the table
 * with the digest's own bytes and confirms a slot with the host's
 * constant-time comparison, so neither the raw key nor a prefix of it is
 * ever compared byte by byte.
 */
#ifndef PC_APIKEY_KEY_TABLE_H
#define PC_APIKEY_KEY_TABLE_H

#include <stdint.h>

#include <portcullis/host.h>

#define KTAB_DIGEST_LEN 32

typedef struct ktab_slot {
    uint8_t digest[KTAB_DIGEST_LEN];
    uint32_t entry;     /* index into the caller's entries */
    uint32_t used;
} ktab_slot;

typedef struct ktab {
    ktab_slot *slots;
    size_t mask;        /* capacity - 1; capacity is a power of two */
    size_t count;
} ktab;

/** Sizes the table for `expected` keys (load factor <= 1/2). 0 or -1. */
int ktab_init(ktab *t, size_t expected);

/**
 * Adds digest -> entry (create time only).
 * @return 0 added, 1 the digest is already present (*existing set to its
 *         entry), -1 the table is full (ktab_init was told too few keys).
 */
int ktab_insert(ktab *t, const uint8_t digest[KTAB_DIGEST_LEN],
                uint32_t entry, uint32_t *existing);

/** The entry of `digest`, or -1. Safe to call from many threads at once. */
int64_t ktab_find(const ktab *t, const pc_host *host,
                  const uint8_t digest[KTAB_DIGEST_LEN]);

void ktab_free(ktab *t);

#endif
