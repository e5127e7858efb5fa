/* metrics_cells.h - per-thread counter cells, summed on scrape.
 *
 * Every series has an id; every thread that records owns one cell per id
 * it touched, so a request's counts are plain stores into memory no other
 * thread writes: no lock and no shared cache line on the request path.
 * A scrape adds the cells of all threads. A thread's cells outlive it
 * (the next new thread takes them over), so counts never go down. */
#ifndef PC_METRICS_METRICS_CELLS_H
#define PC_METRICS_METRICS_CELLS_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MCELL_NCOUNTS 17   /* one per google.rpc.Code, or evaluator outcomes */
#define MCELL_NBUCKETS 15  /* histogram upper bounds, see mcell_bucket_le */
#define MCELL_MAX_SERIES 16384

typedef struct mcell {
    _Atomic uint64_t n[MCELL_NCOUNTS];
    _Atomic uint64_t bucket[MCELL_NBUCKETS + 1]; /* per bucket; last is +Inf */
    _Atomic uint64_t sum_ns;
} mcell;

/* Plain (non-atomic) sums of the cells of one id. */
typedef struct mcell_sum {
    uint64_t n[MCELL_NCOUNTS];
    uint64_t bucket[MCELL_NBUCKETS + 1];
    uint64_t sum_ns;
} mcell_sum;

extern const double mcell_bucket_le[MCELL_NBUCKETS];

/* The calling thread's cell for id (id < MCELL_MAX_SERIES), or NULL when
 * out of memory (the count is then lost, never wrong elsewhere). */
mcell *mcell_mine(uint32_t id);
/* Owner-only increments: a relaxed load and store, no read-modify-write. */
static inline void mcell_add(_Atomic uint64_t *x, uint64_t v)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + v,
                          memory_order_relaxed);
}
/* Counts one observation of duration_ns into c's histogram. */
void mcell_observe(mcell *c, int64_t duration_ns);
/* Adds up every thread's cell of id. */
void mcell_sum_of(uint32_t id, mcell_sum *out);
#endif
