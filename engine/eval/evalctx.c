#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "evalctx.h"
#include "util/clock.h"

void reqctx_init(reqctx *rq, int64_t deadline_ns, atomic_int *cancelled)
{
    rq->scratch = NULL;
    rq->n_scratch = rq->cap_scratch = 0;
    rq->deadline_ns = deadline_ns;
    rq->cancelled = cancelled;
    rq->cancel_fn = NULL;
    rq->cancel_arg = NULL;
    rq->no_block = 0;
    rq->trace = NULL;
}

int reqctx_expired(const reqctx *rq)
{
    if (rq->cancelled && atomic_load(rq->cancelled))
        return 1;
    if (rq->cancel_fn && rq->cancel_fn(rq->cancel_arg))
        return 1;
    return rq->deadline_ns && clock_mono_ns() > rq->deadline_ns;
}

void reqctx_clear(reqctx *rq)
{
    for (size_t i = 0; i < rq->n_scratch; i++)
        json_object_put(rq->scratch[i]);
    free(rq->scratch);
    rq->scratch = NULL;
    rq->n_scratch = rq->cap_scratch = 0;
}

struct json_object *reqctx_keep(reqctx *rq, struct json_object *v)
{
    if (!v)
        return NULL;
    if (rq->n_scratch == rq->cap_scratch) {
        size_t cap = rq->cap_scratch ? rq->cap_scratch * 2 : 16;
        struct json_object **s = realloc(rq->scratch, cap * sizeof *s);
        if (!s) {
            /* Cannot track it: drop it rather than leak; callers see NULL. */
            json_object_put(v);
            return NULL;
        }
        rq->scratch = s;
        rq->cap_scratch = cap;
    }
    rq->scratch[rq->n_scratch++] = v;
    return v;
}

void evalctx_init(pc_eval *e, reqctx *rq, struct json_object *root,
                  const struct ac_eval *ev)
{
    e->root = root;
    e->rq = rq;
    e->ev = ev;
    e->cred = NULL;
    e->cred_len = 0;
    e->output = NULL;
    e->reason[0] = '\0';
    e->has_reason = 0;
    e->failed = 0;
}

void evalctx_done(pc_eval *e)
{
    json_object_put(e->output);
    e->output = NULL;
}

void evalctx_reason(pc_eval *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    e->has_reason = 1;
}

int64_t evalctx_deadline(const pc_eval *e)
{
    return e && e->rq ? e->rq->deadline_ns : 0;
}

int evalctx_expired(const pc_eval *e)
{
    return e && e->rq && reqctx_expired(e->rq);
}

int evalctx_has_reason(const pc_eval *e)
{
    return e && e->has_reason;
}

struct json_object *evalctx_keep(pc_eval *e, struct json_object *v)
{
    if (!e || !e->rq) {
        json_object_put(v);
        return NULL;
    }
    return reqctx_keep(e->rq, v);
}
