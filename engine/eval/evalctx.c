#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "evalctx.h"
#include "util/clock.h"

static atomic_size_t g_max_bytes = REQCTX_DEFAULT_MAX_BYTES;

void reqctx_set_max_bytes(size_t n)
{
    atomic_store(&g_max_bytes, n ? n : REQCTX_DEFAULT_MAX_BYTES);
}

size_t reqctx_max_bytes(void) { return atomic_load(&g_max_bytes); }

void reqctx_init(reqctx *rq, int64_t deadline_ns, atomic_int *cancelled)
{
    arena_init(&rq->mem, atomic_load_explicit(&g_max_bytes, memory_order_relaxed));
    rq->held = NULL;
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
    /* The holds live in the arena: drop the references before freeing it. */
    for (reqctx_hold *h = rq->held; h; h = h->next)
        doc_shared_unref(h->doc);
    rq->held = NULL;
    arena_free(&rq->mem);
}

int reqctx_hold_doc(reqctx *rq, doc_shared *s)
{
    reqctx_hold *h = arena_alloc(&rq->mem, sizeof *h);
    if (!h) {
        doc_shared_unref(s);
        return -1;
    }
    h->doc = s;
    h->next = rq->held;
    rq->held = h;
    return 0;
}

void evalctx_init(pc_eval *e, reqctx *rq, doc *root, const struct ac_eval *ev)
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

int evalctx_hold(pc_eval *e, doc_shared *s)
{
    if (!e || !e->rq) {
        doc_shared_unref(s);
        return -1;
    }
    return reqctx_hold_doc(e->rq, s);
}

char *evalctx_keep_bytes(pc_eval *e, const void *p, size_t n)
{
    char *copy = e && e->rq ? arena_alloc(&e->rq->mem, n + 1) : NULL;
    if (copy) {
        if (n)
            memcpy(copy, p, n);
        copy[n] = '\0';
    }
    return copy;
}

struct arena *evalctx_arena(const pc_eval *e)
{
    return e && e->rq ? &e->rq->mem : NULL;
}

static _Thread_local struct arena *t_current;

struct arena *evalctx_enter(struct arena *a)
{
    struct arena *was = t_current;
    t_current = a;
    return was;
}

struct arena *evalctx_current(void) { return t_current; }
