/* submit.h - the engine's one request path: look the host up, build the
 * Authorization JSON on the caller's thread, run the pipeline inline or on
 * the worker pool (continuing where the inline run stopped), hand back a
 * verdict. */
#ifndef PC_SERVER_SUBMIT_H
#define PC_SERVER_SUBMIT_H
#include <portcullis/host.h>
#include "pipeline/pipeline.h"
#include "snapshot/snapshot.h"

/* Opens the request path that pc_host.submit leads to (before it, every
 * submission gets UNAVAILABLE). default_timeout_ms (0 = none) bounds
 * every pipeline: one with a later deadline of its own, or none, gets
 * UNAVAILABLE once that many ms have passed. */
void submit_install(int64_t default_timeout_ms);
/* The deadline a pipeline runs to: client_ns (CLOCK_MONOTONIC, 0 = none)
 * or now_ns + timeout_ms (timeout_ms <= 0: none), whichever comes first. */
int64_t submit_deadline(int64_t client_ns, int64_t timeout_ms, int64_t now_ns);
/* pc_host.submit, .request_release and .ready (host.c wires them). */
void submit_request(const pc_request_view *view, pc_verdict_fn done, void *arg);
void submit_release(pc_submission *sub);
int submit_ready(void);
void submit_set_ready(int ready);

/* Decides view with the AuthConfigs of s along the same path as
 * pc_host.submit (deadline and cancel hook from the view, blocking work on
 * the worker pool, which must be running for pipelines that block) and
 * waits for the verdict. *out receives the decision, with the evaluator
 * trace when explain; free it with pipe_result_free while s is still held
 * (out->authconfig, the trace's names and values of out->dynmeta, such as
 * static `value`s, may be the snapshot's). out takes the request's memory
 * along, so out->dynmeta stays valid until then. s NULL denies
 * with NOT_FOUND. Does not consult readiness or the current snapshot. */
void submit_decide(snapshot *s, const pc_request_view *view, int explain,
                   pipe_result *out);
/* While draining, readiness reports 0 but requests are still decided. */
void submit_set_draining(int draining);
#endif
