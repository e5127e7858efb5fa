#include <stdlib.h>
#include <string.h>
#include "tr_jwt.h"

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

char *tr_jwt_payload(const char *token, size_t len, size_t *out_len)
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
    char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '=') {
            if (n - i > 2)
                goto bad;
            break;
        }
        int v = b64url_val(c);
        if (v < 0)
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
bad:
    free(out);
    return NULL;
}
