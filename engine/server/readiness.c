/* readiness.c - the last published list, kept as one text of
 * "id\treason\n" lines under a mutex (published rarely, read by probes). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "readiness.h"
#include "util/buf.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_list; /* "id\treason\n"..., or NULL: none */

void readiness_publish(const char *const *ids, const char *const *reasons, size_t n)
{
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        buf_append(&b, ids[i], strlen(ids[i]));
        buf_append(&b, "\t", 1);
        buf_append(&b, reasons[i], strlen(reasons[i]));
        buf_append(&b, "\n", 1);
    }
    char *next = buf_steal(&b);
    pthread_mutex_lock(&g_mu);
    char *old = g_list;
    g_list = next;
    pthread_mutex_unlock(&g_mu);
    free(old);
}

char *readiness_render(int verbose, int *all_ready, size_t *len)
{
    buf b, first;
    buf_init(&b);
    buf_init(&first);
    int ok = 1;
    pthread_mutex_lock(&g_mu);
    for (const char *p = g_list; p && *p;) {
        const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        if (!tab || !nl || tab > nl)
            break;
        const char *reason = tab + 1;
        size_t rlen = (size_t)(nl - reason);
        int ready = rlen == strlen(READY_REASON) && memcmp(reason, READY_REASON, rlen) == 0;
        if (!ready && ok) {
            ok = 0;
            buf_printf(&first, "internal server error: authconfig is not ready: %.*s "
                                "(reason: %.*s)\n", (int)(tab - p), p, (int)rlen, reason);
        }
        if (verbose)
            buf_printf(&b, "[%c]%.*s %.*s\n", ready ? '+' : '-', (int)(tab - p), p,
                        ready ? 2 : (int)rlen, ready ? "ok" : reason);
        p = nl + 1;
    }
    pthread_mutex_unlock(&g_mu);
    if (ok)
        buf_append(&first, verbose ? "readyz check passed\n" : "ok", verbose ? 20 : 2);
    if (verbose)
        buf_append(&b, first.data, first.len);
    else {
        buf_free(&b);
        b = first;
        buf_init(&first);
    }
    buf_free(&first);
    *all_ready = ok;
    *len = b.len;
    return b.data ? buf_steal(&b) : calloc(1, 1);
}
