/*
 * codec_arena.c - a bump allocator for decoded and to-be-encoded messages:
 * protobuf-c makes one allocation per field, and freeing them one by one
 * would cost more than the decoding itself.
 */
#include <stdalign.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

struct codec_arena_block {
    codec_arena_block *next;
    size_t cap;
    size_t used;
    int owned;              /* 0 for caller memory (codec_arena_init_on) */
    alignas(max_align_t) unsigned char data[];
};

#define ARENA_ALIGN (alignof(max_align_t))
#define ARENA_MIN_BLOCK ((size_t)1024)
#define ARENA_MAX_STEP ((size_t)1 << 20)

void codec_arena_init(codec_arena *a, size_t first)
{
    a->head = NULL;
    a->next_size = first < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : first;
}

void codec_arena_init_on(codec_arena *a, void *mem, size_t size)
{
    codec_arena_init(a, size * 2);
    if (!mem || size <= sizeof(codec_arena_block) + ARENA_ALIGN)
        return;
    codec_arena_block *b = mem;
    b->next = NULL;
    b->cap = size - sizeof(codec_arena_block);
    b->used = 0;
    b->owned = 0;
    a->head = b;
}

/* Each thread keeps one freed block for the next request: a request's
 * first block is a few KiB, and handing such blocks back and forth to
 * malloc makes glibc consolidate its free lists on every request. */
#define ARENA_SPARE_MAX ((size_t)64 << 10)
static pthread_key_t g_spare_key;
static pthread_once_t g_spare_once = PTHREAD_ONCE_INIT;
static int g_spare_ok;

static void spare_key_init(void)
{
    /* The destructor frees a thread's spare when the thread ends. */
    g_spare_ok = pthread_key_create(&g_spare_key, free) == 0;
}

static codec_arena_block *block_new(size_t cap)
{
    pthread_once(&g_spare_once, spare_key_init);
    codec_arena_block *b = g_spare_ok ? pthread_getspecific(g_spare_key) : NULL;
    if (b && b->cap >= cap) {
        pthread_setspecific(g_spare_key, NULL);
        return b;
    }
    if (cap < ARENA_SPARE_MAX && cap < 16384)
        cap = 16384; /* a spare-sized block serves most later requests */
    b = malloc(sizeof(codec_arena_block) + cap);
    if (b)
        b->cap = cap;
    return b;
}

static void block_free(codec_arena_block *b)
{
    if (g_spare_ok && b->cap <= ARENA_SPARE_MAX && !pthread_getspecific(g_spare_key) &&
        pthread_setspecific(g_spare_key, b) == 0)
        return;
    free(b);
}

void *codec_arena_alloc(codec_arena *a, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (need < size)
        return NULL;
    codec_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = a->next_size;
        if (cap < need)
            cap = need;
        if (cap > SIZE_MAX - sizeof(codec_arena_block))
            return NULL;
        b = block_new(cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->owned = 1;
        b->next = a->head;
        a->head = b;
        /* Grow geometrically so a big message takes few blocks, but in
         * bounded steps so one huge string does not double everything. */
        size_t step = cap < ARENA_MAX_STEP ? cap : ARENA_MAX_STEP;
        a->next_size = cap + step;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

char *codec_arena_strndup(codec_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = codec_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void codec_arena_free(codec_arena *a)
{
    codec_arena_block *b = a->head;
    while (b) {
        codec_arena_block *next = b->next;
        if (b->owned)
            block_free(b);
        b = next;
    }
    a->head = NULL;
}

static void *arena_pb_alloc(void *data, size_t size)
{
    return codec_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator codec_arena_allocator(codec_arena *a)
{
    ProtobufCAllocator al = {arena_pb_alloc, arena_pb_free, a};
    return al;
}
