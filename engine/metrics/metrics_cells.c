#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "metrics_cells.h"
#include "util/thread_exit.h"

#define CHUNK 16
#define NCHUNKS (MCELL_MAX_SERIES / CHUNK)

/* Sub-millisecond resolution for checks answered from memory, up to the
 * seconds a slow upstream can take. */
const double mcell_bucket_le[MCELL_NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                0.005, 0.01, 0.025, 0.05, 0.1,
                                                0.25, 0.5, 1, 2.5, 5};

typedef struct mblock {
    _Atomic(mcell *) chunk[NCHUNKS]; /* written by the owner, read on scrape */
    int owned;                       /* under g_mu */
    struct mblock *next;             /* never unlinked */
} mblock;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(mblock *) g_blocks;
static _Thread_local mblock *t_block;

static void release(void *p)
{
    mblock *b = p;
    pthread_mutex_lock(&g_mu);
    b->owned = 0;
    pthread_mutex_unlock(&g_mu);
}

/* Once per thread: a block a finished thread left, or a new one. */
static mblock *my_block(void)
{
    if (t_block)
        return t_block;
    pthread_mutex_lock(&g_mu);
    mblock *b = atomic_load(&g_blocks);
    while (b && b->owned)
        b = b->next;
    if (!b && (b = calloc(1, sizeof *b))) {
        b->next = atomic_load(&g_blocks);
        atomic_store(&g_blocks, b);
    }
    if (b)
        b->owned = 1;
    pthread_mutex_unlock(&g_mu);
    /* Without the exit hook (out of memory) the block stays this thread's. */
    if (b)
        (void)thread_at_exit(release, b);
    return t_block = b;
}

mcell *mcell_mine(uint32_t id)
{
    if (id >= MCELL_MAX_SERIES)
        return NULL;
    mblock *b = my_block();
    if (!b)
        return NULL;
    mcell *ch = atomic_load_explicit(&b->chunk[id / CHUNK], memory_order_relaxed);
    if (!ch) {
        if (!(ch = calloc(CHUNK, sizeof *ch)))
            return NULL;
        atomic_store_explicit(&b->chunk[id / CHUNK], ch, memory_order_release);
    }
    return &ch[id % CHUNK];
}

/* mcell_bucket_le in nanoseconds: the request path compares integers. */
static const int64_t bucket_ns[MCELL_NBUCKETS] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000};

void mcell_observe(mcell *c, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    int i = 0;
    while (i < MCELL_NBUCKETS && ns > bucket_ns[i])
        i++;
    mcell_add(&c->bucket[i], 1);
    mcell_add(&c->sum_ns, (uint64_t)ns);
}

void mcell_sum_of(uint32_t id, mcell_sum *out)
{
    memset(out, 0, sizeof *out);
    if (id >= MCELL_MAX_SERIES)
        return;
    for (mblock *b = atomic_load(&g_blocks); b; b = b->next) {
        mcell *ch = atomic_load_explicit(&b->chunk[id / CHUNK], memory_order_acquire);
        if (!ch)
            continue;
        mcell *c = &ch[id % CHUNK];
        for (int i = 0; i < MCELL_NCOUNTS; i++)
            out->n[i] += atomic_load_explicit(&c->n[i], memory_order_relaxed);
        for (int i = 0; i <= MCELL_NBUCKETS; i++)
            out->bucket[i] += atomic_load_explicit(&c->bucket[i], memory_order_relaxed);
        out->sum_ns += atomic_load_explicit(&c->sum_ns, memory_order_relaxed);
    }
}
