/* submit.c - the one request path: frontends reach it through
 * pc_host.submit, the CLI, the test suites and the benchmark through
 * submit_decide, which waits for the same verdict.
 *
 * A pipeline that may block first runs on the caller's (I/O) thread with
 * blocking forbidden when its AuthConfig allows that (try_inline); if an
 * evaluator then needs to block, the submission moves to the worker pool
 * and the pipeline continues at that evaluator. The request's scratch
 * values and Authorization JSON travel with it, so what the I/O thread
 * built is neither built nor counted again. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"
#include "plugin/hostimpl.h"
#include "request/authjson.h"
#include "snapshot/snapshot.h"
#include "submit.h"
#include "util/clock.h"
#include "util/log.h"
#include "workers.h"

struct pc_submission {
    snapshot *snap;
    const ac_config *cfg;
    struct json_object *root;
    reqctx rq;
    pipe_result r;
    pc_verdict v;
    pc_verdict_fn done;
    void *arg;
};

static atomic_int g_ready;
static atomic_int g_draining;
static int64_t g_default_timeout_ms;

void submit_set_ready(int ready)
{
    atomic_store(&g_ready, ready);
}

void submit_set_draining(int draining)
{
    atomic_store(&g_draining, draining);
}

/* What /readyz and the gRPC health check report: a draining server is no
 * longer ready, though it still decides what it already received. */
static int s_ready(void)
{
    return atomic_load(&g_ready) && !atomic_load(&g_draining);
}

static void sub_init(pc_submission *sub, int explain, pc_verdict_fn done, void *arg)
{
    memset(sub, 0, sizeof *sub);
    sub->done = done;
    sub->arg = arg;
    reqctx_init(&sub->rq, 0, NULL);
    pipe_result_init(&sub->r, explain);
}

/* Drops what only the pipeline needed; the verdict stays. */
static void sub_end_pipeline(pc_submission *sub)
{
    reqctx_clear(&sub->rq);
    json_object_put(sub->root);
    sub->root = NULL;
}

static void sub_clear(pc_submission *sub)
{
    sub_end_pipeline(sub);
    pipe_result_free(&sub->r);
    snapshot_unref(sub->snap);
    sub->snap = NULL;
}

static void finish(pc_submission *sub)
{
    sub_end_pipeline(sub);
    pipe_result *r = &sub->r;
    pc_verdict *v = &sub->v;
    v->struct_size = sizeof *v;
    v->allowed = r->allowed;
    v->grpc_code = r->grpc_code;
    v->http_status = r->http_status;
    v->headers = r->headers;
    v->n_headers = r->n_headers;
    v->body = pc_str_c(r->body);
    v->reason = pc_str_c(r->reason);
    v->dynamic_metadata = (const pc_value *)r->dynmeta;
    v->authconfig = pc_str_c(r->authconfig);
    if (plog_enabled(PC_LOG_DEBUG))
        plog(PC_LOG_DEBUG, "decision", "authconfig=%s allowed=%d code=%d status=%d reason=%s",
             r->authconfig ? r->authconfig : "-", r->allowed, r->grpc_code,
             r->http_status, r->reason ? r->reason : "");
    sub->done(sub->arg, sub, v);
}

static void deny(pc_submission *sub, int grpc_code, int http_status, const char *reason)
{
    pipe_result_deny(&sub->r, grpc_code, http_status, reason);
    finish(sub);
}

/* On a worker: runs the pipeline, or what is left of it, with blocking
 * allowed. */
static void run_blocking(void *arg)
{
    pc_submission *sub = arg;
    sub->rq.no_block = 0;
    if (reqctx_expired(&sub->rq))
        pipe_result_deny(&sub->r, PC_GRPC_UNAVAILABLE, 503, "");
    else
        pipe_run(sub->cfg, sub->root, &sub->rq, &sub->r);
    finish(sub);
}

/* Everything after the snapshot is known: host lookup, the Authorization
 * JSON, the pipeline inline or on a worker. Calls finish exactly once. */
static void sub_start(pc_submission *sub, const pc_request_view *view)
{
    if (!view->host.len && !view->method.len && !view->path.len) {
        deny(sub, PC_GRPC_INVALID_ARGUMENT, 400, "Invalid request");
        return;
    }
    sub->cfg = snapshot_lookup(sub->snap, view);
    if (!sub->cfg) {
        deny(sub, PC_GRPC_NOT_FOUND, 404, "Service not found");
        return;
    }
    sub->rq.deadline_ns = view->deadline_ns;
    if (view->struct_size >= offsetof(pc_request_view, cancel_arg) + sizeof(void *)) {
        sub->rq.cancel_fn = view->cancelled;
        sub->rq.cancel_arg = view->cancel_arg;
    }
    if (!sub->rq.deadline_ns && g_default_timeout_ms > 0)
        sub->rq.deadline_ns = clock_mono_ns() + g_default_timeout_ms * 1000000;
    sub->root = authjson_build(view, sub->cfg->needs_context);
    if (!sub->root) {
        deny(sub, PC_GRPC_UNAVAILABLE, 503, "");
        return;
    }
    if (!sub->cfg->may_block) {
        run_blocking(sub);
        return;
    }
    if (sub->cfg->try_inline) {
        sub->rq.no_block = 1;
        pipe_run(sub->cfg, sub->root, &sub->rq, &sub->r);
        if (!sub->r.again) {
            finish(sub);
            return;
        }
        /* r and root keep what ran; the worker continues from there. */
    }
    if (workers_post(run_blocking, sub) < 0)
        deny(sub, PC_GRPC_UNAVAILABLE, 503, "");
}

static void s_submit(const pc_request_view *view, pc_verdict_fn done, void *arg)
{
    pc_submission *sub = malloc(sizeof *sub);
    if (!sub) {
        /* Without memory there is no verdict object to hand out; a static
         * fail-closed one keeps the contract (done is called once). */
        static const pc_verdict oom = {sizeof(pc_verdict), 0, PC_GRPC_UNAVAILABLE, 503,
                                       NULL, 0, {"", 0}, {"", 0}, NULL, {"", 0}};
        done(arg, NULL, &oom);
        return;
    }
    sub_init(sub, 0, done, arg);
    sub->snap = snapshot_current();
    if (!sub->snap || !atomic_load(&g_ready)) {
        /* Authorino's answer while its index boots. */
        deny(sub, PC_GRPC_PERMISSION_DENIED, 503, "Busy");
        return;
    }
    sub_start(sub, view);
}

static void s_release(pc_submission *sub)
{
    if (!sub)
        return;
    sub_clear(sub);
    free(sub);
}

void submit_install(int64_t default_timeout_ms)
{
    g_default_timeout_ms = default_timeout_ms;
    host_frontend_ops ops = {s_submit, s_release, s_ready, metrics_render,
                             metrics_request};
    host_set_frontend_ops(&ops);
}

/* submit_decide's rendezvous with the verdict callback. A callback on the
 * caller's own thread (the pipeline decided inline) needs no lock; one on a
 * worker sets `done` under the mutex, so the waiter, which reads it under
 * the same mutex, never destroys a mutex still in use. */
typedef struct sync_wait {
    pthread_t caller;
    int inline_done;   /* written by the caller's thread only */
    int done;          /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} sync_wait;

static void sync_done(void *arg, pc_submission *sub, const pc_verdict *v)
{
    (void)sub;
    (void)v;
    sync_wait *w = arg;
    if (pthread_equal(pthread_self(), w->caller)) {
        w->inline_done = 1;
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void submit_decide(snapshot *s, const pc_request_view *view, int explain,
                   pipe_result *out)
{
    sync_wait w = {pthread_self(), 0, 0, PTHREAD_MUTEX_INITIALIZER,
                   PTHREAD_COND_INITIALIZER};
    pc_submission sub;
    sub_init(&sub, explain, sync_done, &w);
    sub.snap = s ? snapshot_ref(s) : NULL;
    if (!sub.snap)
        deny(&sub, PC_GRPC_NOT_FOUND, 404, "Service not found");
    else
        sub_start(&sub, view);
    if (!w.inline_done) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    /* The verdict points into sub.r; hand the result itself over. */
    *out = sub.r;
    pipe_result_init(&sub.r, 0);
    sub_clear(&sub);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}
