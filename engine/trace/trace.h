/* trace.h - OpenTelemetry spans for authorization requests: one SERVER
 * span per request ("Check") and one INTERNAL child span per evaluator
 * run, parented to the request's W3C traceparent, exported over OTLP/HTTP
 * by one background thread (trace_export.c).
 *
 * Off (the default), the request path pays one test of trace_on and
 * nothing else. On, a request that is sampled gets one trace_req: a single
 * allocation with a fixed slot per evaluator of its AuthConfig, filled in
 * place as evaluators run and handed whole to the exporter's bounded queue
 * when the verdict is out. Nothing is serialized on the request's thread. */
#ifndef PC_TRACE_TRACE_H
#define PC_TRACE_TRACE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <portcullis/plugin.h>
#include <portcullis/request.h>
#include "trace_ctx.h"

struct ac_config;
struct ac_eval;

/* Set once by trace_start, before any request is served. */
extern int trace_on;

typedef struct trace_settings {
    const char *endpoint;      /* http://host:port[/path] (OTLP/HTTP) */
    int insecure;              /* plain HTTP instead of TLS */
    const char *const *tags;   /* key=value resource attributes */
    size_t n_tags;
    size_t max_queue_spans;    /* spans waiting for export; more are dropped */
    size_t max_batch_spans;    /* spans in one POST */
    int64_t batch_delay_ms;    /* longest wait before a partial batch goes */
    int64_t export_timeout_ms; /* one POST, connect included */
    double sampling_ratio;     /* requests without a parent that are traced */
} trace_settings;

#define TRACE_DEFAULT_QUEUE 2048
#define TRACE_DEFAULT_BATCH 512
#define TRACE_DEFAULT_DELAY_MS 5000
#define TRACE_DEFAULT_TIMEOUT_MS 10000

void trace_settings_default(trace_settings *s);
/* Checks s, starts the exporter thread and sets trace_on. Returns 0, or
 * -1 with a message in err (a bad endpoint or tag, an unsupported scheme). */
int trace_start(const trace_settings *s, char *err, size_t errlen);
/* Exports what is queued (one try; every batch left within one export
 * timeout in all, the rest dropped and counted), stops
 * the thread and sets trace_on back to 0. */
void trace_stop(void);

/* Parses a --tracing-service-endpoint into what the exporter needs;
 * exposed for the unit tests. url gets the URL curl posts to, auth the
 * Authorization header value made from user:password@ (or "" for none). */
int trace_endpoint_parse(const char *endpoint, int insecure, char *url, size_t urlcap,
                         char *auth, size_t authcap, char *err, size_t errlen);

typedef struct trace_req trace_req;

/* For a request whose trace_on is set: the request span, or NULL when
 * the request is not sampled (an unsampled parent, the ratio) or memory is
 * short. cfg (may be NULL) sizes the evaluator slots. */
trace_req *trace_begin(const pc_request_view *v, const struct ac_config *cfg);

/* Around one evaluator run: trace_eval_begin returns its slot (or -1 when
 * the slots are used up) and makes it the current span for outgoing
 * requests; trace_eval_end closes it. outcome is "ok", "denied",
 * "skipped", "error"; why (may be NULL) becomes the status message of a
 * span that is not ok. */
int trace_eval_begin(trace_req *t, const struct ac_eval *ev);
void trace_eval_end(trace_req *t, int slot, const char *outcome, const char *why);
/* A slot that did not finish (the evaluator must continue on a worker). */
void trace_eval_abandon(trace_req *t, int slot);

/* The verdict: closes the request span and queues the whole trace for
 * export (or drops it, counted, when the queue is full). Frees nothing the
 * caller still holds; t is the exporter's from here. */
void trace_end(trace_req *t, const char *authconfig, int allowed, int grpc_code,
               int http_status);

/* The traceparent for an outgoing request made while t is current: the
 * running evaluator's span, else the request span. Writes the value and a
 * NUL into out (TRACE_PARENT_LEN + 1 bytes) and returns its length; *state
 * gets the tracestate to send with it ("" for none). */
size_t trace_outgoing(const trace_req *t, char *out, const char **state);
#endif
