#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

/* 24 bytes: the table is touched at random, so a smaller slot means fewer
 * cache misses and pages. The low 32 bits of the hash are enough to place a
 * key (tables never reach 2^32 slots) and to skip most key compares. */
struct slot {
    char *key; /* NULL marks an empty slot */
    void *value;
    uint32_t hash;
    uint32_t len;
};

struct strmap {
    struct slot *slots;
    size_t cap; /* a power of two, so the slot index is hash & (cap - 1) */
    size_t count;
};

#define STRMAP_MIN_CAP 8

uint64_t strmap_hash(const void *key, size_t len)
{
    /* FNV-1a's xor-then-multiply, taken 8 bytes per step instead of 1: keys
     * are hashed on every lookup, and a byte at a time is a chain of
     * dependent multiplies as long as the key. */
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 32; /* the multiply only carries upward: fold the top back in */
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    if (len)
        memcpy(&w, p, len);
    h = (h ^ w) * 0x100000001b3ULL;
    /* Only the low bits pick the slot, so finish with an avalanche step
     * (MurmurHash3's fmix64). */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Keeps the load factor at or below 3/4: probe runs stay short. */
static int needs_grow(size_t count, size_t cap)
{
    return (count + 1) > cap / 4 * 3;
}

strmap *strmap_new(size_t hint)
{
    size_t cap = STRMAP_MIN_CAP;
    if (hint > (SIZE_MAX / sizeof(struct slot)) / 2)
        return NULL;
    while (cap / 4 * 3 < hint)
        cap <<= 1;
    strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->cap = cap;
    return m;
}

void strmap_free(strmap *m, void (*free_value)(void *value))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        if (free_value)
            free_value(m->slots[i].value);
        free(m->slots[i].key);
    }
    free(m->slots);
    free(m);
}

static size_t find_slot(const strmap *m, const char *key, size_t len, uint32_t h, int *found)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        const struct slot *s = &m->slots[i];
        if (!s->key) {
            *found = 0;
            return i;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int grow(strmap *m)
{
    if (m->cap > (SIZE_MAX / sizeof(struct slot)) / 2)
        return -1;
    size_t ncap = m->cap * 2;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    size_t mask = ncap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (!s->key)
            continue;
        size_t j = (size_t)s->hash & mask;
        while (ns[j].key)
            j = (j + 1) & mask;
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Shared by put and add: replace says what to do with a key already there. */
static int insert(strmap *m, const char *key, size_t len, void *value, void **old, int replace)
{
    if (!m || (!key && len))
        return -1;
    if (!key)
        key = "";
    if (len >= UINT32_MAX)
        return -1;
    uint32_t h = (uint32_t)strmap_hash(key, len);
    int found;
    size_t i = find_slot(m, key, len, h, &found);
    if (found) {
        if (old)
            *old = m->slots[i].value;
        if (replace)
            m->slots[i].value = value;
        return 1;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    if (needs_grow(m->count, m->cap)) {
        if (grow(m) != 0) {
            free(copy);
            return -1;
        }
        i = find_slot(m, key, len, h, &found);
    }
    m->slots[i] = (struct slot){ .key = copy, .value = value, .hash = h, .len = (uint32_t)len };
    m->count++;
    return 0;
}

int strmap_putn(strmap *m, const char *key, size_t len, void *value, void **old)
{
    return insert(m, key, len, value, old, 1);
}

int strmap_addn(strmap *m, const char *key, size_t len, void *value, void **existing)
{
    return insert(m, key, len, value, existing, 0);
}

int strmap_put(strmap *m, const char *key, void *value, void **old)
{
    if (!key)
        return -1;
    return strmap_putn(m, key, strlen(key), value, old);
}

int strmap_find(const strmap *m, const char *key, size_t len, void **value)
{
    if (!m || (!key && len))
        return 0;
    if (!key)
        key = "";
    int found;
    size_t i = find_slot(m, key, len, (uint32_t)strmap_hash(key, len), &found);
    if (found && value)
        *value = m->slots[i].value;
    return found;
}

void *strmap_getn(const strmap *m, const char *key, size_t len)
{
    void *v = NULL;
    return strmap_find(m, key, len, &v) ? v : NULL;
}

void *strmap_get(const strmap *m, const char *key)
{
    return key ? strmap_getn(m, key, strlen(key)) : NULL;
}

int strmap_deln(strmap *m, const char *key, size_t len, void **old)
{
    if (!m || (!key && len))
        return 0;
    if (!key)
        key = "";
    int found;
    size_t i = find_slot(m, key, len, (uint32_t)strmap_hash(key, len), &found);
    if (!found)
        return 0;
    if (old)
        *old = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->count--;

    /* Backward-shift: pull later members of the probe run into the hole so
     * every remaining key stays reachable from its home slot. */
    size_t mask = m->cap - 1;
    size_t hole = i;
    size_t j = (i + 1) & mask;
    while (m->slots[j].key) {
        size_t home = (size_t)m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            m->slots[j].key = NULL;
            hole = j;
        }
        j = (j + 1) & mask;
    }
    return 1;
}

int strmap_del(strmap *m, const char *key, void **old)
{
    return key ? strmap_deln(m, key, strlen(key), old) : 0;
}

size_t strmap_count(const strmap *m)
{
    return m ? m->count : 0;
}

int strmap_iterate(const strmap *m, strmap_iter_fn fn, void *arg)
{
    if (!m || !fn)
        return 0;
    for (size_t i = 0; i < m->cap; i++) {
        const struct slot *s = &m->slots[i];
        if (!s->key)
            continue;
        int rc = fn(arg, s->key, s->len, s->value);
        if (rc)
            return rc;
    }
    return 0;
}
