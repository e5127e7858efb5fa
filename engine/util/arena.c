/* arena.c - the bump allocator (see arena.h). */
#include <stdlib.h>
#include "arena.h"

void arena_init(struct arena *a, size_t limit)
{
    a->head = NULL;
    a->used = a->total = 0;
    a->limit = limit;
    a->first = 0;
}

void arena_init_first(struct arena *a, size_t limit, size_t first)
{
    arena_init(a, limit);
    a->first = (first + 7) & ~(size_t)7;
}

size_t arena_capacity(const struct arena *a)
{
    size_t n = 0;
    for (const arena_chunk *c = a->head; c; c = c->next)
        n += sizeof *c + c->cap;
    return n;
}

void *arena_alloc_slow(struct arena *a, size_t n)
{
    /* n is rounded and within the limit (arena_alloc checked both). */
    size_t cap = a->head ? a->head->cap * 2 : a->first ? a->first : ARENA_FIRST_CHUNK;
    while (cap < n) {
        if (cap > ((size_t)-1 - sizeof(arena_chunk)) / 2)
            return NULL;
        cap *= 2;
    }
    arena_chunk *c = malloc(sizeof *c + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->next = a->head;
    a->head = c;
    a->used = n;
    a->total += n;
    return c->data;
}

void arena_reset(struct arena *a)
{
    arena_chunk *keep = a->head;
    if (keep) {
        for (arena_chunk *c = keep->next; c;) {
            arena_chunk *nx = c->next;
            free(c);
            c = nx;
        }
        keep->next = NULL;
    }
    a->used = a->total = 0;
}

void arena_free(struct arena *a)
{
    for (arena_chunk *c = a->head; c;) {
        arena_chunk *nx = c->next;
        free(c);
        c = nx;
    }
    a->head = NULL;
    a->used = a->total = 0;
}
