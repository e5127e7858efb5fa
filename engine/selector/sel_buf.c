/* Small helpers: a built text as a string node, and error formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"

const doc *sel_buf_to_doc(buf *b, struct arena *a)
{
    if (b->failed)
        return NULL;
    return doc_new_str(a, b->data ? b->data : "", b->len);
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
