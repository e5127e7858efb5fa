/* Base64 for the whole engine: kubeconfig data, the @base64 selector
 * modifier and the plugins' base64_decode service. The decoder follows Go's
 * encoding/base64 closely because Authorino's results depend on its
 * details: newlines are skipped, and a failed decode still yields the bytes
 * of the complete quanta before the fault. */
#include <stdint.h>
#include <stdlib.h>
#include "base64.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t n, size_t *outlen)
{
    const unsigned char *src = data;
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
static int decode_pass(const unsigned char *s, size_t n, int url, int padded,
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
unsigned char *b64_decode_lenient(const char *src, size_t n, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *dst = malloc(n / 4 * 3 + 4);
    if (!dst)
        return NULL;
    if (decode_pass(s, n, 0, 1, dst, outlen) == 0)
        return dst;
    if (decode_pass(s, n, 0, 0, dst, outlen) == 0)
        return dst;
    /* dst and *outlen now hold the partial unpadded result. */
    unsigned char *alt = malloc(n / 4 * 3 + 4);
    if (!alt) {
        free(dst);
        return NULL;
    }
    size_t altlen;
    if ((n % 4 == 0 && decode_pass(s, n, 1, 1, alt, &altlen) == 0) ||
        decode_pass(s, n, 1, 0, alt, &altlen) == 0) {
        free(dst);
        *outlen = altlen;
        return alt;
    }
    free(alt);
    return dst;
}

unsigned char *b64_decode(const char *src, size_t n, int url, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *dst = malloc(n / 4 * 3 + 4);
    if (!dst)
        return NULL;
    /* Padded when the length says so, unpadded otherwise; never partial. */
    if (decode_pass(s, n, url, 1, dst, outlen) == 0 ||
        decode_pass(s, n, url, 0, dst, outlen) == 0) {
        dst[*outlen] = '\0';
        return dst;
    }
    free(dst);
    return NULL;
}
