/*
 * codec_utf8.c - making text safe for proto3 `string` fields: valid UTF-8
 * (Envoy's parser rejects anything else) and no NUL (protobuf-c strings are
 * C strings, so a NUL would silently cut the rest off).
 */
#include <string.h>
#include "codec_int.h"

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/*
 * Length of the well-formed sequence at s (Unicode Table 3-7), or 0 with
 * *bad set to the length of the maximal ill-formed subpart there, which is
 * replaced by one U+FFFD as Unicode and WHATWG recommend.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *bad = 1;
        return c ? 1 : 0;
    }
    size_t more;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        more = 1;
    else if (c == 0xE0) {
        more = 2;
        lo = 0xA0;
    } else if (c == 0xED) {
        more = 2;
        hi = 0x9F;
    } else if (c >= 0xE1 && c <= 0xEF)
        more = 2;
    else if (c == 0xF0) {
        more = 3;
        lo = 0x90;
    } else if (c == 0xF4) {
        more = 3;
        hi = 0x8F;
    } else if (c >= 0xF1 && c <= 0xF3)
        more = 3;
    else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= more; k++) {
        unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
        if (k >= n || s[k] < min || s[k] > max) {
            *bad = k;
            return 0;
        }
    }
    return more + 1;
}

size_t codec_utf8_clean_len(const char *s, size_t len, int lower, int *dirty)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, out = 0;
    int d = 0;
    while (i < len) {
        if (p[i] >= 0x20 && p[i] < 0x80) {
            if (lower && p[i] >= 'A' && p[i] <= 'Z')
                d = 1;
            i++;
            out++;
            continue;
        }
        size_t bad;
        size_t n = utf8_seq(p + i, len - i, &bad);
        if (n) {
            i += n;
            out += n;
        } else {
            i += bad;
            out += sizeof REPLACEMENT;
            d = 1;
        }
    }
    *dirty = d;
    return out;
}

void codec_utf8_clean_into(const char *s, size_t len, int lower, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t bad;
        size_t n = utf8_seq(p + i, len - i, &bad);
        if (n) {
            memcpy(out, p + i, n);
            if (lower && n == 1 && *out >= 'A' && *out <= 'Z')
                *out = (char)(*out - 'A' + 'a');
            out += n;
            i += n;
        } else {
            memcpy(out, REPLACEMENT, sizeof REPLACEMENT);
            out += sizeof REPLACEMENT;
            i += bad;
        }
    }
}

char *codec_utf8_clean(codec_arena *a, const char *s, size_t len, int lower)
{
    int dirty;
    size_t n = codec_utf8_clean_len(s, len, lower, &dirty);
    if (!dirty)
        return codec_arena_strndup(a, s, len);
    char *p = codec_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    codec_utf8_clean_into(s, len, lower, p);
    p[n] = '\0';
    return p;
}

void codec_ascii_lower(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
}
