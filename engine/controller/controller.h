/* controller.h - controller mode: AuthConfigs come from the Kubernetes API
 * (list + watch of authorino.kuadrant.io/v1beta3 AuthConfigs), each change
 * recompiles only the AuthConfig it touches and installs a new snapshot, and
 * each AuthConfig's status (Ready condition, summary) is written back as
 * Authorino writes it. */
#ifndef PC_CONTROLLER_CONTROLLER_H
#define PC_CONTROLLER_CONTROLLER_H
#include <stddef.h>
#include <stdint.h>

typedef struct controller_opts {
    const char *namespace_;       /* "" or NULL: cluster-wide */
    const char *label_selector;   /* AuthConfigs: sent as labelSelector */
    const char *secret_selector;  /* Secrets (apiKey keys and the like) */
    int write_status;             /* patch authconfigs/status */
    int leader_election;          /* only the holder of the Lease writes status */
    const char *lease_namespace;  /* default: the watched namespace, else "default" */
    int64_t lease_duration_ms;    /* default 15 s; renewals every duration / 7 */
    /* Called once on the controller's thread when the first list is
     * compiled and installed (readiness). */
    void (*on_synced)(void *arg);
    void *arg;
    const struct pc_host *host;   /* the services table evaluators are created with */
} controller_opts;

/* Starts the controller thread; the Kubernetes client must be configured
 * (kube_setup). 0, or -1 with a reason. */
int controller_start(const controller_opts *o, char *err, size_t errlen);
/* Stops and joins the threads: every call to the API then in progress ends
 * within about HTTPC_STOP_POLL_MS (a leader hands its Lease back first, in
 * at most 2 x CTL_LEASE_RELEASE_MS). */
void controller_stop(void);
#endif
