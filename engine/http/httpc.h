/* httpc.h - blocking outbound HTTP for evaluators on worker threads
 * (libcurl): one easy handle per thread, connections, DNS and TLS sessions
 * shared across threads, TLS always verified. */
#ifndef PC_HTTP_HTTPC_H
#define PC_HTTP_HTTPC_H
#include <portcullis/host.h>
#include "util/buf.h"

typedef struct httpc_tls {
    const char *ca_file;     /* NULL = system bundle */
    const char *ca_blob;     /* PEM in memory, or NULL */
    size_t ca_blob_len;
    const char *cert_file, *key_file;   /* client certificate */
    const char *cert_blob, *key_blob;   /* client certificate in memory */
    size_t cert_blob_len, key_blob_len;
} httpc_tls;

/* Sends req; the body lands in *body (caller frees with buf_free).
 * deadline_ns (CLOCK_MONOTONIC, 0 = none) bounds the whole exchange along
 * with req->timeout_ms. Returns PC_OK with *status set, or PC_ERROR. */
pc_status httpc_do(const pc_http_request *req, const httpc_tls *tls,
                   int64_t deadline_ns, long *status, buf *body, char *err,
                   size_t errlen);
/* A streaming sink: gets the body as it arrives; non-zero aborts. */
typedef size_t (*httpc_sink)(const char *data, size_t len, void *arg);
/* httpc_do for long-lived responses (Kubernetes watches): the body goes to
 * sink as it arrives, and stop (polled about once a second, may be NULL)
 * ends the exchange early when it returns non-zero. An abort by sink or
 * stop is PC_ERROR. */
pc_status httpc_stream(const pc_http_request *req, const httpc_tls *tls,
                       int64_t deadline_ns, long *status, httpc_sink sink,
                       int (*stop)(void *arg), void *arg, char *err, size_t errlen);
void httpc_global_init(void);
#endif
