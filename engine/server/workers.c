#include <pthread.h>
#include <stdlib.h>
#include "http/httpc.h"
#include "util/list.h"
#include "workers.h"

#define QUEUE_MAX 65536

typedef struct job {
    void (*fn)(void *);
    void *arg;
    list_node link;
} job;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static list_node g_queue = {&g_queue, &g_queue}; /* FIFO of jobs */
static size_t g_len;
static int g_stopping, g_n;
static pthread_t *g_threads;

static void *worker_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&g_mu);
        while (list_empty(&g_queue) && !g_stopping)
            pthread_cond_wait(&g_cv, &g_mu);
        list_node *n = list_pop_front(&g_queue);
        if (!n) {
            pthread_mutex_unlock(&g_mu);
            return NULL;
        }
        job *j = LIST_ENTRY(n, job, link);
        g_len--;
        pthread_mutex_unlock(&g_mu);
        j->fn(j->arg);
        free(j);
    }
}

int workers_start(int n)
{
    /* OpenSSL's first initialisation (inside curl_global_init) leaves an
     * error state on its thread that nothing frees: let that thread be
     * this one, which lives as long as the process, not a worker. */
    httpc_global_init();
    g_threads = calloc((size_t)n, sizeof *g_threads);
    if (!g_threads)
        return -1;
    g_stopping = 0;
    for (g_n = 0; g_n < n; g_n++)
        if (pthread_create(&g_threads[g_n], NULL, worker_main, NULL) != 0)
            break;
    return g_n > 0 ? 0 : -1;
}

int workers_post(void (*fn)(void *), void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&g_mu);
    if (g_stopping || !g_n || g_len >= QUEUE_MAX) {
        pthread_mutex_unlock(&g_mu);
        free(j);
        return -1;
    }
    list_push_back(&g_queue, &j->link);
    g_len++;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

void workers_stop(void)
{
    pthread_mutex_lock(&g_mu);
    g_stopping = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < g_n; i++)
        pthread_join(g_threads[i], NULL);
    free(g_threads);
    g_threads = NULL;
    g_n = 0;
}
