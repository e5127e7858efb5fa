/* trace_int.h - what the request side (trace.c), the queue and exporter
 * (trace_export.c) and the OTLP encoder (trace_otlp.c) share. */
#ifndef PC_TRACE_TRACE_INT_H
#define PC_TRACE_TRACE_INT_H
#include "trace.h"
#include "util/buf.h"

/* One evaluator run. Strings are copied (cut at their size): the snapshot
 * that owns the names may be gone by the time the span is exported. */
typedef struct trace_span {
    uint8_t span_id[8];
    int phase;                /* pc_phase */
    const char *outcome;      /* a literal */
    int64_t start_ns, end_ns; /* CLOCK_REALTIME */
    char path[112];           /* spec.authentication.<name>: the span name */
    char name[80];
    char method[48];
    char why[128];            /* status message of a span that is not ok */
} trace_span;

struct trace_req {
    struct trace_req *next;   /* in the export queue or a free list */
    int pooled;               /* TRACE_POOL_SLOTS slots: goes back to the pool */
    trace_ctx ctx;            /* trace id, the request span's id, flags */
    uint8_t parent[8];
    int has_parent;
    int64_t start_ns, end_ns;
    int allowed, grpc_code, http_status;
    int cur;                  /* running evaluator slot, -1 for none */
    size_t n_spans, cap_spans;
    char host[128];
    char authconfig[128];     /* "namespace/name" */
    char request_id[64];      /* x-request-id, else the CheckRequest id */
    char x_request_id[64];    /* x-request-id as sent, or "" */
    const char *tracestate;   /* in the same allocation, "" for none */
    trace_span spans[];
};

/* Span records are recycled rather than freed on the exporter's thread:
 * glibc would move every block freed there out of the requests' threads'
 * reach, and their mallocs would take the slow path. Records with up to
 * TRACE_POOL_SLOTS evaluator slots are all one size and go back to a
 * pool (at most TRACE_POOL_MAX, the rest freed); a thread keeps up to
 * TRACE_CACHE of them at hand, refilled when it queues a trace. */
#define TRACE_POOL_SLOTS 16
#define TRACE_POOL_MAX 1024
#define TRACE_CACHE 8
#define TRACE_POOL_BYTES (sizeof(trace_req) + TRACE_POOL_SLOTS * sizeof(trace_span) + \
                          TRACE_STATE_MAX + 1)

/* trace.c: a record from this thread's cache, or NULL. */
trace_req *trace_cache_take(void);
/* trace.c: keeps t (pooled) in this thread's cache; 0, or -1 when full. */
int trace_cache_put(trace_req *t);
/* trace.c: how many more this thread's cache takes. */
size_t trace_cache_room(void);

/* trace_export.c: hands a finished trace to the exporter's queue. */
void trace_queue_push(trace_req *t);
/* The ratio for requests without a parent, as a bound on the trace id's
 * low 63 bits (OpenTelemetry's TraceIdRatioBased). */
extern uint64_t trace_ratio_bound;

/* trace_otlp.c: one ExportTraceServiceRequest for the traces in list
 * (linked by next) into out. Returns the number of spans, or -1. */
typedef struct trace_resource {
    const char **keys, **values;
    size_t n;
} trace_resource;
long trace_otlp_encode(const trace_req *list, const trace_resource *res, buf *out);
#endif
