/* CEL figures: nanoseconds per evaluation of typical predicates and values on an
 * Authorization JSON (a request document, engine/doc, read through cel_doc_tree), compiled once, with the arena reset after each evaluation
 * as the pipeline does. Times are the thread's CPU time (one core).
 * Usage: bench_cel [evaluations [expression]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "bench_request.h"
#include "cel/cel.h"
#include "doc/doc.h"

static double now_ns(void)
{
    struct timespec ts;
    /* CPU time of this thread: a shared, loaded machine does not inflate it */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char doc_text[] = BENCH_AUTHORIZATION_JSON;

static volatile int sink;

static void run(const char *expr, const doc *root, long n)
{
    cel_error err;
    cel_program *p = cel_compile(expr, strlen(expr), cel_authorino_vars, &err);
    if (!p) {
        fprintf(stderr, "%s: %s at column %d\n", expr, err.msg, err.column);
        return;
    }
    cel_arena a;
    cel_arena_init(&a, 0);
    cel_activation act = {&cel_doc_tree, root, NULL};
    cel_value v;
    long errors = 0;
    for (long i = 0; i < n / 10 + 1; i++) { /* warm the arena and caches */
        errors += cel_eval(p, &act, NULL, &a, &v, &err) != 0;
        cel_arena_reset(&a);
    }
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (cel_eval(p, &act, NULL, &a, &v, &err)) errors++;
        else sink ^= v.kind;
        cel_arena_reset(&a);
    }
    double dt = now_ns() - t0;
    printf("%8.1f ns/eval  %s%s\n", dt / (double)n, expr, errors ? "  (ERRORS)" : "");
    cel_arena_free(&a);
    cel_program_free(p);
}

/* The same predicate written directly against the document: the floor any evaluator
 * over it pays, to read the figures above against on a busy machine. */
static void floor_line(const doc *root, long n)
{
    long hits = 0;
    uint32_t hr = doc_hash("request", 7), hm = doc_hash("method", 6), hu = doc_hash("url_path", 8);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        const doc *r = doc_get_h(root, "request", 7, hr, NULL);
        size_t ml, ul;
        const char *m = doc_str(doc_get_h(r, "method", 6, hm, NULL), &ml);
        const char *u = doc_str(doc_get_h(r, "url_path", 8, hu, NULL), &ul);
        if (m && u)
            hits += ml == 3 && !memcmp(m, "GET", 3) && ul >= 4 && !memcmp(u, "/api", 4);
    }
    double dt = now_ns() - t0;
    sink ^= (int)hits;
    printf("%8.1f ns/eval  (the document by hand: 3 hashed lookups and 2 compares for the first predicate)\n", dt / (double)n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [evaluations]\n", argv[0]);
        return 2;
    }
    struct json_object *j = json_tokener_parse(doc_text);
    struct arena own;
    arena_init(&own, 0);
    int bad = 0;
    const doc *root = j ? doc_from_jsonc(&own, j, NULL, &bad) : NULL;
    json_object_put(j);
    if (!root || bad) return 1;
    if (argc > 2) {
        run(argv[2], root, n);
        arena_free(&own);
        return 0;
    }
    run("request.method == 'GET' && request.url_path.startsWith('/api')", root, n);
    floor_line(root, n);
    run("request.method == 'GET'", root, n);
    run("request.headers['x-tenant'].lowerAscii() in ['acme', 'globex']", root, n);
    run("auth.identity.metadata.annotations['secret.kuadrant.io/roles'].split(',').exists(r, r == 'admin')",
        root, n / 4);
    run("'Hello, ' + auth.identity.username", root, n);
    run("request.url_path.matches('^/api/v[0-9]+/')", root, n / 4);
    run("auth.identity.?email.orValue('none')", root, n);
    arena_free(&own);
    return 0;
}
