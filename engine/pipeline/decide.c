#include <string.h>
#include "decide.h"
#include "request/authjson.h"

void decide(const snapshot *s, const pc_request_view *view,
            int64_t deadline_ns, atomic_int *cancelled, pipe_result *r)
{
    if (!view->host.len && !view->method.len && !view->path.len) {
        pipe_result_deny(r, GRPC_INVALID_ARGUMENT, 400, "Invalid request");
        return;
    }
    const ac_config *cfg = s ? snapshot_lookup(s, view) : NULL;
    if (!cfg) {
        pipe_result_deny(r, GRPC_NOT_FOUND, 404, "Service not found");
        return;
    }
    struct json_object *root = authjson_build(view, cfg->needs_context);
    if (!root) {
        pipe_result_deny(r, GRPC_UNAVAILABLE, 503, "");
        return;
    }
    reqctx rq;
    reqctx_init(&rq, deadline_ns, cancelled);
    pipe_run(cfg, root, &rq, r);
    reqctx_clear(&rq);
    json_object_put(root);
}
