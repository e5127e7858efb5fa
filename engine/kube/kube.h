/* kube.h - the Kubernetes API client offered to plugins (pc_host.kube_do):
 * in-cluster service account or kubeconfig, TLS always verified. */
#ifndef PC_KUBE_KUBE_H
#define PC_KUBE_KUBE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "http/httpc.h"
#include "util/buf.h"


/* Configures the client: kubeconfig path (NULL: in-cluster when
 * KUBERNETES_SERVICE_HOST is set, else $KUBECONFIG if set, else none).
 * Returns 0 (also when no cluster is configured) or -1 with a reason. */
int kube_setup(const char *kubeconfig, char *err, size_t errlen);
void kube_teardown(void);
int kube_configured(void);
/* pc_host.kube_do: one call on behalf of evaluation ev (its deadline bounds
 * the call; the body lives in ev's request). extra (NULL-terminated, at
 * most KUBE_MAX_EXTRA lines, may be NULL) are header lines sent as well:
 * the caller's trace context. PC_ERROR with a reason when no API server is
 * configured. */
#define KUBE_MAX_EXTRA 4
pc_status kube_do(pc_eval *ev, const char *method, const char *path, const char *body,
                  size_t body_len, int64_t timeout_ms, const char *const *extra,
                  pc_http_response *resp, char *err, size_t errlen);

/* The control plane's calls (the controller's lists, watches and status
 * writes), outside any evaluation. kube_call collects the body in out (at
 * most 16 MiB); kube_stream hands it to sink as it arrives until the server
 * ends it or timeout_ms passes. Both end within about HTTPC_STOP_POLL_MS
 * once stop is set (NULL: not before their timeouts), whatever the server
 * does. Both return PC_OK with *status set, or PC_ERROR with a reason. */
pc_status kube_call(const char *method, const char *path, const char *content_type,
                    const char *body, size_t body_len, int64_t timeout_ms,
                    const atomic_int *stop, long *status, buf *out, char *err,
                    size_t errlen);
pc_status kube_stream(const char *path, int64_t timeout_ms, const atomic_int *stop,
                      long *status, httpc_sink sink, void *arg, char *err, size_t errlen);
/* Bounds of every control-plane call: TCP connect and TLS handshake
 * (KUBE_CONNECT_TIMEOUT_MS by default), and for calls other than watches,
 * how long under 1 byte/s ends one (KUBE_LOW_SPEED_MS by default). */
#define KUBE_CONNECT_TIMEOUT_MS 10000
#define KUBE_LOW_SPEED_MS 10000
void kube_set_control_limits(int64_t connect_timeout_ms, int64_t low_speed_ms);
#endif
