/* bench_pipeline - per-request cost of the engine on one core:
 *   (a) anonymous + one patternMatching rule
 *   (b) apiKey + three patterns + a json success header
 *   (c) (b) with the three patterns written as CEL predicates
 *   (d) (c) with the header's properties as CEL expressions too
 * Each figure covers the host lookup, building the Authorization JSON from
 * the request view and running the pipeline along the serving path
 * (submit_decide), as a request does.
 * usage: bench_pipeline [iterations [a|b|c|d]]   (plugins: $PC_PLUGIN_DIR or the
 * build tree's plugin directory). With PC_BENCH_TRACING=URL every request
 * is traced and exported there (OTLP/HTTP, plain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench_request.h"
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "server/submit.h"
#include "snapshot/snapshot.h"
#include "trace/trace.h"
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
    "metadata: {name: b, namespace: bench}\n"
    "spec:\n  hosts: [b.bench]\n"
    "  authentication:\n    keys:\n      apiKey: {selector: {matchLabels: {app: bench}}}\n"
    "      credentials: {authorizationHeader: {prefix: APIKEY}}\n"
    "  authorization:\n    rules:\n      patternMatching:\n        patterns:\n"
    "        - {selector: request.method, operator: eq, value: GET}\n"
    "        - {selector: request.url_path, operator: matches, value: '^/pets/[0-9]+$'}\n"
    "        - {selector: auth.identity.metadata.labels.tier, operator: neq, value: banned}\n"
    "  response:\n    success:\n      headers:\n        x-auth:\n          json:\n"
    "            properties:\n              user: {selector: auth.identity.metadata.name}\n"
    "              path: {selector: request.path}\n"
    "---\napiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: c, namespace: bench}\n"
    "spec:\n  hosts: [c.bench]\n"
    "  authentication:\n    keys:\n      apiKey: {selector: {matchLabels: {app: bench}}}\n"
    "      credentials: {authorizationHeader: {prefix: APIKEY}}\n"
    "  authorization:\n    rules:\n      patternMatching:\n        patterns:\n"
    "        - predicate: request.method == 'GET'\n"
    "        - predicate: request.url_path.matches('^/pets/[0-9]+$')\n"
    "        - predicate: auth.identity.metadata.labels.tier != 'banned'\n"
    "  response:\n    success:\n      headers:\n        x-auth:\n          json:\n"
    "            properties:\n              user: {selector: auth.identity.metadata.name}\n"
    "              path: {selector: request.path}\n"
    "---\napiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: d, namespace: bench}\n"
    "spec:\n  hosts: [d.bench]\n"
    "  authentication:\n    keys:\n      apiKey: {selector: {matchLabels: {app: bench}}}\n"
    "      credentials: {authorizationHeader: {prefix: APIKEY}}\n"
    "  authorization:\n    rules:\n      patternMatching:\n        patterns:\n"
    "        - predicate: request.method == 'GET'\n"
    "        - predicate: request.url_path.matches('^/pets/[0-9]+$')\n"
    "        - predicate: auth.identity.metadata.labels.tier != 'banned'\n"
    "  response:\n    success:\n      headers:\n        x-auth:\n          json:\n"
    "            properties:\n              user: {expression: auth.identity.metadata.name}\n"
    "              path: {expression: request.path}\n"
    "---\napiVersion: v1\nkind: Secret\nmetadata: {name: k1, namespace: bench, labels: "
    "{app: bench, tier: gold}}\nstringData: {api_key: bench-key-0123456789}\n";

static double run(snapshot *s, const char *req, long iters, int *allowed)
{
    checkjson cj;
    char err[128];
    if (checkjson_parse(req, strlen(req), &cj, err, sizeof err) != 0) {
        fprintf(stderr, "bad request: %s\n", err);
        exit(2);
    }
    for (long i = 0; i < iters / 10; i++) { /* warm-up */
        pipe_result r;
        submit_decide(s, &cj.view, 0, &r);
        pipe_result_free(&r);
    }
    int64_t t0 = clock_mono_ns();
    for (long i = 0; i < iters; i++) {
        pipe_result r;
        submit_decide(s, &cj.view, 0, &r);
        *allowed = r.allowed;
        pipe_result_free(&r);
    }
    int64_t t1 = clock_mono_ns();
    checkjson_free(&cj);
    return (double)(t1 - t0) / (double)iters;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    const char *dir = getenv("PC_PLUGIN_DIR");
    loader_load_dir(dir ? dir : loader_default_dir(), NULL, NULL);
    char path[] = "/tmp/bench-pipeline-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, CONFIG, strlen(CONFIG)) != (ssize_t)strlen(CONFIG))
        return 2;
    close(fd);
    trace_settings ts;
    trace_settings_default(&ts);
    ts.endpoint = getenv("PC_BENCH_TRACING");
    ts.insecure = 1;
    char terr[256];
    if (ts.endpoint && trace_start(&ts, terr, sizeof terr) < 0) {
        fprintf(stderr, "PC_BENCH_TRACING: %s\n", terr);
        return 2;
    }
    const char *paths[] = {path};
    snapshot *s = snapshot_load(host_table(), paths, 1, NULL);
    unlink(path);
    if (!s || s->n_configs != 4 || s->errors) {
        fprintf(stderr, "bench configs did not load (plugins in %s?)\n",
                dir ? dir : loader_default_dir());
        return 2;
    }
    /* An optional second argument runs only one of a, b, c, d (for profilers). */
    const char *only = argc > 2 ? argv[2] : "";
    static const char *const label[] = {
        "(a) anonymous + 1 pattern:            ", "(b) apiKey + 3 patterns + json header:",
        "(c) (b) with 3 CEL predicates:        ", "(d) (c) with CEL header properties:   "};
    static const char *const req[] = {
        REQ("a.bench", ""),
        REQ("b.bench", ",\"authorization\":\"APIKEY bench-key-0123456789\""),
        REQ("c.bench", ",\"authorization\":\"APIKEY bench-key-0123456789\""),
        REQ("d.bench", ",\"authorization\":\"APIKEY bench-key-0123456789\"")};
    int all_ok = 1;
    for (int i = 0; i < 4; i++) {
        if (*only && only[0] != 'a' + i)
            continue;
        int ok = 1;
        double ns = run(s, req[i], iters, &ok);
        printf("%s %8.0f ns/op  (%.2f us)  allowed=%d\n", label[i], ns, ns / 1000, ok);
        all_ok &= ok;
    }
    trace_stop();
    snapshot_unref(s);
    loader_reset();
    return all_ok ? 0 : 1;
}
