/* kube_exec.h - client.authentication.k8s.io exec credential plugins, as
 * kubectl runs them (EKS, GKE, AKS, OIDC login helpers): the command prints
 * an ExecCredential whose status.token is used until its
 * expirationTimestamp, or until the API server answers 401. */
#ifndef PC_KUBE_KUBE_EXEC_H
#define PC_KUBE_KUBE_EXEC_H
#include <stddef.h>
#include <time.h>

/* A plugin gets this long to answer, and at most this much output. */
#define KUBE_EXEC_TIMEOUT_MS 10000
#define KUBE_EXEC_MAX_OUTPUT (1u << 20)

typedef struct kube_exec_cache {
    char *token;
    time_t expires;     /* 0: until a 401 */
} kube_exec_cache;

/* The current token, running the plugin when there is none, it expired, or
 * force. NULL with a reason in err (the plugin's output never appears in
 * it). Not thread-safe: callers hold a lock. */
const char *kube_exec_token(kube_exec_cache *c, char *const *argv, char *const *env,
                            const char *api_version, int force, char *err, size_t errlen);
void kube_exec_clear(kube_exec_cache *c);
/* RFC 3339 UTC or with an offset; -1 when it is not one. */
time_t kube_exec_parse_time(const char *s);
#endif
