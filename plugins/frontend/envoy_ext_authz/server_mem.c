/* The process-wide memory budget: one counter that every loop updates for
 * the bytes its connections hold for clients, so that many connections
 * together cannot exceed what one setting allows, and the way memory goes
 * back to the system after a spike. */
#include "server.h"

#include <malloc.h>
#include <stdlib.h>

/* Give memory back once usage fell below half its high-water mark and the
 * difference is worth a system call. */
#define SRV_TRIM_MIN_BYTES ((size_t)2 << 20)
#define SRV_TRIM_EVERY_MS 1000
/* Free objects a loop's pools keep between bursts. */
#define SRV_POOL_KEEP 256

void srv_mem_init(srv_mem *m, size_t budget)
{
    atomic_init(&m->used, 0);
    atomic_init(&m->peak, 0);
    atomic_init(&m->last_trim_ms, 0);
    atomic_init(&m->last_log_ms, 0);
    m->budget = budget;
}

static void srv_mem_raise_peak(srv_mem *m, size_t now)
{
    size_t p = atomic_load_explicit(&m->peak, memory_order_relaxed);
    while (now > p && !atomic_compare_exchange_weak(&m->peak, &p, now))
        ;
}

int srv_mem_try(srv_mem *m, size_t n, int small)
{
    size_t limit = small ? m->budget + m->budget / 8 : m->budget;
    size_t was = atomic_fetch_add(&m->used, n);
    if (was + n > limit) {
        atomic_fetch_sub(&m->used, n);
        return -1;
    }
    srv_mem_raise_peak(m, was + n);
    return 0;
}

void srv_mem_add(srv_mem *m, size_t n)
{
    size_t was = atomic_fetch_add(&m->used, n);
    srv_mem_raise_peak(m, was + n);
}

void srv_mem_sub(srv_mem *m, size_t n)
{
    atomic_fetch_sub(&m->used, n);
}

int srv_mem_over(const srv_mem *m)
{
    return atomic_load_explicit(&m->used, memory_order_relaxed) > m->budget;
}

static void srv_pool_shrink(srv_pool *p)
{
    while (p->n > SRV_POOL_KEEP && p->head) {
        void *o = p->head;
        p->head = *(void **)o;
        p->n--;
        free(o);
    }
}

void srv_mem_tick(srv_fe *fe, srv_loop *l, uint64_t now_ms)
{
    srv_pool_shrink(&l->req_pool);
    srv_pool_shrink(&l->stream_pool);
    srv_mem *m = &fe->mem;
    size_t used = atomic_load(&m->used), peak = atomic_load(&m->peak);
    if (peak < used + SRV_TRIM_MIN_BYTES || used > peak / 2)
        return;
    uint64_t last = atomic_load(&m->last_trim_ms);
    if (now_ms < last + SRV_TRIM_EVERY_MS ||
        !atomic_compare_exchange_strong(&m->last_trim_ms, &last, now_ms))
        return;
    /* Freed buffers sit in malloc's arenas; without this a spike of slow
     * clients leaves the process at its peak size for good. */
    atomic_store(&m->peak, used);
    malloc_trim(0);
    fe->host->log(PC_LOG_DEBUG, SRV_WHO,
                  "buffered bytes fell from %zu to %zu: free memory returned",
                  peak, used);
}

void srv_mem_log_refusal(srv_fe *fe, uint64_t now_ms, const char *what)
{
    uint64_t last = atomic_load(&fe->mem.last_log_ms);
    if (now_ms < last + 1000 ||
        !atomic_compare_exchange_strong(&fe->mem.last_log_ms, &last, now_ms))
        return;
    fe->host->log(PC_LOG_WARN, SRV_WHO,
                  "memory budget of %zu bytes reached (%zu in use): %s",
                  fe->mem.budget, atomic_load(&fe->mem.used), what);
}
