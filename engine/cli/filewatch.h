/* filewatch.h - serve's file mode: the AuthConfigs of --authconfigs PATH...
 * loaded into a fileset, installed as the current snapshot, and reloaded
 * when the files change (inotify, on a thread of its own) or on SIGHUP.
 * /readyz follows the paths: not ready while one of them does not exist. */
#ifndef PC_CLI_FILEWATCH_H
#define PC_CLI_FILEWATCH_H
#include <stddef.h>

/* Quiet time after the last change before a reload, so that an editor's
 * write-and-rename (or kubelet's symlink swap) is one reload. */
#define FILEWATCH_DEBOUNCE_MS 150
/* A stream of changes that never goes quiet still reloads this often. */
#define FILEWATCH_MAX_DELAY_MS 1000
/* Directories watched at most (inotify watches are a per-user resource). */
#define FILEWATCH_MAX_DIRS 1024

/* Loads and installs the first snapshot; with watch, starts the watcher.
 * Returns -1 (with a message in err) when it cannot start. */
int filewatch_start(const char *const *paths, size_t n, int watch, char *err, size_t errlen);
/* Reads every file again (SIGHUP), keeping per-AuthConfig isolation. */
void filewatch_reload_all(void);
void filewatch_stop(void);
#endif
