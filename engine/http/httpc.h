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
/* How a control-plane exchange may be cut short. stop (may be NULL) is
 * polled about every HTTPC_STOP_POLL_MS in every phase (name lookup, TCP
 * connect, TLS handshake, waiting for headers, body) and ends the exchange
 * when it returns non-zero, whatever the peer does. */
typedef struct httpc_ctl {
    int (*stop)(void *arg);
    void *stop_arg;
    int64_t connect_timeout_ms;  /* TCP connect and TLS handshake; 0: 10 s */
    int64_t low_speed_ms;        /* under 1 byte/s this long ends it; 0: never */
} httpc_ctl;
#define HTTPC_STOP_POLL_MS 100
/* httpc_do on a handle of its own, bounded and cut short as ctl says. */
pc_status httpc_do_ctl(const pc_http_request *req, const httpc_tls *tls,
                       const httpc_ctl *ctl, long *status, buf *body, char *err,
                       size_t errlen);
/* The same for long-lived responses (Kubernetes watches): the body goes to
 * sink as it arrives. An abort by sink or stop is PC_ERROR. */
pc_status httpc_stream(const pc_http_request *req, const httpc_tls *tls,
                       const httpc_ctl *ctl, long *status, httpc_sink sink, void *arg,
                       char *err, size_t errlen);
void httpc_global_init(void);
#endif
