/* evalctx.h - per-request and per-evaluation state behind pc_eval. */
#ifndef PC_EVAL_EVALCTX_H
#define PC_EVAL_EVALCTX_H
#include <stdatomic.h>
#include <json-c/json.h>
#include <portcullis/host.h>

struct ac_eval;

/* What one request owns while its pipeline runs. Values plugins create are
 * kept in `scratch` (one reference each) and dropped when the request ends,
 * so a plugin can never leak a value by forgetting it. */
typedef struct reqctx {
    struct json_object **scratch;
    size_t n_scratch, cap_scratch;
    int64_t deadline_ns;          /* CLOCK_MONOTONIC, 0 = none */
    atomic_int *cancelled;        /* set by the engine, may be NULL */
    int (*cancel_fn)(void *);     /* the frontend's hook, may be NULL */
    void *cancel_arg;
    int no_block;                 /* on an I/O thread: blocking work must wait */
    struct trace_req *trace;      /* the request's spans when traced, else NULL */
} reqctx;

struct pc_eval {
    struct json_object *root;     /* the Authorization JSON */
    reqctx *rq;
    const struct ac_eval *ev;     /* NULL for host-internal evaluations */
    const char *cred;
    size_t cred_len;
    struct json_object *output;   /* one reference, owned */
    char reason[512];
    int has_reason;
    int failed;                   /* a host service failed on this evaluation (a CEL
                                     expression erred): the evaluator errs */
};

void reqctx_init(reqctx *rq, int64_t deadline_ns, atomic_int *cancelled);
/* 1 once the request was cancelled or its deadline passed. */
int reqctx_expired(const reqctx *rq);
/* Drops every scratch value. */
void reqctx_clear(reqctx *rq);
/* Registers a new reference in the request; returns v (NULL stays NULL). */
struct json_object *reqctx_keep(reqctx *rq, struct json_object *v);

void evalctx_init(pc_eval *e, reqctx *rq, struct json_object *root,
                  const struct ac_eval *ev);
/* Releases the output. */
void evalctx_done(pc_eval *e);
void evalctx_reason(pc_eval *e, const char *fmt, ...) PC_PRINTF(2, 3);

/* What services below the pipeline (cache, kube) may ask of an evaluation,
 * so they need not know its layout. Each accepts e NULL (an evaluation-free
 * call) or without a request. */
/* The request's deadline (CLOCK_MONOTONIC ns), 0 for none. */
int64_t evalctx_deadline(const pc_eval *e);
/* 1 once the request was cancelled or its deadline passed. */
int evalctx_expired(const pc_eval *e);
/* 1 once a reason was set for this evaluation. */
int evalctx_has_reason(const pc_eval *e);
/* Hands v to the request (see reqctx_keep); without one, drops v and
 * returns NULL. */
struct json_object *evalctx_keep(pc_eval *e, struct json_object *v);
#endif
