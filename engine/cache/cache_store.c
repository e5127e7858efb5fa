#include <stdlib.h>
#include <string.h>
#include "cache_store.h"
#include "doc/doc.h"

#define MIN_BUCKETS 64
/* Expired entries dropped from list tails per put: keeps dead entries from
 * holding budget without a sweeper thread. */
#define EXPIRE_SCAN 4

/* What malloc adds to every block (the entry, the document's header and
 * each arena chunk). */
#define MALLOC_OVERHEAD 16

size_t cstore_value_bytes(const doc_shared *v)
{
    return v ? doc_shared_bytes(v) + 2 * MALLOC_OVERHEAD : 0;
}

void cstore_init(cstore *s, size_t ok_bytes, size_t deny_bytes,
                 size_t ok_count, size_t deny_count)
{
    memset(s, 0, sizeof *s);
    /* The sketch's share comes out of both budgets. */
    s->sketch_bytes_max = (ok_bytes + deny_bytes) / CSTORE_SKETCH_SHARE;
    ok_bytes -= ok_bytes / CSTORE_SKETCH_SHARE;
    deny_bytes -= deny_bytes / CSTORE_SKETCH_SHARE;
    s->ok_bytes_max = ok_bytes;
    s->protected_bytes_max = ok_bytes / 100 * CSTORE_PROTECTED_PCT;
    s->deny_bytes_max = deny_bytes;
    s->ok_count_max = ok_count;
    s->deny_count_max = deny_count;
    for (int g = 0; g < CSEG_N; g++)
        list_init(&s->seg[g].ring);
}

static size_t bucket_of(const cstore *s, const uint8_t *k)
{
    /* k[0] picked the stripe; the next bytes are independent of it. */
    uint32_t h = (uint32_t)k[1] | (uint32_t)k[2] << 8 | (uint32_t)k[3] << 16 |
                 (uint32_t)k[4] << 24;
    return h & (s->nbuckets - 1);
}

/* The least recently used entry of a segment, or NULL. */
static centry *seg_tail(cstore_list *l)
{
    return LIST_LAST(&l->ring, centry, link);
}

static void seg_unlink(cstore_list *l, centry *e)
{
    list_remove(&e->link);
    l->bytes -= e->bytes;
    l->count--;
}

static void seg_push(cstore_list *l, centry *e)
{
    list_push_front(&l->ring, &e->link);
    l->bytes += e->bytes;
    l->count++;
}

static void entry_remove(cstore *s, centry *e)
{
    centry **pp = &s->buckets[bucket_of(s, e->k)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    seg_unlink(&s->seg[e->seg], e);
    s->count--;
    doc_shared_unref(e->val);
    free(e);
}

void cstore_record(cstore *s, const uint8_t k[32])
{
    csketch_record(&s->sketch, k);
}

void cstore_clear(cstore *s)
{
    csketch_free(&s->sketch);
    for (int g = 0; g < CSEG_N; g++)
        while (!list_empty(&s->seg[g].ring))
            entry_remove(s, LIST_FIRST(&s->seg[g].ring, centry, link));
    free(s->buckets);
    s->buckets = NULL;
    s->nbuckets = 0;
}

centry *cstore_find(cstore *s, const uint8_t k[32], int64_t now_ns)
{
    if (!s->nbuckets)
        return NULL;
    for (centry *e = s->buckets[bucket_of(s, k)]; e; e = e->hnext) {
        if (memcmp(e->k, k, 32) != 0)
            continue;
        if (e->expires_ns <= now_ns) {
            entry_remove(s, e);
            s->expirations++;
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* Protected overflow goes back to probation's head: it was hit once, so it
 * keeps a full probation lifetime to be hit again. */
static void demote_overflow(cstore *s)
{
    cstore_list *p = &s->seg[CSEG_PROTECTED];
    centry *v;
    while (p->bytes > s->protected_bytes_max && (v = seg_tail(p))) {
        seg_unlink(p, v);
        v->seg = CSEG_PROBATION;
        seg_push(&s->seg[CSEG_PROBATION], v);
    }
}

void cstore_touch(cstore *s, centry *e)
{
    cstore_list *from = &s->seg[e->seg];
    seg_unlink(from, e);
    if (e->seg == CSEG_PROBATION)
        e->seg = CSEG_PROTECTED;
    seg_push(&s->seg[e->seg], e);
    if (e->seg == CSEG_PROTECTED)
        demote_overflow(s);
}

static int grow(cstore *s)
{
    size_t n = s->nbuckets ? s->nbuckets * 2 : MIN_BUCKETS;
    centry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return -1;
    centry **old = s->buckets;
    size_t on = s->nbuckets;
    s->buckets = nb;
    s->nbuckets = n;
    for (size_t i = 0; i < on; i++)
        for (centry *e = old[i], *nx; e; e = nx) {
            nx = e->hnext;
            size_t b = bucket_of(s, e->k);
            e->hnext = nb[b];
            nb[b] = e;
        }
    free(old);
    return 0;
}

static void drop_expired_tails(cstore *s, int64_t now_ns)
{
    for (int g = 0; g < CSEG_N; g++)
        for (int i = 0; i < EXPIRE_SCAN && seg_tail(&s->seg[g]) &&
                        seg_tail(&s->seg[g])->expires_ns <= now_ns; i++) {
            entry_remove(s, seg_tail(&s->seg[g]));
            s->expirations++;
        }
}

static int ok_over(const cstore *s)
{
    const cstore_list *a = &s->seg[CSEG_PROBATION], *b = &s->seg[CSEG_PROTECTED];
    return a->bytes + b->bytes > s->ok_bytes_max ||
           (s->ok_count_max && a->count + b->count > s->ok_count_max);
}

static int deny_over(const cstore *s)
{
    const cstore_list *d = &s->seg[CSEG_DENY];
    return d->bytes > s->deny_bytes_max ||
           (s->deny_count_max && d->count > s->deny_count_max);
}

/* Evicts least recently used entries of e's budget until it fits; returns
 * -1 if e itself had to go: it filled its segment alone, or it was asked
 * for no more often than the entry it would push out. */
static int make_room(cstore *s, centry *e)
{
    int deny = e->seg == CSEG_DENY;
    unsigned want = csketch_estimate(&s->sketch, e->k);
    while (deny ? deny_over(s) : ok_over(s)) {
        centry *v = deny ? seg_tail(&s->seg[CSEG_DENY])
                  : seg_tail(&s->seg[CSEG_PROBATION]) ? seg_tail(&s->seg[CSEG_PROBATION])
                  : seg_tail(&s->seg[CSEG_PROTECTED]);
        if (!v)
            break;
        int self = v == e;
        /* Without a sketch (a budget too small to hold one) plain LRU. */
        if (!self && s->sketch.width && want <= csketch_estimate(&s->sketch, v->k)) {
            entry_remove(s, e);
            s->rejections++;
            return -1;
        }
        entry_remove(s, v);
        if (self)
            return -1;
        s->evictions++;
    }
    return 0;
}

int cstore_put(cstore *s, const uint8_t k[32], pc_status st,
               doc_shared *val, int64_t expires_ns, int64_t now_ns)
{
    centry *old = cstore_find(s, k, now_ns);
    if (old)
        entry_remove(s, old);
    drop_expired_tails(s, now_ns);
    size_t bytes = sizeof(centry) + MALLOC_OVERHEAD + cstore_value_bytes(val);
    int deny = st == PC_DENY;
    if (bytes > (deny ? s->deny_bytes_max : s->ok_bytes_max - s->protected_bytes_max) ||
        (s->count + 1 > s->nbuckets && grow(s) < 0)) {
        doc_shared_unref(val);
        return -1;
    }
    centry *e = calloc(1, sizeof *e);
    if (!e) {
        doc_shared_unref(val);
        return -1;
    }
    memcpy(e->k, k, 32);
    e->st = st;
    e->val = val;
    e->bytes = bytes;
    e->expires_ns = expires_ns;
    e->seg = deny ? CSEG_DENY : CSEG_PROBATION;
    size_t b = bucket_of(s, k);
    e->hnext = s->buckets[b];
    s->buckets[b] = e;
    s->count++;
    seg_push(&s->seg[e->seg], e);
    /* Four counters per entry the budget holds (at the current mean entry
     * size) keep collisions rare. */
    size_t entry_bytes = cstore_bytes(s) - csketch_bytes(&s->sketch);
    size_t fits = (s->ok_bytes_max + s->deny_bytes_max) / (entry_bytes / s->count + 1);
    size_t grow_to = s->count * 2 > 64 ? s->count * 2 : 64;
    size_t want = 4 * (fits < grow_to ? fits : grow_to);
    if (want > s->sketch.width)
        csketch_fit(&s->sketch, want, s->sketch_bytes_max);
    return make_room(s, e);
}

size_t cstore_bytes(const cstore *s)
{
    return s->seg[CSEG_PROBATION].bytes + s->seg[CSEG_PROTECTED].bytes +
           s->seg[CSEG_DENY].bytes + csketch_bytes(&s->sketch);
}
