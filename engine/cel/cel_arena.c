/* cel_arena.c - the bump allocator an evaluation (and a program's tree) draws from.
 * Chunks double in size; a reset keeps only the largest, so a thread that evaluates
 * the same kinds of expression settles on one chunk and stops calling malloc. */
#include <stdlib.h>
#include "cel/cel_int.h"

struct cel_chunk {
    cel_chunk *next;
    size_t cap;
    _Alignas(16) char data[];
};

void cel_arena_init(cel_arena *a, size_t limit)
{
    a->head = NULL;
    a->used = a->total = 0;
    a->limit = limit ? limit : CEL_DEFAULT_MAX_BYTES;
}

void *cel_alloc(cel_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > a->limit || a->total + n > a->limit) return NULL;
    if (!a->head || a->head->cap - a->used < n) {
        size_t cap = a->head ? a->head->cap * 2 : 4096;
        while (cap < n) cap *= 2;
        cel_chunk *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    a->total += n;
    return p;
}

void cel_arena_reset(cel_arena *a)
{
    cel_chunk *keep = a->head;
    if (keep) {
        for (cel_chunk *c = keep->next; c;) {
            cel_chunk *nx = c->next;
            free(c);
            c = nx;
        }
        keep->next = NULL;
    }
    a->used = a->total = 0;
}

void cel_arena_free(cel_arena *a)
{
    for (cel_chunk *c = a->head; c;) {
        cel_chunk *nx = c->next;
        free(c);
        c = nx;
    }
    a->head = NULL;
    a->used = a->total = 0;
}
