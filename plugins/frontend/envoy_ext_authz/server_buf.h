/*
 * server_buf.h - a growable byte buffer and a string arena with stable
 * pointers. Shared by the I/O-free protocol code (h1_parser) and the
 * connection code, so it depends on nothing but libc.
 */
#ifndef PC_EXTAUTHZ_SERVER_BUF_H
#define PC_EXTAUTHZ_SERVER_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} srv_buf;

/** Makes room for `more` bytes past len; 0 or -1 when out of memory. */
int srv_buf_reserve(srv_buf *b, size_t more);
int srv_buf_append(srv_buf *b, const void *p, size_t n);
int srv_buf_append_str(srv_buf *b, const char *s);
/** Appends a decimal number. */
int srv_buf_append_u64(srv_buf *b, uint64_t v);
/** Drops the first n bytes. */
void srv_buf_consume(srv_buf *b, size_t n);
void srv_buf_reset(srv_buf *b);
void srv_buf_free(srv_buf *b);

/* Strings copied into fixed blocks: a pointer handed out stays valid until
 * srv_arena_free, which a realloc'd srv_buf cannot promise. */
typedef struct srv_arena_block srv_arena_block;
typedef struct srv_arena {
    srv_arena_block *head;
    size_t next_size; /* 0: start small; doubles per block up to a cap */
    size_t bytes;     /* allocated by all blocks, for memory accounting */
} srv_arena;

/* Freed arena blocks each thread keeps for its next arenas (the usual
 * block sizes only): enough for the headers and replies of a few hundred
 * streams in flight. */
#define SRV_ARENA_CACHE_BYTES ((size_t)1024 * 1024)

/** Copies n bytes (plus a NUL) into the arena; NULL when out of memory. */
char *srv_arena_dup(srv_arena *a, const void *p, size_t n);
/** n uninitialised bytes aligned for any object. */
void *srv_arena_alloc(srv_arena *a, size_t n);
void srv_arena_free(srv_arena *a);

/* A free list of same-size objects for one thread: streams and requests
 * come and go by the thousand, and reusing them keeps malloc out of the
 * request path. Objects are plain malloc blocks, so free() also works. */
typedef struct srv_pool {
    void *head;
    size_t n;
    size_t max;  /* objects kept at most; 0 means 4096 */
} srv_pool;

/** A zeroed object of `size` bytes (the same size on every call). */
void *srv_pool_get(srv_pool *p, size_t size);
void srv_pool_put(srv_pool *p, void *obj, size_t size);
void srv_pool_drain(srv_pool *p);

#endif
