/* Conditions on the request document (engine/doc): two CEL predicates read
 * through cel_doc_jsonc (a json-c tree) and cel_doc_tree (the document),
 * and a pattern `eq` through cond_eval, on the same Authorization JSON. Times are the thread's CPU time; for instruction
 * counts run one case under callgrind at two counts and divide the
 * difference (docs/performance.md).
 * Usage: bench_docpath [evaluations [case]]   case: one name of the table */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "bench_request.h"
#include "cel/cel.h"
#include "config/cfgerr.h"
#include "config/cond.h"
#include "doc/doc.h"

static const char doc_text[] = BENCH_AUTHORIZATION_JSON;

static struct json_object *g_json;
static const doc *g_doc;
static volatile int sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct bcase {
    const char *name;
    const char *cel;     /* a CEL predicate, or NULL */
    const char *pattern; /* a pattern list (JSON), or NULL */
    int on_doc;
} bcase;

static const bcase cases[] = {
    {"cel-method-jsonc", "request.method == 'GET'", NULL, 0},
    {"cel-method-doc", "request.method == 'GET'", NULL, 1},
    {"cel-tier-jsonc", "auth.identity.metadata.labels.tier != 'banned'", NULL, 0},
    {"cel-tier-doc", "auth.identity.metadata.labels.tier != 'banned'", NULL, 1},
    {"cond-eq-doc", NULL, "[{\"selector\":\"request.method\",\"operator\":\"eq\",\"value\":\"GET\"}]", 1},
    {NULL, NULL, NULL, 0}};

static void on_error(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

/* ns per evaluation, or -1 when the case did not compile or did not hold. */
static double run(const bcase *c, long n)
{
    cel_program *p = NULL;
    pc_cond *cond = NULL;
    if (c->cel) {
        cel_error err;
        if (!(p = cel_compile(c->cel, strlen(c->cel), cel_authorino_vars, &err)))
            return -1;
        /* each program prepared for the document it reads, as each engine would */
        cel_program_prepare(p, c->on_doc ? &cel_doc_tree : &cel_doc_jsonc);
    } else {
        cfgerr ce = {.file = "bench", .doc_line = 1, .on_error = on_error};
        struct json_object *list = json_tokener_parse(c->pattern);
        cond = cond_compile(list, "spec.when", NULL, &ce);
        json_object_put(list);
        if (!cond)
            return -1;
    }
    cel_arena a;
    cel_arena_init(&a, 0);
    struct arena req;
    arena_init(&req, 0);
    cel_activation act = {c->on_doc ? &cel_doc_tree : &cel_doc_jsonc,
                          c->on_doc ? (const void *)g_doc : (const void *)g_json, NULL};
    char why[256];
    long wrong = 0;
    double t0 = 0;
    for (long i = -(n / 10 + 1); i < n; i++) { /* the first tenth warms caches and arenas */
        if (i == 0)
            t0 = now_ns();
        int r;
        if (p) {
            cel_error err;
            r = cel_eval_predicate(p, &act, NULL, &a, &err);
        } else {
            r = cond_eval(cond, g_doc, &req, why, sizeof why);
            arena_reset(&req);
        }
        wrong += r != 1;
    }
    double dt = now_ns() - t0;
    sink ^= (int)wrong;
    cel_program_free(p);
    cond_free(cond);
    cel_arena_free(&a);
    arena_free(&req);
    return wrong ? -1 : dt / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [evaluations [case]]\n", argv[0]);
        return 2;
    }
    struct arena own;
    arena_init(&own, 0);
    int err = 0;
    g_json = json_tokener_parse(doc_text);
    g_doc = g_json ? doc_from_jsonc(&own, g_json, NULL, &err) : NULL;
    if (!g_doc || err)
        return 1;
    int rc = 0, found = 0;
    for (const bcase *c = cases; c->name; c++) {
        if (argc > 2 && strcmp(argv[2], c->name))
            continue;
        found = 1;
        double ns = run(c, n);
        if (ns < 0) {
            fprintf(stderr, "%s: did not compile or did not hold\n", c->name);
            rc = 1;
            continue;
        }
        printf("%8.1f ns/eval  %-17s %s\n", ns, c->name, c->cel ? c->cel : c->pattern);
    }
    if (!found) {
        fprintf(stderr, "no case %s\n", argv[2]);
        rc = 2;
    }
    json_object_put(g_json);
    arena_free(&own);
    return rc;
}
