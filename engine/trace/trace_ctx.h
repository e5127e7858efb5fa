/* trace_ctx.h - W3C Trace Context (https://www.w3.org/TR/trace-context/):
 * the traceparent and tracestate headers, parsed and written. No I/O and
 * no allocation, so the parsers can run on any thread and under a fuzzer. */
#ifndef PC_TRACE_TRACE_CTX_H
#define PC_TRACE_TRACE_CTX_H
#include <stddef.h>
#include <stdint.h>

#define TRACE_FLAG_SAMPLED 0x01
/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TRACE_PARENT_LEN 55
/* The longest tracestate kept; a longer one is dropped whole (W3C lets a
 * vendor drop what it cannot keep, and 512 is what it asks be kept). */
#define TRACE_STATE_MAX 512

typedef struct trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
} trace_ctx;

/* Parses a traceparent value (surrounding spaces and tabs ignored).
 * Returns 0 with *out filled, or -1 for anything W3C calls invalid: a bad
 * length or separator, uppercase or non-hex digits, version ff, an
 * all-zero trace or parent id, or a version 00 value with a tail. A future
 * version's longer value is read by its first four fields. */
int trace_parse_traceparent(const char *s, size_t n, trace_ctx *out);

/* Checks a tracestate value: at most 32 list members of key=value, keys
 * as W3C spells them (lowercase, digits, _ - * /, optionally tenant@system)
 * and unique, values of printable ASCII without ',' or '=' and not ending
 * in a space, TRACE_STATE_MAX bytes in all. Returns 0 when the value may
 * be passed on, -1 when it must be dropped. */
int trace_check_tracestate(const char *s, size_t n);

/* Writes "00-<trace id>-<span id>-<flags>" and a NUL into out (at least
 * TRACE_PARENT_LEN + 1 bytes); returns TRACE_PARENT_LEN. */
size_t trace_format_traceparent(const trace_ctx *c, char *out);

/* 1 when all n bytes are zero (an invalid id). */
int trace_id_is_zero(const uint8_t *id, size_t n);
#endif
