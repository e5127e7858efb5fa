/* host.c - the services table handed to every plugin. Thin adapters over
 * the engine modules; values are request-document nodes (engine/doc)
 * behind pc_value. */
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cache/cache.h"
#include "config/cfgerr.h"
#include "config/cond.h"
#include "config/resset.h"
#include "config/vos.h"
#include "ydoc/ydoc.h"
#include "hostimpl.h"
#include "http/httpc.h"
#include "kube/kube.h"
#include "eval/evalctx.h"
#include "selector/selector.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "metrics/metrics.h"
#include "server/readiness.h"
#include "server/submit.h"
#include "trace/trace.h"
#include "util/thread_exit.h"

#define D(v) ((const doc *)(v))
#define V(d) ((pc_value *)(d))


/* ---- logging, time ---- */

static void h_log(pc_log_level level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plog_v(level, who, fmt, ap);
    va_end(ap);
}

static int64_t h_mono(void) { return clock_mono_ns(); }
static int64_t h_real(void) { return clock_real_ns(); }
static void h_free(void *p) { free(p); }

/* ---- values: reading ----
 * Every pc_value is a doc node (engine/doc): the request's, the config's
 * (converted for create), or a shared one (caches, value_keep_json). */

static pc_type h_type(const pc_value *v)
{
    switch (doc_type_of(D(v))) {
    case DOC_BOOL: return PC_TYPE_BOOL;
    case DOC_INT: return PC_TYPE_INT;
    case DOC_DOUBLE: return PC_TYPE_DOUBLE;
    case DOC_STRING: return PC_TYPE_STRING;
    case DOC_ARRAY: return PC_TYPE_ARRAY;
    case DOC_OBJECT: return PC_TYPE_OBJECT;
    default: return PC_TYPE_NULL;
    }
}

static const char *h_string(const pc_value *v, size_t *len)
{
    return doc_str(D(v), len);
}

static int h_bool(const pc_value *v) { return doc_bool(D(v)); }
static int64_t h_int(const pc_value *v) { return doc_int(D(v)); }
static double h_double(const pc_value *v) { return doc_double(D(v)); }

static const pc_value *h_get(const pc_value *obj, const char *key)
{
    return key ? V(doc_get(D(obj), key, strlen(key), NULL)) : NULL;
}

static size_t h_length(const pc_value *v) { return doc_len(D(v)); }

static const pc_value *h_at(const pc_value *arr, size_t i) { return V(doc_at(D(arr), i)); }

static int h_foreach(const pc_value *obj,
                     int (*fn)(void *, const char *, const pc_value *), void *arg)
{
    const doc *o = D(obj);
    for (size_t i = 0; i < doc_len(o) && doc_type_of(o) == DOC_OBJECT; i++) {
        const doc_member *m = doc_member_at(o, i);
        int rc = fn(arg, m->key, V(m->val));
        if (rc)
            return rc;
    }
    return 0;
}

/* Outside a request or a create (no arena current), value_text of a
 * non-string falls back to a per-thread buffer, valid until the next such
 * call on the thread. */
static _Thread_local buf t_text;
static _Thread_local int t_text_registered;

static void free_text(void *b)
{
    buf_free(b);
}

static const char *h_text(const pc_value *v, size_t *len)
{
    size_t n = 0;
    const char *s;
    struct arena *a = evalctx_current();
    if (!v) {
        s = "";
    } else if (doc_type_of(D(v)) == DOC_STRING) {
        s = doc_str(D(v), &n);
    } else if (a) {
        s = doc_to_json_arena(a, D(v), &n);
    } else {
        if (!t_text_registered++)
            thread_at_exit(free_text, &t_text);
        buf_reset(&t_text);
        s = doc_to_json(&t_text, D(v)) == 0 ? t_text.data : NULL;
        n = s ? t_text.len : 0;
    }
    if (len)
        *len = n;
    return s;
}

static char *h_to_json(const pc_value *v)
{
    buf b;
    buf_init(&b);
    if (doc_to_json(&b, D(v)) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* ---- values: building ---- */

/* Values are made in the request's memory; outside an evaluation there is
 * no owner, and nothing is made. */
static struct arena *owner(pc_eval *ev) { return evalctx_arena(ev); }

static pc_value *h_new_object(pc_eval *ev)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_object(a, 0)) : NULL;
}

static pc_value *h_new_array(pc_eval *ev)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_array(a, 0)) : NULL;
}

static pc_value *h_new_string(pc_eval *ev, const char *s, size_t len)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_str(a, s, s ? len : 0)) : NULL;
}

static pc_value *h_new_int(pc_eval *ev, int64_t i)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_int(a, i)) : NULL;
}

static pc_value *h_new_double(pc_eval *ev, double d)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_double(a, d)) : NULL;
}

static pc_value *h_new_bool(pc_eval *ev, int b)
{
    struct arena *a = owner(ev);
    return a ? V(doc_new_bool(a, b)) : NULL;
}

static pc_value *h_parse(pc_eval *ev, const char *json, size_t len)
{
    struct arena *a = owner(ev);
    const doc *d = NULL;
    if (!a || !json || doc_parse(a, json, len, &d, NULL, 0) != 0)
        return NULL;
    return V(d);
}

/* Parsed into a scratch arena, then shared: the value outlives any one
 * request and is read by all threads. */
static pc_value *h_keep_json(const char *json, size_t len)
{
    struct arena tmp;
    arena_init(&tmp, 0);
    const doc *d = NULL;
    doc_shared *s = NULL;
    if (json && doc_parse(&tmp, json, len, &d, NULL, 0) == 0 && d)
        s = doc_share(d);
    arena_free(&tmp);
    return s ? V(doc_shared_root(s)) : NULL;
}

static void h_value_release(pc_value *v)
{
    doc_shared_unref(doc_shared_of(D(v)));
}

static pc_value *h_copy(pc_eval *ev, const pc_value *v)
{
    struct arena *a = owner(ev);
    return a && v ? V(doc_copy(a, D(v), NULL)) : NULL;
}

static pc_status h_set(pc_value *obj, const char *key, pc_value *val)
{
    struct arena *a = evalctx_current();
    if (!a || !key)
        return PC_ERROR;
    return doc_set(a, (doc *)D(obj), key, strlen(key), D(val)) == 0 ? PC_OK : PC_ERROR;
}

static pc_status h_append(pc_value *arr, pc_value *val)
{
    struct arena *a = evalctx_current();
    if (!a)
        return PC_ERROR;
    return doc_append(a, (doc *)D(arr), D(val)) == 0 ? PC_OK : PC_ERROR;
}

/* ---- selectors, VoS, patterns ---- */

static pc_selector *h_sel_compile(const char *text, char *err, size_t errlen)
{
    return (pc_selector *)sel_compile(text, err, errlen);
}

static void h_sel_free(pc_selector *s) { sel_free((sel_expr *)s); }

static const pc_value *h_sel_resolve(pc_eval *ev, const pc_selector *s)
{
    const doc *o = NULL;
    struct arena *a = owner(ev);
    if (!a || sel_resolve((const sel_expr *)s, ev->root, a, &o) < 0)
        return NULL;
    return V(o);
}

/* Finds node's path below cur; 1 when found. */
static int find_path(const struct json_object *cur, const struct json_object *node,
                     char *out, size_t outlen, size_t used)
{
    if (cur == node)
        return 1;
    if (json_object_is_type(cur, json_type_object)) {
        json_object_object_foreach((struct json_object *)cur, k, v) {
            int n = snprintf(out + used, outlen - used, ".%s", k);
            if (n < 0 || (size_t)n >= outlen - used)
                continue;
            if (find_path(v, node, out, outlen, used + (size_t)n))
                return 1;
        }
    } else if (json_object_is_type(cur, json_type_array)) {
        size_t n = json_object_array_length(cur);
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(out + used, outlen - used, "[%zu]", i);
            if (w < 0 || (size_t)w >= outlen - used)
                continue;
            if (find_path(json_object_array_get_idx(cur, i), node, out, outlen,
                          used + (size_t)w))
                return 1;
        }
    }
    out[used] = '\0';
    return 0;
}

void host_node_path(pc_create_ctx *cc, const struct json_object *node,
                    char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s", cc->path ? cc->path : "");
    if (n < 0 || (size_t)n >= outlen)
        return;
    if (!find_path(cc->config, node, out, outlen, (size_t)n))
        out[n] = '\0';
}

/* The json-c node the vos and pattern compilers read for v: the config
 * node it was converted from, so that problems carry that node's line,
 * or, for a value the plugin made itself (value_keep_json), a json-c copy
 * in *tmp (the caller puts it). -1 when the copy fails. */
static int source_of(pc_create_ctx *cc, const pc_value *v, struct json_object **j,
                     struct json_object **tmp)
{
    *tmp = NULL;
    *j = NULL;
    if (!v || (*j = doc_srcmap_find(cc->srcmap, D(v))))
        return 0;
    if (doc_to_jsonc(D(v), tmp) != 0)
        return -1;
    *j = *tmp;
    return 0;
}

static pc_vos *h_vos_compile(pc_create_ctx *cc, const pc_value *spec, char *err,
                             size_t errlen)
{
    char path[512];
    struct json_object *j = NULL, *tmp = NULL;
    if (source_of(cc, spec, &j, &tmp) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    host_node_path(cc, j, path, sizeof path);
    int before = cc->ce->errors;
    pc_vos *v = vos_compile(j, path, cc->ce);
    if (!v && cc->ce->errors > before)
        snprintf(err, errlen, "reported");
    json_object_put(tmp);
    return v;
}

static const pc_value *h_vos_resolve(pc_eval *ev, const pc_vos *v)
{
    const doc *o = NULL;
    char why[300];
    struct arena *a = owner(ev);
    if (!a || vos_resolve(v, ev->root, a, &o, why, sizeof why) < 0) {
        /* NULL is also "missing" to the plugin: mark the evaluation so
         * that it errs whatever the plugin makes of the NULL. */
        if (ev) {
            ev->failed = 1;
            evalctx_reason(ev, "%s", a ? why : "no request");
        }
        return NULL;
    }
    return V(o);
}

static pc_cond *h_cond_compile(pc_create_ctx *cc, const pc_value *patterns,
                               char *err, size_t errlen)
{
    char path[512];
    struct json_object *j = NULL, *tmp = NULL;
    if (source_of(cc, patterns, &j, &tmp) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    host_node_path(cc, j, path, sizeof path);
    int before = cc->ce->errors;
    pc_cond *c = cond_compile(j, path, cc->named, cc->ce);
    if (!c && cc->ce->errors > before)
        snprintf(err, errlen, "reported");
    json_object_put(tmp);
    return c;
}

static int h_cond_eval(pc_eval *ev, const pc_cond *c)
{
    char why[256];
    struct arena *a = owner(ev);
    if (!a)
        return PC_ERROR;
    int r = cond_eval(c, ev->root, a, why, sizeof why);
    if (r < 0)
        evalctx_reason(ev, "%s", why);
    return r < 0 ? PC_ERROR : r;
}

/* ---- create context ---- */

static const char *h_cc_evname(pc_create_ctx *cc) { return cc->evname; }
static const char *h_cc_acname(pc_create_ctx *cc) { return cc->acname; }
static const char *h_cc_acns(pc_create_ctx *cc) { return cc->acns; }

struct res_adapter {
    int (*fn)(void *, const pc_value *);
    void *arg;
};

/* Resources reach the plugin as the doc copies the set keeps. */
static int res_adapt(void *arg, struct json_object *res, const doc *d)
{
    struct res_adapter *a = arg;
    (void)res;
    return a->fn(a->arg, V(d));
}

static int h_cc_foreach(pc_create_ctx *cc, const char *kind,
                        int (*fn)(void *, const pc_value *), void *arg)
{
    struct res_adapter a = {fn, arg};
    return resset_foreach(cc->res, kind, res_adapt, &a);
}

static int h_cc_foreach_in(pc_create_ctx *cc, const char *kind, const char *ns,
                           int (*fn)(void *, const pc_value *), void *arg)
{
    struct res_adapter a = {fn, arg};
    return resset_foreach_ns(cc->res, kind, ns, res_adapt, &a);
}

/* Converted once per create, on first use. */
static const pc_value *h_cc_spec(pc_create_ctx *cc)
{
    if (!cc->spec)
        return NULL;
    if (!cc->spec_doc) {
        int err = 0;
        cc->spec_doc = doc_from_jsonc(cc->mem, cc->spec, NULL, &err);
    }
    return V(cc->spec_doc);
}

/* ---- evaluation ---- */

static const pc_value *h_root(pc_eval *ev) { return V(ev->root); }


static const char *h_cred(pc_eval *ev, size_t *len)
{
    if (len)
        *len = ev->cred_len;
    return ev->cred;
}

static void h_set_output(pc_eval *ev, pc_value *v)
{
    ev->output = D(v);
}

static void h_set_reason(pc_eval *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->reason, sizeof ev->reason, fmt, ap);
    va_end(ap);
    ev->has_reason = 1;
}

static int64_t h_deadline(pc_eval *ev) { return ev->rq ? ev->rq->deadline_ns : 0; }

static int h_can_block(pc_eval *ev)
{
    return !(ev->rq && ev->rq->no_block);
}

static int h_cancelled(pc_eval *ev)
{
    return ev->rq && reqctx_expired(ev->rq);
}

/* ---- cache ---- */

static pc_status h_cache_lookup(pc_cache *c, pc_eval *ev, const void *key,
                                size_t klen, pc_cache_fill_fn fill, void *arg,
                                const pc_value **out)
{
    return cache_lookup(c, ev, key, klen, fill, arg, out, NULL);
}

/* ---- HTTP and Kubernetes ---- */

/* The header lines an evaluator's own outgoing call (pc_host.http_do and
 * pc_host.kube_do) carries while tracing is on: for a traced request the
 * evaluator's span as the W3C traceparent (and the request's tracestate),
 * so a metadata or callback service or the API server joins the trace;
 * for a request whose parent is not sampled, that parent as it came, so
 * the service follows the caller's decision. */
typedef struct trace_lines {
    const char *line[3]; /* traceparent, tracestate, NULL */
    char parent[16 + TRACE_PARENT_LEN];
    char state[16 + TRACE_STATE_MAX];
} trace_lines;

static const char *header_of(const doc *root, const char *name, size_t *len)
{
    const doc *h = doc_get(doc_get(root, "request", 7, NULL), "headers", 7, NULL);
    return doc_str(doc_getz(h, name), len);
}

/* Fills l for evaluation ev and returns how many lines it holds (0 when
 * there is nothing to pass on: no parent, or one that was traced yet no
 * span is current, or tracing is off). */
static size_t trace_lines_for(const pc_eval *ev, trace_lines *l)
{
    if (!trace_on || !ev || !ev->rq || !ev->root)
        return 0;
    const char *state = "";
    memcpy(l->parent, "traceparent: ", 13);
    if (ev->rq->trace) {
        trace_outgoing(ev->rq->trace, l->parent + 13, &state);
    } else {
        size_t len = 0, slen = 0;
        const char *in = header_of(ev->root, "traceparent", &len);
        trace_ctx c;
        if (!in || trace_parse_traceparent(in, len, &c) < 0 || (c.flags & TRACE_FLAG_SAMPLED))
            return 0; /* no parent (or one that was traced): nothing to pass on */
        trace_format_traceparent(&c, l->parent + 13);
        const char *st = header_of(ev->root, "tracestate", &slen);
        if (st && slen && trace_check_tracestate(st, slen) == 0)
            state = st;
    }
    size_t n = 0;
    l->line[n++] = l->parent;
    if (*state) {
        snprintf(l->state, sizeof l->state, "tracestate: %s", state);
        l->line[n++] = l->state;
    }
    l->line[n] = NULL;
    return n;
}

/* An evaluator's HTTP request with the trace lines added; left as it is
 * when the evaluator sent a traceparent itself. */
#define TRACED_MAX_HEADERS 64
typedef struct traced_req {
    pc_http_request req;
    const char *headers[TRACED_MAX_HEADERS + 3];
    trace_lines lines;
} traced_req;

static const pc_http_request *with_trace(const pc_http_request *req, const pc_eval *ev,
                                         traced_req *t)
{
    size_t n = 0;
    for (const char *const *h = req->headers; h && *h; h++, n++)
        if (n == TRACED_MAX_HEADERS || strncasecmp(*h, "traceparent:", 12) == 0)
            return req;
    size_t k = trace_lines_for(ev, &t->lines);
    if (!k)
        return req;
    t->req = *req;
    if (n)
        memcpy(t->headers, req->headers, n * sizeof *t->headers);
    memcpy(t->headers + n, t->lines.line, (k + 1) * sizeof *t->headers);
    t->req.headers = t->headers;
    return &t->req;
}

static pc_status h_http_do(pc_eval *ev, const pc_http_request *req,
                           pc_http_response *resp, char *err, size_t errlen)
{
    buf body;
    buf_init(&body);
    long status = 0;
    traced_req traced;
    if (trace_on)
        req = with_trace(req, ev, &traced);
    pc_status st = httpc_do(req, NULL, ev ? h_deadline(ev) : 0, &status, &body,
                            err, errlen);
    resp->status = status;
    resp->body = NULL;
    resp->body_len = 0;
    if (st == PC_OK) {
        /* The body lives as long as the evaluation, in the request's memory. */
        char *copy = evalctx_keep_bytes(ev, body.data, body.len);
        if (copy) {
            resp->body = copy;
            resp->body_len = body.len;
        } else {
            st = PC_ERROR;
            snprintf(err, errlen, "no evaluation to own the response");
        }
    }
    buf_free(&body);
    return st;
}

static pc_status h_http_fetch(const pc_http_request *req, long *status,
                              char **body, size_t *body_len, char *err,
                              size_t errlen)
{
    *body = NULL;
    *body_len = 0;
    *status = 0;
    if (!req || req->timeout_ms <= 0) {
        snprintf(err, errlen, "http_fetch needs a positive timeout");
        return PC_ERROR;
    }
    buf b;
    buf_init(&b);
    pc_status st = httpc_do(req, NULL, 0, status, &b, err, errlen);
    if (st == PC_OK) {
        /* httpc_do leaves a NUL after the body; hand the buffer over. */
        *body = malloc(b.len + 1);
        if (!*body) {
            snprintf(err, errlen, "out of memory");
            st = PC_ERROR;
        } else {
            memcpy(*body, b.data ? b.data : "", b.len);
            (*body)[b.len] = '\0';
            *body_len = b.len;
        }
    }
    buf_free(&b);
    return st;
}

static pc_status h_kube_do(pc_eval *ev, const char *method, const char *path,
                           const char *body, size_t body_len, int64_t timeout_ms,
                           pc_http_response *resp, char *err, size_t errlen)
{
    trace_lines lines;
    const char *const *extra = trace_lines_for(ev, &lines) ? lines.line : NULL;
    return kube_do(ev, method, path, body, body_len, timeout_ms, extra, resp, err, errlen);
}

/* ---- crypto ---- */

/* SHA-256 with a digest fetched once and a context per thread: the
 * one-shot SHA256() looks the algorithm up on every call. */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *t_mdctx;

static void free_mdctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_init(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void h_sha256(const void *d, size_t n, uint8_t out[32])
{
    pthread_once(&g_sha256_once, sha256_init);
    unsigned int len = 32;
    if (g_sha256 && !t_mdctx && (t_mdctx = EVP_MD_CTX_new()))
        thread_at_exit(free_mdctx, t_mdctx);
    if (!g_sha256 || !t_mdctx ||
        EVP_DigestInit_ex(t_mdctx, g_sha256, NULL) != 1 ||
        EVP_DigestUpdate(t_mdctx, d, n) != 1 ||
        EVP_DigestFinal_ex(t_mdctx, out, &len) != 1)
        SHA256(d, n, out);
}

static void h_hmac(const void *k, size_t kl, const void *d, size_t n,
                   uint8_t out[32])
{
    unsigned int ol = 32;
    HMAC(EVP_sha256(), k, (int)kl, d, n, out, &ol);
}

static int h_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- frontends ---- */

static void h_submit(const pc_request_view *v, pc_verdict_fn done, void *arg)
{
    submit_request(v, done, arg);
}

static void h_release(pc_submission *s)
{
    submit_release(s);
}

static int h_ready(void) { return submit_ready(); }

static char *h_metrics_render(size_t *len) { return metrics_render(len); }

static char *h_readiness_render(int verbose, int *all_ready, size_t *len)
{
    return readiness_render(verbose, all_ready, len);
}

static void h_metrics_request(const pc_verdict *v, int64_t ns)
{
    metrics_request(v, ns);
}

static const pc_host g_host = {
    .struct_size = sizeof(pc_host),
    .abi_major = PC_ABI_MAJOR,
    .abi_minor = PC_ABI_MINOR,
    .log = h_log,
    .log_enabled = plog_enabled,
    .monotonic_ns = h_mono,
    .realtime_ns = h_real,
    .free = h_free,
    .value_type = h_type,
    .value_string = h_string,
    .value_bool = h_bool,
    .value_int = h_int,
    .value_double = h_double,
    .value_get = h_get,
    .value_length = h_length,
    .value_at = h_at,
    .value_foreach = h_foreach,
    .value_text = h_text,
    .value_to_json = h_to_json,
    .value_new_object = h_new_object,
    .value_new_array = h_new_array,
    .value_new_string = h_new_string,
    .value_new_int = h_new_int,
    .value_new_double = h_new_double,
    .value_new_bool = h_new_bool,
    .value_parse = h_parse,
    .value_copy = h_copy,
    .value_set = h_set,
    .value_append = h_append,
    .selector_compile = h_sel_compile,
    .selector_free = h_sel_free,
    .selector_resolve = h_sel_resolve,
    .vos_compile = h_vos_compile,
    .vos_free = vos_free,
    .vos_resolve = h_vos_resolve,
    .cond_compile = h_cond_compile,
    .cond_free = cond_free,
    .cond_eval = h_cond_eval,
    .cc_evaluator_name = h_cc_evname,
    .cc_authconfig_name = h_cc_acname,
    .cc_authconfig_namespace = h_cc_acns,
    .cc_foreach_resource = h_cc_foreach,
    .eval_root = h_root,
    .eval_credential = h_cred,
    .eval_set_output = h_set_output,
    .eval_set_reason = h_set_reason,
    .eval_deadline_ns = h_deadline,
    .eval_cancelled = h_cancelled,
    .cache_new = cache_new,
    .cache_free = cache_free,
    .cache_lookup = h_cache_lookup,
    .http_do = h_http_do,
    .kube_do = h_kube_do,
    .counter_new = metrics_counter_new,
    .counter_add = metrics_counter_add,
    .sha256 = h_sha256,
    .hmac_sha256 = h_hmac,
    .ct_equal = h_ct_equal,
    .submit = h_submit,
    .request_release = h_release,
    .ready = h_ready,
    .metrics_render = h_metrics_render,
    .metrics_request = h_metrics_request,
    .value_keep_json = h_keep_json,
    .value_release = h_value_release,
    .base64_decode = b64_decode,
    .eval_can_block = h_can_block,
    .http_fetch = h_http_fetch,
    .cc_foreach_resource_in = h_cc_foreach_in,
    .readiness_render = h_readiness_render,
    .cc_authconfig_spec = h_cc_spec,
};

const pc_host *host_table(void)
{
    return &g_host;
}
