/* bench_lua - per-evaluation cost of a 5-line Lua role check on one core,
 * through the serving path (submit_decide): the same pipeline (identity
 * from the jwt_authn metadata, one authorization) with a patternMatching
 * rule and with the Lua policy; the difference is what Lua costs, the
 * rest of the request (Authorization JSON, identity) being equal.
 * usage: bench_lua [iterations]   (PC_PLUGIN_DIR: the plugins) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "server/submit.h"
#include "snapshot/snapshot.h"
#include "util/log.h"

#define SPEC(host, authz)                                                                \
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"                      \
    "metadata: {name: " host ", namespace: bench}\n"                                     \
    "spec:\n  hosts: [" host ".bench]\n"                                                 \
    "  authentication:\n    jwt:\n      plain:\n        selector: metadata.filter_metadata" \
    ".envoy\\.filters\\.http\\.jwt_authn.verified_jwt\n"                                 \
    "  authorization:\n    admins:\n" authz

static const char CONFIG[] =
    SPEC("pattern", "      patternMatching:\n        patterns:\n"
                    "        - {selector: auth.identity.realm_access.roles, operator: incl, value: admin}\n")
    "---\n"
    SPEC("lua", "      lua:\n        script: |\n"
                "          function evaluate()\n"
                "            for _, role in ipairs(auth.identity.realm_access.roles) do\n"
                "              if role == 'admin' then return true end\n"
                "            end\n"
                "            return false\n"
                "          end\n")
    "---\n"
    SPEC("trivial", "      lua:\n        script: 'function evaluate() return true end'\n");

#define REQ_FMT                                                                        \
    "{\"attributes\":{\"source\":{\"address\":{\"socketAddress\":{\"address\":"       \
    "\"10.0.0.7\",\"portValue\":41000}}},\"request\":{\"http\":{\"id\":\"1\","        \
    "\"method\":\"GET\",\"path\":\"/pets/42\",\"host\":\"%s\",\"scheme\":"            \
    "\"http\",\"protocol\":\"HTTP/1.1\",\"headers\":{\":authority\":\"%s\","          \
    "\":method\":\"GET\",\":path\":\"/pets/42\",\"user-agent\":\"bench/1\","          \
    "\"accept\":\"*/*\"}}},\"metadataContext\":{\"filterMetadata\":{"                 \
    "\"envoy.filters.http.jwt_authn\":{\"verified_jwt\":{\"sub\":\"ann\","            \
    "\"realm_access\":{\"roles\":[\"dev\",\"ops\",\"admin\"]}}}}}}}"

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double run(snapshot *s, const char *host, long iters, int *allowed)
{
    char text[4096], err[128];
    checkjson cj;
    snprintf(text, sizeof text, REQ_FMT, host, host);
    if (checkjson_parse(text, strlen(text), &cj, err, sizeof err) != 0) {
        fprintf(stderr, "bad request: %s\n", err);
        exit(2);
    }
    int all = 1;
    int64_t c0 = cpu_ns();
    for (long i = 0; i < iters; i++) {
        pipe_result r;
        submit_decide(s, &cj.view, 0, &r);
        all &= r.allowed;
        pipe_result_free(&r);
    }
    double ns = (double)(cpu_ns() - c0) / (double)iters;
    checkjson_free(&cj);
    *allowed = all;
    return ns;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    const char *dir = getenv("PC_PLUGIN_DIR");
    loader_load_dir(dir ? dir : loader_default_dir(), NULL, NULL);
    char path[] = "/tmp/bench-lua-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, CONFIG, sizeof CONFIG - 1) != (ssize_t)(sizeof CONFIG - 1))
        return 2;
    close(fd);
    const char *paths[] = {path};
    snapshot *s = snapshot_load(host_table(), paths, 1, NULL);
    unlink(path);
    if (!s || s->n_configs != 3) {
        fprintf(stderr, "the AuthConfigs do not load (is the Lua plugin built?)\n");
        return 2;
    }
    int ok1, ok2;
    run(s, "lua.bench", iters / 10, &ok1); /* warm up */
    double best_p = 1e18, best_l = 1e18, best_t = 1e18;
    for (int round = 0; round < 3; round++) {
        double p = run(s, "pattern.bench", iters, &ok1);
        double l = run(s, "lua.bench", iters, &ok2);
        double t = run(s, "trivial.bench", iters, &ok1);
        best_t = t < best_t ? t : best_t;
        if (!ok1 || !ok2) {
            fprintf(stderr, "a request was denied (pattern %d, lua %d)\n", ok1, ok2);
            return 1;
        }
        best_p = p < best_p ? p : best_p;
        best_l = l < best_l ? l : best_l;
    }
    printf("pipeline with patternMatching: %.0f ns/request (CPU, best of 3 x %ld)\n", best_p, iters);
    printf("pipeline with the Lua policy:  %.0f ns/request\n", best_l);
    printf("pipeline with `return true`:   %.0f ns/request\n", best_t);
    printf("Lua role check: %.2f us per evaluation (difference; target <= 2 us)\n",
           (best_l - best_p) / 1000.0);
    snapshot_unref(s);
    return 0;
}
