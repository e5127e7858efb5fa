/* sdb_wire.h - CheckPermission on the wire, without I/O: the gRPC-framed
 * request, and the answer (status line, headers, body, trailers) judged
 * into a permissionship or a gRPC error. The transport (sdb_call.c) feeds
 * what libcurl hands it; the fuzz harness feeds anything. */
#ifndef SDB_WIRE_H
#define SDB_WIRE_H
#include <stddef.h>
#include <stdint.h>

/* The gRPC method path (service and method of authzed.api.v1). */
#define SDB_METHOD_PATH "/authzed.api.v1.PermissionsService/CheckPermission"
/* Largest answer body kept (one CheckPermissionResponse, framed). A real
 * answer is well under 1 KiB; more is refused, not buffered. */
#define SDB_MAX_RESPONSE (64 * 1024)
/* Largest grpc-message kept for the reason (longer ones are cut). */
#define SDB_MAX_GRPC_MESSAGE 256
/* Largest ZedToken passed on (in the output and the denial reason). */
#define SDB_MAX_TOKEN 1024

/* Permissionship values (CheckPermissionResponse.Permissionship). */
enum {
    SDB_PERM_UNSPECIFIED = 0,
    SDB_PERM_NO_PERMISSION = 1,
    SDB_PERM_HAS_PERMISSION = 2,
    SDB_PERM_CONDITIONAL = 3
};

/* One check; each string NUL-terminated (protobuf strings carry no NUL). */
typedef struct sdb_check {
    const char *resource_type, *resource_id;
    const char *permission;
    const char *subject_type, *subject_id;
} sdb_check;

/* The request message with its 5-byte gRPC prefix, in a new buffer
 * (free()); NULL when out of memory. */
uint8_t *sdb_encode_check(const sdb_check *c, size_t *len);

/* The answer as it arrives. sdb_reply_init it, then feed header lines (status line,
 * headers and trailers alike, as libcurl passes them) and body bytes. */
typedef struct sdb_reply {
    long http_status;          /* from the status line; 0 before */
    int grpc_status;           /* -1 until a grpc-status header */
    int ctype_grpc;            /* content-type is application/grpc[+proto|;...] */
    int ctype_seen;
    int bad_header;            /* a grpc-status that is not a number */
    int overflow;              /* the body passed SDB_MAX_RESPONSE */
    char grpc_message[SDB_MAX_GRPC_MESSAGE + 1];  /* decoded, printable */
    uint8_t *body;             /* small[] until an answer outgrows it */
    size_t body_len, body_cap;
    uint8_t small[512];
} sdb_reply;

void sdb_reply_init(sdb_reply *r);
/* Frees what the body spilled to the heap. */
void sdb_reply_free(sdb_reply *r);
/* One header line ("name: value\r\n", or "HTTP/2 200\r\n"). */
void sdb_reply_header(sdb_reply *r, const char *line, size_t len);
/* Body bytes; 0, or -1 once past SDB_MAX_RESPONSE (stop the transfer). */
int sdb_reply_body(sdb_reply *r, const void *p, size_t n);

/* What the answer says. */
typedef struct sdb_result {
    int permissionship;
    int has_token;             /* checked_at was present */
    char token[SDB_MAX_TOKEN + 1];
} sdb_result;

/* Judges a complete answer: 0 with *out filled (a CheckPermissionResponse
 * was received: any permissionship), or -1 with a one-line reason in err,
 * worded as gRPC clients word it ("rpc error: code = Unavailable desc =
 * ..."). Never blocks, never allocates more than the message needs. */
int sdb_reply_finish(const sdb_reply *r, sdb_result *out, char *err, size_t errlen);

/* The name of a gRPC status code as grpc-go prints it ("Unavailable"),
 * or NULL for a code outside 0..16. */
const char *sdb_code_name(int code);
/* The name of a permissionship ("PERMISSIONSHIP_NO_PERMISSION"), or NULL. */
const char *sdb_perm_name(int p);
#endif
