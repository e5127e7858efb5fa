/* cel_sbuf.c - a string built piece by piece in the evaluation's arena. */
#include <string.h>
#include "cel/cel_int.h"

void cel_sb_put(cel_sbuf *b, const char *s, size_t n)
{
    if (b->fail) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = cel_alloc(b->c->a, cap);
        if (!np || cap > UINT32_MAX) {
            b->fail = 1;
            return;
        }
        if (b->n) memcpy(np, b->p, b->n);
        b->p = np;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

cel_value cel_sb_done(cel_sbuf *b)
{
    if (b->fail) return cel_nomem(b->c);
    return b->n ? cel_str(b->p, b->n) : cel_str("", 0);
}
