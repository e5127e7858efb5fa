/* readiness.h - each AuthConfig's readiness, as /readyz/authconfigs lists
 * it (Authorino's reasons: Reconciled, Invalid, HostsNotLinked, ...).
 * Published by whoever compiles AuthConfigs (file loads, the controller);
 * read on the probe port. Neither is on the request path. */
#ifndef PC_SERVER_READINESS_H
#define PC_SERVER_READINESS_H
#include <stddef.h>

#define READY_REASON "Reconciled"

/* Replaces the list: ids[i] ("namespace/name") with reasons[i]; an
 * AuthConfig is ready when its reason is READY_REASON. */
void readiness_publish(const char *const *ids, const char *const *reasons, size_t n);
/* The probe's body (malloc'd): "ok", or Authorino's error naming the first
 * AuthConfig that is not ready; with verbose a "[+]id ok" / "[-]id reason"
 * line for each. *all_ready is 1 when every one is ready. */
char *readiness_render(int verbose, int *all_ready, size_t *len);
#endif
