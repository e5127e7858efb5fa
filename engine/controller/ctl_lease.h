/* ctl_lease.h - leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it: acquire when absent or expired, renew
 * every retry period, step down when a renewal has not succeeded for the
 * lease duration, and release on stop so another replica takes over at once.
 * Expiry is judged by when this process last saw the record change (never by
 * the holder's clock). */
#ifndef PC_CONTROLLER_CTL_LEASE_H
#define PC_CONTROLLER_CTL_LEASE_H
#include <stdatomic.h>
#include <stdint.h>

/* The release on stop (read the Lease, then clear its holder): each of the
 * two calls gets this long, since shutdown waits for it. */
#define CTL_LEASE_RELEASE_MS 1000

typedef struct ctl_lease {
    const char *ns, *name;
    char identity[160];          /* hostname_random */
    int64_t duration_ms;         /* leaseDurationSeconds * 1000 (default 15 s) */
    int64_t retry_ms;            /* how often to try (default 2 s) */
    atomic_int *stop;
    atomic_int leader;           /* read by anyone */
    /* Called on the lease thread when leadership changes. */
    void (*on_change)(void *arg, int leader);
    void *arg;
} ctl_lease;

void ctl_lease_init(ctl_lease *l, const char *ns, const char *name, atomic_int *stop);
void ctl_lease_run(ctl_lease *l);
#endif
