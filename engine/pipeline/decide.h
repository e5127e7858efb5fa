/* decide.h - one request from view to decision: host lookup, the
 * Authorization JSON, the pipeline. */
#ifndef PC_PIPELINE_DECIDE_H
#define PC_PIPELINE_DECIDE_H
#include <stdatomic.h>
#include "pipeline.h"
#include "snapshot/snapshot.h"

/* Decides for view with the AuthConfigs of s. deadline_ns/cancelled as in
 * reqctx. r must be initialised with pipe_result_init. */
void decide(const snapshot *s, const pc_request_view *view,
            int64_t deadline_ns, atomic_int *cancelled, pipe_result *r);
#endif
