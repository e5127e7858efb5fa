#include <stdlib.h>
#include <string.h>
#include "cache_sketch.h"

#define ROWS 4
#define MIN_WIDTH 64
#define MAX_WIDTH ((size_t)1 << 22)
#define MAX_COUNT 15

/* Bytes 8..23 of the HMAC: independent of the stripe (k[0]) and of the
 * hash-table bucket (k[1..4]). */
static size_t idx(const csketch *s, const uint8_t *k, int r)
{
    const uint8_t *p = k + 8 + 4 * r;
    uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    return (size_t)r * s->width + (h & (s->width - 1));
}

size_t csketch_bytes(const csketch *s)
{
    return s->width * ROWS;
}

void csketch_free(csketch *s)
{
    free(s->row);
    memset(s, 0, sizeof *s);
}

void csketch_fit(csketch *s, size_t entries, size_t max_bytes)
{
    size_t w = s->width ? s->width : MIN_WIDTH;
    while (w < entries && w < MAX_WIDTH && 2 * w * ROWS <= max_bytes)
        w *= 2;
    if (w == s->width || w * ROWS > max_bytes)
        return;
    uint8_t *row = calloc(ROWS, w);
    if (!row)
        return; /* keep the narrower one */
    /* A key's counter in the wider row is at h & (w-1); its old one was at
     * h & (old-1), i.e. the same index modulo the old width: copying the
     * old row into every slice keeps each estimate (never lower). */
    for (int r = 0; s->width && r < ROWS; r++)
        for (size_t i = 0; i < w; i++)
            row[(size_t)r * w + i] = s->row[(size_t)r * s->width + (i & (s->width - 1))];
    free(s->row);
    s->row = row;
    s->width = w;
    s->reset_at = 10 * w;
}

void csketch_record(csketch *s, const uint8_t k[32])
{
    if (!s->width)
        return; /* sized by the store's first put */
    for (int r = 0; r < ROWS; r++) {
        uint8_t *c = &s->row[idx(s, k, r)];
        if (*c < MAX_COUNT)
            (*c)++;
    }
    if (++s->records >= s->reset_at) {
        for (size_t i = 0; i < ROWS * s->width; i++)
            s->row[i] >>= 1;
        s->records /= 2;
    }
}

unsigned csketch_estimate(const csketch *s, const uint8_t k[32])
{
    if (!s->width)
        return 0;
    unsigned m = MAX_COUNT;
    for (int r = 0; r < ROWS; r++) {
        unsigned c = s->row[idx(s, k, r)];
        if (c < m)
            m = c;
    }
    return m;
}
