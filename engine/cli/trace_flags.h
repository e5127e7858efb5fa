/* trace_flags.h - serve's --tracing-* flags: Authorino's three
 * (--tracing-service-endpoint, --tracing-service-tag,
 * --tracing-service-insecure) and the exporter's limits. */
#ifndef PC_CLI_TRACE_FLAGS_H
#define PC_CLI_TRACE_FLAGS_H
#include "trace/trace.h"

/* getopt_long codes, clear of serve's own and of the alias codes. */
enum {
    TF_ENDPOINT = 2000, TF_TAG, TF_INSECURE, TF_QUEUE, TF_BATCH, TF_DELAY,
    TF_TIMEOUT, TF_RATIO, TF_LAST_
};
#define TRACE_FLAGS_MAX_TAGS 64

#define TRACE_FLAG_OPTIONS \
    {"tracing-service-endpoint", required_argument, NULL, TF_ENDPOINT}, \
    {"tracing-service-tag", required_argument, NULL, TF_TAG}, \
    {"tracing-service-insecure", no_argument, NULL, TF_INSECURE}, \
    {"tracing-max-queue-size", required_argument, NULL, TF_QUEUE}, \
    {"tracing-max-export-batch-size", required_argument, NULL, TF_BATCH}, \
    {"tracing-batch-delay", required_argument, NULL, TF_DELAY}, \
    {"tracing-export-timeout", required_argument, NULL, TF_TIMEOUT}, \
    {"tracing-sampling-ratio", required_argument, NULL, TF_RATIO}

#define TRACE_FLAG_USAGE \
    "  --tracing-service-endpoint URL\n" \
    "                            export OpenTelemetry spans over OTLP/HTTP, e.g.\n" \
    "                            http://collector:4318 (default: no tracing)\n" \
    "  --tracing-service-tag KEY=VALUE  resource attribute (repeatable)\n" \
    "  --tracing-service-insecure  plain HTTP to the collector (default TLS)\n" \
    "  --tracing-max-queue-size N  spans waiting for export (default 2048)\n" \
    "  --tracing-max-export-batch-size N  spans per POST (default 512)\n" \
    "  --tracing-batch-delay MS  longest wait before a POST (default 5000)\n" \
    "  --tracing-export-timeout MS  one POST (default 10000)\n" \
    "  --tracing-sampling-ratio R  share of requests without a traceparent\n" \
    "                            that are traced, 0..1 (default 1)\n"

typedef struct trace_flags {
    trace_settings s;
    const char *tags[TRACE_FLAGS_MAX_TAGS];
    int tags_from_env;   /* the first --tracing-service-tag replaces them */
    char env_tags[4096]; /* PORTCULLIS_TRACING_SERVICE_TAGS, split in place */
} trace_flags;

void trace_flags_init(trace_flags *f);
/* The same settings from PORTCULLIS_TRACING_* (read before the flags,
 * which win); PORTCULLIS_TRACING_SERVICE_TAGS is a comma-separated list.
 * Returns 0, or -1 after saying what is wrong. */
int trace_flags_env(trace_flags *f);
/* Reads one --tracing-* flag (code TF_*). Returns 0, or -1 after saying
 * what is wrong. */
int trace_flags_set(trace_flags *f, int code, const char *arg);
/* Starts the exporter when an endpoint was given; -1 after saying why
 * not. The other flags without an endpoint are an error too. */
int trace_flags_start(trace_flags *f);
#endif
