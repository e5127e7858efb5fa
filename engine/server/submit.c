/* submit.c - the one request path: frontends reach it through
 * pc_host.submit, the CLI, the test suites and the benchmark through
 * submit_decide, which waits for the same verdict.
 *
 * A pipeline that may block first runs on the caller's (I/O) thread with
 * blocking forbidden when its AuthConfig allows that (try_inline); if an
 * evaluator then needs to block, the submission moves to the worker pool
 * and the pipeline continues at that evaluator. The request's memory
 * (its Authorization JSON and every value) travels with it, so what the
 * I/O thread built is neither built nor counted again. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"
#include "request/authjson.h"
#include "snapshot/snapshot.h"
#include "submit.h"
#include "trace/trace.h"
#include "util/clock.h"
#include "util/log.h"
#include "workers.h"
#include "util/str.h"

struct pc_submission {
    snapshot *snap;
    const ac_config *cfg;
    doc *root;      /* in rq.mem */
    reqctx rq;
    pipe_result r;
    pc_verdict v;
    pc_verdict_fn done;
    void *arg;
    char reqid[64]; /* for the decision log: x-request-id, else the http id */
};

static atomic_int g_ready;
static atomic_int g_draining;
static atomic_int g_installed; /* submit_install ran */
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
int submit_ready(void)
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

/* The verdict's dynamic metadata lives in the request's memory, so that
 * memory stays until the frontend releases the submission. */
static void sub_clear(pc_submission *sub)
{
    reqctx_clear(&sub->rq);
    sub->root = NULL;
    pipe_result_free(&sub->r);
    snapshot_unref(sub->snap);
    sub->snap = NULL;
}

/* ---- decision logs (Authorino's "outgoing authorization response") ---- */

#define LOG_AUTH "portcullis.service.auth"

static const char *const grpc_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

static pc_str find_header(const pc_request_view *v, const char *name, size_t n)
{
    for (size_t i = 0; i < v->n_headers; i++)
        if (str_ieq(v->headers[i].key.ptr, v->headers[i].key.len, name, n))
            return v->headers[i].value;
    return (pc_str){"", 0};
}

static void keep_request_id(pc_submission *sub, const pc_request_view *v)
{
    pc_str id = find_header(v, "x-request-id", 12);
    if (!id.len)
        id = v->id;
    size_t n = id.len < sizeof sub->reqid - 1 ? id.len : sizeof sub->reqid - 1;
    memcpy(sub->reqid, id.ptr, n);
    sub->reqid[n] = '\0';
}

/* q with the value of every sensitive field replaced, into out; returns
 * the length (cut at cap). */
static size_t redact_query(char *out, size_t cap, pc_str q)
{
    size_t o = 0;
    const size_t room = cap - sizeof PLOG_REDACTED - 1;
    const char *p = q.ptr, *end = q.ptr + q.len;
    while (p < end && o < room) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t klen = (size_t)((eq ? eq : stop) - p);
        int hide = eq && plog_field_sensitive(p, klen);
        size_t take = hide ? klen + 1 : (size_t)(stop - p);
        if (take > room - o)
            take = room - o;
        memcpy(out + o, p, take);
        o += take;
        if (hide) {
            memcpy(out + o, PLOG_REDACTED, sizeof PLOG_REDACTED - 1);
            o += sizeof PLOG_REDACTED - 1;
        }
        if (amp && o < room)
            out[o++] = '&';
        p = amp ? amp + 1 : end;
    }
    return o;
}

/* A path with its query redacted (the :path header carries both). */
static void log_path_header(plog_line *l, const char *key, pc_str v)
{
    char out[2048];
    const char *qm = memchr(v.ptr, '?', v.len);
    size_t plen = qm ? (size_t)(qm - v.ptr) : v.len;
    if (plen > sizeof out / 2)
        plen = sizeof out / 2;
    memcpy(out, v.ptr, plen);
    size_t o = plen;
    if (qm) {
        out[o++] = '?';
        o += redact_query(out + o, sizeof out - o, (pc_str){qm + 1, v.len - (size_t)(qm - v.ptr) - 1});
    }
    plog_kv_str(l, key, out, o);
}

static void log_query(plog_line *l, pc_str q)
{
    char out[2048];
    plog_kv_str(l, "query", out, redact_query(out, sizeof out, q));
}

/* Debug only: the request as it came, sensitive headers and fields
 * redacted, the body left out (it may carry anything). */
static void log_incoming(const pc_submission *sub, const pc_request_view *v)
{
    plog_line *l = plog_begin(PC_LOG_DEBUG, LOG_AUTH, "incoming authorization request");
    if (!l)
        return;
    plog_kv_str(l, "request id", sub->reqid, strlen(sub->reqid));
    plog_obj_open(l, "object");
    plog_obj_open(l, "source");
    plog_kv_str(l, "address", v->source.address.ptr, v->source.address.len);
    plog_kv_int(l, "port", v->source.port);
    plog_obj_close(l);
    plog_obj_open(l, "request");
    plog_obj_open(l, "http");
    plog_kv_str(l, "id", v->id.ptr, v->id.len);
    plog_kv_str(l, "method", v->method.ptr, v->method.len);
    plog_kv_str(l, "host", v->host.ptr, v->host.len);
    const char *qm = memchr(v->path.ptr, '?', v->path.len);
    size_t plen = qm ? (size_t)(qm - v->path.ptr) : v->path.len;
    plog_kv_str(l, "path", v->path.ptr, plen);
    if (qm)
        log_query(l, (pc_str){qm + 1, v->path.len - plen - 1});
    else if (v->query.len)
        log_query(l, v->query);
    plog_kv_str(l, "scheme", v->scheme.ptr, v->scheme.len);
    plog_obj_open(l, "headers");
    for (size_t i = 0; i < v->n_headers; i++) {
        char key[128];
        pc_str k = v->headers[i].key, val = v->headers[i].value;
        size_t kn = k.len < sizeof key - 1 ? k.len : sizeof key - 1;
        memcpy(key, k.ptr, kn);
        key[kn] = '\0';
        if (plog_header_sensitive(k.ptr, k.len))
            plog_kv_str(l, key, PLOG_REDACTED, sizeof PLOG_REDACTED - 1);
        else if (k.len == 5 && memcmp(k.ptr, ":path", 5) == 0)
            log_path_header(l, key, val);
        else
            plog_kv_str(l, key, val.ptr, val.len);
    }
    plog_obj_close(l);
    if (v->body.len || v->raw_body.len)
        plog_kv_str(l, "body", PLOG_REDACTED, sizeof PLOG_REDACTED - 1);
    plog_end(l);
}

/* One line per decision at info: who asked (request id), which AuthConfig,
 * the verdict, and on a denial which evaluator and why. The reason is what
 * the client is told anyway (x-ext-auth-reason), never a credential. */
static void log_decision(const pc_submission *sub)
{
    plog_line *l = plog_begin(PC_LOG_INFO, LOG_AUTH, "outgoing authorization response");
    if (!l)
        return;
    const pipe_result *r = &sub->r;
    plog_kv_str(l, "request id", sub->reqid, strlen(sub->reqid));
    if (r->authconfig) {
        const char *slash = strchr(r->authconfig, '/');
        if (slash) {
            plog_kv_str(l, "namespace", r->authconfig, (size_t)(slash - r->authconfig));
            plog_kv_str(l, "authconfig", slash + 1, strlen(slash + 1));
        } else {
            plog_kv_str(l, "authconfig", r->authconfig, strlen(r->authconfig));
        }
    }
    plog_kv_bool(l, "authorized", r->allowed);
    int code = r->grpc_code;
    const char *cn = code >= 0 && code <= 16 ? grpc_names[code] : "UNKNOWN";
    plog_kv_str(l, "response", cn, strlen(cn));
    if (!r->allowed) {
        plog_obj_open(l, "object");
        plog_kv_int(l, "code", code);
        plog_kv_int(l, "status", r->http_status);
        const char *why = r->reason ? r->reason : "";
        plog_kv_str(l, "message", why, strlen(why));
        if (r->decider)
            plog_kv_str(l, "evaluator", r->decider, strlen(r->decider));
        plog_obj_close(l);
    }
    plog_end(l);
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
    if (sub->rq.trace) {
        trace_end(sub->rq.trace, r->authconfig, r->allowed, r->grpc_code, r->http_status);
        sub->rq.trace = NULL;
    }
    log_decision(sub);
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
    if (plog_enabled(PC_LOG_INFO))
        keep_request_id(sub, view);
    if (plog_enabled(PC_LOG_DEBUG))
        log_incoming(sub, view);
    const int bad = !view->host.len && !view->method.len && !view->path.len;
    sub->cfg = bad ? NULL : snapshot_lookup(sub->snap, view);
    if (trace_on)
        sub->rq.trace = trace_begin(view, sub->cfg);
    if (bad) {
        deny(sub, PC_GRPC_INVALID_ARGUMENT, 400, "Invalid request");
        return;
    }
    if (!sub->cfg) {
        deny(sub, PC_GRPC_NOT_FOUND, 404, "Service not found");
        return;
    }
    if (view->struct_size >= offsetof(pc_request_view, cancel_arg) + sizeof(void *)) {
        sub->rq.cancel_fn = view->cancelled;
        sub->rq.cancel_arg = view->cancel_arg;
    }
    sub->rq.deadline_ns = submit_deadline(view->deadline_ns, g_default_timeout_ms,
                                          clock_mono_ns());
    sub->root = authjson_build(view, sub->cfg->needs_context, &sub->rq.mem);
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

void submit_request(const pc_request_view *view, pc_verdict_fn done, void *arg)
{
    if (!atomic_load(&g_installed)) {
        /* No engine behind the table (a frontend driven outside `serve`):
         * the contract still holds, with a fail-closed verdict. */
        static const pc_verdict unavailable = {sizeof(pc_verdict), 0, PC_GRPC_UNAVAILABLE,
                                               503, NULL, 0, {"", 0}, {"", 0}, NULL,
                                               {"", 0}};
        done(arg, NULL, &unavailable);
        return;
    }
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
        if (plog_enabled(PC_LOG_INFO))
            keep_request_id(sub, view);
        deny(sub, PC_GRPC_PERMISSION_DENIED, 503, "Busy");
        return;
    }
    sub_start(sub, view);
}

void submit_release(pc_submission *sub)
{
    if (!sub)
        return;
    sub_clear(sub);
    free(sub);
}

/* The server's timeout bounds every request, whatever deadline the client
 * brought (grpc-timeout, Envoy's expected timeout), as Authorino's
 * --timeout bounds the context of each check: the earlier of the two. */
int64_t submit_deadline(int64_t client_ns, int64_t timeout_ms, int64_t now_ns)
{
    if (timeout_ms <= 0)
        return client_ns;
    /* Past ~146 years of milliseconds the cap is no cap. */
    if (timeout_ms > (INT64_MAX - now_ns) / 1000000)
        return client_ns;
    int64_t cap = now_ns + timeout_ms * 1000000;
    return client_ns > 0 && client_ns < cap ? client_ns : cap;
}

void submit_install(int64_t default_timeout_ms)
{
    g_default_timeout_ms = default_timeout_ms;
    atomic_store(&g_installed, 1);
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
    /* The verdict points into sub.r; hand the result itself over, with the
     * request's memory that its dynamic metadata lives in. */
    *out = sub.r;
    out->mem = sub.rq.mem;
    out->held = sub.rq.held;
    arena_init(&sub.rq.mem, 0);
    sub.rq.held = NULL;
    pipe_result_init(&sub.r, 0);
    sub_clear(&sub);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}
