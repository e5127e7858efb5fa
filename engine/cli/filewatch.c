/* filewatch.c - file mode for serve (see filewatch.h).
 *
 * What is watched, rebuilt after every reload: each configured directory
 * and its subdirectories (hidden names skipped, symlinks followed, so a
 * mounted ConfigMap's top directory is watched and kubelet's rename of
 * ..data over the old link is an IN_MOVED_TO there); for a configured file,
 * the file and its directory (an editor renames a new file over it); for a
 * path that does not exist, its nearest existing ancestor (so its creation
 * is seen). Any event starts the debounce; the reload itself re-reads only
 * the files whose stat changed, so an event that changed nothing costs a
 * few stat calls and logs nothing. */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "host/hostimpl.h"
#include "metrics/metrics.h"
#include "server/readiness.h"
#include "server/submit.h"
#include "snapshot/fileset.h"
#include "util/log.h"
#include "filewatch.h"

/* From files, every AuthConfig that loaded is ready (a broken one keeps its
 * previous version or is not in the snapshot: its error was logged). */
static void publish_readiness(const snapshot *snap)
{
    const char **ids = calloc(snap->n_configs + 1, sizeof *ids);
    const char **why = calloc(snap->n_configs + 1, sizeof *why);
    if (ids && why) {
        for (size_t i = 0; i < snap->n_configs; i++) {
            ids[i] = snap->configs[i]->id;
            why[i] = READY_REASON;
        }
        readiness_publish(ids, why, snap->n_configs);
    }
    free(ids);
    free(why);
}

#define DIR_MASK (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | \
                  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define FILE_MASK (IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static struct {
    pthread_mutex_t mu;       /* serializes reloads (watcher, SIGHUP) */
    fileset *fs;
    char **paths;
    size_t n_paths;
    pthread_t thread;
    int running;
    int stop_pipe[2];
    int ifd;
    size_t n_dirs;
    struct {
        dev_t dev;
        ino_t ino;
    } seen[FILEWATCH_MAX_DIRS];
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .stop_pipe = {-1, -1}, .ifd = -1};

/* A reload's messages wait until it is known whether anything changed: an
 * event that changed nothing (a missing path's parent being written to)
 * must not repeat the same errors. */
#define HELD_MAX 1000

typedef struct held {
    char *line[HELD_MAX];
    pc_log_level level[HELD_MAX];
    size_t n, dropped;
} held;

static void hold(held *h, pc_log_level lvl, const char *line)
{
    if (h->n == HELD_MAX || !(h->line[h->n] = strdup(line))) {
        h->dropped++;
        return;
    }
    h->level[h->n++] = lvl;
}

static void hold_error(void *arg, const char *line)
{
    hold(arg, PC_LOG_ERROR, line);
}

static void hold_warning(void *arg, const char *line)
{
    hold(arg, PC_LOG_WARN, line);
}

static void release(held *h, int emit)
{
    for (size_t i = 0; i < h->n; i++) {
        if (emit)
            plog(h->level[i], "config", "%s", h->line[i]);
        free(h->line[i]);
    }
    if (emit && h->dropped)
        plog(PC_LOG_ERROR, "config", "%zu more problems not shown", h->dropped);
    h->n = h->dropped = 0;
}

/* verb: "loaded" at start, "reloaded" after. Logs and installs only when
 * something changed (always at start and on SIGHUP). */
static void reload_locked(int full, const char *verb, int always)
{
    static held h; /* large; reloads are serialized by g.mu */
    snapshot_sink sink = {hold_error, hold_warning, &h};
    int changed = 0;
    snapshot *s = fileset_reload(g.fs, full, &sink, &changed);
    release(&h, changed || always || !s);
    if (!s) {
        plog(PC_LOG_ERROR, "config", "out of memory reloading AuthConfigs; keeping the "
                                     "previous ones");
        return;
    }
    submit_set_ready(s->missing == 0);
    if (!changed && !always) {
        snapshot_unref(s);
        return;
    }
    plog(s->errors ? PC_LOG_ERROR : PC_LOG_INFO, "config",
         "%s %zu AuthConfigs from %d files (%d errors, %d warnings%s)", verb, s->n_configs,
         s->files, s->errors, s->warnings,
         s->missing ? "; a configured path does not exist: not ready" : "");
    metrics_set_authconfigs(s->n_configs);
    publish_readiness(s);
    snapshot_install(s);
}

void filewatch_reload_all(void)
{
    pthread_mutex_lock(&g.mu);
    if (g.fs)
        reload_locked(1, "reloaded", 1);
    pthread_mutex_unlock(&g.mu);
}

static int seen_dir(const struct stat *st)
{
    for (size_t i = 0; i < g.n_dirs; i++)
        if (g.seen[i].dev == st->st_dev && g.seen[i].ino == st->st_ino)
            return 1;
    return 0;
}

static void watch_dir(int fd, const char *dir, int depth)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || seen_dir(&st))
        return;
    if (g.n_dirs >= FILEWATCH_MAX_DIRS) {
        if (g.n_dirs++ == FILEWATCH_MAX_DIRS)
            plog(PC_LOG_WARN, "config", "more than %d directories under the AuthConfig "
                 "paths: %s and later ones are not watched (SIGHUP reloads them)",
                 FILEWATCH_MAX_DIRS, dir);
        return;
    }
    g.seen[g.n_dirs].dev = st.st_dev;
    g.seen[g.n_dirs++].ino = st.st_ino;
    if (inotify_add_watch(fd, dir, DIR_MASK) < 0)
        plog(PC_LOG_WARN, "config", "cannot watch %s: %s", dir, strerror(errno));
    if (depth >= 32)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
            continue;
        struct stat cs;
        if (stat(p, &cs) == 0 && S_ISDIR(cs.st_mode))
            watch_dir(fd, p, depth + 1);
    }
    closedir(d);
}

/* The directory part of path ("." when none). */
static void parent_of(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", path);
    char *sl = strrchr(out, '/');
    if (!sl)
        snprintf(out, len, ".");
    else if (sl == out)
        out[1] = 0;
    else
        *sl = 0;
}

/* A new inotify descriptor watching what the paths are now. */
static int build_watches(void)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return -1;
    g.n_dirs = 0;
    for (size_t i = 0; i < g.n_paths; i++) {
        const char *p = g.paths[i];
        struct stat st;
        char dir[PATH_MAX];
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            watch_dir(fd, p, 0);
            continue;
        }
        if (stat(p, &st) == 0)
            inotify_add_watch(fd, p, FILE_MASK);
        /* The directory of a file, or of the nearest ancestor that exists. */
        parent_of(p, dir, sizeof dir);
        while (stat(dir, &st) != 0 && strcmp(dir, "/") && strcmp(dir, ".")) {
            char up[PATH_MAX];
            parent_of(dir, up, sizeof up);
            snprintf(dir, sizeof dir, "%s", up);
        }
        watch_dir(fd, dir, 32); /* not its subdirectories */
    }
    return fd;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *watch_main(void *arg)
{
    (void)arg;
    int64_t first = 0, last = 0;
    int pending = 0;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        int timeout = -1;
        if (pending) {
            int64_t t = now_ms(), due = last + FILEWATCH_DEBOUNCE_MS;
            if (due > first + FILEWATCH_MAX_DELAY_MS)
                due = first + FILEWATCH_MAX_DELAY_MS;
            timeout = due > t ? (int)(due - t) : 0;
        }
        struct pollfd pf[2] = {{g.stop_pipe[0], POLLIN, 0}, {g.ifd, POLLIN, 0}};
        int n = poll(pf, g.ifd >= 0 ? 2 : 1, g.ifd >= 0 ? timeout : 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        if (n > 0 && pf[1].revents) {
            while (read(g.ifd, buf, sizeof buf) > 0)
                ; /* what changed does not matter: the reload stats every file */
            last = now_ms();
            if (!pending)
                first = last;
            pending = 1;
            continue;
        }
        if (g.ifd < 0) {
            /* inotify ran out (max_user_instances): try again each second. */
            pending = 1, first = last = 0;
        }
        if (!pending)
            continue;
        pending = 0;
        /* Watch first, then read: a change during the reload is an event
         * on the new descriptor. */
        int fd = build_watches();
        if (g.ifd >= 0)
            close(g.ifd);
        g.ifd = fd;
        pthread_mutex_lock(&g.mu);
        reload_locked(0, "reloaded", 0);
        pthread_mutex_unlock(&g.mu);
    }
    return NULL;
}

int filewatch_start(const char *const *paths, size_t n, int watch, char *err, size_t errlen)
{
    g.fs = fileset_new(host_table(), paths, n);
    g.paths = calloc(n + 1, sizeof *g.paths);
    if (!g.fs || !g.paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (paths[i] && (g.paths[g.n_paths] = strdup(paths[i])))
            g.n_paths++;
    if (watch) {
        g.ifd = build_watches();
        if (g.ifd < 0)
            plog(PC_LOG_WARN, "config", "cannot watch the AuthConfig files (%s); SIGHUP "
                                        "reloads them", strerror(errno));
    }
    pthread_mutex_lock(&g.mu);
    reload_locked(1, "loaded", 1);
    pthread_mutex_unlock(&g.mu);
    if (!watch || g.ifd < 0)
        return 0;
    if (pipe(g.stop_pipe) != 0 || pthread_create(&g.thread, NULL, watch_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the file watcher: %s", strerror(errno));
        return -1;
    }
    g.running = 1;
    return 0;
}

void filewatch_stop(void)
{
    if (g.running) {
        char c = 1;
        if (write(g.stop_pipe[1], &c, 1) < 0)
            plog(PC_LOG_WARN, "config", "stopping the file watcher: %s", strerror(errno));
        pthread_join(g.thread, NULL);
        g.running = 0;
    }
    for (int i = 0; i < 2; i++)
        if (g.stop_pipe[i] >= 0)
            close(g.stop_pipe[i]), g.stop_pipe[i] = -1;
    if (g.ifd >= 0)
        close(g.ifd), g.ifd = -1;
    fileset_free(g.fs);
    g.fs = NULL;
    for (size_t i = 0; i < g.n_paths; i++)
        free(g.paths[i]);
    free(g.paths);
    g.paths = NULL;
    g.n_paths = 0;
}
