/* The request path (engine/server/submit.c), the one that serves traffic:
 * decisions made inline on the caller's thread, the hand-off to the worker
 * pool when an evaluator answers PC_AGAIN on its non-blocking try, the
 * resume at that evaluator (what ran before it runs and counts once),
 * deadlines, cancellation and failing closed on every error. The probe
 * test plugin (tests/plugins/probe) counts its calls per name. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "cu_main.h"
#include "metrics/metrics.h"
#include "pc_testutil.h"
#include "host/hostimpl.h"
#include "util/clock.h"

#define HDR(name)                                                          \
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"        \
    "metadata: {name: " name ", namespace: ns}\n"
#define REQ(host)                                                          \
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"" host "\","       \
    "\"method\":\"GET\",\"path\":\"/\"}}}}"

static void (*probe_count)(const char *, int *, int *);

static int setup(void)
{
    static int done;
    if (done)
        return 0;
    if (tu_load_plugins() < 0)
        return -1;
    if (loader_load_file(PC_PROBE_PLUGIN, NULL, NULL) < 0)
        return -1;
    /* The same object the loader opened: its counters are the probes'. */
    void *h = dlopen(PC_PROBE_PLUGIN, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return -1;
    *(void **)&probe_count = dlsym(h, "probe_count");
    done = probe_count != NULL;
    return done ? 0 : -1;
}

static int tries(const char *name)
{
    int t, c;
    probe_count(name, &t, &c);
    return t;
}

static int calls(const char *name)
{
    int t, c;
    probe_count(name, &t, &c);
    return c;
}

/* Loads yaml (must be clean) and decides the request along submit_decide. */
static snapshot *load(const char *yaml)
{
    tu_errors errs = {0};
    snapshot *s = tu_snapshot(yaml, &errs);
    for (int i = 0; i < errs.n; i++)
        fprintf(stderr, "  config: %s\n", errs.lines[i]);
    CU_ASSERT_EQUAL(errs.n, 0);
    return s;
}

static void decide(snapshot *s, const char *req, int explain, pipe_result *r)
{
    CU_ASSERT_EQUAL_FATAL(tu_decide(s, req, r, explain), 0);
}

/* The value of auth_server_evaluator_total for one evaluator name (its
 * evaluator_type depends on the phase: IDENTITY_PROBE, METADATA_PROBE, …). */
static long evaluator_total(const char *authconfig, const char *name)
{
    size_t len;
    char *text = metrics_render(&len);
    char ac[128], ev[128];
    snprintf(ac, sizeof ac, "authconfig=\"%s\",", authconfig);
    snprintf(ev, sizeof ev, "evaluator_name=\"%s\"} ", name);
    long v = -1;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (strncmp(line, "auth_server_evaluator_total{", 28) != 0)
            continue;
        char *a = memmem(line, n, ac, strlen(ac)), *e = memmem(line, n, ev, strlen(ev));
        if (a && e) {
            v = atol(e + strlen(ev));
            break;
        }
    }
    free(text);
    return v;
}

/* ---- the host's submit, with a verdict callback like a frontend's ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    pthread_t thread;       /* where done ran */
    pc_submission *sub;
    int allowed, grpc, http;
    char reason[256];
} waiter;

static void on_verdict(void *arg, pc_submission *sub, const pc_verdict *v)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->thread = pthread_self();
    w->sub = sub;
    w->allowed = v->allowed;
    w->grpc = v->grpc_code;
    w->http = v->http_status;
    snprintf(w->reason, sizeof w->reason, "%.*s", (int)v->reason.len, v->reason.ptr);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_init(waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

/* Waits at most 5 s; releases the submission. 0 on a verdict. */
static int waiter_wait(waiter *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    int done = w->done;
    pthread_mutex_unlock(&w->mu);
    if (done)
        host_table()->request_release(w->sub);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return done ? 0 : -1;
}

/* Makes s what pc_host.submit serves, as `serve` does after loading. */
static void serve(snapshot *s)
{
    submit_install(0);
    snapshot_install(snapshot_ref(s));
    submit_set_ready(1);
}

static void unserve(void)
{
    submit_set_ready(0);
    snapshot_install(NULL);
}

typedef struct parsed {
    checkjson cj;
} parsed;

static int parse(parsed *p, const char *req)
{
    char err[128];
    return checkjson_parse(req, strlen(req), &p->cj, err, sizeof err);
}

/* ---- before the server opens ---- */

/* pc_host.submit before submit_install (a frontend driven outside
 * `serve`): one fail-closed UNAVAILABLE verdict, no submission, not ready. */
static void test_before_install(void)
{
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("early.test")), 0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL(w.done, 1);
    CU_ASSERT_PTR_NULL(w.sub);
    CU_ASSERT_EQUAL(w.allowed, 0);
    CU_ASSERT_EQUAL(w.grpc, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(w.http, 503);
    CU_ASSERT_EQUAL(waiter_wait(&w), 0); /* releasing NULL is fine */
    CU_ASSERT_EQUAL(host_table()->ready(), 0);
    checkjson_free(&p.cj);
}

/* ---- inline ---- */

/* A pipeline that never blocks is decided on the submitting thread, before
 * submit returns, and needs no worker at all. */
static void test_inline(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("inl") "spec: {hosts: [inline.test], authorization: {ro: "
                       "{patternMatching: {patterns: [{selector: request.method, "
                       "operator: eq, value: GET}]}}}}");
    serve(s);
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("inline.test")), 0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL(w.done, 1); /* before submit returned */
    CU_ASSERT(pthread_equal(w.thread, pthread_self()));
    CU_ASSERT_EQUAL(w.allowed, 1);
    CU_ASSERT_EQUAL(w.grpc, PC_GRPC_OK);
    CU_ASSERT_EQUAL(waiter_wait(&w), 0);

    /* Without a worker pool: still decided. */
    workers_stop();
    pipe_result r;
    decide(s, REQ("inline.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 1);
    pipe_result_free(&r);
    workers_start(2);
    checkjson_free(&p.cj);
    unserve();
    snapshot_unref(s);
}

/* ---- the hand-off to the worker pool ---- */

/* PC_AGAIN on the non-blocking try moves the request to a worker, where
 * the same evaluator is called once more with blocking allowed; the
 * verdict arrives on that worker. */
static void test_handoff(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("hand") "spec: {hosts: [hand.test], authentication: {slow: "
                       "{probe: {counter: hand, again: true, sleep_ms: 20}}}}");
    serve(s);
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("hand.test")), 0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
    CU_ASSERT(!pthread_equal(w.thread, pthread_self()));
    CU_ASSERT_EQUAL(w.allowed, 1);
    CU_ASSERT_EQUAL(tries("hand"), 1);
    CU_ASSERT_EQUAL(calls("hand"), 1);

    /* The synchronous wrapper takes the same path and waits. */
    pipe_result r;
    decide(s, REQ("hand.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 1);
    CU_ASSERT_EQUAL(tries("hand"), 2);
    CU_ASSERT_EQUAL(calls("hand"), 2);
    pipe_result_free(&r);

    /* With no worker to take it, the request fails closed. */
    workers_stop();
    decide(s, REQ("hand.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(r.http_status, 503);
    pipe_result_free(&r);
    workers_start(2);
    checkjson_free(&p.cj);
    unserve();
    snapshot_unref(s);
}

/* A type that blocks without a non-blocking try is never called on the
 * submitting thread; with an engine cache in front, a hit is answered there
 * without a hop, and a miss goes to a worker that fills it. */
static void test_blocking_and_cache(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("blk") "spec:\n  hosts: [blk.test]\n"
                       "  authorization:\n"
                       "    b: {probeBlocking: {counter: blk}}\n");
    serve(s);
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("blk.test")), 0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
    CU_ASSERT(!pthread_equal(w.thread, pthread_self()));
    CU_ASSERT_EQUAL(w.allowed, 1);
    CU_ASSERT_EQUAL(tries("blk"), 0);
    CU_ASSERT_EQUAL(calls("blk"), 1);
    checkjson_free(&p.cj);
    unserve();
    snapshot_unref(s);

    s = load(HDR("blkc") "spec:\n  hosts: [blkc.test]\n  authorization:\n"
             "    b: {cache: {key: {selector: request.method}, ttl: 60}, "
             "probeBlocking: {counter: blkc}}\n");
    serve(s);
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("blkc.test")), 0);
    for (int round = 0; round < 2; round++) {
        waiter_init(&w);
        host_table()->submit(&p.cj.view, on_verdict, &w);
        CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
        CU_ASSERT_EQUAL(w.allowed, 1);
        /* The miss fills on a worker; the hit answers inline. */
        CU_ASSERT_EQUAL(pthread_equal(w.thread, pthread_self()) ? 1 : 0, round);
    }
    CU_ASSERT_EQUAL(tries("blkc"), 0);
    CU_ASSERT_EQUAL(calls("blkc"), 1);
    checkjson_free(&p.cj);
    unserve();
    snapshot_unref(s);
}

/* ---- the resume ---- */

static int trace_count(const pipe_result *r, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < r->n_trace; i++)
        if (strcmp(r->trace[i].name, name) == 0)
            n++;
    return n;
}

/* The worker continues at the evaluator that said PC_AGAIN: the ones before
 * it ran once (on the I/O thread), their outputs are still there for the
 * rest of the pipeline, and traces and metrics count each run once. */
static void test_resume(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(
        HDR("res") "spec:\n  hosts: [resume.test]\n"
        "  authentication: {id: {metrics: true, probe: {counter: r-id, output: alice}}}\n"
        "  metadata:\n"
        "    m1: {metrics: true, probe: {counter: r-m1, output: fact}}\n"
        "    m2: {metrics: true, probe: {counter: r-m2, again: true}}\n"
        "  authorization:\n"
        "    z1: {metrics: true, probe: {counter: r-z1}}\n"
        "    z2: {patternMatching: {patterns: [{selector: auth.identity, operator: eq, "
        "value: alice}, {selector: auth.metadata.m1, operator: eq, value: fact}]}}\n"
        "  response:\n    success:\n      headers:\n"
        "        x-r1: {metrics: true, probe: {counter: r-r1, output: one}}\n"
        "        x-r2: {metrics: true, probe: {counter: r-r2, again: true, output: two}}\n");
    pipe_result r;
    decide(s, REQ("resume.test"), 1, &r);
    CU_ASSERT_EQUAL(r.allowed, 1);
    /* Before the hand-off: tried inline, never again. */
    CU_ASSERT_EQUAL(tries("r-id"), 1);
    CU_ASSERT_EQUAL(calls("r-id"), 0);
    CU_ASSERT_EQUAL(tries("r-m1"), 1);
    CU_ASSERT_EQUAL(calls("r-m1"), 0);
    /* The one that handed off: tried, then called once on the worker. */
    CU_ASSERT_EQUAL(tries("r-m2"), 1);
    CU_ASSERT_EQUAL(calls("r-m2"), 1);
    /* After it: on the worker only. */
    CU_ASSERT_EQUAL(tries("r-z1"), 0);
    CU_ASSERT_EQUAL(calls("r-z1"), 1);
    CU_ASSERT_EQUAL(calls("r-r1"), 1);
    CU_ASSERT_EQUAL(calls("r-r2"), 1);
    const char *names[] = {"id", "m1", "m2", "z1", "z2", "x-r1", "x-r2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CU_ASSERT_EQUAL(trace_count(&r, names[i]), 1);
    CU_ASSERT_EQUAL(r.n_trace, 7);
    CU_ASSERT_EQUAL(tu_count_header(&r, "x-r1"), 1);
    CU_ASSERT_EQUAL(tu_count_header(&r, "x-r2"), 1);
    pipe_result_free(&r);
    CU_ASSERT_EQUAL(evaluator_total("res", "id"), 1);
    CU_ASSERT_EQUAL(evaluator_total("res", "m1"), 1);
    CU_ASSERT_EQUAL(evaluator_total("res", "m2"), 1);
    CU_ASSERT_EQUAL(evaluator_total("res", "z1"), 1);
    snapshot_unref(s);

    /* A hand-off in the response phase: the header added inline is sent
     * once. */
    s = load(HDR("resp") "spec:\n  hosts: [resp.test]\n"
             "  response:\n    success:\n      headers:\n"
             "        x-a: {probe: {counter: p-a, output: A}}\n"
             "        x-b: {probe: {counter: p-b, again: true, output: B}}\n");
    decide(s, REQ("resp.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 1);
    char v[64];
    CU_ASSERT_EQUAL(tu_count_header(&r, "x-a"), 1);
    CU_ASSERT_STRING_EQUAL(tu_header(&r, "x-a", v, sizeof v) ? v : "", "A");
    CU_ASSERT_STRING_EQUAL(tu_header(&r, "x-b", v, sizeof v) ? v : "", "B");
    CU_ASSERT_EQUAL(tries("p-a") + calls("p-a"), 1);
    pipe_result_free(&r);
    snapshot_unref(s);
}

/* Identity failures on the I/O thread are still part of the reason when
 * the identity that handed off fails too. */
static void test_resume_identity_errors(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("ide") "spec:\n  hosts: [ide.test]\n  authentication:\n"
                       "    one: {probe: {counter: one, result: deny}}\n"
                       "    two: {probe: {counter: two, again: true, result: deny}}\n");
    pipe_result r;
    decide(s, REQ("ide.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAUTHENTICATED);
    CU_ASSERT_EQUAL(r.http_status, 401);
    CU_ASSERT_STRING_EQUAL(r.reason ? r.reason : "",
                           "{\"one\":\"one said no\",\"two\":\"two said no\"}");
    CU_ASSERT_EQUAL(tries("one") + calls("one"), 1);
    CU_ASSERT_EQUAL(calls("two"), 1);
    pipe_result_free(&r);
    snapshot_unref(s);
}

/* ---- deadlines and cancellation ---- */

static void test_deadline(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("dl") "spec:\n  hosts: [dl.test]\n  authorization:\n"
                       "    slow: {probe: {counter: dl-slow, again: true, sleep_ms: 200}}\n"
                       "    after: {probe: {counter: dl-after}}\n");
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("dl.test")), 0);
    /* Passes while the worker waits: UNAVAILABLE, and nothing after runs. */
    int64_t t0 = clock_mono_ns();
    p.cj.view.deadline_ns = t0 + 50 * 1000000LL;
    pipe_result r;
    submit_decide(s, &p.cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(r.http_status, 503);
    CU_ASSERT_EQUAL(calls("dl-slow"), 1);
    CU_ASSERT_EQUAL(calls("dl-after"), 0);
    pipe_result_free(&r);
    /* Already passed: no evaluator runs at all. */
    p.cj.view.deadline_ns = 1;
    submit_decide(s, &p.cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(tries("dl-slow"), 1);
    CU_ASSERT_EQUAL(calls("dl-slow"), 1);
    pipe_result_free(&r);
    checkjson_free(&p.cj);
    snapshot_unref(s);
}

static atomic_int g_gone;

static int client_gone(void *arg)
{
    (void)arg;
    return atomic_load(&g_gone);
}

/* A client that goes away while its request waits on a worker: the
 * pipeline stops and denies. */
static void test_cancel(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("cx") "spec:\n  hosts: [cx.test]\n  authorization:\n"
                       "    slow: {probe: {counter: cx-slow, again: true, sleep_ms: 100}}\n"
                       "    after: {probe: {counter: cx-after}}\n");
    serve(s);
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("cx.test")), 0);
    p.cj.view.cancelled = client_gone;
    atomic_store(&g_gone, 0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    atomic_store(&g_gone, 1);
    CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
    CU_ASSERT_EQUAL(w.allowed, 0);
    CU_ASSERT_EQUAL(w.grpc, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(w.http, 503);
    CU_ASSERT_EQUAL(tries("cx-slow"), 1);
    CU_ASSERT_EQUAL(calls("cx-after"), 0);
    checkjson_free(&p.cj);
    unserve();
    snapshot_unref(s);
}

/* ---- failing closed ---- */

typedef struct fcase {
    const char *what, *spec;
    int grpc, http;
} fcase;

static void test_fail_closed(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    static const fcase cases[] = {
        {"identity error inline", "authentication: {i: {probe: {counter: f1, result: error}}}",
         PC_GRPC_UNAUTHENTICATED, 401},
        {"identity error on the worker",
         "authentication: {i: {probe: {counter: f2, again: true, result: error}}}",
         PC_GRPC_UNAUTHENTICATED, 401},
        {"identity returns a status that does not exist",
         "authentication: {i: {probe: {counter: f3, again: true, result: bogus}}}",
         PC_GRPC_UNAUTHENTICATED, 401},
        {"PC_AGAIN where blocking is allowed",
         "authorization: {z: {probe: {counter: f4, again: true, result: again}}}",
         PC_GRPC_PERMISSION_DENIED, 403},
        {"authorization returns a bogus status inline",
         "authorization: {z: {probe: {counter: f5, result: bogus}}}",
         PC_GRPC_PERMISSION_DENIED, 403},
        {"authorization denies on the worker",
         "authorization: {z: {probe: {counter: f6, again: true, result: deny}}}",
         PC_GRPC_PERMISSION_DENIED, 403},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, HDR("fc") "spec: {hosts: [fc.test], %s}",
                 cases[i].spec);
        snapshot *s = load(yaml);
        pipe_result r;
        decide(s, REQ("fc.test"), 0, &r);
        if (r.allowed || r.grpc_code != cases[i].grpc || r.http_status != cases[i].http)
            fprintf(stderr, "  [%s] allowed=%d grpc=%d http=%d\n", cases[i].what,
                    r.allowed, r.grpc_code, r.http_status);
        CU_ASSERT_EQUAL(r.allowed, 0);
        CU_ASSERT_EQUAL(r.grpc_code, cases[i].grpc);
        CU_ASSERT_EQUAL(r.http_status, cases[i].http);
        pipe_result_free(&r);
        snapshot_unref(s);
    }

    snapshot *s = load(HDR("fc2") "spec: {hosts: [fc2.test]}");
    pipe_result r;
    /* Unknown host, a request with nothing in it, no snapshot. */
    decide(s, REQ("nowhere.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_NOT_FOUND);
    CU_ASSERT_EQUAL(r.http_status, 404);
    pipe_result_free(&r);
    pc_request_view empty;
    memset(&empty, 0, sizeof empty);
    empty.struct_size = sizeof empty;
    submit_decide(s, &empty, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(r.http_status, 400);
    pipe_result_free(&r);
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("fc2.test")), 0);
    submit_decide(NULL, &p.cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_NOT_FOUND);
    pipe_result_free(&r);

    /* The host's submit: before the server is ready, and with no
     * AuthConfigs installed, it answers Busy. */
    submit_install(0);
    snapshot_install(snapshot_ref(s));
    submit_set_ready(0);
    waiter w;
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
    CU_ASSERT_EQUAL(w.allowed, 0);
    CU_ASSERT_EQUAL(w.http, 503);
    CU_ASSERT_STRING_EQUAL(w.reason, "Busy");
    submit_set_ready(1);
    snapshot_install(NULL);
    waiter_init(&w);
    host_table()->submit(&p.cj.view, on_verdict, &w);
    CU_ASSERT_EQUAL_FATAL(waiter_wait(&w), 0);
    CU_ASSERT_EQUAL(w.allowed, 0);
    CU_ASSERT_EQUAL(w.http, 503);
    submit_set_ready(0);
    checkjson_free(&p.cj);
    snapshot_unref(s);
}

/* The default timeout applies to requests without a deadline of their
 * own. */
static void test_default_timeout(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    snapshot *s = load(HDR("dt") "spec:\n  hosts: [dt.test]\n  authorization:\n"
                       "    slow: {probe: {counter: dt-slow, again: true, sleep_ms: 150}}\n");
    submit_install(30);
    pipe_result r;
    decide(s, REQ("dt.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    pipe_result_free(&r);
    /* A client deadline later than the server's timeout does not lift it
     * (grpc-timeout 5S against --timeout 30). */
    parsed p;
    CU_ASSERT_EQUAL_FATAL(parse(&p, REQ("dt.test")), 0);
    int64_t t0 = clock_mono_ns();
    p.cj.view.deadline_ns = t0 + 5000 * 1000000LL;
    submit_decide(s, &p.cj.view, 0, &r);
    int64_t took_ms = (clock_mono_ns() - t0) / 1000000;
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(r.http_status, 503);
    CU_ASSERT(took_ms < 1000);
    pipe_result_free(&r);
    /* An earlier client deadline still wins over a long server timeout. */
    submit_install(60000);
    t0 = clock_mono_ns();
    p.cj.view.deadline_ns = t0 + 30 * 1000000LL;
    submit_decide(s, &p.cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    pipe_result_free(&r);
    checkjson_free(&p.cj);
    submit_install(0);
    decide(s, REQ("dt.test"), 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 1);
    pipe_result_free(&r);
    snapshot_unref(s);
}

/* The min rule on its own: the earlier of the client's deadline and the
 * server's timeout, either one absent. */
static void test_deadline_min(void)
{
    const int64_t now = 1000 * 1000000LL, ms = 1000000;
    CU_ASSERT_EQUAL(submit_deadline(0, 0, now), 0);
    CU_ASSERT_EQUAL(submit_deadline(now + 5000 * ms, 0, now), now + 5000 * ms);
    CU_ASSERT_EQUAL(submit_deadline(0, 400, now), now + 400 * ms);
    CU_ASSERT_EQUAL(submit_deadline(now + 5000 * ms, 400, now), now + 400 * ms);
    CU_ASSERT_EQUAL(submit_deadline(now + 100 * ms, 400, now), now + 100 * ms);
    CU_ASSERT_EQUAL(submit_deadline(1, 400, now), 1); /* already due */
    CU_ASSERT_EQUAL(submit_deadline(now + 5 * ms, -1, now), now + 5 * ms);
    CU_ASSERT_EQUAL(submit_deadline(now + 5 * ms, INT64_MAX, now), now + 5 * ms);
    CU_ASSERT_EQUAL(submit_deadline(0, INT64_MAX, now), 0);
}

static int stop_workers(void)
{
    workers_stop();
    return 0;
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"submit before the server opens", test_before_install},
        {"inline decisions", test_inline},
        {"PC_AGAIN hands off to a worker", test_handoff},
        {"blocking types and the engine cache", test_blocking_and_cache},
        {"the worker resumes at the evaluator", test_resume},
        {"identity failures survive the hand-off", test_resume_identity_errors},
        {"deadlines", test_deadline},
        {"deadline is the earlier of client and server", test_deadline_min},
        {"cancellation", test_cancel},
        {"every error fails closed", test_fail_closed},
        {"default timeout", test_default_timeout},
        {NULL, NULL}};
    /* The pool stops with the suite, before exit handlers run: a worker
     * thread's cleanup (its HMAC context) must not outlive OpenSSL's. */
    CU_pSuite suite = CU_add_suite("submit", NULL, stop_workers);
    if (!suite)
        return -1;
    for (const cu_case *t = c; t->name; t++)
        if (!CU_add_test(suite, t->name, t->fn))
            return -1;
    return 0;
}
