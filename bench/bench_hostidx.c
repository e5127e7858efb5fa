/* Host index figures: build time for 10,000 AuthConfigs with two hosts each,
 * and nanoseconds per lookup for the kinds of host a request carries.
 * Usage: bench_hostidx [configs] [lookups] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/hostidx.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char (*make_hosts(int n, const char *fmt_a, const char *fmt_b))[64]
{
    char (*h)[64] = malloc((size_t)n * 2 * sizeof *h);
    if (!h)
        return NULL;
    for (int i = 0; i < n; i++) {
        snprintf(h[2 * i], sizeof h[0], fmt_a, i, i % 97);
        snprintf(h[2 * i + 1], sizeof h[0], fmt_b, i, i % 97);
    }
    return h;
}

static hostidx *build(char (*hosts)[64], int n, int *configs)
{
    hostidx *idx = hostidx_new();
    if (!idx)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (hostidx_add(idx, hosts[2 * i], &configs[i], NULL) != 0 ||
            hostidx_add(idx, hosts[2 * i + 1], &configs[i], NULL) != 0) {
            hostidx_free(idx);
            return NULL;
        }
    }
    return idx;
}

static volatile uintptr_t sink;

static void run(const char *label, const hostidx *idx, char (*probe)[64], int nprobe, long lookups,
                int expect_hit)
{
    size_t *lens = malloc((size_t)nprobe * sizeof *lens);
    if (!lens)
        return;
    for (int i = 0; i < nprobe; i++)
        lens[i] = strlen(probe[i]);
    long hits = 0;
    double t0 = now_ns();
    for (long k = 0; k < lookups; k++) {
        int i = (int)(k % nprobe);
        void *v = hostidx_lookup(idx, probe[i], lens[i]);
        hits += v != NULL;
        sink ^= (uintptr_t)v;
    }
    double dt = now_ns() - t0;
    printf("lookup %-28s %7.1f ns/lookup  (%ld of %ld matched%s)\n", label, dt / (double)lookups, hits,
           lookups, (expect_hit ? hits == lookups : hits == 0) ? "" : ", UNEXPECTED");
    free(lens);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    long lookups = argc > 2 ? atol(argv[2]) : 2000000;
    if (n <= 0 || lookups <= 0) {
        fprintf(stderr, "usage: %s [configs] [lookups]\n", argv[0]);
        return 2;
    }
    int *configs = calloc((size_t)n, sizeof *configs);
    char (*hosts)[64] = make_hosts(n, "api-%d.tenant-%d.example.com", "*.svc-%d.ns-%d.cluster.local");
    if (!configs || !hosts) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* Build several times and report the best and the mean: the first run
     * also pays for the allocator warming up. */
    const int rounds = 20;
    double best = 1e300, total = 0;
    hostidx *idx = NULL;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        hostidx *b = build(hosts, n, configs);
        double dt = now_ns() - t0;
        if (!b) {
            fprintf(stderr, "build failed\n");
            return 1;
        }
        best = dt < best ? dt : best;
        total += dt;
        if (r + 1 < rounds)
            hostidx_free(b);
        else
            idx = b;
    }
    printf("build  %d AuthConfigs x 2 hosts (%zu entries): best %.2f ms, mean %.2f ms over %d rounds\n", n,
           hostidx_count(idx), best / 1e6, total / rounds / 1e6, rounds);

    char (*exact)[64] = make_hosts(n, "api-%d.tenant-%d.example.com", "API-%d.Tenant-%d.Example.com");
    char (*wild)[64] = make_hosts(n, "pod.svc-%d.ns-%d.cluster.local", "a.b.c.svc-%d.ns-%d.cluster.local");
    char (*port)[64] = make_hosts(n, "api-%d.tenant-%d.example.com:8443", "x.svc-%d.ns-%d.cluster.local:80");
    char (*miss)[64] = make_hosts(n, "nope-%d.tenant-%d.example.com", "svc-%d.ns-%d.cluster.local");
    if (!exact || !wild || !port || !miss) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    run("exact", idx, exact, 2 * n, lookups, 1);
    run("wildcard (1 and 3 labels deep)", idx, wild, 2 * n, lookups, 1);
    run("with :port (retry)", idx, port, 2 * n, lookups, 1);
    run("miss", idx, miss, 2 * n, lookups, 0);

    hostidx_free(idx);
    free(exact);
    free(wild);
    free(port);
    free(miss);
    free(hosts);
    free(configs);
    return 0;
}
