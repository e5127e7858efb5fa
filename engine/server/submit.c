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
    atomic_int cancelled;
    int (*cancel_fn)(void *);
    void *cancel_arg;
    snapshot *snap;
    const ac_config *cfg;
    struct json_object *root;
    int64_t deadline_ns;
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

static void finish(pc_submission *sub)
{
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

static void run_pipeline(void *arg)
{
    pc_submission *sub = arg;
    reqctx rq;
    reqctx_init(&rq, sub->deadline_ns, &sub->cancelled);
    rq.cancel_fn = sub->cancel_fn;
    rq.cancel_arg = sub->cancel_arg;
    if (reqctx_expired(&rq))
        pipe_result_deny(&sub->r, GRPC_UNAVAILABLE, 503, "");
    else
        pipe_run(sub->cfg, sub->root, &rq, &sub->r);
    reqctx_clear(&rq);
    json_object_put(sub->root);
    sub->root = NULL;
    finish(sub);
}

/* Runs the pipeline on the caller's (I/O) thread with blocking forbidden.
 * Returns 1 when that decided; 0 when an evaluator needs to block, after
 * undoing what the partial run added, so a worker can run it again. */
static int try_inline(pc_submission *sub)
{
    reqctx rq;
    reqctx_init(&rq, sub->deadline_ns, &sub->cancelled);
    rq.cancel_fn = sub->cancel_fn;
    rq.cancel_arg = sub->cancel_arg;
    rq.no_block = 1;
    pipe_run(sub->cfg, sub->root, &rq, &sub->r);
    reqctx_clear(&rq);
    if (!sub->r.again) {
        json_object_put(sub->root);
        sub->root = NULL;
        finish(sub);
        return 1;
    }
    json_object_object_del(sub->root, "auth");
    pipe_result_free(&sub->r);
    pipe_result_init(&sub->r, 0);
    return 0;
}

static void s_submit(const pc_request_view *view, pc_verdict_fn done, void *arg)
{
    pc_submission *sub = calloc(1, sizeof *sub);
    if (!sub) {
        /* Without memory there is no verdict object to hand out; a static
         * fail-closed one keeps the contract (done is called once). */
        static const pc_verdict oom = {sizeof(pc_verdict), 0, GRPC_UNAVAILABLE, 503,
                                       NULL, 0, {"", 0}, {"", 0}, NULL, {"", 0}};
        done(arg, NULL, &oom);
        return;
    }
    sub->done = done;
    sub->arg = arg;
    pipe_result_init(&sub->r, 0);
    sub->snap = snapshot_current();
    if (!sub->snap || !atomic_load(&g_ready)) {
        /* Authorino's answer while its index boots. */
        pipe_result_deny(&sub->r, GRPC_PERMISSION_DENIED, 503, "Busy");
        finish(sub);
        return;
    }
    if (!view->host.len && !view->method.len && !view->path.len) {
        pipe_result_deny(&sub->r, GRPC_INVALID_ARGUMENT, 400, "Invalid request");
        finish(sub);
        return;
    }
    sub->cfg = snapshot_lookup(sub->snap, view);
    if (!sub->cfg) {
        pipe_result_deny(&sub->r, GRPC_NOT_FOUND, 404, "Service not found");
        finish(sub);
        return;
    }
    sub->deadline_ns = view->deadline_ns;
    if (view->struct_size >= offsetof(pc_request_view, cancel_arg) + sizeof(void *)) {
        sub->cancel_fn = view->cancelled;
        sub->cancel_arg = view->cancel_arg;
    }
    if (!sub->deadline_ns && g_default_timeout_ms > 0)
        sub->deadline_ns = clock_mono_ns() + g_default_timeout_ms * 1000000;
    sub->root = authjson_build(view, sub->cfg->needs_context);
    if (!sub->root) {
        pipe_result_deny(&sub->r, GRPC_UNAVAILABLE, 503, "");
        finish(sub);
        return;
    }
    if (!sub->cfg->may_block) {
        run_pipeline(sub);
        return;
    }
    if (sub->cfg->try_inline && try_inline(sub))
        return;
    if (workers_post(run_pipeline, sub) < 0) {
        json_object_put(sub->root);
        sub->root = NULL;
        pipe_result_deny(&sub->r, GRPC_UNAVAILABLE, 503, "");
        finish(sub);
    }
}

static void s_release(pc_submission *sub)
{
    if (!sub)
        return;
    pipe_result_free(&sub->r);
    json_object_put(sub->root);
    snapshot_unref(sub->snap);
    free(sub);
}

void submit_install(int64_t default_timeout_ms)
{
    g_default_timeout_ms = default_timeout_ms;
    host_frontend_ops ops = {s_submit, s_release, s_ready, metrics_render,
                             metrics_request};
    host_set_frontend_ops(&ops);
}
