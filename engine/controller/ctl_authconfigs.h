/* ctl_authconfigs.h - the AuthConfigs the API server holds, each compiled
 * on its own: an event recompiles only the object it names (and nothing
 * when only its status or resourceVersion changed), then a snapshot is
 * assembled from the compiled set. A broken AuthConfig serves nothing and
 * never affects another. */
#ifndef PC_CONTROLLER_CTL_AUTHCONFIGS_H
#define PC_CONTROLLER_CTL_AUTHCONFIGS_H
#include <json-c/json.h>
#include <stdatomic.h>
#include <portcullis/host.h>
#include "config/resset.h"

typedef struct ctl_acset ctl_acset;

/* host: the services table evaluators are created with; stop, once set,
 * cuts status writes short (shutdown). */
ctl_acset *ctl_acset_new(const pc_host *host, const atomic_int *stop);
void ctl_acset_free(ctl_acset *set);
/* The whole set from a list: objects not in items are dropped. */
void ctl_acset_replace(ctl_acset *set, struct json_object *items, const resset *secrets);
/* ADDED / MODIFIED (upsert) or DELETED. Returns 1 when the served set changed. */
int ctl_acset_apply(ctl_acset *set, const char *type, struct json_object *obj,
                    const resset *secrets);
/* Compiles again every AuthConfig whose last compile looked at Secrets
 * (apiKey and the like) of namespace ns (NULL: of any namespace), after
 * they changed. Returns how many. */
int ctl_acset_recompile_secret_users(ctl_acset *set, const resset *secrets,
                                     const char *ns);
/* Assembles and installs a snapshot of every AuthConfig that compiled. Where
 * two claim a host, the one created first keeps it (then by namespace/name). */
void ctl_acset_publish(ctl_acset *set, const resset *secrets);
/* Writes the status of every AuthConfig whose status on the API server
 * differs from what this process computed. */
void ctl_acset_write_status(ctl_acset *set, const char *api_prefix);
/* Makes the next write_status compare every AuthConfig (a new leader). */
void ctl_acset_mark_dirty(ctl_acset *set);
size_t ctl_acset_count(const ctl_acset *set);
#endif
