/* Replies built on any thread, in one arena, written later by the loop. */
#include "server.h"

#include <string.h>

int srv_reply_header(srv_reply *rp, const char *name, const char *value,
                     size_t vlen)
{
    if ((rp->n_headers & (rp->n_headers - 1)) == 0) {
        /* Grows at powers of two: the arena never frees, so copy over. */
        size_t cap = rp->n_headers ? rp->n_headers * 2 : 8;
        pc_header *h = srv_arena_alloc(&rp->arena, cap * sizeof(*h));
        if (!h)
            return -1;
        if (rp->n_headers)
            memcpy(h, rp->headers, rp->n_headers * sizeof(*h));
        rp->headers = h;
    }
    size_t nlen = strlen(name);
    char *n = srv_arena_dup(&rp->arena, name, nlen);
    char *v = srv_arena_dup(&rp->arena, value, vlen);
    if (!n || !v)
        return -1;
    for (size_t i = 0; i < nlen; i++)
        if (n[i] >= 'A' && n[i] <= 'Z')
            n[i] = (char)(n[i] - 'A' + 'a');
    pc_header *h = &rp->headers[rp->n_headers++];
    h->name.ptr = n;
    h->name.len = nlen;
    h->value.ptr = v;
    h->value.len = vlen;
    return 0;
}

int srv_reply_body(srv_reply *rp, const void *data, size_t len)
{
    uint8_t *b = len ? srv_arena_alloc(&rp->arena, len) : NULL;
    if (len && !b)
        return -1;
    if (len)
        memcpy(b, data, len);
    rp->body = b;
    rp->body_len = len;
    return 0;
}

void srv_reply_free(srv_reply *rp)
{
    srv_arena_free(&rp->arena);
    memset(rp, 0, sizeof(*rp));
}
