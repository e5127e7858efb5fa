/* trace.c - the request side of tracing: the request span from the
 * incoming traceparent, the evaluator spans, and the context outgoing
 * requests carry. Runs on I/O and worker threads; the only shared state it
 * touches is the queue it hands finished traces to. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "config/authconfig.h"
#include "trace_int.h"
#include "util/clock.h"
#include "util/thread_exit.h"

int trace_on;
uint64_t trace_ratio_bound = UINT64_MAX; /* every request without a parent */

/* Ids need to be unique, not secret: xorshift128+ per thread, seeded from
 * the kernel once. */
static _Thread_local uint64_t t_rng[2];

static uint64_t rng_next(void)
{
    if (!(t_rng[0] | t_rng[1])) {
        if (getrandom(t_rng, sizeof t_rng, 0) != sizeof t_rng || !(t_rng[0] | t_rng[1])) {
            t_rng[0] = (uint64_t)clock_real_ns() | 1;
            t_rng[1] = (uint64_t)(uintptr_t)&t_rng ^ 0x9e3779b97f4a7c15ull;
        }
    }
    uint64_t x = t_rng[0];
    const uint64_t y = t_rng[1];
    t_rng[0] = y;
    x ^= x << 23;
    t_rng[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return t_rng[1] + y;
}

static void rand_id(uint8_t *out, size_t n)
{
    do {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = rng_next();
            memcpy(out + i, &r, n - i < 8 ? n - i : 8);
        }
    } while (trace_id_is_zero(out, n));
}

static _Thread_local trace_req *t_cache[TRACE_CACHE];
static _Thread_local size_t t_ncache;
static _Thread_local int t_cache_hooked;

static void cache_free(void *arg)
{
    (void)arg;
    while (t_ncache)
        free(t_cache[--t_ncache]);
}

trace_req *trace_cache_take(void)
{
    return t_ncache ? t_cache[--t_ncache] : NULL;
}

int trace_cache_put(trace_req *t)
{
    if (t_ncache == TRACE_CACHE)
        return -1;
    if (!t_cache_hooked)
        t_cache_hooked = thread_at_exit(cache_free, NULL) == 0 ? 1 : -1;
    if (t_cache_hooked < 0)
        return -1; /* nothing would free it when the thread ends */
    t_cache[t_ncache++] = t;
    return 0;
}

size_t trace_cache_room(void)
{
    return t_cache_hooked < 0 ? 0 : TRACE_CACHE - t_ncache;
}

static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int is_header(const pc_kv *h, const char *name, size_t n)
{
    return h->key.len == n && memcmp(h->key.ptr, name, n) == 0;
}

trace_req *trace_begin(const pc_request_view *v, const ac_config *cfg)
{
    const pc_str *tp = NULL, *ts = NULL, *xr = NULL;
    for (size_t i = 0; i < v->n_headers; i++) {
        const pc_kv *h = &v->headers[i];
        if (is_header(h, "traceparent", 11))
            tp = &h->value;
        else if (is_header(h, "tracestate", 10))
            ts = &h->value;
        else if (is_header(h, "x-request-id", 12))
            xr = &h->value;
    }
    trace_ctx parent;
    const int has_parent = tp && trace_parse_traceparent(tp->ptr, tp->len, &parent) == 0;
    /* Sampled by parent: a parent that does not record is followed. */
    if (has_parent && !(parent.flags & TRACE_FLAG_SAMPLED))
        return NULL;
    trace_ctx ctx;
    if (has_parent) {
        memcpy(ctx.trace_id, parent.trace_id, sizeof ctx.trace_id);
    } else {
        rand_id(ctx.trace_id, sizeof ctx.trace_id);
        uint64_t low = 0;
        for (int i = 8; i < 16; i++)
            low = low << 8 | ctx.trace_id[i];
        if ((low >> 1) >= trace_ratio_bound)
            return NULL;
    }
    rand_id(ctx.span_id, sizeof ctx.span_id);
    ctx.flags = TRACE_FLAG_SAMPLED;
    /* A tracestate that is not valid is dropped; the parent stays. */
    size_t tslen = has_parent && ts && ts->len &&
                   trace_check_tracestate(ts->ptr, ts->len) == 0 ? ts->len : 0;
    size_t n = 0;
    if (cfg)
        for (int p = 0; p < PC_PHASE_COUNT_; p++)
            n += cfg->n_evs[p];
    trace_req *t;
    int pooled = n <= TRACE_POOL_SLOTS;
    if (pooled) {
        n = TRACE_POOL_SLOTS;
        if (!(t = trace_cache_take()))
            t = malloc(TRACE_POOL_BYTES);
    } else {
        t = malloc(sizeof *t + n * sizeof(trace_span) + tslen + 1);
    }
    if (!t)
        return NULL;
    t->next = NULL;
    t->pooled = pooled;
    t->ctx = ctx;
    t->has_parent = has_parent;
    if (has_parent)
        memcpy(t->parent, parent.span_id, sizeof t->parent);
    t->start_ns = clock_real_ns();
    t->end_ns = 0;
    t->allowed = 0;
    t->grpc_code = 0;
    t->http_status = 0;
    t->cur = -1;
    t->n_spans = 0;
    t->cap_spans = n;
    copy_str(t->host, sizeof t->host, v->host.ptr, v->host.len);
    t->authconfig[0] = '\0';
    if (xr) {
        copy_str(t->x_request_id, sizeof t->x_request_id, xr->ptr, xr->len);
        copy_str(t->request_id, sizeof t->request_id, xr->ptr, xr->len);
    } else {
        t->x_request_id[0] = '\0';
        copy_str(t->request_id, sizeof t->request_id, v->id.ptr, v->id.len);
    }
    char *state = (char *)&t->spans[n];
    if (tslen)
        memcpy(state, ts->ptr, tslen);
    state[tslen] = '\0';
    t->tracestate = state;
    return t;
}

int trace_eval_begin(trace_req *t, const ac_eval *ev)
{
    if (t->n_spans == t->cap_spans)
        return -1;
    int slot = (int)t->n_spans++;
    trace_span *s = &t->spans[slot];
    rand_id(s->span_id, sizeof s->span_id);
    s->phase = ev->phase;
    s->outcome = "";
    copy_str(s->path, sizeof s->path, ev->path, strlen(ev->path));
    copy_str(s->name, sizeof s->name, ev->name, strlen(ev->name));
    const char *m = ev->type->t.name;
    copy_str(s->method, sizeof s->method, m, strlen(m));
    s->why[0] = '\0';
    s->end_ns = 0;
    s->start_ns = clock_real_ns();
    t->cur = slot;
    return slot;
}

void trace_eval_end(trace_req *t, int slot, const char *outcome, const char *why)
{
    t->cur = -1;
    if (slot < 0)
        return;
    trace_span *s = &t->spans[slot];
    s->end_ns = clock_real_ns();
    s->outcome = outcome;
    if (why)
        copy_str(s->why, sizeof s->why, why, strlen(why));
}

void trace_eval_abandon(trace_req *t, int slot)
{
    t->cur = -1;
    if (slot >= 0 && (size_t)slot + 1 == t->n_spans)
        t->n_spans--;
}

void trace_end(trace_req *t, const char *authconfig, int allowed, int grpc_code,
               int http_status)
{
    t->end_ns = clock_real_ns();
    t->cur = -1;
    if (authconfig)
        copy_str(t->authconfig, sizeof t->authconfig, authconfig, strlen(authconfig));
    t->allowed = allowed;
    t->grpc_code = grpc_code;
    t->http_status = http_status;
    trace_queue_push(t);
}

size_t trace_outgoing(const trace_req *t, char *out, const char **state)
{
    trace_ctx c = t->ctx;
    if (t->cur >= 0)
        memcpy(c.span_id, t->spans[t->cur].span_id, sizeof c.span_id);
    *state = t->tracestate;
    return trace_format_traceparent(&c, out);
}
