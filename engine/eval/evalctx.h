/* evalctx.h - per-request and per-evaluation state behind pc_eval. */
#ifndef PC_EVAL_EVALCTX_H
#define PC_EVAL_EVALCTX_H
#include <stdatomic.h>
#include <portcullis/host.h>
#include "doc/doc.h"

struct ac_eval;

/* Most bytes one request's values may take (the request document, outputs,
 * everything plugins build): the default of the server setting
 * limits.requestMemory. Past it, building a value fails and the request is
 * denied. */
#define REQCTX_DEFAULT_MAX_BYTES ((size_t)32 << 20)

/* A shared document the request points into (a cache entry): one
 * reference, dropped when the request ends. */
typedef struct reqctx_hold {
    struct reqctx_hold *next;
    doc_shared *doc;
} reqctx_hold;

/* What one request owns while its pipeline runs. Every value of the
 * request lives in `mem` and goes when the request ends, so a plugin can
 * never leak a value by forgetting it. */
typedef struct reqctx {
    struct arena mem;             /* the request's values */
    reqctx_hold *held;            /* shared documents it points into */
    int64_t deadline_ns;          /* CLOCK_MONOTONIC, 0 = none */
    atomic_int *cancelled;        /* set by the engine, may be NULL */
    int (*cancel_fn)(void *);     /* the frontend's hook, may be NULL */
    void *cancel_arg;
    int no_block;                 /* on an I/O thread: blocking work must wait */
    struct trace_req *trace;      /* the request's spans when traced, else NULL */
} reqctx;

struct pc_eval {
    doc *root;                    /* the Authorization JSON */
    reqctx *rq;
    const struct ac_eval *ev;     /* NULL for host-internal evaluations */
    const char *cred;
    size_t cred_len;
    const doc *output;            /* in the request (or shared, held by it) */
    char reason[512];
    int has_reason;
    int failed;                   /* a host service failed on this evaluation (a CEL
                                     expression erred): the evaluator errs */
};

/* Sets the byte limit of requests started from now on (0 = the default). */
void reqctx_set_max_bytes(size_t n);
size_t reqctx_max_bytes(void);

void reqctx_init(reqctx *rq, int64_t deadline_ns, atomic_int *cancelled);
/* 1 once the request was cancelled or its deadline passed. */
int reqctx_expired(const reqctx *rq);
/* Frees every value of the request and drops what it held. */
void reqctx_clear(reqctx *rq);
/* Hands one reference to s to the request (dropped by reqctx_clear).
 * -1 without memory: the reference is dropped at once and the caller must
 * not use s. */
int reqctx_hold_doc(reqctx *rq, doc_shared *s);

void evalctx_init(pc_eval *e, reqctx *rq, doc *root,
                  const struct ac_eval *ev);
/* Forgets the output (it stays in the request). */
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
/* Hands one reference to s to e's request (reqctx_hold_doc); without a
 * request, or without memory, drops it and returns -1. */
int evalctx_hold(pc_eval *e, doc_shared *s);
/* A NUL-terminated copy of n bytes in e's request (a response body a
 * service hands the plugin): valid until the request ends. NULL without a
 * request or past its memory limit. */
char *evalctx_keep_bytes(pc_eval *e, const void *p, size_t n);
/* The arena of e's request, or NULL for an evaluation without one. */
struct arena *evalctx_arena(const pc_eval *e);

/* The arena of the request (or the create) whose plugin code runs on this
 * thread, for the value services that take no pc_eval (value_set,
 * value_append, value_text). The engine sets it around every call into a
 * plugin; NULL outside one. Returns the previous one, to restore. */
struct arena *evalctx_enter(struct arena *a);
struct arena *evalctx_current(void);
#endif
