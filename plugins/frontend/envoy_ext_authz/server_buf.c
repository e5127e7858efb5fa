#include "server_buf.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

int srv_buf_reserve(srv_buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + more;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int srv_buf_append(srv_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (srv_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int srv_buf_append_str(srv_buf *b, const char *s)
{
    return srv_buf_append(b, s, strlen(s));
}

int srv_buf_append_u64(srv_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return srv_buf_append(b, tmp + i, sizeof(tmp) - i);
}

void srv_buf_consume(srv_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void srv_buf_reset(srv_buf *b)
{
    b->len = 0;
}

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct srv_arena_block {
    srv_arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

/* Most arenas hold a few hundred bytes (one stream's headers, one reply):
 * they start small so thousands of streams stay cheap, and double per
 * block up to SRV_ARENA_STEP_MAX. */
#define SRV_ARENA_FIRST ((size_t)384)
#define SRV_ARENA_STEP_MAX ((size_t)16384)
/* Block sizes the cache keeps: SRV_ARENA_FIRST << 0 .. 6. */
#define SRV_ARENA_CLASSES 7

/* Each thread keeps the blocks its arenas freed, by size, for the next
 * stream or reply: a request's arenas are a few small blocks, and handing
 * them to malloc and back cost a malloc and a free per block per request.
 * At most SRV_ARENA_CACHE_BYTES per thread (server_buf.h), and
 * SRV_ARENA_CACHE_SLOTS blocks per size; the rest is freed. The blocks are
 * kept in arrays, not linked through themselves, so that taking one does
 * not read memory that may have left the CPU's caches. The cache itself is
 * freed when its thread ends. */
#define SRV_ARENA_CACHE_SLOTS 1024
typedef struct srv_arena_cache {
    srv_arena_block *slot[SRV_ARENA_CLASSES][SRV_ARENA_CACHE_SLOTS];
    size_t n[SRV_ARENA_CLASSES];
    size_t bytes;
} srv_arena_cache;

static pthread_key_t srv_arena_key;
static pthread_once_t srv_arena_once = PTHREAD_ONCE_INIT;
static int srv_arena_key_ok;

static void srv_arena_cache_free(void *arg)
{
    srv_arena_cache *c = arg;
    for (int k = 0; k < SRV_ARENA_CLASSES; k++)
        while (c->n[k])
            free(c->slot[k][--c->n[k]]);
    free(c);
}

static void srv_arena_key_init(void)
{
    srv_arena_key_ok = pthread_key_create(&srv_arena_key, srv_arena_cache_free) == 0;
}

static srv_arena_cache *srv_arena_cache_get(int create)
{
    pthread_once(&srv_arena_once, srv_arena_key_init);
    if (!srv_arena_key_ok)
        return NULL;
    srv_arena_cache *c = pthread_getspecific(srv_arena_key);
    if (!c && create) {
        c = calloc(1, sizeof(*c));
        if (c && pthread_setspecific(srv_arena_key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

/* The cache class of a block of cap bytes, or -1 for sizes it does not keep. */
static int srv_arena_class(size_t cap)
{
    for (int k = 0; k < SRV_ARENA_CLASSES; k++)
        if (cap == SRV_ARENA_FIRST << k)
            return k;
    return -1;
}

static srv_arena_block *srv_arena_block_new(size_t cap)
{
    int k = srv_arena_class(cap);
    srv_arena_cache *c = k >= 0 ? srv_arena_cache_get(0) : NULL;
    if (c && c->n[k]) {
        c->bytes -= cap;
        return c->slot[k][--c->n[k]];
    }
    srv_arena_block *b = malloc(sizeof(*b) + cap);
    if (b)
        b->cap = cap;
    return b;
}

static void srv_arena_block_free(srv_arena_block *b)
{
    int k = srv_arena_class(b->cap);
    srv_arena_cache *c = k >= 0 ? srv_arena_cache_get(1) : NULL;
    if (c && c->n[k] < SRV_ARENA_CACHE_SLOTS &&
        c->bytes + b->cap <= SRV_ARENA_CACHE_BYTES) {
        c->slot[k][c->n[k]++] = b;
        c->bytes += b->cap;
        return;
    }
    free(b);
}

void *srv_arena_alloc(srv_arena *a, size_t n)
{
    const size_t al = alignof(max_align_t);
    size_t need = (n + al - 1) & ~(al - 1);
    if (need < n)
        return NULL;
    srv_arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t step = a->next_size ? a->next_size : SRV_ARENA_FIRST;
        a->next_size = step < SRV_ARENA_STEP_MAX ? step * 2 : step;
        size_t cap = need > step ? need : step;
        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = srv_arena_block_new(cap);
        if (!b)
            return NULL;
        b->used = 0;
        a->bytes += sizeof(*b) + cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

char *srv_arena_dup(srv_arena *a, const void *p, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *s = srv_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void srv_arena_free(srv_arena *a)
{
    srv_arena_block *b = a->head;
    while (b) {
        srv_arena_block *n = b->next;
        srv_arena_block_free(b);
        b = n;
    }
    a->head = NULL;
    a->next_size = 0;
    a->bytes = 0;
}

void *srv_pool_get(srv_pool *p, size_t size)
{
    void *o = p->head;
    if (!o)
        return calloc(1, size);
    p->head = *(void **)o;
    p->n--;
    memset(o, 0, size);
    return o;
}

void srv_pool_put(srv_pool *p, void *obj, size_t size)
{
    (void)size;
    if (!obj)
        return;
    if (p->n >= (p->max ? p->max : 4096)) {
        free(obj);
        return;
    }
    *(void **)obj = p->head;
    p->head = obj;
    p->n++;
}

void srv_pool_drain(srv_pool *p)
{
    while (p->head) {
        void *o = p->head;
        p->head = *(void **)o;
        free(o);
    }
    p->n = 0;
}
