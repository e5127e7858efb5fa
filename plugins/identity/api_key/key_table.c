/*
 * key_table.c - open addressing with linear probing over SHA-256 digests.
 * The digest is uniformly distributed, so its first bytes are the hash.
 */
#include <stdlib.h>
#include <string.h>

#include "key_table.h"

static size_t ktab_home(const ktab *t, const uint8_t *digest)
{
    uint64_t h;

    memcpy(&h, digest, sizeof(h));
    return (size_t)h & t->mask;
}

int ktab_init(ktab *t, size_t expected)
{
    size_t cap = 8;

    memset(t, 0, sizeof(*t));
    while (cap < expected * 2) {
        if (cap > ((size_t)-1) / 4 / sizeof(ktab_slot))
            return -1;
        cap *= 2;
    }
    t->slots = calloc(cap, sizeof(ktab_slot));
    if (!t->slots)
        return -1;
    t->mask = cap - 1;
    return 0;
}

int ktab_insert(ktab *t, const uint8_t digest[KTAB_DIGEST_LEN],
                uint32_t entry, uint32_t *existing)
{
    size_t i = ktab_home(t, digest), probes;

    /* Keep one slot empty so every probe sequence ends. */
    if (t->count + 1 > t->mask)
        return -1;
    for (probes = 0; probes <= t->mask; probes++, i = (i + 1) & t->mask) {
        ktab_slot *s = &t->slots[i];

        if (!s->used) {
            memcpy(s->digest, digest, KTAB_DIGEST_LEN);
            s->entry = entry;
            s->used = 1;
            t->count++;
            return 0;
        }
        /* Create time, digests only: an ordinary comparison is fine here. */
        if (memcmp(s->digest, digest, KTAB_DIGEST_LEN) == 0) {
            if (existing)
                *existing = s->entry;
            return 1;
        }
    }
    return -1;
}

int64_t ktab_find(const ktab *t, const pc_host *host,
                  const uint8_t digest[KTAB_DIGEST_LEN])
{
    size_t i, probes;

    if (!t->slots)
        return -1;
    i = ktab_home(t, digest);
    for (probes = 0; probes <= t->mask; probes++, i = (i + 1) & t->mask) {
        const ktab_slot *s = &t->slots[i];

        if (!s->used)
            return -1;
        if (host->ct_equal(s->digest, digest, KTAB_DIGEST_LEN))
            return s->entry;
    }
    return -1;
}

void ktab_free(ktab *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
