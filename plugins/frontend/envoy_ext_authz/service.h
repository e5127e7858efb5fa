/*
 * service.h - the ext_authz service logic, without I/O: which method a gRPC
 * request calls and whether its headers let it in, the deadline a request
 * carries, the HTTP status a verdict maps to, the answers to transport
 * failures in either protocol, and the names metrics give codes and
 * methods. Every function is a pure function of its arguments (the arena
 * aside), so the connection code only moves bytes and the rules are tested
 * and fuzzed on their own (tests/unit/test_service.c, fuzz_service.c).
 */
#ifndef PC_EXTAUTHZ_SERVICE_H
#define PC_EXTAUTHZ_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <portcullis/request.h>

#include "server_buf.h"

/* ---- gRPC methods ---- */

typedef enum svc_method_id {
    SVC_CHECK_V3 = 0,
    SVC_CHECK_V2 = 1,
    SVC_HEALTH_CHECK = 2,
    SVC_METHOD_COUNT_ = 3
} svc_method_id;

typedef struct svc_method {
    svc_method_id id;
    const char *path;    /* "/envoy.service.auth.v3.Authorization/Check" */
    const char *service; /* "envoy.service.auth.v3.Authorization" */
    const char *name;    /* "Check" */
    size_t max_message;  /* request message limit; 0: max_message_bytes */
} svc_method;

/** The method at path, or NULL when the server has none there. */
const svc_method *svc_grpc_method(pc_str path);
/** The method with that id (id < SVC_METHOD_COUNT_). */
const svc_method *svc_grpc_method_at(svc_method_id id);

/** An answer that is not a verdict: an HTTP status with a short text body,
 *  or (http_status 0) a trailers-only gRPC status with a message. */
typedef struct svc_answer {
    int http_status;
    int grpc_status;
    const char *text;
} svc_answer;

/** What a gRPC request's headers decide before its message arrives. */
typedef struct svc_grpc_head {
    pc_str method, path, content_type, grpc_encoding;
} svc_grpc_head;

/**
 * The method a request with these headers calls, or NULL and *early the
 * answer it gets instead: 405 for another verb than POST, 415 for another
 * content-type than application/grpc[+proto|;...], UNIMPLEMENTED for an
 * unknown path (the message, naming it, is written to msg) or a
 * grpc-encoding other than identity. In that order, as gRPC servers check.
 */
const svc_method *svc_grpc_accept(const svc_grpc_head *h, svc_answer *early,
                                  char *msg, size_t msglen);

/** 1 for "application/grpc", "application/grpc+proto", "application/grpc;...". */
int svc_grpc_content_type(pc_str ct);

/* Far enough to never come, near enough that whoever adds a margin to it
 * stays clear of INT64_MAX: about 146 years. */
#define SVC_DEADLINE_MAX_NS (INT64_C(1) << 62)

/**
 * The deadline (CLOCK_MONOTONIC ns; 0 = none) of a gRPC request received at
 * now_ns: its grpc-timeout header, capped by default_ms (0 = no default).
 * An unreadable grpc-timeout counts as absent; "0n" is due at once.
 */
int64_t svc_grpc_deadline(pc_str grpc_timeout, int64_t default_ms,
                          int64_t now_ns);
/**
 * The deadline of an HTTP authorization request: Envoy's
 * x-envoy-expected-rq-timeout-ms (decimal milliseconds) when shorter than
 * default_ms, else default_ms; 0 when neither is set.
 */
int64_t svc_http_deadline(pc_str expected_rq_timeout_ms, int64_t default_ms,
                          int64_t now_ns);

/* ---- HTTP authorization ---- */

/** 1 for Authorino's raw endpoint: GET or POST on /check or /check/. */
int svc_http_is_raw_check(pc_str method, pc_str path);
/**
 * Envoy's http_service path_prefix removed from target ("/prefix/a?b" ->
 * "/a?b") when it starts the target at a segment boundary, else target as
 * it is. "" or "?q" left over means "/" (allocated in scratch).
 */
pc_str svc_http_strip_prefix(pc_str target, const char *prefix,
                             srv_arena *scratch);
/** The HTTP status a verdict answers with: 200 when allowed, else its
 *  http_status, or 403 when that is not a status a denial can carry
 *  (below 300, above 599, 304). */
int svc_http_status(const pc_verdict *v);

/* ---- answers to what the transport meets ---- */

typedef enum svc_fail {
    SVC_FAIL_TOO_BIG = 0,  /* the request is over its size limit */
    SVC_FAIL_OVER_BUDGET,  /* the server is over its memory budget */
    SVC_FAIL_STREAM_IDLE,  /* no frame for stream_idle_timeout_ms */
    SVC_FAIL_TIMEOUT,      /* the request's deadline passed first */
    SVC_FAIL_INTERNAL,     /* the verdict could not be encoded */
    SVC_FAIL_NOMEM,        /* no memory to take the request */
    SVC_FAIL_COUNT_
} svc_fail;

/** The answer to f for a gRPC request (grpc != 0) or an HTTP one. */
svc_answer svc_fail_answer(svc_fail f, int grpc);

/* ---- names for metrics ---- */

/** Go's name of a gRPC status code ("OK", "PermissionDenied", ...), as
 *  go-grpc-prometheus labels grpc_code; "Unknown" outside 0..16. */
const char *svc_grpc_code_name(int code);
/** Envoy's StatusCode enum name of an HTTP status ("OK", "Forbidden"), as
 *  Authorino labels http_server_handled_total; the decimal number in buf
 *  when the enum has none. */
const char *svc_http_status_name(int status, char buf[16]);

/* The request methods promhttp labels by name (lowercase); the rest are
 * "unknown", so a client cannot make up label values. */
#define SVC_HTTP_METHODS 10
/** 0..SVC_HTTP_METHODS-1; the last one is "unknown". */
int svc_http_method_index(pc_str method);
const char *svc_http_method_label(int index);

#endif
