/*
 * codec.h - the ext_authz protocol codec: CheckRequest in, CheckResponse
 * out, gRPC message framing, grpc-timeout / grpc-message and the standard
 * health service.
 *
 * Pure functions over caller memory: no I/O, no globals, no locks, so every
 * function may run on any thread. Errors are the negative CODEC_E* codes;
 * codec_error_grpc_status() says which gRPC status to answer with.
 */
#ifndef PC_EXTAUTHZ_CODEC_H
#define PC_EXTAUTHZ_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <portcullis/host.h>
#include <portcullis/request.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---- */

enum {
    CODEC_OK = 0,
    CODEC_EPARSE = -1,      /**< not a valid message, or nested too deep */
    CODEC_ENOHTTP = -2,     /**< CheckRequest without attributes.request.http */
    CODEC_ENOMEM = -3,      /**< out of memory */
    CODEC_ETOOBIG = -4,     /**< message over the size limit */
    CODEC_ECOMPRESSED = -5, /**< compressed frame but no grpc-encoding */
    CODEC_EFRAME = -6,      /**< bad frame flag, or stream ended mid-message */
    CODEC_EINVAL = -7,      /**< bad argument */
    CODEC_EINVALREQ = -8    /**< a part of the request that cannot be
                                 represented (answer INVALID_ARGUMENT) */
};

/** google.rpc.Code to answer an error with: EPARSE, ECOMPRESSED, EFRAME ->
 *  INTERNAL (13); ENOHTTP, EINVAL, EINVALREQ -> INVALID_ARGUMENT (3); ETOOBIG,
 *  ENOMEM -> RESOURCE_EXHAUSTED (8); 0 -> OK. */
int codec_error_grpc_status(int err);
/** A short static text for an error code (for grpc-message). */
const char *codec_strerror(int err);

/** Deepest message nesting accepted on input (protobuf C++'s default
 *  recursion limit); deeper input is CODEC_EPARSE, never a stack overflow. */
#define CODEC_MAX_DEPTH 100
/** Most message and unknown-field occurrences accepted in one request:
 *  bounds the memory unpacking may take for a message of a given size. */
#define CODEC_MAX_ITEMS 65536
/** Deepest JSON nesting encoded into dynamic_metadata; deeper values are
 *  sent as null so Envoy (limit 100 messages, 3 per JSON level) parses it. */
#define CODEC_MAX_JSON_DEPTH 30

/** Default and largest accepted nesting of a metadata_context namespace
 *  (its Struct is level 1, each object or array inside one more). The
 *  largest keeps a request within CODEC_MAX_DEPTH messages: a JSON level
 *  costs three (Value, Struct, map entry). */
#define CODEC_METADATA_DEPTH_DEFAULT 24
#define CODEC_METADATA_DEPTH_MAX 30

/** What a CheckRequest may hold beyond its size (a frontend setting). */
typedef struct codec_decode_opts {
    int max_metadata_depth; /**< 1..CODEC_METADATA_DEPTH_MAX; 0 = default */
} codec_decode_opts;

/* ---- memory ---- */

/** A growable byte buffer. Zero-initialise it (or CODEC_BUF_INIT) before
 *  first use; encoders append to it. */
typedef struct codec_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} codec_buf;

#define CODEC_BUF_INIT {NULL, 0, 0}

/** Makes room for `extra` more bytes after len: 0 or CODEC_ENOMEM. */
int codec_buf_reserve(codec_buf *b, size_t extra);
/** Forgets the content but keeps the memory for the next message. */
void codec_buf_reset(codec_buf *b);
/** Frees the memory; the buffer is empty and reusable afterwards. */
void codec_buf_free(codec_buf *b);

/** A bump allocator: many small allocations, one free. */
typedef struct codec_arena_block codec_arena_block;
typedef struct codec_arena {
    codec_arena_block *head;
    size_t next_size;       /**< size of the next block to malloc */
} codec_arena;

/* ---- CheckRequest ---- */

/** A decoded CheckRequest. `view` points into the decoded buffer and into
 *  memory the struct owns: it is valid while both are. */
typedef struct codec_check {
    /** Ready for pc_host.submit; valid until codec_check_free. Header names
     *  are lowercase; headers holds the `headers` map entries followed by
     *  the `header_map` entries (raw_value if set, else value). */
    pc_request_view view;
    void *msg_;             /* private: the unpacked CheckRequest */
    codec_arena arena_;     /* private: everything above lives here */
} codec_check;

/**
 * Decodes one CheckRequest (the gRPC message without its 5-byte prefix) of
 * the v3 service; v2 requests decode too (same numbers, a subset).
 * The view's strings point into buf (which must outlive it) unless they
 * had to be changed. Every part is kept or the request is refused, never a
 * part dropped:
 * strings keep their length (a NUL anywhere but in the body is refused)
 * and metadata_context is checked against opts before anything is built.
 * @param opts    limits; NULL for the defaults.
 * @param out     overwritten; call codec_check_free on it afterwards
 *                whatever the result.
 * @return 0; CODEC_ENOHTTP when attributes.request.http is absent and
 *         CODEC_EINVALREQ when a part cannot be represented (a NUL in a
 *         header, metadata nested deeper than opts allow, a NaN): answer
 *         INVALID_ARGUMENT; CODEC_EPARSE or CODEC_ENOMEM. With a one-line
 *         reason in err.
 * view.deadline_ns is left 0. metadata_context_json is left empty: when
 * metadata_context has filter_metadata, view.metadata_emit writes it
 * ({"filter_metadata":{"<ns>":{...}}}) into the engine's sink, valid until
 * codec_check_free (typed_filter_metadata is not rendered).
 */
int codec_decode_check(const uint8_t *buf, size_t len,
                       const codec_decode_opts *opts, codec_check *out,
                       char *err, size_t errlen);
/** Frees a codec_check (also safe on a zeroed one, and twice). */
void codec_check_free(codec_check *c);

/* ---- CheckResponse ---- */

/**
 * Appends a gRPC message (5-byte prefix + CheckResponse) for a verdict.
 *  - status.code = v->grpc_code; a denial whose code is 0 is sent as
 *    PERMISSION_DENIED (7) so that it can never read as an allow.
 *  - allowed: ok_response with v->headers as HeaderValueOption{header,
 *    append_action = OVERWRITE_IF_EXISTS_OR_ADD} (v2: no append_action;
 *    `append` is never set).
 *  - denied: status.message = v->reason, denied_response{status{code =
 *    v->http_status (left out when <= 0: Envoy then uses 403)}, headers
 *    (as above), body}.
 *  - v3 only: dynamic_metadata (field 4) from v->dynamic_metadata when it
 *    is an object, read through host's value accessors (host may be NULL
 *    when there is none); JSON nested deeper than CODEC_MAX_JSON_DEPTH
 *    becomes null.
 * Header names are lowercased and headers without a name dropped; every
 * string is made valid UTF-8 (invalid sequences and NUL bytes become
 * U+FFFD) since Envoy rejects invalid UTF-8.
 * @param v2 1 for the envoy.service.auth.v2 service.
 * @return 0, CODEC_EINVAL or CODEC_ENOMEM (out->len is then unchanged).
 */
int codec_encode_check_response(const pc_verdict *v, const pc_host *host,
                                int v2, codec_buf *out);
/**
 * The same message in memory of the caller's: alloc(arg, n) is called once
 * for the whole gRPC message (n bytes, prefix included) and returns room
 * for it, or NULL (CODEC_ENOMEM). On 0, *msg and *len give the message.
 */
int codec_encode_check_response_to(const pc_verdict *v, const pc_host *host,
                                   int v2, void *(*alloc)(void *arg, size_t n),
                                   void *arg, uint8_t **msg, size_t *len);

/* ---- gRPC helpers ---- */

/** Parses a grpc-timeout value ("200m": 1-8 digits and one of H M S m u n)
 *  into nanoseconds, saturating at INT64_MAX. Returns -1 when invalid. */
int64_t codec_grpc_timeout_parse(const char *s, size_t len);

/**
 * Percent-encodes text for grpc-message: bytes outside 0x20-0x7E and '%'
 * become %XX (uppercase hex), as the gRPC HTTP/2 spec asks.
 * Writes at most cap-1 characters and a NUL (never a partial %XX).
 * @return the length of the whole encoded text (like snprintf): the output
 *         was complete iff the return value < cap.
 */
size_t codec_grpc_message_escape(const char *in, size_t len, char *out,
                                 size_t cap);

/* ---- message framing ---- */

/** Default limit on one message, as gRPC servers use. */
#define CODEC_MAX_MESSAGE_DEFAULT ((size_t)4 * 1024 * 1024)

enum {
    CODEC_FRAME_MORE = 0,   /**< everything consumed, message incomplete */
    CODEC_FRAME_READY = 1   /**< a whole message is available */
};

/** Reassembles length-prefixed gRPC messages from DATA chunks of any size. */
typedef struct codec_frame_reader {
    size_t max_len;         /**< largest message accepted */
    int compression_ok;     /**< 1 if a grpc-encoding was negotiated */
    int error_;             /* private from here on */
    int ready_;
    uint8_t hdr_[5];
    size_t hdr_got_;
    size_t msg_len_;
    size_t msg_got_;
    uint8_t *buf_;
    size_t cap_;
} codec_frame_reader;

/** Prepares a new (or freed) reader; max_len 0 means
 *  CODEC_MAX_MESSAGE_DEFAULT. */
void codec_frame_reader_init(codec_frame_reader *r, size_t max_len,
                             int compression_ok);
/**
 * Feeds one chunk.
 * @param consumed set to the bytes used; on CODEC_FRAME_READY the rest of
 *        the chunk belongs to the next message (feed it after
 *        codec_frame_reader_next).
 * @return CODEC_FRAME_MORE, CODEC_FRAME_READY (also when fed again before
 *         _next, consuming nothing), or an error that stays until _init:
 *         CODEC_ETOOBIG (answer RESOURCE_EXHAUSTED), CODEC_ECOMPRESSED
 *         (INTERNAL), CODEC_EFRAME (flag byte not 0/1), CODEC_ENOMEM.
 */
int codec_frame_reader_feed(codec_frame_reader *r, const uint8_t *data,
                            size_t len, size_t *consumed);
/** The ready message (valid until _next/_free), or NULL if none is ready.
 *  *compressed is 1 when the flag byte was 1 (only with compression_ok). */
const uint8_t *codec_frame_reader_message(const codec_frame_reader *r,
                                          size_t *len, int *compressed);
/** Drops the ready message and keeps the buffer for the next one. */
void codec_frame_reader_next(codec_frame_reader *r);
/** 1 when part of a message is buffered: at END_STREAM that is an error
 *  (CODEC_EFRAME, INTERNAL). */
int codec_frame_reader_partial(const codec_frame_reader *r);
/** Frees the buffer; the reader must be initialised again before use. */
void codec_frame_reader_free(codec_frame_reader *r);

/* ---- grpc.health.v1.Health ---- */

typedef enum codec_health_status {
    CODEC_HEALTH_UNKNOWN = 0,
    CODEC_HEALTH_SERVING = 1,
    CODEC_HEALTH_NOT_SERVING = 2,
    CODEC_HEALTH_SERVICE_UNKNOWN = 3
} codec_health_status;

/** Decodes a HealthCheckRequest message: its service name into service
 *  (NUL-terminated). 0, CODEC_EPARSE, or CODEC_ETOOBIG when the name does
 *  not fit in cap. */
int codec_decode_health_request(const uint8_t *buf, size_t len,
                                char *service, size_t cap);
/** The status of a service name: "" (the server), and the v3 and v2
 *  Authorization services are SERVING when ready, else NOT_SERVING; any
 *  other name is SERVICE_UNKNOWN. The gRPC health spec answers Check on an
 *  unknown service with grpc-status NOT_FOUND (5) and no message, and
 *  sends SERVICE_UNKNOWN only on Watch. */
codec_health_status codec_health_status_for(const char *service, int ready);
/** Appends a gRPC message (prefix + HealthCheckResponse{status}). */
int codec_encode_health_response(codec_health_status status, codec_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* PC_EXTAUTHZ_CODEC_H */
