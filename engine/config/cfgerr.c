#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfgerr.h"
#include "ydoc/ydoc.h"

/* The key of map that path starts with, followed by the end, '.' or '['
 * (the longest, since evaluator names may hold dots); NULL if none. */
static const char *path_key(const struct json_object *map, const char *path, size_t *len)
{
    const char *best = NULL;
    *len = 0;
    json_object_object_foreach((struct json_object *)map, k, v) {
        (void)v;
        size_t n = strlen(k);
        if (n > *len && strncmp(path, k, n) == 0 &&
            (path[n] == '\0' || path[n] == '.' || path[n] == '[')) {
            best = k;
            *len = n;
        }
    }
    return best;
}

/* Line of the deepest key or item of path ("spec.authentication.x.jwt",
 * "spec.when[0].value") present in doc; 0 if none has a line. */
static int path_line(const struct json_object *doc, const char *path)
{
    const struct json_object *cur = doc;
    int line = 0;
    while (cur && path && *path && json_object_is_type(cur, json_type_object)) {
        size_t n;
        const char *key = path_key(cur, path, &n);
        if (!key)
            break;
        int kl = ydoc_key_line(cur, key);
        if (kl > 0)
            line = kl;
        struct json_object *child = NULL;
        json_object_object_get_ex((struct json_object *)cur, key, &child);
        cur = child;
        path += n;
        while (*path == '[' && cur && json_object_is_type(cur, json_type_array)) {
            char *end;
            unsigned long i = strtoul(path + 1, &end, 10);
            if (*end != ']' || i >= json_object_array_length(cur))
                return line;
            cur = json_object_array_get_idx(cur, i);
            if (ydoc_line(cur) > 0)
                line = ydoc_line(cur);
            path = end + 1;
        }
        if (*path == '.')
            path++;
        else if (*path)
            break;
    }
    return line;
}

static void emit(cfgerr *ce, int is_err, const struct json_object *node,
                 const char *path, const char *fmt, va_list ap)
{
    char msg[1024], line[1536];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int ln = node ? ydoc_line(node) : 0;
    if (ln <= 0 && ce->doc)
        ln = path_line(ce->doc, path);
    if (ln <= 0)
        ln = ce->doc_line;
    /* Objects from the Kubernetes API have no lines: "authconfigs/NS/NAME: …". */
    char where[512];
    if (ln > 0)
        snprintf(where, sizeof where, "%s:%d", ce->file ? ce->file : "-", ln);
    else
        snprintf(where, sizeof where, "%s", ce->file ? ce->file : "-");
    if (path && *path)
        snprintf(line, sizeof line, "%s: %s: %s", where, path, msg);
    else
        snprintf(line, sizeof line, "%s: %s", where, msg);
    if (is_err) {
        ce->errors++;
        if (ce->on_error)
            ce->on_error(ce->arg, line);
    } else {
        ce->warnings++;
        if (ce->on_warning)
            ce->on_warning(ce->arg, line);
    }
}

void cfgerr_error(cfgerr *ce, const struct json_object *node, const char *path,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(ce, 1, node, path, fmt, ap);
    va_end(ap);
}

void cfgerr_warn(cfgerr *ce, const struct json_object *node, const char *path,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(ce, 0, node, path, fmt, ap);
    va_end(ap);
}

void cfgerr_unknown(cfgerr *ce, const struct json_object *map, const char *key,
                    const char *path)
{
    int saved = ce->doc_line;
    int line = ydoc_key_line(map, key);
    if (line > 0)
        ce->doc_line = line;
    else if (ydoc_line(map) > 0)
        ce->doc_line = ydoc_line(map);
    cfgerr_error(ce, NULL, path, "unknown field");
    ce->doc_line = saved;
}

void cfgerr_schema(cfgerr *ce, const char *base_path, const char *subpath,
                   const struct json_object *node, const char *message,
                   int is_unknown_field)
{
    char path[768];
    const char *sep = base_path && *base_path && subpath && *subpath ? "." : "";
    snprintf(path, sizeof path, "%s%s%s", base_path ? base_path : "", sep,
             subpath ? subpath : "");
    const char *q1 = is_unknown_field ? strchr(message, '"') : NULL;
    const char *q2 = q1 ? strrchr(message, '"') : NULL;
    if (q1 && q2 > q1) {
        /* 'unknown field "key"': point at the key itself. */
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "%s%s", n ? "." : "", key);
        cfgerr_unknown(ce, node, key, path);
        return;
    }
    cfgerr_error(ce, node, path, "%s", message);
}

void cfgerr_print_error(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "error: %s\n", line);
}

void cfgerr_print_warning(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "warning: %s\n", line);
}
