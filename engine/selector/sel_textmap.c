/* Rune-by-rune text rewriting for @case and @strip, and its application to whole values.
 *
 * Authorino's @case runs Go's strings.ToUpper/ToLower and @strip drops what Go's
 * unicode.IsPrint rejects, both over the raw JSON text. Here the same mapping is applied to
 * strings and member names of the parsed value. Case mapping uses the C.UTF-8 locale's
 * simple case tables (ASCII only if that locale is missing); invalid UTF-8 becomes U+FFFD as
 * Go's strings.Map does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>
#include "sel_mods.h"

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Non-printable in Go's sense beyond the C0/C1 controls: separators other than the ASCII
 * space, format characters, surrogates, private use and non-characters. Unassigned code
 * points are kept (Go drops them, but their table changes with every Unicode release). */
static int go_isprint(unsigned cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return 0;
    if (cp < 0x7F)
        return 1;
    static const unsigned ranges[][2] = {
        {0x00A0, 0x00A0}, {0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C},
        {0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x0890, 0x0891}, {0x08E2, 0x08E2},
        {0x1680, 0x1680}, {0x180E, 0x180E}, {0x2000, 0x200F}, {0x2028, 0x202F},
        {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000}, {0xD800, 0xF8FF},
        {0xFDD0, 0xFDEF}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0xFFFE, 0xFFFF},
        {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
        {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i][0] && cp <= ranges[i][1])
            return 0;
    return (cp & 0xFFFE) != 0xFFFE;
}

static void put_utf8(buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp; n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    buf_append(b, u, n);
}

static unsigned map_case(unsigned cp, enum sel_textmap how)
{
    if (cp < 0x80) {
        if (how == SEL_MAP_UPPER && cp >= 'a' && cp <= 'z')
            return cp - 32;
        if (how == SEL_MAP_LOWER && cp >= 'A' && cp <= 'Z')
            return cp + 32;
        return cp;
    }
    pthread_once(&utf8_once, utf8_init);
    if (utf8_locale == (locale_t)0)
        return cp;
    wint_t r = how == SEL_MAP_UPPER ? towupper_l((wint_t)cp, utf8_locale)
                                    : towlower_l((wint_t)cp, utf8_locale);
    return r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF) ? cp : (unsigned)r;
}

void sel_map_text(buf *b, const char *s, size_t n, enum sel_textmap how)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len;
        unsigned cp = sel_utf8_decode(u + i, n - i, &len);
        i += len;
        if (how == SEL_MAP_STRIP) {
            if (go_isprint(cp))
                put_utf8(b, cp);
        } else {
            put_utf8(b, map_case(cp, how));
        }
    }
}

static const doc *mapped_string(struct arena *ar, const char *s, size_t n,
                                enum sel_textmap how)
{
    char local[256];
    buf b;
    buf_init_on(&b, local, sizeof local);
    sel_map_text(&b, s, n, how);
    const doc *o = sel_buf_to_doc(&b, ar);
    buf_free(&b);
    return o;
}

int sel_map_value(const doc *in, enum sel_textmap how, struct arena *ar, int depth,
                  const doc **out)
{
    *out = NULL;
    if (depth > SEL_MAX_DOC)
        return -1;
    switch (doc_type_of(in)) {
    case DOC_STRING: {
        size_t n;
        const char *s = doc_str(in, &n);
        *out = mapped_string(ar, s, n, how);
        return *out ? 0 : -1;
    }
    case DOC_ARRAY: {
        size_t n = doc_len(in);
        doc *r = doc_new_array(ar, n);
        if (!r)
            return -1;
        for (size_t i = 0; i < n; i++) {
            const doc *v;
            if (sel_map_value(doc_at(in, i), how, ar, depth + 1, &v) != 0 ||
                doc_append(ar, r, v) != 0)
                return -1;
        }
        *out = r;
        return 0;
    }
    case DOC_OBJECT: {
        size_t n = doc_len(in);
        doc *r = doc_new_object(ar, n);
        if (!r)
            return -1;
        for (size_t i = 0; i < n; i++) {
            const doc_member *m = doc_member_at(in, i);
            char local[256];
            buf kb;
            buf_init_on(&kb, local, sizeof local);
            const doc *v = NULL;
            sel_map_text(&kb, m->key, m->klen, how);
            /* Mapped names may collide (`A` and `a` lowered): the last wins, as in json-c. */
            int bad = kb.failed || sel_map_value(m->val, how, ar, depth + 1, &v) != 0 ||
                      doc_set(ar, r, kb.data ? kb.data : "", kb.len, v) != 0;
            buf_free(&kb);
            if (bad)
                return -1;
        }
        *out = r;
        return 0;
    }
    default:
        *out = in;
        return 0;
    }
}
