/* ydoc_walk.c - config paths (files and directories) into a sorted list of
 * files (see ydoc.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ydoc/ydoc_int.h"

/* Deeper trees are cut: nobody keeps configs 32 directories down, and a
 * bound keeps the recursion small whatever the file system holds. */
#define WALK_MAX_DEPTH 32

typedef struct entry {
    char *path;
    dev_t dev;
    ino_t ino;
    size_t order;
} entry;

typedef struct walk {
    entry *v;
    size_t n, cap;
    void (*err_cb)(void *, const char *);
    void *arg;
    int errors;
    /* directories on the current path, to cut symlink loops */
    struct {
        dev_t dev;
        ino_t ino;
    } up[WALK_MAX_DEPTH + 1];
    int depth;
} walk;

static void report(walk *w, const char *path, const char *why)
{
    w->errors++;
    if (!w->err_cb)
        return;
    char msg[4200];
    snprintf(msg, sizeof msg, "%s: %s", path, why);
    w->err_cb(w->arg, msg);
}

static int wanted_name(const char *name)
{
    static const char *const ext[] = {".yaml", ".yml", ".json"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n > m && !memcmp(name + n - m, ext[i], m))
            return 1;
    }
    return 0;
}

static int add_file(walk *w, const char *path, const struct stat *st)
{
    /* Opening is the honest test of "can be read". */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        report(w, path, strerror(errno));
        return 0;
    }
    close(fd);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        entry *v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return -1;
        w->v = v;
        w->cap = cap;
    }
    char *p = strdup(path);
    if (!p)
        return -1;
    w->v[w->n].path = p;
    w->v[w->n].dev = st->st_dev;
    w->v[w->n].ino = st->st_ino;
    w->n++;
    return 0;
}

static int walk_dir(walk *w, const char *dir, const struct stat *dst)
{
    for (int i = 0; i < w->depth; i++)
        if (w->up[i].dev == dst->st_dev && w->up[i].ino == dst->st_ino)
            return 0; /* a symlink back up: already being walked */
    if (w->depth >= WALK_MAX_DEPTH) {
        report(w, dir, "directories nested too deep, skipped");
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        report(w, dir, strerror(errno));
        return 0;
    }
    w->up[w->depth].dev = dst->st_dev;
    w->up[w->depth].ino = dst->st_ino;
    w->depth++;
    size_t dl = strlen(dir);
    int sep = dl && dir[dl - 1] != '/';
    int rc = 0;
    struct dirent *de;
    for (;;) {
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno)
                report(w, dir, strerror(errno));
            break;
        }
        /* Hidden entries, "." and ".." included; Kubernetes' ..data too. */
        if (de->d_name[0] == '.')
            continue;
        size_t nl = strlen(de->d_name);
        char *p = malloc(dl + (size_t)sep + nl + 1);
        if (!p) {
            rc = -1;
            break;
        }
        memcpy(p, dir, dl);
        if (sep)
            p[dl] = '/';
        memcpy(p + dl + (size_t)sep, de->d_name, nl + 1);
        struct stat st;
        if (stat(p, &st) != 0) {
            /* A dangling link only matters where a config was expected. */
            if (wanted_name(de->d_name))
                report(w, p, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(w, p, &st);
        } else if (S_ISREG(st.st_mode) && wanted_name(de->d_name)) {
            rc = add_file(w, p, &st);
        }
        free(p);
        if (rc != 0)
            break;
    }
    closedir(d);
    w->depth--;
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static int by_inode(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts by path; a file reached by several paths keeps its first. */
static void sort_unique(walk *w)
{
    if (w->n < 2)
        return;
    qsort(w->v, w->n, sizeof *w->v, by_path);
    for (size_t i = 0; i < w->n; i++)
        w->v[i].order = i;
    qsort(w->v, w->n, sizeof *w->v, by_inode);
    size_t o = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (o && w->v[o - 1].dev == w->v[i].dev && w->v[o - 1].ino == w->v[i].ino)
            free(w->v[i].path);
        else
            w->v[o++] = w->v[i];
    }
    w->n = o;
    qsort(w->v, w->n, sizeof *w->v, by_path);
}

int ydoc_walk(const char *const *paths, size_t n, int (*cb)(void *arg, const char *file),
              void (*err_cb)(void *arg, const char *msg), void *arg)
{
    walk w = {.err_cb = err_cb, .arg = arg};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *p = paths[i];
        struct stat st;
        if (!p)
            continue;
        if (stat(p, &st) != 0)
            report(&w, p, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk_dir(&w, p, &st);
        else if (S_ISREG(st.st_mode))
            rc = add_file(&w, p, &st);
        else
            report(&w, p, "not a regular file or directory");
    }
    if (rc < 0)
        report(&w, "ydoc_walk", "out of memory");
    if (rc == 0) {
        sort_unique(&w);
        for (size_t i = 0; i < w.n && rc == 0; i++)
            rc = cb ? cb(arg, w.v[i].path) : 0;
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.v[i].path);
    free(w.v);
    if (rc != 0)
        return rc;
    return w.errors ? -1 : 0;
}
