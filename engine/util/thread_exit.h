/* thread_exit.h - frees per-thread caches (curl handles, parser and
 * digest contexts) when a worker or I/O thread ends. */
#ifndef PC_UTIL_THREAD_EXIT_H
#define PC_UTIL_THREAD_EXIT_H

/* Runs fn(arg) when the calling thread exits (in reverse order of
 * registration). Returns 0, or -1 when out of memory (then fn never runs;
 * the object stays reachable until the process ends). */
int thread_at_exit(void (*fn)(void *), void *arg);
#endif
