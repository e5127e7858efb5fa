/* pipeline.h - runs one AuthConfig's phases over one request. */
#ifndef PC_PIPELINE_PIPELINE_H
#define PC_PIPELINE_PIPELINE_H
#include <json-c/json.h>
#include <portcullis/request.h>
#include "config/authconfig.h"
#include "evalctx.h"

/* One line of --explain output. */
typedef struct pipe_trace {
    pc_phase phase;
    const char *name;      /* evaluator name (borrowed from the config) */
    const char *type;      /* method */
    const char *outcome;   /* "ok", "deny", "error", "skipped", "cached", ... */
    int64_t ns;
    char reason[200];
} pipe_trace;

/* The decision, with every string owned by the result. */
typedef struct pipe_result {
    int allowed;
    int grpc_code;
    int http_status;
    pc_header *headers;
    size_t n_headers, cap_headers;
    char *body;
    char *reason;
    struct json_object *dynmeta;  /* object or NULL (owned reference) */
    const char *authconfig;       /* id, borrowed from the snapshot */
    int explain;                  /* collect trace */
    int again;                    /* stopped: blocking work needed (no_block) */
    pipe_trace *trace;
    size_t n_trace, cap_trace;
} pipe_result;

void pipe_result_init(pipe_result *r, int explain);
void pipe_result_free(pipe_result *r);
/* Fills r with a fixed denial (not found, invalid request, unavailable). */
void pipe_result_deny(pipe_result *r, int grpc_code, int http_status,
                      const char *reason);
int pipe_result_add_header(pipe_result *r, const char *name, size_t nlen,
                           const char *value, size_t vlen);

/* Runs cfg's pipeline with the Authorization JSON root (which it extends
 * with auth.*). Any error denies. */
void pipe_run(const ac_config *cfg, struct json_object *root, reqctx *rq,
              pipe_result *r);

/* google.rpc.Code values used in verdicts. */
enum {
    GRPC_OK = 0,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_NOT_FOUND = 5,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_UNAVAILABLE = 14,
    GRPC_UNAUTHENTICATED = 16
};
#endif
