/* pipeline.c - Authorino's pipeline semantics (reference/authorino.md §2,
 * §4), failing closed where Authorino fails open:
 *  - a top-level `when` that errors denies (Authorino allows);
 *  - an evaluator `when` that errors counts as that evaluator failing
 *    (Authorino skips it, and a skipped authorization passes).
 *  - a metadata evaluator that fails denies (Authorino leaves it out).
 * Evaluators of one priority group run one after another in document
 * order, so the identity that wins is deterministic. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cache/cache.h"
#include "config/cond.h"
#include "config/vos.h"
#include "util/str.h"
#include "credentials.h"
#include "metrics/metrics.h"
#include "pipeline.h"
#include "selector/selector.h"
#include "trace/trace.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

void pipe_result_init(pipe_result *r, int explain)
{
    memset(r, 0, sizeof *r);
    r->explain = explain;
}

static void clear_headers(pipe_result *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free((char *)r->headers[i].name.ptr);
        free((char *)r->headers[i].value.ptr);
    }
    r->n_headers = 0;
}

void pipe_result_free(pipe_result *r)
{
    clear_headers(r);
    free(r->headers);
    free(r->body);
    free(r->reason);
    free(r->trace);
    for (reqctx_hold *h = r->held; h; h = h->next)
        doc_shared_unref(h->doc);
    arena_free(&r->mem);
    memset(r, 0, sizeof *r);
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int pipe_result_add_header(pipe_result *r, const char *name, size_t nlen,
                           const char *value, size_t vlen)
{
    if (r->n_headers == r->cap_headers) {
        size_t cap = r->cap_headers ? r->cap_headers * 2 : 4;
        pc_header *h = realloc(r->headers, cap * sizeof *h);
        if (!h)
            return -1;
        r->headers = h;
        r->cap_headers = cap;
    }
    char *n = dupn(name, nlen), *v = dupn(value, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    /* HTTP/2 and gRPC need lowercase header names. */
    str_lower(n, n, nlen);
    r->headers[r->n_headers].name = (pc_str){n, nlen};
    r->headers[r->n_headers].value = (pc_str){v, vlen};
    r->n_headers++;
    return 0;
}

static void set_reason(pipe_result *r, const char *reason)
{
    free(r->reason);
    r->reason = strdup(reason ? reason : "");
}

void pipe_result_deny(pipe_result *r, int grpc_code, int http_status,
                      const char *reason)
{
    clear_headers(r);
    r->allowed = 0;
    r->grpc_code = grpc_code;
    r->http_status = http_status;
    set_reason(r, reason);
    if (reason && *reason)
        pipe_result_add_header(r, "x-ext-auth-reason", 17, reason, strlen(reason));
    r->dynmeta = NULL;
}

static void trace(pipe_result *r, const ac_eval *ev, const char *outcome,
                  int64_t ns, const char *reason)
{
    if (!r->explain)
        return;
    if (r->n_trace == r->cap_trace) {
        size_t cap = r->cap_trace ? r->cap_trace * 2 : 8;
        pipe_trace *t = realloc(r->trace, cap * sizeof *t);
        if (!t)
            return;
        r->trace = t;
        r->cap_trace = cap;
    }
    pipe_trace *t = &r->trace[r->n_trace++];
    t->phase = ev->phase;
    t->name = ev->name;
    t->type = ev->type->t.name;
    t->outcome = outcome;
    t->ns = ns;
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
}

/* The keys the pipeline writes: literals, hashed once. */
static struct {
    uint32_t auth, identity, sec[PIPE_N_SECTIONS];
} g_keys;
static const char *const sec_name[PIPE_N_SECTIONS] = {"metadata", "authorization",
                                                      "response", "callbacks"};
static pthread_once_t g_keys_once = PTHREAD_ONCE_INIT;

static void keys_init(void)
{
    g_keys.auth = doc_hash("auth", 4);
    g_keys.identity = doc_hash("identity", 8);
    for (int i = 0; i < PIPE_N_SECTIONS; i++)
        g_keys.sec[i] = doc_hash(sec_name[i], strlen(sec_name[i]));
}

/* auth of root, made on first use and remembered in r->pos (a resumed run
 * finds it there). Keys are string literals or evaluator names, which the
 * snapshot keeps alive longer than any request: they are not copied. NULL
 * when the request is out of memory. */
static doc *auth_of(doc *root, struct arena *a, pipe_result *r)
{
    if (r->pos.auth)
        return r->pos.auth;
    doc *auth = doc_new_object(a, 6);
    if (!auth || doc_set_ref(a, root, "auth", 4, g_keys.auth, auth))
        return NULL;
    return r->pos.auth = auth;
}

/* auth.identity = id; -1 when the request is out of memory. */
static int publish_identity(doc *root, struct arena *a, pipe_result *r, const doc *id)
{
    doc *auth = auth_of(root, a, r);
    return auth ? doc_set_ref(a, auth, "identity", 8, g_keys.identity, id) : -1;
}

/* auth.<section>.<ev's name> = out; -1 when the request is out of memory. */
static int publish(doc *root, struct arena *a, pipe_result *r, pipe_section s,
                   const ac_eval *ev, const doc *out)
{
    doc *sec = r->pos.sec[s];
    if (!sec) {
        doc *auth = auth_of(root, a, r);
        if (!auth || !(sec = doc_new_object(a, 0)) ||
            doc_set_ref(a, auth, sec_name[s], strlen(sec_name[s]), g_keys.sec[s], sec))
            return -1;
        r->pos.sec[s] = sec;
    }
    return doc_set_ref(a, sec, ev->name, strlen(ev->name), ev->name_hash, out);
}

static int expired(const reqctx *rq)
{
    return reqctx_expired(rq);
}

/* Runs the plugin; the cache fill callback and the uncached path share it. */
static pc_status call_plugin(void *arg, pc_eval *e, pc_value **out,
                             int64_t *ttl_ms)
{
    const ac_eval *ev = arg;
    (void)ttl_ms;
    struct arena *was = evalctx_enter(&e->rq->mem);
    pc_status st = ev->type->t.evaluate(ev->inst, e);
    evalctx_enter(was);
    /* PC_AGAIN is only an answer while blocking is not allowed. */
    if (st != PC_OK && st != PC_DENY && !(st == PC_AGAIN && e->rq->no_block))
        st = PC_ERROR;
    if (e->failed && st == PC_OK)
        st = PC_ERROR; /* it read a value that could not be had: fail closed */
    *out = (pc_value *)e->output;
    return st;
}

/* RUN_WHEN_ERROR: the evaluator's `when` could not be evaluated. */
typedef enum { RUN_OK, RUN_FAIL, RUN_SKIP, RUN_AGAIN, RUN_WHEN_ERROR } run_outcome;

/* Runs one evaluator with its `when`, credential and cache. On RUN_OK,
 * *out is its output (never NULL), in the request or held by it. */
static run_outcome run_eval_untraced(const ac_eval *ev, doc *root,
                                     reqctx *rq, pipe_result *r,
                                     const doc **out, char *why, size_t whylen)
{
    const int timed = r->explain || ev->series;
    int64_t t0 = timed ? clock_mono_ns() : 0;
    *out = NULL;
    why[0] = '\0';
    if (ev->when) {
        int w = cond_eval(ev->when, root, &rq->mem, why, whylen);
        if (w == 0) {
            trace(r, ev, "skipped", r->explain ? clock_mono_ns() - t0 : 0, "when");
            metrics_evaluator(ev->series, MEV_IGNORED, timed ? clock_mono_ns() - t0 : 0);
            return RUN_SKIP;
        }
        if (w < 0) {
            trace(r, ev, "error", r->explain ? clock_mono_ns() - t0 : 0, why);
            metrics_evaluator(ev->series, MEV_DENIED, timed ? clock_mono_ns() - t0 : 0);
            return RUN_WHEN_ERROR;
        }
    }
    pc_eval e;
    evalctx_init(&e, rq, root, ev);
    if (ev->type->t.flags & PC_EVAL_NEEDS_CREDENTIAL) {
        if (!cred_extract(ev, root, rq, &e.cred, &e.cred_len)) {
            snprintf(why, whylen, "credential not found");
            trace(r, ev, "deny", r->explain ? clock_mono_ns() - t0 : 0, why);
            metrics_evaluator(ev->series, MEV_DENIED, timed ? clock_mono_ns() - t0 : 0);
            return RUN_FAIL;
        }
    }
    pc_status st;
    const char *outcome;
    /* On an I/O thread, a blocking evaluator may only answer from memory. */
    const int peek = rq->no_block && (ev->type->t.flags & PC_EVAL_MAY_BLOCK);
    if (peek && !ev->cache && !(ev->type->t.flags & PC_EVAL_TRY_NONBLOCKING)) {
        r->again = 1;
        return RUN_AGAIN;
    }
    if (ev->cache) {
        const doc *k = NULL;
        const pc_value *cached = NULL;
        char kwhy[256];
        size_t klen = 0;
        const char *key = NULL;
        if (vos_resolve(ev->cache_key, root, &rq->mem, &k, kwhy, sizeof kwhy) < 0 ||
            !(key = sel_text(k, &rq->mem, &klen))) {
            snprintf(why, whylen, "cannot resolve the cache key");
            trace(r, ev, "error", r->explain ? clock_mono_ns() - t0 : 0, why);
            return RUN_FAIL;
        }
        int filled = 0;
        st = cache_lookup(ev->cache, &e, key, klen, peek ? NULL : call_plugin,
                          (void *)ev, &cached, &filled);
        outcome = filled ? NULL : "cached";
        if (st == PC_OK && cached)
            e.output = (const doc *)cached; /* held by the request */
    } else {
        st = call_plugin((void *)ev, &e, &(pc_value *){NULL}, NULL);
        outcome = NULL;
    }
    if (st == PC_AGAIN) {
        evalctx_done(&e);
        r->again = 1;
        return RUN_AGAIN;
    }
    if (st == PC_OK && !(*out = e.output ? e.output : doc_new_object(&rq->mem, 0))) {
        st = PC_ERROR;
        snprintf(why, whylen, "out of request memory");
    } else if (st != PC_OK) {
        snprintf(why, whylen, "%s",
                 e.has_reason ? e.reason
                 : st == PC_DENY ? "denied" : "evaluator error");
    }
    evalctx_done(&e);
    if (ev->series)
        metrics_evaluator(ev->series,
                          st == PC_OK ? MEV_OK
                          : expired(rq) ? MEV_CANCELLED : MEV_DENIED,
                          clock_mono_ns() - t0);
    if (r->explain)
        trace(r, ev, outcome ? outcome : st == PC_OK ? "ok"
                     : st == PC_DENY ? "deny" : "error",
              clock_mono_ns() - t0, st == PC_OK ? NULL : why);
    return st == PC_OK ? RUN_OK : RUN_FAIL;
}

/* run_eval_untraced inside the evaluator's span. */
static run_outcome run_eval_traced(const ac_eval *ev, doc *root,
                                   reqctx *rq, pipe_result *r,
                                   const doc **out, char *why, size_t whylen)
{
    static const char *const outcome[] = {"ok", "failed", "skipped", "", "error"};
    int slot = trace_eval_begin(rq->trace, ev);
    run_outcome o = run_eval_untraced(ev, root, rq, r, out, why, whylen);
    if (o == RUN_AGAIN) /* it runs again, on a worker, in a new span */
        trace_eval_abandon(rq->trace, slot);
    else
        trace_eval_end(rq->trace, slot, outcome[o], o == RUN_OK ? NULL : why);
    return o;
}

static inline run_outcome run_eval(const ac_eval *ev, doc *root,
                                   reqctx *rq, pipe_result *r,
                                   const doc **out, char *why, size_t whylen)
{
    if (rq->trace)
        return run_eval_traced(ev, root, rq, r, out, why, whylen);
    return run_eval_untraced(ev, root, rq, r, out, why, whylen);
}

/* Sets the identity's defaults (overwrite 0) or overrides (1) on obj; -1
 * when the request is out of memory. */
static int apply_props(const ac_prop *props, size_t n, int overwrite, doc *obj, doc *root,
                       struct arena *a)
{
    char why[256];
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(props[i].name);
        int found = 0;
        doc_get(obj, props[i].name, kl, &found);
        if (!overwrite && found)
            continue;
        const doc *v = NULL;
        if (vos_resolve(props[i].vos, root, a, &v, why, sizeof why) != 0)
            continue;
        /* auth.identity is obj itself: a container taken from the tree is
         * copied, or the identity would come to hold itself. */
        if (doc_type_of(v) == DOC_OBJECT || doc_type_of(v) == DOC_ARRAY) {
            int err = 0;
            v = doc_copy(a, v, &err);
            if (err)
                return -1;
        }
        if (doc_set(a, obj, props[i].name, kl, v))
            return -1;
    }
    return 0;
}

/* Resolves a VoS to text (gjson String()), into dst. */
static void vos_text(const pc_vos *v, doc *root, struct arena *a, buf *dst)
{
    const doc *o = NULL;
    char why[256];
    buf_reset(dst);
    if (v && vos_resolve(v, root, a, &o, why, sizeof why) == 0) {
        size_t n = 0;
        const char *s = sel_text(o, a, &n);
        if (s)
            buf_append(dst, s, n);
    }
    if (!dst->data)
        buf_append(dst, "", 0);
}

static void render_deny(const ac_config *cfg, const ac_deny *d, int grpc,
                        int http, const char *reason, doc *root, struct arena *a,
                        int challenge, pipe_result *r)
{
    buf tmp;
    buf_init(&tmp);
    clear_headers(r);
    r->allowed = 0;
    r->grpc_code = grpc;
    r->http_status = d->set && d->code ? d->code : http;
    if (d->set && d->message) {
        vos_text(d->message, root, a, &tmp);
        set_reason(r, tmp.data);
    } else {
        set_reason(r, reason);
    }
    if (d->set && d->n_headers) {
        for (size_t i = 0; i < d->n_headers; i++) {
            vos_text(d->headers[i].vos, root, a, &tmp);
            pipe_result_add_header(r, d->headers[i].name,
                                   strlen(d->headers[i].name), tmp.data, tmp.len);
        }
    } else if (challenge) {
        const size_t n = cfg->n_evs[PC_PHASE_IDENTITY];
        for (size_t i = 0; i < n; i++) {
            const ac_eval *ev = cfg->evs[PC_PHASE_IDENTITY][i];
            if (ev->challenge)
                pipe_result_add_header(r, "www-authenticate", 16, ev->challenge,
                                       strlen(ev->challenge));
        }
    }
    if (r->reason && *r->reason)
        pipe_result_add_header(r, "x-ext-auth-reason", 17, r->reason,
                               strlen(r->reason));
    if (d->set && d->body) {
        vos_text(d->body, root, a, &tmp);
        free(r->body);
        r->body = buf_steal(&tmp);
    }
    buf_free(&tmp);
}

/* A `when` that cannot be evaluated denies the request in whatever phase it
 * is: taken as a failed or skipped evaluator it could let the request
 * through (another identity wins, metadata that a later `neq` misses, a
 * response header left out). */
static void deny_when_error(const ac_config *cfg, const char *why, doc *root,
                            struct arena *a, pipe_result *r)
{
    render_deny(cfg, &cfg->unauthorized, PC_GRPC_PERMISSION_DENIED, 403, why, root, a, 0, r);
    r->dynmeta = NULL;
}

/* The request ran out of its memory (limits.requestMemory): it is denied
 * as when its document cannot be built. */
static void deny_no_memory(pipe_result *r)
{
    pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
}

/* Identity: any of, by priority group. Returns 1 when one succeeded.
 * Failures are kept in r->pos so that a run resumed after RUN_AGAIN still
 * reports them. */
static int phase_identity(const ac_config *cfg, doc *root,
                          reqctx *rq, pipe_result *r)
{
    const size_t n = cfg->n_evs[PC_PHASE_IDENTITY];
    ac_eval *const *evs = cfg->evs[PC_PHASE_IDENTITY];
    char why[512];
    const doc *winner = NULL;
    struct arena *a = &rq->mem;
    const ac_eval *wev = NULL;
    for (size_t i = r->pos.next; i < n && !winner; i++) {
        if (expired(rq))
            break;
        switch (run_eval(evs[i], root, rq, r, &winner, why, sizeof why)) {
        case RUN_OK:
            wev = evs[i];
            break;
        case RUN_FAIL:
            /* Made on the first failure only: most requests have none. */
            if (!r->pos.id_errors && !(r->pos.id_errors = doc_new_object(a, 0))) {
                deny_no_memory(r);
                return 0;
            }
            if (doc_set(a, r->pos.id_errors, evs[i]->name, strlen(evs[i]->name),
                        doc_new_str(a, why, strlen(why)))) {
                deny_no_memory(r);
                return 0;
            }
            break;
        case RUN_SKIP:
            break;
        case RUN_AGAIN:
            r->pos.next = i;
            return 0;
        case RUN_WHEN_ERROR:
            deny_when_error(cfg, why, root, &rq->mem, r);
            return 0;
        }
    }
    const doc *errors = r->pos.id_errors;
    if (!winner) {
        if (expired(rq)) {
            pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
        } else {
            /* One identity: its own reason; several: a map of them. */
            const doc *only = NULL;
            const char *reason = "{}";
            if (n == 1 && errors && (only = doc_getz(errors, evs[0]->name)))
                reason = doc_str(only, NULL);
            else if (errors && !(reason = doc_to_json_arena(a, errors, NULL)))
                reason = "{}";
            r->decider = n == 1 ? evs[0]->path : "spec.authentication";
            render_deny(cfg, &cfg->unauthenticated, PC_GRPC_UNAUTHENTICATED, 401,
                        reason, root, a, 1, r);
        }
        return 0;
    }
    /* Published before defaults and overrides resolve, so their selectors
     * see auth.identity as the identity they extend (as in Authorino). */
    doc *id = (doc *)winner;
    if (doc_type_of(winner) == DOC_OBJECT && (wev->n_defaults || wev->n_overrides) &&
        !(winner->flags & DOC_MUTABLE)) {
        /* A cached or shared identity is read-only: extend a copy of its
         * top level, whose members still point into the original. */
        if (!(id = doc_new_object(a, winner->n + wev->n_defaults + wev->n_overrides))) {
            deny_no_memory(r);
            return 0;
        }
        for (size_t i = 0; i < winner->n; i++) {
            const doc_member *m = doc_member_at(winner, i);
            if (doc_add_new(a, id, m->key, m->klen, m->hash, 0, m->val)) {
                deny_no_memory(r);
                return 0;
            }
        }
    }
    if (publish_identity(root, a, r, id) ||
        (doc_type_of(id) == DOC_OBJECT &&
         (apply_props(wev->defaults, wev->n_defaults, 0, id, root, a) ||
          apply_props(wev->overrides, wev->n_overrides, 1, id, root, a)))) {
        deny_no_memory(r);
        return 0;
    }
    return 1;
}

/* Returns 0 when the request was denied (or must run again). */
static int phase_metadata(const ac_config *cfg, doc *root,
                          reqctx *rq, pipe_result *r)
{
    char why[512];
    for (size_t i = r->pos.next; i < cfg->n_evs[PC_PHASE_METADATA]; i++) {
        const ac_eval *ev = cfg->evs[PC_PHASE_METADATA][i];
        const doc *out;
        run_outcome o = run_eval(ev, root, rq, r, &out, why, sizeof why);
        if (o == RUN_AGAIN) {
            r->pos.next = i;
            return 0;
        }
        if (o == RUN_WHEN_ERROR) {
            deny_when_error(cfg, why, root, &rq->mem, r);
            return 0;
        }
        if (o == RUN_FAIL) {
            /* Authorino ignores a failed metadata; left out, it could let
             * the request through a later `neq` or `excl`. */
            if (expired(rq))
                pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
            else
                deny_when_error(cfg, why, root, &rq->mem, r);
            return 0;
        }
        if (o == RUN_OK && publish(root, &rq->mem, r, PIPE_SEC_METADATA, ev, out)) {
            deny_no_memory(r);
            return 0;
        }
    }
    return 1;
}

static int phase_authorization(const ac_config *cfg, doc *root,
                               reqctx *rq, pipe_result *r)
{
    char why[512];
    for (size_t i = r->pos.next; i < cfg->n_evs[PC_PHASE_AUTHORIZATION]; i++) {
        const ac_eval *ev = cfg->evs[PC_PHASE_AUTHORIZATION][i];
        const doc *out;
        if (expired(rq)) {
            pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
            return 0;
        }
        switch (run_eval(ev, root, rq, r, &out, why, sizeof why)) {
        case RUN_OK:
            if (publish(root, &rq->mem, r, PIPE_SEC_AUTHORIZATION, ev, out)) {
                deny_no_memory(r);
                return 0;
            }
            break;
        case RUN_SKIP:
            break;
        case RUN_AGAIN:
            r->pos.next = i;
            return 0;
        case RUN_WHEN_ERROR:
        case RUN_FAIL:
            r->decider = ev->path;
            render_deny(cfg, &cfg->unauthorized, PC_GRPC_PERMISSION_DENIED, 403,
                        why[0] ? why : "Unauthorized", root, &rq->mem, 0, r);
            return 0;
        }
    }
    return 1;
}

static void phase_response(const ac_config *cfg, doc *root,
                           reqctx *rq, pipe_result *r)
{
    char why[512];
    for (size_t i = r->pos.next; i < cfg->n_evs[PC_PHASE_RESPONSE]; i++) {
        const ac_eval *ev = cfg->evs[PC_PHASE_RESPONSE][i];
        const doc *out;
        run_outcome o = run_eval(ev, root, rq, r, &out, why, sizeof why);
        if (o == RUN_AGAIN) {
            r->pos.next = i;
            return;
        }
        if (o == RUN_WHEN_ERROR) {
            deny_when_error(cfg, why, root, &rq->mem, r);
            return;
        }
        if (o != RUN_OK)
            continue; /* a failed response item is left out */
        struct arena *a = &rq->mem;
        int bad = 0;
        if (ev->dynmeta) {
            if (!r->dynmeta && !(r->dynmeta = doc_new_object(a, 0)))
                bad = 1;
            else
                bad = doc_set(a, r->dynmeta, ev->key, strlen(ev->key), out);
        } else {
            size_t n = 0;
            const char *s = sel_text(out, a, &n);
            bad = !s || pipe_result_add_header(r, ev->key, strlen(ev->key), s, n);
        }
        if (bad || publish(root, a, r, PIPE_SEC_RESPONSE, ev, out)) {
            deny_no_memory(r);
            return;
        }
    }
}

static void phase_callbacks(const ac_config *cfg, doc *root,
                            reqctx *rq, pipe_result *r)
{
    char why[512];
    for (size_t i = r->pos.next; i < cfg->n_evs[PC_PHASE_CALLBACK]; i++) {
        const ac_eval *ev = cfg->evs[PC_PHASE_CALLBACK][i];
        const doc *out;
        /* Callbacks run once the decision is made: a failure, or a `when`
         * that cannot be evaluated, only skips the callback. */
        run_outcome o = run_eval(ev, root, rq, r, &out, why, sizeof why);
        if (o == RUN_AGAIN) {
            r->pos.next = i;
            return;
        }
        if (o == RUN_OK)
            publish(root, &rq->mem, r, PIPE_SEC_CALLBACKS, ev, out); /* only a record */
    }
}

/* Moves r to the start of stage. */
static void goto_stage(pipe_result *r, pipe_stage stage)
{
    r->pos.stage = stage;
    r->pos.next = 0;
}

void pipe_run(const ac_config *cfg, doc *root, reqctx *rq,
              pipe_result *r)
{
    pipe_pos *p = &r->pos;
    pthread_once(&g_keys_once, keys_init);
    r->authconfig = cfg->id;
    r->again = 0;
    /* Each stage returns early with r->again set when an evaluator needs
     * to block while rq->no_block; the next call starts at p->stage. */
    if (p->stage == PIPE_AT_WHEN) {
        if (cfg->when) {
            char why[512] = "";
            int w = cond_eval(cfg->when, root, &rq->mem, why, sizeof why);
            if (w == 0) {
                /* Conditions not met: the AuthConfig does not apply; allow
                 * with no headers, as Authorino does. */
                r->allowed = 1;
                r->grpc_code = PC_GRPC_OK;
                r->http_status = 200;
                goto_stage(r, PIPE_AT_END);
                return;
            }
            if (w < 0) {
                render_deny(cfg, &cfg->unauthorized, PC_GRPC_PERMISSION_DENIED, 403,
                            why, root, &rq->mem, 0, r);
                goto_stage(r, PIPE_AT_END);
                return;
            }
        }
        goto_stage(r, PIPE_AT_IDENTITY);
    }
    if (p->stage == PIPE_AT_IDENTITY) {
        p->ok = phase_identity(cfg, root, rq, r);
        if (r->again)
            return;
        goto_stage(r, p->ok ? PIPE_AT_METADATA : PIPE_AT_CALLBACKS);
    }
    if (p->stage == PIPE_AT_METADATA) {
        int ok = phase_metadata(cfg, root, rq, r);
        if (r->again)
            return;
        goto_stage(r, ok ? PIPE_AT_AUTHORIZATION : PIPE_AT_CALLBACKS);
    }
    if (p->stage == PIPE_AT_AUTHORIZATION) {
        p->ok = phase_authorization(cfg, root, rq, r);
        if (r->again)
            return;
        if (p->ok && expired(rq)) {
            pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
            p->ok = 0;
        }
        if (p->ok) {
            r->allowed = 1;
            r->grpc_code = PC_GRPC_OK;
            r->http_status = 200;
        }
        goto_stage(r, p->ok ? PIPE_AT_RESPONSE : PIPE_AT_CALLBACKS);
    }
    if (p->stage == PIPE_AT_RESPONSE) {
        phase_response(cfg, root, rq, r);
        if (r->again)
            return;
        goto_stage(r, PIPE_AT_CALLBACKS);
    }
    if (p->stage == PIPE_AT_CALLBACKS) {
        phase_callbacks(cfg, root, rq, r);
        if (r->again)
            return;
        goto_stage(r, PIPE_AT_END);
        /* A deadline that passed while callbacks ran must not turn into an
         * allow that nobody checked in time. */
        if (r->allowed && expired(rq))
            pipe_result_deny(r, PC_GRPC_UNAVAILABLE, 503, "");
    }
}
