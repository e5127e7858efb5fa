/* bench_jwt - per-request cost of the jwt identity on one core, through
 * the engine as a request runs it (host lookup, Authorization JSON,
 * pipeline):
 *   (a) anonymous + one pattern (the reference);
 *   (b) jwt + one pattern with one token again and again (cache hits);
 *   (c) jwt + one pattern with a new token every time (each one parsed and
 *       its signature verified: no cache can answer).
 * The JWKS comes from a provider (bench/jwt.py starts the fixture) and the
 * tokens from a file, one per line, all signed by that provider's key.
 * usage: bench_jwt JWKS_URL TOKENS_FILE [iterations]
 * (plugins: $PC_PLUGIN_DIR or the build tree's plugin directory) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "host/hostimpl.h"
#include "server/submit.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "snapshot/snapshot.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const CONFIG =
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: a, namespace: bench}\n"
    "spec:\n  hosts: [a.bench]\n"
    "  authentication: {anon: {anonymous: {}}}\n"
    "  authorization:\n    only-get:\n      patternMatching:\n        patterns:\n"
    "        - {selector: request.method, operator: eq, value: GET}\n"
    "---\napiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: j, namespace: bench}\n"
    "spec:\n  hosts: [j.bench]\n"
    "  authentication:\n    oidc:\n      jwt: {jwksUrl: \"%s\", ttl: 300}\n"
    "  authorization:\n    only-get:\n      patternMatching:\n        patterns:\n"
    "        - {selector: request.method, operator: eq, value: GET}\n";

#define REQ_FMT                                                                        \
    "{\"attributes\":{\"source\":{\"address\":{\"socketAddress\":{\"address\":"       \
    "\"10.0.0.7\",\"portValue\":41000}}},\"request\":{\"http\":{\"id\":\"1\","        \
    "\"method\":\"GET\",\"path\":\"/pets/42\",\"host\":\"%s\",\"scheme\":"            \
    "\"http\",\"protocol\":\"HTTP/1.1\",\"headers\":{\":authority\":\"%s\","          \
    "\":method\":\"GET\",\":path\":\"/pets/42\",\"user-agent\":\"bench/1\","          \
    "\"accept\":\"*/*\"%s%s%s}}}}}"

static int parse_req(const char *host, const char *token, checkjson *cj)
{
    char text[20000], err[128];
    snprintf(text, sizeof text, REQ_FMT, host, host,
             token ? ",\"authorization\":\"Bearer " : "", token ? token : "",
             token ? "\"" : "");
    if (checkjson_parse(text, strlen(text), cj, err, sizeof err) != 0) {
        fprintf(stderr, "bad request: %s\n", err);
        return -1;
    }
    return 0;
}

static int one(snapshot *s, const checkjson *cj)
{
    pipe_result r;
    submit_decide(s, &cj->view, 0, &r);
    int ok = r.allowed;
    pipe_result_free(&r);
    return ok;
}

/* CPU time of the process: on a shared machine wall time mostly measures
 * the neighbours. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct timing {
    double cpu, wall;   /* ns per request */
} timing;

/* Per-request cost of cj[i % n] for iters requests; *allowed = all allowed. */
static timing run(snapshot *s, const checkjson *cj, size_t n, long iters, int *allowed)
{
    int64_t t0 = clock_mono_ns(), c0 = cpu_ns();
    int all = 1;
    for (long i = 0; i < iters; i++)
        all &= one(s, &cj[(size_t)i % n]);
    *allowed = all;
    timing t = {(double)(cpu_ns() - c0) / (double)iters,
                (double)(clock_mono_ns() - t0) / (double)iters};
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_jwt JWKS_URL TOKENS_FILE [iterations]\n");
        return 2;
    }
    long iters = argc > 3 ? atol(argv[3]) : 100000;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    const char *dir = getenv("PC_PLUGIN_DIR");
    loader_load_dir(dir ? dir : loader_default_dir(), NULL, NULL);

    FILE *tf = fopen(argv[2], "r");
    if (!tf) {
        perror(argv[2]);
        return 2;
    }
    size_t cap = 1024, n = 0;
    checkjson *fresh = malloc(cap * sizeof *fresh);
    char line[16384];
    while (fresh && fgets(line, sizeof line, tf)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (n == cap && !(fresh = realloc(fresh, (cap *= 2) * sizeof *fresh)))
            break;
        if (parse_req("j.bench", line, &fresh[n]) != 0)
            return 2;
        n++;
    }
    fclose(tf);
    if (!fresh || n < 2) {
        fprintf(stderr, "need at least two tokens in %s\n", argv[2]);
        return 2;
    }

    char cfg[4096];
    snprintf(cfg, sizeof cfg, CONFIG, argv[1]);
    char path[] = "/tmp/bench-jwt-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, cfg, strlen(cfg)) != (ssize_t)strlen(cfg))
        return 2;
    close(fd);
    const char *paths[] = {path};
    snapshot *s = snapshot_load(host_table(), paths, 1, NULL);
    unlink(path);
    if (!s || s->n_configs != 2 || s->errors) {
        fprintf(stderr, "bench configs did not load (plugins in %s?)\n",
                dir ? dir : loader_default_dir());
        return 2;
    }
    checkjson anon, cached;
    if (parse_req("a.bench", NULL, &anon) != 0 || parse_req("j.bench", NULL, &cached) != 0)
        return 2;
    checkjson_free(&cached);
    /* The cached case reuses the first token; the uncached one the rest,
     * each exactly once. */
    cached = fresh[0];
    int ok_a, ok_b, ok_c;
    run(s, &anon, 1, iters / 10, &ok_a);
    run(s, &cached, 1, iters / 10, &ok_b);
    timing a = run(s, &anon, 1, iters, &ok_a);
    timing b = run(s, &cached, 1, iters, &ok_b);
    timing c = run(s, fresh + 1, n - 1, (long)(n - 1), &ok_c);
    printf("CPU time per request (wall time in brackets)\n");
    printf("(a) anonymous + 1 pattern:          %7.2f us  (%7.2f)  allowed=%d\n",
           a.cpu / 1000, a.wall / 1000, ok_a);
    printf("(b) jwt RS256 cached + 1 pattern:   %7.2f us  (%7.2f)  allowed=%d\n",
           b.cpu / 1000, b.wall / 1000, ok_b);
    printf("(c) jwt RS256 uncached + 1 pattern: %7.2f us  (%7.2f)  allowed=%d  "
           "(%zu distinct tokens)\n", c.cpu / 1000, c.wall / 1000, ok_c, n - 1);
    printf("    verification, cache fill and store, (c) - (a): %.2f us CPU\n",
           (c.cpu - a.cpu) / 1000);
    for (size_t i = 0; i < n; i++)
        checkjson_free(&fresh[i]);
    free(fresh);
    checkjson_free(&anon);
    snapshot_unref(s);
    loader_reset();
    return ok_a && ok_b && ok_c ? 0 : 1;
}
