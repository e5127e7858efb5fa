#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cfgerr.h"
#include "ydoc/ydoc.h"

static void emit(cfgerr *ce, int is_err, const struct json_object *node,
                 const char *path, const char *fmt, va_list ap)
{
    char msg[1024], line[1536];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int ln = node ? ydoc_line(node) : 0;
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
