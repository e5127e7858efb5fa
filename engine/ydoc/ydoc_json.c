/* ydoc_json.c - JSON text that libyaml would refuse although it is valid JSON.
 *
 * JSON writers (Python's json.dumps by default, for one) escape characters
 * beyond the BMP as UTF-16 surrogate pairs, "\ud83d\ude00"; YAML has
 * \UXXXXXXXX instead and libyaml rejects surrogates. Rewriting the pair
 * keeps every line where it was (columns after it on that line move left
 * by two). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/str.h"
#include "ydoc/ydoc_int.h"

static int hex4(const char *p, const char *end, unsigned *v)
{
    if (end - p < 4)
        return 0;
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        int d = str_hexval((unsigned char)p[i]);
        if (d < 0)
            return 0;
        x = x << 4 | (unsigned)d;
    }
    *v = x;
    return 1;
}

/* At p (just after a backslash and 'u'): a high surrogate followed by
 * "\u" and a low one. Returns the code point, or 0. */
static unsigned pair_at(const char *p, const char *end)
{
    unsigned hi, lo;
    if (!hex4(p, end, &hi) || hi < 0xD800 || hi > 0xDBFF)
        return 0;
    p += 4;
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &lo) ||
        lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

/* Walks the JSON strings and counts surrogate pairs; with out non-NULL it
 * also writes the rewritten text. */
static size_t rewrite(const char *buf, size_t len, char *out, size_t *outlen)
{
    const char *p = buf, *end = buf + len;
    size_t pairs = 0, o = 0;
    int in_str = 0;
    while (p < end) {
        char c = *p;
        if (!in_str) {
            if (c == '"')
                in_str = 1;
        } else if (c == '"') {
            in_str = 0;
        } else if (c == '\\' && p + 1 < end) {
            unsigned cp;
            if (p[1] == 'u' && (cp = pair_at(p + 2, end)) != 0) {
                if (out) {
                    char tmp[11];
                    snprintf(tmp, sizeof tmp, "\\U%08X", cp);
                    memcpy(out + o, tmp, 10);
                    o += 10;
                }
                pairs++;
                p += 12;
                continue;
            }
            if (out)
                out[o++] = c;
            p++;
            c = *p; /* the escaped character is copied below */
        }
        if (out)
            out[o++] = c;
        p++;
    }
    if (outlen)
        *outlen = o;
    return pairs;
}

int ydoc_json_fix_escapes(const char *buf, size_t len, char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    /* Cheap test first: most files have no "\u" at all. */
    const char *p = buf, *end = buf + len;
    int maybe = 0;
    while (p < end && (p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p > 2 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D')) {
            maybe = 1;
            break;
        }
        p++;
    }
    if (!maybe || rewrite(buf, len, NULL, NULL) == 0)
        return 0;
    char *o = malloc(len ? len : 1);
    if (!o)
        return -1;
    rewrite(buf, len, o, outlen);
    *out = o;
    return 1;
}
