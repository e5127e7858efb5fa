/* bench_decide - per-request cost of one AuthConfig on one core, for
 * configs that need material made outside C (certificates, keys): the
 * AuthConfig file (with its Secrets) and a CheckRequest JSON are given.
 * Each decision covers the host lookup, building the Authorization JSON and
 * running the pipeline along the serving path (submit_decide).
 * usage: bench_decide AUTHCONFIG.yaml REQUEST.json [iterations]
 * (plugins: $PC_PLUGIN_DIR or the build tree's plugin directory);
 * bench/x509.sh drives it for the x509 identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "server/submit.h"
#include "server/workers.h"
#include "snapshot/snapshot.h"
#include "util/clock.h"
#include "util/log.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(b = malloc((size_t)n + 1)) || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_decide AUTHCONFIG.yaml REQUEST.json [iterations]\n");
        return 2;
    }
    long iters = argc > 3 ? atol(argv[3]) : 100000;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    const char *dir = getenv("PC_PLUGIN_DIR");
    loader_load_dir(dir ? dir : loader_default_dir(), NULL, NULL);
    const char *paths[] = {argv[1]};
    snapshot *s = snapshot_load(host_table(), paths, 1, NULL);
    if (!s || s->n_configs < 1 || s->errors) {
        fprintf(stderr, "%s did not load\n", argv[1]);
        return 2;
    }
    size_t len;
    char *req = slurp(argv[2], &len), err[128];
    checkjson cj;
    if (checkjson_parse(req, len, &cj, err, sizeof err) != 0) {
        fprintf(stderr, "bad request: %s\n", err);
        return 2;
    }
    /* One worker: evaluators that may block (a cache miss) run there, as
     * in the server; cache hits are answered on this thread. */
    if (workers_start(1) < 0) {
        fprintf(stderr, "cannot start a worker\n");
        return 2;
    }
    int allowed = 0, status = 0;
    for (long i = 0; i < iters / 10 + 1; i++) { /* warm-up */
        pipe_result r;
        submit_decide(s, &cj.view, 0, &r);
        pipe_result_free(&r);
    }
    int64_t t0 = clock_mono_ns();
    for (long i = 0; i < iters; i++) {
        pipe_result r;
        submit_decide(s, &cj.view, 0, &r);
        allowed = r.allowed;
        status = r.http_status;
        pipe_result_free(&r);
    }
    double ns = (double)(clock_mono_ns() - t0) / (double)(iters ? iters : 1);
    printf("%-40s %8.0f ns/op  (%.2f us)  allowed=%d status=%d\n", argv[2], ns, ns / 1000,
           allowed, status);
    checkjson_free(&cj);
    free(req);
    snapshot_unref(s);
    workers_stop();
    loader_reset();
    return 0;
}
