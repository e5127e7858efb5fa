/*
 * portcullis/request.h - what a frontend hands the engine (a request view)
 * and what it gets back (a verdict).
 *
 * Frontends decode the wire (Envoy's CheckRequest, a raw HTTP request) into
 * a pc_request_view that points into their own buffers; the engine copies
 * what it needs while building the Authorization JSON, so the view only has
 * to live until pc_host.submit returns.
 */
#ifndef PORTCULLIS_REQUEST_H
#define PORTCULLIS_REQUEST_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pc_value pc_value;

/** A byte string that is not necessarily NUL-terminated. */
typedef struct pc_str {
    const char *ptr;
    size_t len;
} pc_str;

/** A key/value pair (headers, labels, context extensions). */
typedef struct pc_kv {
    pc_str key;
    pc_str value;
} pc_kv;

/** One side of the connection (AttributeContext.Peer). */
typedef struct pc_peer_view {
    pc_str address;       /**< IP or pipe path, empty if unknown */
    uint32_t port;        /**< 0 if unknown */
    pc_str service;
    pc_str principal;
    pc_str certificate;   /**< URL-encoded PEM as Envoy sends it */
    const pc_kv *labels;
    size_t n_labels;
} pc_peer_view;

/**
 * Takes a JSON value piece by piece, for a frontend that holds structured
 * data (a protobuf Struct) to hand it over without rendering JSON text
 * that the engine would parse again. Values come in document order: a
 * member's key, then its value; object_begin / array_begin open a
 * container that `end` closes. Each call returns 0, or non-zero when the
 * engine cannot take the value (the emitter then stops and fails).
 */
typedef struct pc_json_sink {
    void *arg;
    int (*object_begin)(void *arg);
    int (*array_begin)(void *arg);
    /** Closes the innermost open object or array. */
    int (*end)(void *arg);
    /** The key of the next member of the innermost object (no NUL). */
    int (*key)(void *arg, const char *s, size_t len);
    int (*string)(void *arg, const char *s, size_t len);
    /** A finite number. */
    int (*number)(void *arg, double d);
    int (*boolean)(void *arg, int b);
    int (*null)(void *arg);
} pc_json_sink;

/** An HTTP request to authorize, as Envoy's AttributeContext describes it. */
typedef struct pc_request_view {
    uint32_t struct_size; /**< sizeof(pc_request_view) as compiled */
    pc_str id, method, path, host, scheme, query, fragment, protocol;
    pc_str body;          /**< UTF-8 body (HttpRequest.body) */
    pc_str raw_body;      /**< bytes body (HttpRequest.raw_body) */
    int64_t size;         /**< -1 if unknown */
    int64_t time_sec;     /**< request time; 0 = unknown */
    int32_t time_nanos;
    /** Headers with lowercase names. Repeated names may appear twice; the
     *  engine joins them with "," as Envoy does. */
    const pc_kv *headers;
    size_t n_headers;
    const pc_kv *context_extensions;
    size_t n_context_extensions;
    pc_peer_view source, destination;
    pc_str sni;
    /** AttributeContext.metadata_context as JSON text ({"filter_metadata":
     *  {...}}), or empty. Strict JSON (RFC 8259, UTF-8), one object, at
     *  most 40 objects and arrays deep, no key holding a NUL (\u0000):
     *  anything else refuses the request. */
    pc_str metadata_context_json;
    /** CLOCK_MONOTONIC deadline in ns from grpc-timeout or the frontend's
     *  own limit; 0 = none (the engine applies its default). */
    int64_t deadline_ns;
    /** Optional: non-zero once the client went away (stream reset,
     *  connection closed, deadline answered). The engine asks between
     *  evaluators and stops the pipeline, failing closed. Called from any
     *  thread; cancel_arg must stay valid until the verdict callback ran. */
    int (*cancelled)(void *cancel_arg);
    void *cancel_arg;
    /** Optional (ABI 1.1), and used instead of metadata_context_json when
     *  set: writes AttributeContext.metadata_context into sink as one
     *  object, {"filter_metadata": {...}}. Called (with metadata_arg) only
     *  while pc_host.submit runs. Returns 0, or non-zero when a sink call
     *  failed or a value cannot be represented: the engine then refuses
     *  the request rather than decide it without its metadata. */
    int (*metadata_emit)(const void *metadata_arg, const pc_json_sink *sink);
    const void *metadata_arg;
} pc_request_view;

/** Returns a pc_str for a NUL-terminated string (NULL gives empty). */
static inline pc_str pc_str_c(const char *s)
{
    pc_str r;
    size_t n = 0;
    if (s)
        while (s[n])
            n++;
    r.ptr = s ? s : "";
    r.len = n;
    return r;
}

/** A header to add: upstream request headers on allow, response headers on
 *  deny. Names are lowercase; values are valid UTF-8. */
typedef struct pc_header {
    pc_str name;
    pc_str value;
} pc_header;

/** google.rpc.Code, the status of a gRPC call and of a CheckResponse
 *  (pc_verdict.grpc_code). Values are fixed by gRPC. */
typedef enum pc_grpc_code {
    PC_GRPC_OK = 0,
    PC_GRPC_CANCELLED = 1,
    PC_GRPC_UNKNOWN = 2,
    PC_GRPC_INVALID_ARGUMENT = 3,
    PC_GRPC_DEADLINE_EXCEEDED = 4,
    PC_GRPC_NOT_FOUND = 5,
    PC_GRPC_ALREADY_EXISTS = 6,
    PC_GRPC_PERMISSION_DENIED = 7,
    PC_GRPC_RESOURCE_EXHAUSTED = 8,
    PC_GRPC_FAILED_PRECONDITION = 9,
    PC_GRPC_ABORTED = 10,
    PC_GRPC_OUT_OF_RANGE = 11,
    PC_GRPC_UNIMPLEMENTED = 12,
    PC_GRPC_INTERNAL = 13,
    PC_GRPC_UNAVAILABLE = 14,
    PC_GRPC_DATA_LOSS = 15,
    PC_GRPC_UNAUTHENTICATED = 16
} pc_grpc_code;

/** The decision for one request. Owned by the engine; valid until the
 *  frontend calls pc_host.request_release. */
typedef struct pc_verdict {
    uint32_t struct_size;     /**< sizeof(pc_verdict) of the host */
    int allowed;              /**< 1 = let the request through */
    int grpc_code;            /**< a pc_grpc_code: OK, UNAUTHENTICATED,
                                   PERMISSION_DENIED, NOT_FOUND,
                                   INVALID_ARGUMENT, UNAVAILABLE ... */
    int http_status;          /**< 200 on allow; the deny status otherwise */
    const pc_header *headers; /**< allow: set on the upstream request;
                                   deny: sent to the client */
    size_t n_headers;
    pc_str body;              /**< deny body (may be empty) */
    pc_str reason;            /**< why, for logs and X-Ext-Auth-Reason */
    /** allow: dynamic metadata object, or NULL; read with pc_host value
     *  accessors. */
    const pc_value *dynamic_metadata;
    /** "namespace/name" of the AuthConfig that decided, or empty. */
    pc_str authconfig;
} pc_verdict;

#ifdef __cplusplus
}
#endif
#endif /* PORTCULLIS_REQUEST_H */
