/* cache_metrics.c - portcullis_cache_* metrics, one series per cache name
 * (caches of the same name, e.g. every TokenReview evaluator's, add up).
 *
 * Counters of freed caches are kept per name so they never go down when a
 * reload replaces the caches. Lookups never touch this registry: it is
 * read on scrape, and written when caches are made and freed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "metrics/metrics.h"
#include "util/buf.h"

typedef struct retired {
    char *name;
    cache_stats st;
    struct retired *next;
} retired;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pc_cache *g_live;
static retired *g_retired;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void render(buf *b);

static void reg_collector(void)
{
    metrics_add_collector(render);
}

void cache_metrics_add(pc_cache *c)
{
    pthread_once(&g_once, reg_collector);
    pthread_mutex_lock(&g_mu);
    *cache_reg_next(c) = g_live;
    g_live = c;
    pthread_mutex_unlock(&g_mu);
}

static void add_counters(cache_stats *to, const cache_stats *from)
{
    to->hits += from->hits;
    to->misses += from->misses;
    to->fills += from->fills;
    to->waits += from->waits;
    to->evictions += from->evictions;
    to->expirations += from->expirations;
    to->rejections += from->rejections;
}

static retired *retired_of(const char *name)
{
    for (retired *r = g_retired; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    retired *r = calloc(1, sizeof *r);
    if (r && !(r->name = strdup(name))) {
        free(r);
        return NULL;
    }
    if (r) {
        r->next = g_retired;
        g_retired = r;
    }
    return r;
}

void cache_metrics_remove(pc_cache *c)
{
    cache_stats st;
    cache_get_stats(c, &st);
    pthread_mutex_lock(&g_mu);
    for (pc_cache **pp = &g_live; *pp; pp = cache_reg_next(*pp))
        if (*pp == c) {
            *pp = *cache_reg_next(c);
            break;
        }
    retired *r = retired_of(cache_name(c));
    if (r)
        add_counters(&r->st, &st);
    pthread_mutex_unlock(&g_mu);
}

typedef struct row {
    const char *name;
    cache_stats st;
} row;

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->name, ((const row *)b)->name);
}

/* One row per name: live caches' counters and sizes plus retired counters. */
static size_t collect(row **out)
{
    size_t n = 0, i = 0;
    for (pc_cache *c = g_live; c; c = *cache_reg_next(c))
        n++;
    for (retired *r = g_retired; r; r = r->next)
        n++;
    row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return 0;
    for (pc_cache *c = g_live; c; c = *cache_reg_next(c), i++) {
        rows[i].name = cache_name(c);
        cache_get_stats(c, &rows[i].st);
    }
    for (retired *r = g_retired; r; r = r->next, i++) {
        rows[i].name = r->name;
        add_counters(&rows[i].st, &r->st);
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    size_t m = 0;
    for (i = 0; i < n; i++) {
        if (m && strcmp(rows[m - 1].name, rows[i].name) == 0) {
            add_counters(&rows[m - 1].st, &rows[i].st);
            rows[m - 1].st.entries += rows[i].st.entries;
            rows[m - 1].st.bytes += rows[i].st.bytes;
            rows[m - 1].st.max_bytes += rows[i].st.max_bytes;
            continue;
        }
        rows[m++] = rows[i];
    }
    *out = rows;
    return m;
}

static uint64_t field(const cache_stats *s, int k)
{
    switch (k) {
    case 0: return s->hits;
    case 1: return s->misses;
    case 2: return s->evictions;
    case 3: return s->expirations;
    case 4: return s->rejections;
    case 5: return s->fills;
    case 6: return s->entries;
    case 7: return s->bytes;
    default: return s->max_bytes;
    }
}

static void render(buf *b)
{
    static const struct { const char *name, *type, *help; } fam[] = {
        {"portcullis_cache_hits_total", "counter", "Cache lookups answered from the cache."},
        {"portcullis_cache_misses_total", "counter", "Cache lookups not found in the cache."},
        {"portcullis_cache_evictions_total", "counter",
         "Entries pushed out to stay within the byte budget."},
        {"portcullis_cache_expirations_total", "counter", "Entries dropped at their TTL."},
        {"portcullis_cache_rejections_total", "counter",
         "Results not stored: asked for less often than the entries they would push out."},
        {"portcullis_cache_fills_total", "counter",
         "Evaluator calls made on misses (concurrent misses of one key share one)."},
        {"portcullis_cache_entries", "gauge", "Entries stored."},
        {"portcullis_cache_bytes", "gauge", "Memory held by stored entries."},
        {"portcullis_cache_max_bytes", "gauge", "Byte budget of the caches."}};
    pthread_mutex_lock(&g_mu);
    row *rows = NULL;
    size_t n = collect(&rows);
    for (int k = 0; n && k < (int)(sizeof fam / sizeof fam[0]); k++) {
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[k].name, fam[k].help,
                   fam[k].name, fam[k].type);
        for (size_t i = 0; i < n; i++) {
            buf_printf(b, "%s{cache=\"", fam[k].name);
            metrics_label_escape(b, rows[i].name);
            buf_printf(b, "\"} %llu\n", (unsigned long long)field(&rows[i].st, k));
        }
    }
    pthread_mutex_unlock(&g_mu);
    free(rows);
}
