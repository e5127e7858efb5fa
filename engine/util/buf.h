/* buf.h - the growable byte buffer (always NUL-terminated), with an
 * optional size limit. The engine and the plugins (through the pc_util
 * library) share this one.
 *
 * Failure is sticky: once an append runs out of memory or would pass the
 * limit, `failed` is set, that append and every later one return -1 and
 * leave the content as it was, so a caller may build a whole message and
 * check once at the end. buf_reset clears it. */
#ifndef PC_UTIL_BUF_H
#define PC_UTIL_BUF_H
#include <stddef.h>
#include <stdarg.h>
#include <portcullis/abi.h>

typedef struct buf {
    char *data;
    size_t len, cap;
    size_t max;       /* most content bytes (the NUL not counted); 0 = no limit */
    int failed;       /* an append failed (out of memory or over max) */
    int borrowed;     /* data is the caller's storage (buf_init_on), not heap */
} buf;

void buf_init(buf *b);
/* A buffer that never holds more than max bytes (0: no limit). */
void buf_init_max(buf *b, size_t max);
/* Starts on the caller's storage (cap bytes, e.g. on the stack), so short
 * texts need no malloc; longer ones move to the heap. buf_free is still
 * needed, and storage must outlive b. */
void buf_init_on(buf *b, char *storage, size_t cap);
void buf_free(buf *b);
/* Overwrites the memory (credentials, tokens) before freeing it. */
void buf_wipe(buf *b);
/* Empties b and clears `failed`; keeps the memory and the limit. */
void buf_reset(buf *b);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) PC_PRINTF(2, 3);
/* Detaches the data (caller frees) and resets b. */
char *buf_steal(buf *b);
#endif
