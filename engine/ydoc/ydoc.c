/* ydoc.c - loading files and buffers (see ydoc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ydoc/ydoc_int.h"

void ydoc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void ydoc_file_free(ydoc_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_docs; i++)
        json_object_put(f->docs[i].root);
    free(f->docs);
    free(f->path);
    free(f);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

int ydoc_load_buffer(const char *name, const char *buf, size_t len, ydoc_file **out,
                     char *err, size_t errlen)
{
    if (!out)
        return -1;
    *out = NULL;
    if (!name)
        name = "<buffer>";
    if (!buf && len) {
        ydoc_errf(err, errlen, "%s: no input", name);
        return -1;
    }
    if (len > YDOC_MAX_FILE_SIZE) {
        ydoc_errf(err, errlen, "%s: larger than %zu MiB (%zu bytes), refused", name,
                  YDOC_MAX_FILE_SIZE >> 20, len);
        return -1;
    }
    ydoc_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(name))) {
        free(f);
        ydoc_errf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    char *fixed = NULL;
    size_t fixed_len = 0;
    if (ends_with(name, ".json") &&
        ydoc_json_fix_escapes(buf ? buf : "", len, &fixed, &fixed_len) < 0) {
        ydoc_file_free(f);
        ydoc_errf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    int rc = fixed ? ydoc_build(f, fixed, fixed_len, err, errlen)
                   : ydoc_build(f, buf ? buf : "", len, err, errlen);
    free(fixed);
    if (rc != 0) {
        ydoc_file_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

/* Reads a regular file whole; FIFOs and devices are refused rather than
 * waited on. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ydoc_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ydoc_errf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ydoc_errf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > YDOC_MAX_FILE_SIZE) {
        ydoc_errf(err, errlen, "%s: larger than %zu MiB (%lld bytes), refused", path,
                  YDOC_MAX_FILE_SIZE >> 20, (long long)st.st_size);
        close(fd);
        return NULL;
    }
    /* The size is a hint: the file may change while it is read. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        ydoc_errf(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap > YDOC_MAX_FILE_SIZE) {
                ydoc_errf(err, errlen, "%s: larger than %zu MiB, refused", path,
                          YDOC_MAX_FILE_SIZE >> 20);
                goto fail;
            }
            size_t ncap = cap * 2 > YDOC_MAX_FILE_SIZE + 1 ? YDOC_MAX_FILE_SIZE + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                ydoc_errf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ydoc_errf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > YDOC_MAX_FILE_SIZE) {
        ydoc_errf(err, errlen, "%s: larger than %zu MiB, refused", path,
                  YDOC_MAX_FILE_SIZE >> 20);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
fail:
    free(buf);
    close(fd);
    return NULL;
}

int ydoc_load_file(const char *path, ydoc_file **out, char *err, size_t errlen)
{
    if (!out)
        return -1;
    *out = NULL;
    if (!path) {
        ydoc_errf(err, errlen, "no path given");
        return -1;
    }
    size_t len = 0;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf)
        return -1;
    int rc = ydoc_load_buffer(path, buf, len, out, err, errlen);
    free(buf);
    return rc;
}
