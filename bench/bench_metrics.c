/* Metrics recording figures: nanoseconds per metrics_request (what every
 * check costs) from 1, 2 and 4 threads over 50 AuthConfigs, and the time
 * of one scrape afterwards.
 * Usage: bench_metrics [requests per thread] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char g_names[50][32];

typedef struct warg {
    long n;
    double cpu_s;
} warg;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time is reported beside wall time: on a busy machine it is the
 * steadier figure, and a contended lock shows up in it too. */
static void *worker(void *p)
{
    warg *a = p;
    long n = a->n;
    double c0 = thread_cpu_s();
    pc_verdict v = {.struct_size = sizeof v};
    for (long i = 0; i < n; i++) {
        const char *ac = g_names[i % 50];
        v.authconfig.ptr = ac;
        v.authconfig.len = strlen(ac);
        v.grpc_code = i % 3 == 0 ? 7 : 0;
        metrics_request(&v, 100000 + (i % 1000) * 1000);
    }
    a->cpu_s = thread_cpu_s() - c0;
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    for (int i = 0; i < 50; i++)
        snprintf(g_names[i], sizeof g_names[i], "tenant-%d/api-%d", i % 7, i);
    for (int t = 1; t <= 4; t *= 2) {
        pthread_t th[4];
        warg a[4];
        double t0 = now_s(), cpu = 0;
        for (int i = 0; i < t; i++) {
            a[i] = (warg){n, 0};
            pthread_create(&th[i], NULL, worker, &a[i]);
        }
        for (int i = 0; i < t; i++) {
            pthread_join(th[i], NULL);
            cpu += a[i].cpu_s;
        }
        double dt = now_s() - t0;
        printf("metrics_request, %d thread%s: %.1f ns CPU per call, %.1f M calls/s wall\n", t,
               t > 1 ? "s" : "", cpu * 1e9 / ((double)n * t), (double)n * t / dt / 1e6);
    }
    double t0 = now_s();
    size_t len = 0;
    char *text = metrics_render(&len);
    printf("one scrape: %.2f ms, %zu bytes\n", (now_s() - t0) * 1e3, len);
    free(text);
    return 0;
}
