#include <stdlib.h>
#include <string.h>
#include "tr_jwt.h"

char *tr_jwt_payload(const pc_host *h, const char *token, size_t len, size_t *out_len)
{
    const char *d1 = memchr(token, '.', len);
    if (!d1)
        return NULL;
    const char *p = d1 + 1, *end = token + len;
    const char *d2 = memchr(p, '.', (size_t)(end - p));
    if (!d2 || d2 == p || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
        return NULL;
    size_t n = (size_t)(d2 - p);
    /* Payloads of real tokens are a few hundred bytes; refuse absurd ones
     * rather than decode megabytes for a cache hint. */
    if (n > 64 * 1024)
        return NULL;
    return (char *)h->base64_decode(p, n, 1, out_len);
}
