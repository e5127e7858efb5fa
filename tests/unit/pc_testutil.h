/* pc_testutil.h - helpers shared by the engine suites: plugins from the
 * build tree, AuthConfigs written to temporary files, decisions. */
#ifndef PC_TESTS_TESTUTIL_H
#define PC_TESTS_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "server/submit.h"
#include "server/workers.h"
#include "snapshot/snapshot.h"
#include "util/log.h"

/* Loads the built-in plugins once (PC_PLUGIN_DIR, set by ctest) and
 * starts the worker pool that pipelines which block need. */
static inline int tu_load_plugins(void)
{
    static int loaded;
    if (loaded)
        return 0;
    if (workers_start(2) == 0)
        atexit(workers_stop);
    const char *dir = getenv("PC_PLUGIN_DIR");
    if (!dir) {
        fprintf(stderr, "PC_PLUGIN_DIR is not set\n");
        return -1;
    }
    loaded = 1;
    plog_setup(PC_LOG_WARN, PLOG_TEXT);
    return loader_load_dir(dir, NULL, NULL);
}

/* Writes text to a new temporary file with the given suffix; returns its
 * path (static buffer rotated over 8 slots). */
static inline const char *tu_write_temp(const char *text, const char *suffix)
{
    static char paths[8][64];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 64, "/tmp/pc-test-XXXXXX%s", suffix);
    int fd = mkstemps(p, (int)strlen(suffix));
    if (fd < 0)
        return NULL;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        return NULL;
    }
    close(fd);
    return p;
}

typedef struct tu_errors {
    char lines[16][512];
    int n;
} tu_errors;

static inline void tu_on_error(void *arg, const char *line)
{
    tu_errors *e = arg;
    if (e && e->n < 16)
        snprintf(e->lines[e->n++], 512, "%s", line);
}

/* Loads one YAML text as a snapshot; errors collected in errs (may be
 * NULL). */
static inline snapshot *tu_snapshot(const char *yaml, tu_errors *errs)
{
    const char *path = tu_write_temp(yaml, ".yaml");
    snapshot_sink sink = {tu_on_error, NULL, errs};
    snapshot *s = snapshot_load(host_table(), &path, 1, &sink);
    unlink(path);
    return s;
}

/* Decides a CheckRequest given as JSON text, along the serving path. */
static inline int tu_decide(snapshot *s, const char *request_json,
                            pipe_result *r, int explain)
{
    checkjson cj;
    char err[256];
    pipe_result_init(r, explain);
    int rc = checkjson_parse(request_json, strlen(request_json), &cj, err, sizeof err);
    if (rc == CHECKJSON_SYNTAX)
        return -1;
    if (rc == CHECKJSON_NO_HTTP)
        pipe_result_deny(r, PC_GRPC_INVALID_ARGUMENT, 400, "Invalid request");
    else
        submit_decide(s, &cj.view, explain, r);
    checkjson_free(&cj);
    return 0;
}

/* The value of the first header named name, or NULL. */
static inline const char *tu_header(const pipe_result *r, const char *name,
                                    char *buf, size_t len)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name.len == strlen(name) &&
            memcmp(r->headers[i].name.ptr, name, r->headers[i].name.len) == 0) {
            snprintf(buf, len, "%.*s", (int)r->headers[i].value.len,
                     r->headers[i].value.ptr);
            return buf;
        }
    return NULL;
}

static inline size_t tu_count_header(const pipe_result *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name.len == strlen(name) &&
            memcmp(r->headers[i].name.ptr, name, r->headers[i].name.len) == 0)
            n++;
    return n;
}
#endif
