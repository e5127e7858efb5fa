/*
 * portcullis/host.h - the services table the host hands every plugin.
 *
 * Plugins link against nothing of the host: every engine facility is a
 * function pointer in pc_host, which is size-prefixed and only grows at its
 * end (see abi.h, which lists the minor each service came with). Before
 * calling a service added after v1.0, check it with PC_HOST_HAS(host, field).
 *
 * Memory rules, visible in the names:
 *  - const pc_value * results are *borrowed*: valid until evaluate returns
 *    (or, inside create, until create returns). Those of selector_resolve
 *    and vos_resolve belong to the request: an evaluator may attach them to
 *    its output with value_set (casting the const away) as long as nothing
 *    modifies them afterwards; values from the config or value_keep_json
 *    are shared by all threads and must be copied with value_copy first.
 *  - pc_value * made by the value_new_* / value_parse / value_copy services
 *    during an evaluation are owned by that evaluation: attach them to a
 *    parent (value_set, value_append) or publish them (eval_set_output), or
 *    leave them; the host frees whatever is left when the request ends.
 *  - Strings a service returns through `char **` are allocated by the host
 *    and freed with host->free. Nothing is freed across allocators.
 */
#ifndef PORTCULLIS_HOST_H
#define PORTCULLIS_HOST_H

#include <stdarg.h>
#include "abi.h"
#include "request.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles (pc_value, a JSON value with null = NULL, is in request.h). */
typedef struct pc_eval pc_eval;             /* one evaluator run on one request */
typedef struct pc_create_ctx pc_create_ctx; /* where an instance is created */
typedef struct pc_selector pc_selector;     /* a compiled gjson path/template */
typedef struct pc_vos pc_vos;               /* a compiled value-or-selector */
typedef struct pc_cond pc_cond;             /* compiled patterns (all of) */
typedef struct pc_cache pc_cache;           /* a TTL cache with single-flight */
typedef struct pc_counter pc_counter;       /* a Prometheus counter */
typedef struct pc_submission pc_submission; /* one request submitted by a frontend */

/** JSON value types. */
typedef enum pc_type {
    PC_TYPE_NULL = 0,
    PC_TYPE_BOOL,
    PC_TYPE_INT,
    PC_TYPE_DOUBLE,
    PC_TYPE_STRING,
    PC_TYPE_ARRAY,
    PC_TYPE_OBJECT
} pc_type;

/** Log levels. */
typedef enum pc_log_level {
    PC_LOG_DEBUG = 0,
    PC_LOG_INFO = 1,
    PC_LOG_WARN = 2,
    PC_LOG_ERROR = 3
} pc_log_level;

/** Options of a cache made with pc_host.cache_new. */
typedef struct pc_cache_opts {
    uint32_t struct_size;   /**< sizeof(pc_cache_opts) */
    const char *name;       /**< for metrics and logs, e.g. "tokenreview" */
    int64_t ok_ttl_ms;      /**< how long PC_OK results live (upper bound) */
    int64_t deny_ttl_ms;    /**< how long PC_DENY results live; 0 = never cached */
    /** An optional cap on entries, besides the server's byte budget per
     *  cache (cache.maxBytes); 0 = none. Least recently used entries go
     *  first, entries hit more than once last, denials only ever push out
     *  denials. */
    size_t max_entries;
} pc_cache_opts;

/**
 * Computes a value for pc_host.cache_lookup on a miss. Runs in the caller's
 * thread; concurrent lookups of the same key wait for this one call.
 * @param arg     the lookup's arg.
 * @param ev      the evaluation of the caller that leads the flight.
 * @param out     set to the value to cache and return (PC_OK or PC_DENY);
 *                created with the value services of ev.
 * @param ttl_ms  may be lowered (never raised) for this entry, e.g. to a
 *                token's own expiry.
 * @return PC_OK or PC_DENY (cached for the respective TTL) or PC_ERROR
 *         (never cached: every waiter gets PC_ERROR and the next lookup
 *         tries again).
 */
typedef pc_status (*pc_cache_fill_fn)(void *arg, pc_eval *ev, pc_value **out,
                                      int64_t *ttl_ms);

/** An outbound HTTP request (pc_host.http_do). */
typedef struct pc_http_request {
    uint32_t struct_size;      /**< sizeof(pc_http_request) */
    const char *method;        /**< "GET", "POST", ... */
    const char *url;
    /** NULL-terminated "Name: value" lines, or NULL. */
    const char *const *headers;
    const char *body;
    size_t body_len;
    int64_t timeout_ms;        /**< 0 = the evaluation's deadline only */
    const char *ca_file;       /**< extra CA bundle, or NULL for the system's */
} pc_http_request;

/** A response; body is owned by the evaluation and NUL-terminated. */
typedef struct pc_http_response {
    long status;
    const char *body;
    size_t body_len;
} pc_http_response;

/** Called by the engine with the verdict of a submitted request, on any
 *  thread (possibly inside pc_host.submit itself). */
typedef void (*pc_verdict_fn)(void *arg, pc_submission *sub,
                              const pc_verdict *verdict);

/** The services table. */
typedef struct pc_host {
    uint32_t struct_size;  /**< sizeof(pc_host) of the host */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- logging and time (any thread) ---- */

    /** Writes one log line attributed to `who` (plugin or evaluator name).
     *  Never pass tokens or secrets. */
    void (*log)(pc_log_level level, const char *who, const char *fmt, ...)
        PC_PRINTF(3, 4);
    /** 1 if a line at this level would be written (skip costly formatting). */
    int (*log_enabled)(pc_log_level level);
    /** CLOCK_MONOTONIC in nanoseconds. */
    int64_t (*monotonic_ns)(void);
    /** Wall clock, Unix time in nanoseconds. */
    int64_t (*realtime_ns)(void);
    /** Frees memory the host allocated for the plugin (char ** outputs). */
    void (*free)(void *p);

    /* ---- JSON values: reading (any thread, borrowed) ---- */

    pc_type (*value_type)(const pc_value *v);
    /** The string of a string value (NUL-terminated), else NULL. */
    const char *(*value_string)(const pc_value *v, size_t *len);
    int (*value_bool)(const pc_value *v);
    int64_t (*value_int)(const pc_value *v);
    double (*value_double)(const pc_value *v);
    /** Member of an object, or NULL when absent or not an object. */
    const pc_value *(*value_get)(const pc_value *obj, const char *key);
    /** Number of elements (array) or members (object); 0 otherwise. */
    size_t (*value_length)(const pc_value *v);
    /** Element i of an array, or NULL. */
    const pc_value *(*value_at)(const pc_value *arr, size_t i);
    /** Calls fn for each member of an object in document order; stops
     *  and returns fn's value when it is non-zero. */
    int (*value_foreach)(const pc_value *obj,
                         int (*fn)(void *arg, const char *key,
                                   const pc_value *val),
                         void *arg);
    /** gjson's String(): strings raw, null "", others as compact JSON.
     *  A string's own bytes stay valid while v lives; the JSON text of
     *  another value is made in the request (or the create) and stays
     *  valid until it ends. Called outside any evaluation or create (a
     *  plugin's own thread), that text lasts until the thread's next
     *  value_text call. */
    const char *(*value_text)(const pc_value *v, size_t *len);
    /** Serialises v as compact JSON into a new string (host->free it). */
    char *(*value_to_json)(const pc_value *v);

    /* ---- JSON values: building (owned by the evaluation) ---- */

    pc_value *(*value_new_object)(pc_eval *ev);
    pc_value *(*value_new_array)(pc_eval *ev);
    pc_value *(*value_new_string)(pc_eval *ev, const char *s, size_t len);
    pc_value *(*value_new_int)(pc_eval *ev, int64_t i);
    pc_value *(*value_new_double)(pc_eval *ev, double d);
    pc_value *(*value_new_bool)(pc_eval *ev, int b);
    /** Parses JSON text; NULL on a syntax error. */
    pc_value *(*value_parse)(pc_eval *ev, const char *json, size_t len);
    /** A deep copy of any value (e.g. one kept from the config). */
    pc_value *(*value_copy)(pc_eval *ev, const pc_value *v);
    /** Sets obj[key] = val; val (NULL for null) now belongs to obj. */
    pc_status (*value_set)(pc_value *obj, const char *key, pc_value *val);
    /** Appends val to an array; val now belongs to arr. */
    pc_status (*value_append)(pc_value *arr, pc_value *val);

    /* ---- selectors, values-or-selectors and patterns ---- */

    /** Compiles a gjson path or "{path}" template (create time). */
    pc_selector *(*selector_compile)(const char *text, char *err, size_t errlen);
    void (*selector_free)(pc_selector *sel);
    /** Resolves against the Authorization JSON of ev; NULL if missing. */
    const pc_value *(*selector_resolve)(pc_eval *ev, const pc_selector *sel);
    /** Compiles an Authorino ValueOrSelector ({value} | {selector} |
     *  {expression}: CEL, compiled here and its value given as JSON). */
    pc_vos *(*vos_compile)(pc_create_ctx *cc, const pc_value *spec,
                           char *err, size_t errlen);
    void (*vos_free)(pc_vos *vos);
    /** NULL when missing, or on an error (a CEL expression that cannot be
     *  evaluated): then the evaluation is marked failed, and the evaluator
     *  errs whatever it returns. */
    const pc_value *(*vos_resolve)(pc_eval *ev, const pc_vos *vos);
    /** Compiles a list of PatternExpressionOrRef or CEL `predicate` items
     *  (patternRef resolved against the AuthConfig's named patterns, regexes
     *  and CEL compiled once). */
    pc_cond *(*cond_compile)(pc_create_ctx *cc, const pc_value *patterns,
                             char *err, size_t errlen);
    void (*cond_free)(pc_cond *cond);
    /** 1 = all patterns hold, 0 = not, PC_ERROR on an evaluation error. */
    int (*cond_eval)(pc_eval *ev, const pc_cond *cond);

    /* ---- create context (create time only) ---- */

    /** Name of the evaluator, the AuthConfig and its namespace. */
    const char *(*cc_evaluator_name)(pc_create_ctx *cc);
    const char *(*cc_authconfig_name)(pc_create_ctx *cc);
    const char *(*cc_authconfig_namespace)(pc_create_ctx *cc);
    /** Calls fn for each Kubernetes resource of `kind` (e.g. "Secret")
     *  found beside the AuthConfigs (files or the cluster); stops when fn
     *  returns non-zero. */
    int (*cc_foreach_resource)(pc_create_ctx *cc, const char *kind,
                               int (*fn)(void *arg, const pc_value *res),
                               void *arg);

    /* ---- the evaluation (inside evaluate) ---- */

    /** The Authorization JSON: context, request, source, destination,
     *  metadata, auth.{identity,metadata,authorization,response}. */
    const pc_value *(*eval_root)(pc_eval *ev);
    /** Identity evaluators with PC_EVAL_NEEDS_CREDENTIAL: the credential
     *  taken from the configured location (never log it). */
    const char *(*eval_credential)(pc_eval *ev, size_t *len);
    /** Publishes the result object: the identity object, the metadata
     *  object, the response value. Takes ownership of v. */
    void (*eval_set_output)(pc_eval *ev, pc_value *v);
    /** Sets the reason of a PC_DENY or PC_ERROR (sent to the client in
     *  X-Ext-Auth-Reason and logged; no secrets). */
    void (*eval_set_reason)(pc_eval *ev, const char *fmt, ...) PC_PRINTF(2, 3);
    /** CLOCK_MONOTONIC deadline of this evaluation in ns (0 = none). */
    int64_t (*eval_deadline_ns)(pc_eval *ev);
    /** 1 once the request was cancelled or timed out: stop early. */
    int (*eval_cancelled)(pc_eval *ev);

    /* ---- cache with single-flight (keys are HMAC'd, never stored raw) ---- */

    /** Creates a cache (create time); NULL on bad options. */
    pc_cache *(*cache_new)(const pc_cache_opts *opts);
    void (*cache_free)(pc_cache *cache);
    /**
     * Looks key up; on a miss calls fill once for all concurrent callers of
     * the same key. Waiters give up at their own deadline with PC_ERROR.
     * With fill NULL it never waits: a miss returns PC_AGAIN.
     * @param out the cached or filled value, borrowed for the evaluation
     *            (PC_OK and PC_DENY results both carry their value).
     */
    pc_status (*cache_lookup)(pc_cache *cache, pc_eval *ev, const void *key,
                              size_t key_len, pc_cache_fill_fn fill,
                              void *arg, const pc_value **out);

    /* ---- outbound HTTP (blocking; declare PC_EVAL_MAY_BLOCK) ---- */

    /** Sends a request with connection reuse and TLS verification, bounded
     *  by min(timeout_ms, the evaluation's deadline). PC_ERROR with a reason
     *  in err on transport errors; any HTTP status is PC_OK. */
    pc_status (*http_do)(pc_eval *ev, const pc_http_request *req,
                         pc_http_response *resp, char *err, size_t errlen);
    /** Sends a request to the Kubernetes API server (in-cluster or
     *  kubeconfig credentials) at `path` with a JSON body. PC_ERROR if no
     *  cluster is configured or on transport errors. */
    pc_status (*kube_do)(pc_eval *ev, const char *method, const char *path,
                         const char *body, size_t body_len, int64_t timeout_ms,
                         pc_http_response *resp, char *err, size_t errlen);

    /* ---- metrics (create time to register; any thread to add) ---- */

    /** Registers a counter `portcullis_<name>` (same name = same counter);
     *  NULL unless name matches [a-zA-Z_:][a-zA-Z0-9_:]* (and is not the
     *  host's: cache_*, authconfigs). counter_add(NULL, n) does nothing. */
    pc_counter *(*counter_new)(const char *name, const char *help);
    void (*counter_add)(pc_counter *c, uint64_t n);

    /* ---- crypto helpers ---- */

    /** SHA-256 of data into out[32]. */
    void (*sha256)(const void *data, size_t len, uint8_t out[32]);
    /** HMAC-SHA256 of data under key into out[32]. */
    void (*hmac_sha256)(const void *key, size_t key_len, const void *data,
                        size_t len, uint8_t out[32]);
    /** Constant-time comparison: 1 if equal. */
    int (*ct_equal)(const void *a, const void *b, size_t len);

    /* ---- frontends ---- */

    /**
     * Submits a request for a verdict. The view is copied before submit
     * returns. done is called exactly once, on this thread before submit
     * returns (pipelines that never block) or later on a worker thread.
     * To stop a request early (client gone), give the view a cancelled
     * hook. Any thread may call submit, log, metrics_request and ready.
     */
    void (*submit)(const pc_request_view *view, pc_verdict_fn done, void *arg);
    /** Frees the verdict and the request; call once after done. */
    void (*request_release)(pc_submission *sub);
    /** 1 once AuthConfigs are loaded and the server may take traffic. */
    int (*ready)(void);
    /** Prometheus text exposition of every metric, host->free it. */
    char *(*metrics_render)(size_t *len);
    /** Records one finished request for metrics (frontends call it). */
    void (*metrics_request)(const pc_verdict *v, int64_t duration_ns);

    /* ---- added in 1.1: values kept by instances ---- */

    /** Parses JSON into a value the instance keeps (any thread may read it,
     *  none may change it); NULL on a syntax error. For outputs that are
     *  the same on every request: publish value_copy(ev, kept), which is
     *  cheaper than parsing per request. Free with value_release. */
    pc_value *(*value_keep_json)(const char *json, size_t len);
    /** Frees a value from value_keep_json (control thread, in destroy). */
    void (*value_release)(pc_value *v);

    /* ---- added in 1.2 ---- */

    /** Decodes base64 (the standard alphabet, or URL-safe when url is
     *  non-zero; padding optional; line breaks skipped) into a new buffer
     *  with a NUL after its *out_len bytes; host->free it. NULL on invalid
     *  input. */
    unsigned char *(*base64_decode)(const char *src, size_t len, int url,
                                    size_t *out_len);

    /* ---- added in 1.3 ---- */

    /** 0 while a PC_EVAL_TRY_NONBLOCKING evaluator is tried on an I/O
     *  thread (it must not block: answer from memory or return PC_AGAIN),
     *  1 on a worker thread. */
    int (*eval_can_block)(pc_eval *ev);

    /** Sends an HTTP request outside any evaluation, for work an instance
     *  does on its own schedule (fetching key sets at create and on a
     *  plugin-owned refresh thread). Any thread; blocks for at most
     *  req->timeout_ms, which must be positive. On PC_OK *status is the
     *  HTTP status and *body a new NUL-terminated buffer of *body_len
     *  bytes (host->free it); on PC_ERROR a reason is in err and *body is
     *  NULL. Same TLS verification and body limit as http_do. */
    pc_status (*http_fetch)(const pc_http_request *req, long *status,
                            char **body, size_t *body_len, char *err,
                            size_t errlen);

    /** cc_foreach_resource for the resources of `kind` in one namespace
     *  (NULL or "": "default"), looked up through an index: use it when
     *  the instance only reads its own namespace, so that N AuthConfigs
     *  cost N times their namespace's resources, not N times all of
     *  them. Create time only. */
    int (*cc_foreach_resource_in)(pc_create_ctx *cc, const char *kind,
                                  const char *namespace_,
                                  int (*fn)(void *arg, const pc_value *res),
                                  void *arg);

    /* ---- added in 1.5 ---- */

    /** The body of a /readyz/authconfigs probe (Authorino's): "ok" when
     *  every AuthConfig is ready, else an error naming the first that is
     *  not; with verbose one "[+]namespace/name ok" or "[-]namespace/name
     *  REASON" line each. *all_ready says which; host->free the text.
     *  Any thread; NULL when out of memory. */
    char *(*readiness_render)(int verbose, int *all_ready, size_t *len);

    /* ---- added in 1.6 ---- */

    /** The `spec` of the AuthConfig the instance is created in, as written
     *  (borrowed until create returns; NULL when there is none, e.g. an
     *  evaluator made outside an AuthConfig). For evaluators that refer to
     *  another evaluator of the same AuthConfig by name, as userInfo's
     *  identitySource names a jwt authentication. Create time only. */
    const pc_value *(*cc_authconfig_spec)(pc_create_ctx *cc);
} pc_host;

/** 1 if the host's table is large enough to hold `field`. */
#define PC_HOST_HAS(host, field)                                              \
    ((host)->struct_size >= offsetof(pc_host, field) + sizeof((host)->field) && \
     (host)->field != NULL)

#ifdef __cplusplus
}
#endif
#endif /* PORTCULLIS_HOST_H */
