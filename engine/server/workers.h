/* workers.h - a fixed pool of threads for pipelines that may block, so
 * I/O threads never wait on the network. */
#ifndef PC_SERVER_WORKERS_H
#define PC_SERVER_WORKERS_H
#include <stddef.h>

int workers_start(int n);
/* Queues fn(arg); 0, or -1 when the pool is stopped or the queue is full
 * (the caller then fails closed). */
int workers_post(void (*fn)(void *), void *arg);
/* Runs what is queued, then joins the threads. */
void workers_stop(void);
#endif
