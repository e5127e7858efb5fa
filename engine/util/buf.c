#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

void buf_init(buf *b)
{
    buf_init_max(b, 0);
}

void buf_init_max(buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->failed = 0;
    b->borrowed = 0;
}

void buf_init_on(buf *b, char *storage, size_t cap)
{
    buf_init(b);
    if (storage && cap) {
        b->data = storage;
        b->cap = cap;
        b->borrowed = 1;
        storage[0] = '\0';
    }
}

void buf_free(buf *b)
{
    if (!b->borrowed)
        free(b->data);
    buf_init(b);
}

void buf_wipe(buf *b)
{
    if (b->data) {
        /* volatile: the store must not be elided as dead before free. */
        volatile char *p = b->data;
        for (size_t i = 0; i < b->cap; i++)
            p[i] = 0;
    }
    buf_free(b);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > SIZE_MAX / 4 - b->len || (b->max && b->len + extra > b->max)) {
        b->failed = 1;
        return -1;
    }
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    /* Borrowed storage is copied out, never reallocated. */
    char *p = b->borrowed ? malloc(cap) : realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    if (b->borrowed) {
        memcpy(p, b->data, b->len + 1);
        b->borrowed = 0;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (grow(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if ((size_t)n < sizeof tmp)
        return buf_append(b, tmp, (size_t)n);
    if (grow(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_steal(buf *b)
{
    char *p = b->data;
    if (b->borrowed) {
        p = malloc(b->len + 1);
        if (p)
            memcpy(p, b->data, b->len + 1);
    } else if (!p) {
        p = calloc(1, 1);
    }
    buf_init_max(b, b->max);
    return p;
}
