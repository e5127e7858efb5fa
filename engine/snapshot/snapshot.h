/* snapshot.h - one immutable, reference-counted set of compiled
 * AuthConfigs with their host index. A reload builds a new snapshot and
 * swaps a pointer; requests in flight finish on the one they started with. */
#ifndef PC_SNAPSHOT_SNAPSHOT_H
#define PC_SNAPSHOT_SNAPSHOT_H
#include <stdatomic.h>
#include <portcullis/request.h>
#include "config/authconfig.h"
#include "config/resset.h"

struct hostidx;

typedef struct snapshot {
    atomic_int refs;
    ac_config **configs;
    size_t n_configs;
    struct hostidx *idx;
    resset res;
    int errors, warnings;  /* problems met while loading */
    int files;             /* files read */
    int missing;           /* configured paths that do not exist */
    int authconfig_docs;   /* AuthConfig documents met, broken ones included */
} snapshot;

typedef struct snapshot_sink {
    void (*on_error)(void *arg, const char *line);
    void (*on_warning)(void *arg, const char *line);
    void *arg;
} snapshot_sink;

/* Reads every AuthConfig (and Secret) under paths, the items of `kind:
 * List` documents included, creating evaluators with host as their services
 * table. Broken documents are reported and skipped; the rest load. Never
 * NULL except on OOM. (A fileset_reload of a new fileset: see fileset.h for
 * reloads that keep what did not change.) */
snapshot *snapshot_load(const pc_host *host, const char *const *paths, size_t n,
                        const snapshot_sink *sink);
/* A snapshot of AuthConfigs compiled elsewhere (the controller keeps them
 * across changes): takes a reference on each, and on each Secret of res.
 * Where two claim a host, the earlier in configs keeps it (a warning says
 * so). NULL on OOM. */
snapshot *snapshot_assemble(ac_config **configs, size_t n, const resset *res,
                            const snapshot_sink *sink);
snapshot *snapshot_ref(snapshot *s);
void snapshot_unref(snapshot *s);
/* The AuthConfig for a request: context_extensions["host"], else the
 * request host (exact, wildcard, then without the port). */
const ac_config *snapshot_lookup(const snapshot *s, const pc_request_view *v);

/* The process-wide current snapshot. */
snapshot *snapshot_current(void); /* a new reference, or NULL */
void snapshot_install(snapshot *s); /* takes the reference */
#endif
