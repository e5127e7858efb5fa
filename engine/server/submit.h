/* submit.h - the engine's side of pc_host.submit: look the host up, build
 * the Authorization JSON on the caller's thread, run the pipeline inline or
 * on the worker pool, hand back a verdict. */
#ifndef PC_SERVER_SUBMIT_H
#define PC_SERVER_SUBMIT_H
#include <portcullis/host.h>

/* Installs submit/cancel/release/ready/metrics into the host table.
 * default_timeout_ms bounds pipelines without a deadline of their own. */
void submit_install(int64_t default_timeout_ms);
void submit_set_ready(int ready);
/* While draining, readiness reports 0 but requests are still decided. */
void submit_set_draining(int draining);
#endif
