/* bench_authjson - the cost of building the Authorization JSON of
 * bench_pipeline's request (b) (REQ in bench_request.h), alone:
 *   doc    authjson_build into an arena, then arena_reset
 * usage: bench_authjson [iterations [doc [context]]]   (`context` builds
 * Envoy's raw `context` too). Each run adds a tenth of the iterations as
 * warm-up; bench/authjson_instr.sh turns two runs into instructions per
 * build with callgrind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_request.h"
#include "request/authjson.h"
#include "request/checkjson.h"
#include "util/arena.h"
#include "util/clock.h"

static int build_doc(const pc_request_view *v, int ctx, long iters)
{
    struct arena a;
    arena_init(&a, 0);
    int rc = 0;
    for (long i = 0; i < iters && !rc; i++) {
        if (!authjson_build(v, ctx, &a))
            rc = -1;
        arena_reset(&a);
    }
    arena_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    const char *mode = argc > 2 ? argv[2] : "";
    int ctx = argc > 3 && strcmp(argv[3], "context") == 0;
    static const char req[] = REQ("b.bench", ",\"authorization\":\"APIKEY bench-key-0123456789\"");
    checkjson cj;
    char err[128];
    if (checkjson_parse(req, strlen(req), &cj, err, sizeof err) != 0) {
        fprintf(stderr, "bad request: %s\n", err);
        return 2;
    }
    static const struct {
        const char *name;
        int (*run)(const pc_request_view *, int, long);
    } modes[] = {
        {"doc", build_doc},
    };
    int ran = 0, rc = 0;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (*mode && strcmp(mode, modes[m].name) != 0)
            continue;
        ran = 1;
        if (modes[m].run(&cj.view, ctx, iters / 10) != 0) {
            rc = 1;
            break;
        }
        int64_t t0 = clock_mono_ns();
        rc |= modes[m].run(&cj.view, ctx, iters) != 0;
        int64_t t1 = clock_mono_ns();
        printf("%-6s %8.0f ns/build%s\n", modes[m].name, (double)(t1 - t0) / (double)iters,
               ctx ? "  (with context)" : "");
    }
    checkjson_free(&cj);
    if (!ran) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return rc;
}
