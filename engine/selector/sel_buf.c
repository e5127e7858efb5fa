/* Small helpers: a built text as a json-c string, and error formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"

/* json-c takes an int length; longer strings are reported as out of memory. */
struct json_object *sel_buf_to_string(buf *b)
{
    if (b->failed || b->len > (size_t)0x7fffffff)
        return NULL;
    return json_object_new_string_len(b->data ? b->data : "", (int)b->len);
}

void sel_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
