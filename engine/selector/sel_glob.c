/* Glob matching for wildcard keys and `%` queries, rune by rune like tidwall/match:
 * `*` matches any run of characters, `?` exactly one, `\` makes the next one literal. */
#include <string.h>
#include "sel_internal.h"

/* Length of the UTF-8 sequence at s; an invalid or truncated sequence counts as one byte,
 * the way Go's decoder steps over it. */
size_t sel_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    sel_utf8_decode(s, n, &len);
    return len;
}

/* Decodes one code point; invalid input gives U+FFFD with *len = 1. */
unsigned sel_utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (n == 0)
        return 0xFFFD;
    unsigned c = s[0];
    if (c < 0x80)
        return c;
    size_t need;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1; cp = c & 0x1F; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2; cp = c & 0x0F; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3; cp = c & 0x07; min = 0x10000;
    } else {
        return 0xFFFD;
    }
    if (n < need + 1)
        return 0xFFFD;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    *len = need + 1;
    return cp;
}

/* Iterative matcher with one backtracking point per star: O(len(str) * len(pat)) at worst,
 * so hostile patterns cannot blow up. */
int sel_glob(const char *str, size_t slen, const char *pat, size_t plen)
{
    const unsigned char *s = (const unsigned char *)str, *p = (const unsigned char *)pat;
    size_t si = 0, pi = 0, star_p = 0, star_s = 0;
    int have_star = 0;

    while (si < slen) {
        if (pi < plen) {
            if (p[pi] == '*') {
                while (pi < plen && p[pi] == '*')
                    pi++;
                if (pi == plen)
                    return 1;
                have_star = 1;
                star_p = pi;
                star_s = si;
                continue;
            }
            size_t sl = sel_utf8_len(s + si, slen - si);
            if (p[pi] == '?') {
                si += sl;
                pi++;
                continue;
            }
            size_t lp = pi;
            if (p[pi] == '\\' && pi + 1 < plen)
                lp = pi + 1;
            size_t pl = sel_utf8_len(p + lp, plen - lp);
            if (pl == sl && memcmp(p + lp, s + si, sl) == 0) {
                si += sl;
                pi = lp + pl;
                continue;
            }
        }
        if (!have_star)
            return 0;
        star_s += sel_utf8_len(s + star_s, slen - star_s);
        si = star_s;
        pi = star_p;
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}
