/* Base64 for the @base64 modifier, following Go's encoding/base64 decoder closely because
 * Authorino's result depends on its details: newlines are skipped, and a failed decode still
 * yields the bytes of the complete quanta before the fault. */
#include <stdlib.h>
#include "sel_internal.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sel_b64_encode(const unsigned char *src, size_t n, size_t *outlen)
{
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    size_t len = (n + 2) / 3 * 4;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8 | src[i + 2];
        out[o++] = b64_std[v >> 18 & 63];
        out[o++] = b64_std[v >> 12 & 63];
        out[o++] = b64_std[v >> 6 & 63];
        out[o++] = b64_std[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)src[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)src[i + 1] << 8;
        out[o++] = b64_std[v >> 18 & 63];
        out[o++] = b64_std[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_std[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static int b64_val(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

static size_t skip_newlines(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* One pass of Go's Decode: 0 on success, -1 on corrupt input; *outlen always holds the
 * bytes written (whole quanta before the fault). dst needs n / 4 * 3 + 3 bytes. */
static int b64_decode(const unsigned char *s, size_t n, int url, int padded,
                      unsigned char *dst, size_t *outlen)
{
    size_t si = 0, o = 0;
    *outlen = 0;
    while (si < n) {
        int dbuf[4] = {0, 0, 0, 0};
        int dlen = 4, err = 0;
        for (int j = 0; j < 4; j++) {
            if (si == n) {
                if (j == 0)
                    goto done;
                if (j == 1 || padded)
                    return -1;
                dlen = j;
                break;
            }
            unsigned char in = s[si++];
            int v = b64_val(in, url);
            if (v >= 0) {
                dbuf[j] = v;
                continue;
            }
            if (in == '\n' || in == '\r') {
                j--;
                continue;
            }
            if (!padded || in != '=')
                return -1;
            if (j < 2)
                return -1;
            if (j == 2) {
                si = skip_newlines(s, n, si);
                if (si == n || s[si] != '=')
                    return -1;
                si++;
            }
            si = skip_newlines(s, n, si);
            if (si < n)
                err = 1;
            dlen = j;
            break;
        }
        unsigned val = (unsigned)dbuf[0] << 18 | (unsigned)dbuf[1] << 12 |
                       (unsigned)dbuf[2] << 6 | (unsigned)dbuf[3];
        unsigned char b[3] = {(unsigned char)(val >> 16), (unsigned char)(val >> 8),
                              (unsigned char)val};
        for (int k = 0; k < dlen - 1; k++)
            dst[o++] = b[k];
        *outlen = o;
        if (err)
            return -1;
    }
done:
    *outlen = o;
    return 0;
}

/* Authorino decodes padded standard base64 when the length is a multiple of 4, else
 * unpadded standard base64, keeping whatever the unpadded pass produced even when it failed.
 * Two additions recover values Authorino would truncate: the padded pass also runs when
 * line breaks upset the length, and URL-safe base64 (JWT segments) is tried before settling
 * for a partial result. */
unsigned char *sel_b64_decode_lenient(const char *src, size_t n, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *dst = malloc(n / 4 * 3 + 4);
    if (!dst)
        return NULL;
    if (b64_decode(s, n, 0, 1, dst, outlen) == 0)
        return dst;
    if (b64_decode(s, n, 0, 0, dst, outlen) == 0)
        return dst;
    /* dst and *outlen now hold the partial unpadded result. */
    unsigned char *alt = malloc(n / 4 * 3 + 4);
    if (!alt) {
        free(dst);
        return NULL;
    }
    size_t altlen;
    if ((n % 4 == 0 && b64_decode(s, n, 1, 1, alt, &altlen) == 0) ||
        b64_decode(s, n, 1, 0, alt, &altlen) == 0) {
        free(dst);
        *outlen = altlen;
        return alt;
    }
    free(alt);
    return dst;
}
