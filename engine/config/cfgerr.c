#include <stdarg.h>
#include <stdio.h>
#include "cfgerr.h"
#include "ydoc.h"

static void emit(cfgerr *ce, int is_err, const struct json_object *node,
                 const char *path, const char *fmt, va_list ap)
{
    char msg[1024], line[1536];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int ln = node ? ydoc_line(node) : 0;
    if (ln <= 0)
        ln = ce->doc_line;
    if (path && *path)
        snprintf(line, sizeof line, "%s:%d: %s: %s", ce->file ? ce->file : "-",
                 ln, path, msg);
    else
        snprintf(line, sizeof line, "%s:%d: %s", ce->file ? ce->file : "-", ln,
                 msg);
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
