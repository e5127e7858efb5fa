/* fileset.h - AuthConfigs read from files (--authconfigs PATH...), kept
 * between reloads so that a reload reads only the files that changed and
 * compiles only what they hold.
 *
 * Isolation: every AuthConfig (namespace/name) keeps its last good compiled
 * version. A file that cannot be parsed keeps all of its previous
 * AuthConfigs; an AuthConfig that does not compile keeps its previous
 * version (and says so); an AuthConfig or file that is gone is removed.
 * Secrets are shared by all files: when they change, the AuthConfigs whose
 * compile looked at Secrets are compiled again. */
#ifndef PC_SNAPSHOT_FILESET_H
#define PC_SNAPSHOT_FILESET_H
#include <stddef.h>
#include "snapshot.h"

typedef struct fileset fileset;

/* Copies paths; host is the services table its AuthConfigs' evaluators
 * are created with. NULL on OOM. */
fileset *fileset_new(const pc_host *host, const char *const *paths, size_t n);
void fileset_free(fileset *fs);
/* Reads the paths again: with full, every file; else only files whose
 * identity, size or times changed, files that appeared, and files that
 * went away. *changed (may be NULL) says whether anything was read or
 * dropped, i.e. whether the snapshot differs from the previous one. The
 * snapshot's errors count only the problems met in this reload; missing
 * counts configured paths that do not exist. NULL on OOM. Not thread-safe:
 * callers serialize reloads. */
snapshot *fileset_reload(fileset *fs, int full, const snapshot_sink *sink, int *changed);
#endif
