/* pipeline.h - runs one AuthConfig's phases over one request. */
#ifndef PC_PIPELINE_PIPELINE_H
#define PC_PIPELINE_PIPELINE_H
#include <portcullis/request.h>
#include "config/authconfig.h"
#include "eval/evalctx.h"

/* One line of --explain output. */
typedef struct pipe_trace {
    pc_phase phase;
    const char *name;      /* evaluator name (borrowed from the config) */
    const char *type;      /* method */
    const char *outcome;   /* "ok", "deny", "error", "skipped", "cached", ... */
    int64_t ns;
    char reason[200];
} pipe_trace;

/* Where a pipeline stopped when an evaluator needed to block on an I/O
 * thread (pipe_result.again): pipe_run called again with the same result
 * and Authorization JSON continues at that evaluator, so the ones before it
 * neither run twice nor count twice in outputs, traces or metrics. */
typedef enum pipe_stage {
    PIPE_AT_WHEN = 0,  /* the AuthConfig's top-level when (start) */
    PIPE_AT_IDENTITY,
    PIPE_AT_METADATA,
    PIPE_AT_AUTHORIZATION,
    PIPE_AT_RESPONSE,
    PIPE_AT_CALLBACKS,
    PIPE_AT_END
} pipe_stage;

/* The sections of `auth` evaluators publish into (auth.identity aside). */
typedef enum pipe_section {
    PIPE_SEC_METADATA,
    PIPE_SEC_AUTHORIZATION,
    PIPE_SEC_RESPONSE,
    PIPE_SEC_CALLBACKS,
    PIPE_N_SECTIONS
} pipe_section;

typedef struct pipe_pos {
    pipe_stage stage;              /* the phase to run next */
    size_t next;                   /* its first evaluator still to run */
    int ok;                        /* identity, then authorization, passed */
    doc *id_errors;                /* identity failures so far, or NULL (in the request) */
    doc *auth;                     /* root's auth, once made */
    doc *sec[PIPE_N_SECTIONS];     /* its sections, once made */
} pipe_pos;

/* The decision, with every string owned by the result. */
typedef struct pipe_result {
    int allowed;
    int grpc_code;
    int http_status;
    pc_header *headers;
    size_t n_headers, cap_headers;
    char *body;
    char *reason;
    doc *dynmeta;                 /* object or NULL, in the request's memory (or mem) */
    const char *authconfig;       /* id, borrowed from the snapshot */
    const char *decider;          /* path of the evaluator that denied, borrowed */
    int explain;                  /* collect trace */
    int again;                    /* stopped: blocking work needed (no_block) */
    pipe_pos pos;                 /* where pipe_run continues after again */
    pipe_trace *trace;
    size_t n_trace, cap_trace;
    /* A result handed out of its request (submit_decide) takes the
     * request's memory along, so dynmeta stays valid; freed with it. */
    struct arena mem;
    reqctx_hold *held;
} pipe_result;

void pipe_result_init(pipe_result *r, int explain);
void pipe_result_free(pipe_result *r);
/* Fills r with a fixed denial (not found, invalid request, unavailable). */
void pipe_result_deny(pipe_result *r, int grpc_code, int http_status,
                      const char *reason);
int pipe_result_add_header(pipe_result *r, const char *name, size_t nlen,
                           const char *value, size_t vlen);

/* Runs cfg's pipeline with the Authorization JSON root (which it extends
 * with auth.*). Any error denies. When it returns with r->again set (an
 * evaluator must block while rq->no_block), call it again with the same
 * cfg, root and r once blocking is allowed: it resumes where it stopped. */
void pipe_run(const ac_config *cfg, doc *root, reqctx *rq,
              pipe_result *r);

#endif
