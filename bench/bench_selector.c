/* Selector figures: nanoseconds per resolve of a static path, a wildcard path and a
 * modifier chain on an Authorization JSON document, compiled once, with the arena reset
 * after each resolve as a request does. Times are the thread's CPU time (one core); for
 * instruction counts run one selector under callgrind with --toggle-collect=bench_once
 * (see docs/performance.md).
 * Usage: bench_selector [resolves [which]]   which: 0 static, 1 wildcard, 2 modifiers */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <json-c/json.h>

#include "selector/selector.h"
#include "util/arena.h"

static const char *doc_text =
    "{\"context\":{},\"request\":{\"http\":{\"id\":\"1234\",\"protocol\":\"HTTP/1.1\","
    "\"scheme\":\"http\",\"host\":\"talker-api.127.0.0.1.nip.io\",\"method\":\"GET\","
    "\"path\":\"/api/v1/hello?x=1\",\"headers\":{\":authority\":\"talker-api.127.0.0.1.nip.io\","
    "\":method\":\"GET\",\":path\":\"/api/v1/hello\",\"accept\":\"*/*\","
    "\"user-agent\":\"curl/7.88.1\",\"x-request-id\":\"e2f3\",\"x-forwarded-for\":\"10.0.0.1\","
    "\"authorization\":\"Basic am9objpzM2NyM3Q=\",\"x-tenant\":\"acme\"}}},"
    "\"source\":{\"address\":{\"socket_address\":{\"address\":\"10.1.2.3\","
    "\"port_value\":41234}}},\"metadata\":{},"
    "\"auth\":{\"identity\":{\"username\":\"john\",\"groups\":[\"dev\",\"ops\"]}}}";

static const char *const sels[] = {
    "request.http.headers.authorization",
    "request.http.headers.x-forwarded-*",
    "request.http.headers.authorization.@extract:{\"pos\":1}|@base64:decode|"
    "@extract:{\"sep\":\":\"}",
};

static volatile size_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One resolve and its text, then the arena back to empty: what a request pays. */
__attribute__((noinline)) void bench_once(const sel_expr *e, const doc *root, struct arena *a)
{
    const doc *out;
    if (sel_resolve(e, root, a, &out) == 0) {
        size_t n = 0;
        if (sel_text(out, a, &n))
            sink += n;
    }
    arena_reset(a);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int only = argc > 2 ? atoi(argv[2]) : -1;
    struct json_object *j = json_tokener_parse(doc_text);
    struct arena da, a;
    arena_init(&da, 0);
    arena_init(&a, 1u << 20);
    int err = 0;
    const doc *root = doc_from_jsonc(&da, j, NULL, &err);
    json_object_put(j);
    if (err) {
        fprintf(stderr, "document: out of memory\n");
        return 1;
    }
    for (int w = 0; w < (int)(sizeof sels / sizeof sels[0]); w++) {
        if (only >= 0 && w != only)
            continue;
        char msg[128];
        sel_expr *e = sel_compile(sels[w], msg, sizeof msg);
        if (!e) {
            fprintf(stderr, "%s: %s\n", sels[w], msg);
            return 1;
        }
        for (long i = 0; i < n / 10 + 1; i++) /* warm the arena and caches */
            bench_once(e, root, &a);
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            bench_once(e, root, &a);
        printf("%8.1f ns/resolve  %s\n", (now_ns() - t0) / (double)n, sels[w]);
        sel_free(e);
    }
    arena_free(&a);
    arena_free(&da);
    return 0;
}
