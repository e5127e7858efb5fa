/* cb.h - the `http` callback: a call built during the evaluation and sent
 * later by the instance's own sender thread, so the verdict never waits. */
#ifndef CB_H
#define CB_H
#include <pthread.h>
#include <stddef.h>
#include "hc.h"
#include "util/list.h"

/* Calls waiting to be sent, per callback (the queueLimit default). */
#define CB_DEFAULT_QUEUE_LIMIT 1024
#define CB_MAX_QUEUE_LIMIT 65536
/* Sender threads per callback, started as the queue needs them: a slow
 * service is called this many times at once, at most. */
#define CB_MAX_SENDERS 4

typedef struct cb_job {
    list_node link;          /* in the queue */
    hc_msg msg;              /* req points into msg itself */
} cb_job;

typedef struct cb_counters {
    pc_counter *sent;        /* answered with a 2xx */
    pc_counter *failed;      /* transport error, timeout or a status outside 2xx */
    pc_counter *dropped;     /* the queue was full, or the instance went away */
} cb_counters;

/* A FIFO of built calls and the threads that send them. */
typedef struct cb_queue {
    const pc_host *host;
    const char *name;        /* the evaluator name, for logs (borrowed) */
    const cb_counters *counters;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[CB_MAX_SENDERS];
    int n_threads, idle;     /* started, and waiting for work */
    int started, stopping;
    list_node jobs;          /* cb_job.link, oldest first */
    size_t len, limit;
    uint64_t n_dropped;      /* for rate-limiting the log */
} cb_queue;

/* cb_queue.c */
int cb_queue_start(cb_queue *q, const pc_host *h, const char *name,
                   const cb_counters *counters, size_t limit);
/* Takes the job, or drops and counts it when the queue is full: 0 queued,
 * -1 dropped (the job is freed either way by the queue). */
int cb_queue_push(cb_queue *q, cb_job *job);
/* Stops the threads after the calls in flight; queued calls are dropped
 * and counted. */
void cb_queue_stop(cb_queue *q);
void cb_job_free(cb_job *job);
#endif
