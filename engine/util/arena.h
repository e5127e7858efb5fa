/* arena.h - the bump allocator: memory handed out in 8-aligned pieces from
 * chunks that double in size, all released at once. A reset keeps only the
 * largest chunk, so a thread that does the same kind of work again settles
 * on one chunk and stops calling malloc. A limit bounds what one use (one
 * evaluation, one request) may take between resets. Used as `struct
 * arena` (the tag leaves the name free for variables). */
#ifndef PC_UTIL_ARENA_H
#define PC_UTIL_ARENA_H
#include <stddef.h>

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    _Alignas(16) char data[];
} arena_chunk;

struct arena {
    arena_chunk *head; /* current chunk (kept across resets) */
    size_t used;       /* bytes used in head */
    size_t total;      /* bytes handed out since the last reset */
    size_t limit;      /* most bytes between resets; 0 = no limit */
    size_t first;      /* size of the first chunk; 0 = ARENA_FIRST_CHUNK */
};

#define ARENA_FIRST_CHUNK 4096
void arena_init(struct arena *a, size_t limit);
/* An arena whose first chunk holds `first` bytes: for a use whose size is
 * known (a copy), so it takes one block of the right size. */
void arena_init_first(struct arena *a, size_t limit, size_t first);
/* Bytes of all chunks (what the arena holds from malloc). */
size_t arena_capacity(const struct arena *a);
/* Frees all but the largest chunk. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);
/* arena_alloc's path through a new chunk. */
void *arena_alloc_slow(struct arena *a, size_t n);

/* n bytes, 8-aligned; NULL past the limit or without memory. */
static inline void *arena_alloc(struct arena *a, size_t n)
{
    if (n > ((size_t)-1 >> 1))
        return NULL; /* rounding must not wrap */
    n = (n + 7) & ~(size_t)7;
    if (a->limit && (n > a->limit || a->total + n > a->limit))
        return NULL;
    if (a->head && a->head->cap - a->used >= n) {
        void *p = a->head->data + a->used;
        a->used += n;
        a->total += n;
        return p;
    }
    return arena_alloc_slow(a, n);
}
#endif
