/* cb_queue.c - the sender of `http` callbacks. The pipeline runs callbacks
 * before the verdict goes out, so evaluate only builds the call and queues
 * it here; a sender thread sends it with the host's http_fetch (which needs no
 * evaluation) and records the outcome. Threads start on demand, up to
 * CB_MAX_SENDERS, when a call finds none idle, so a callback that is never
 * used (or a `check` run) costs no thread. A full queue drops the call rather
 * than holding memory or the request; every drop and failure is counted
 * and logged. */
#include <stdlib.h>
#include <string.h>
#include "cb.h"

void cb_job_free(cb_job *job)
{
    if (!job)
        return;
    hc_msg_free(&job->msg);
    free(job);
}

static void send_one(cb_queue *q, cb_job *job)
{
    const pc_host *h = q->host;
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    char err[256] = "";
    pc_status st = h->http_fetch(&job->msg.req, &status, &body, &len, err, sizeof err);
    if (body)
        h->free(body);
    if (st != PC_OK) {
        h->counter_add(q->counters->failed, 1);
        h->log(PC_LOG_WARN, q->name, "http callback failed: %s", err[0] ? err : "request failed");
    } else if (status < 200 || status > 299) {
        h->counter_add(q->counters->failed, 1);
        h->log(PC_LOG_WARN, q->name, "http callback: the service answered HTTP %ld", status);
    } else {
        h->counter_add(q->counters->sent, 1);
    }
}

static void *run(void *arg)
{
    cb_queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (list_empty(&q->jobs) && !q->stopping) {
            q->idle++;
            pthread_cond_wait(&q->cv, &q->mu);
            q->idle--;
        }
        if (q->stopping)
            break;
        cb_job *job = LIST_ENTRY(list_pop_front(&q->jobs), cb_job, link);
        q->len--;
        pthread_mutex_unlock(&q->mu);
        send_one(q, job);
        cb_job_free(job);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int cb_queue_start(cb_queue *q, const pc_host *h, const char *name,
                   const cb_counters *counters, size_t limit)
{
    memset(q, 0, sizeof *q);
    q->host = h;
    q->name = name;
    q->counters = counters;
    q->limit = limit;
    list_init(&q->jobs);
    if (pthread_mutex_init(&q->mu, NULL))
        return -1;
    if (pthread_cond_init(&q->cv, NULL)) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    q->started = 1;
    return 0;
}

int cb_queue_push(cb_queue *q, cb_job *job)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->len >= q->limit) {
        /* One line per 1000 drops: an overload must not flood the log too. */
        uint64_t n = ++q->n_dropped;
        pthread_mutex_unlock(&q->mu);
        cb_job_free(job);
        q->host->counter_add(q->counters->dropped, 1);
        if (n % 1000 == 1)
            q->host->log(PC_LOG_WARN, q->name, "http callback dropped: %zu calls already "
                         "queued (queueLimit); %llu dropped so far", q->limit,
                         (unsigned long long)n);
        return -1;
    }
    list_push_back(&q->jobs, &job->link);
    q->len++;
    /* Another sender when every one is busy; if none can start, the
     * running ones (or the next push) get to the call. */
    if (q->idle == 0 && q->n_threads < CB_MAX_SENDERS &&
        pthread_create(&q->threads[q->n_threads], NULL, run, q) == 0)
        q->n_threads++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void cb_queue_stop(cb_queue *q)
{
    if (!q->started)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    int n = q->n_threads;
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < n; i++)
        pthread_join(q->threads[i], NULL);
    size_t dropped = 0;
    for (list_node *ln; (ln = list_pop_front(&q->jobs));) {
        cb_job_free(LIST_ENTRY(ln, cb_job, link));
        dropped++;
    }
    q->len = 0;
    if (dropped) {
        q->host->counter_add(q->counters->dropped, dropped);
        q->host->log(PC_LOG_WARN, q->name, "%zu queued http callbacks dropped on reload or "
                     "shutdown", dropped);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    q->started = 0;
}
