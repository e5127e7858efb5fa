/* buf.h - a growable byte buffer (always NUL-terminated). */
#ifndef PC_UTIL_BUF_H
#define PC_UTIL_BUF_H
#include <stddef.h>
#include <stdarg.h>
#include <portcullis/abi.h>

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) PC_PRINTF(2, 3);
/* Detaches the data (caller frees) and resets b. */
char *buf_steal(buf *b);
#endif
