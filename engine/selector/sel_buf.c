/* Small helpers: a growable byte buffer for building strings, and error formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"

void sel_buf_add(struct sel_buf *b, const void *s, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        /* A caller-supplied first buffer (not heap) is copied out, never reallocated. */
        char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        if (!b->heap && b->len)
            memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
        b->heap = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sel_buf_addc(struct sel_buf *b, char c)
{
    sel_buf_add(b, &c, 1);
}

/* json-c takes an int length; longer strings are reported as out of memory. */
struct json_object *sel_buf_to_string(struct sel_buf *b)
{
    if (b->oom || b->len > (size_t)0x7fffffff)
        return NULL;
    return json_object_new_string_len(b->p ? b->p : "", (int)b->len);
}

void sel_buf_free(struct sel_buf *b)
{
    if (b->heap)
        free(b->p);
    b->heap = 0;
    b->p = NULL;
    b->len = b->cap = 0;
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
