/* libFuzzer harness for engine/doc/doc_json.c: any bytes as JSON text.
 * Besides the sanitizers it checks:
 *  - an error is one line with an offset inside the input, and no result;
 *  - a result writes (to a buf and to the arena, the same text), reads
 *    back equal, and writes the same text again;
 *  - under a small arena limit a parse either fails for memory or gives
 *    the same document;
 *  - against json-c's strict tokener: what doc accepts json-c accepts, as
 *    the same type with the same text (but for the documented differences:
 *    integers past int64, keys with NUL); what json-c accepts and doc
 *    rejects is one of json-c's laxities, checked at the reported offset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "doc/doc.h"
#include "util/buf.h"
#include "../unit/jsonc_strict.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Whether v holds what json-c reads otherwise: an integer past int64 (a
 * double without '.' or exponent here, uint64 or saturated there) or a key
 * with a NUL byte (json-c cuts it). */
static int differs_from_jsonc(const doc *v)
{
    switch (doc_type_of(v)) {
    case DOC_DOUBLE: return v->aux.text && !strpbrk(v->aux.text, ".eE");
    case DOC_ARRAY:
        for (size_t i = 0; i < doc_len(v); i++)
            if (differs_from_jsonc(doc_at(v, i)))
                return 1;
        return 0;
    case DOC_OBJECT:
        for (size_t i = 0; i < doc_len(v); i++) {
            const doc_member *m = doc_member_at(v, i);
            if (memchr(m->key, 0, m->klen) || differs_from_jsonc(m->val))
                return 1;
        }
        return 0;
    default: return 0;
    }
}

/* Every parsed double holds what strtod makes of its text, to the bit. */
static void check_doubles(const doc *v)
{
    if (doc_type_of(v) == DOC_DOUBLE) {
        check(v->aux.text != NULL);
        double want = strtod(v->aux.text, NULL), got = doc_double(v);
        check(memcmp(&want, &got, sizeof got) == 0);
    }
    for (size_t i = 0; i < doc_len(v); i++)
        check_doubles(doc_type_of(v) == DOC_ARRAY ? doc_at(v, i) : doc_member_at(v, i)->val);
}

/* Is the UTF-8 sequence at p (a lead byte >= 0x80) valid? Decoded to a code
 * point and range-checked: a different method from the parser's table. */
static int utf8_ok(const uint8_t *p, size_t left)
{
    unsigned c = p[0], n, cp;
    if ((c & 0xe0) == 0xc0)
        n = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (left < n)
        return 0;
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    return cp >= min[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* json-c accepted what doc rejected with err: it must be one of json-c's
 * laxities, true of the input at the offset the message names. */
static void check_laxity(const uint8_t *d, size_t size, const char *err)
{
    const char *at = strstr(err, " at offset ");
    check(at != NULL);
    size_t off = strtoull(at + 11, NULL, 10);
    check(off <= size);
    int c = off < size ? d[off] : -1;
    if (strstr(err, "leading zero"))
        check(c == '0' && off + 1 < size && d[off + 1] >= '0' && d[off + 1] <= '9');
    else if (strstr(err, "(a digit expected)")) /* "1.", "1.e5", "-Infinity" */
        check(c < '0' || c > '9');
    else if (strstr(err, "invalid UTF-8")) {
        /* the first bad sequence is at the offset */
        check(c >= 0x80 && !utf8_ok(d + off, size - off));
    } else if (strstr(err, "control character"))
        check(c >= 0 && c < 0x20);
    else if (strstr(err, "unexpected character 'N'") || strstr(err, "unexpected character 'I'"))
        check(c == 'N' || c == 'I'); /* NaN, Infinity */
    else if (strstr(err, "unexpected character '''"))
        check(c == '\''); /* single quotes */
    else if (strstr(err, "nesting deeper than"))
        check(c == '[' || c == '{'); /* json-c is given a deeper limit */
    else if (strstr(err, "unexpected byte 0x00"))
        check(c == 0); /* json-c stops at a NUL */
    else
        check(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct arena a;
    arena_init(&a, 1 << 20);
    char err[256] = "";
    const doc *v = (const doc *)&a;
    int rc = doc_parse(&a, text, size, &v, err, sizeof err);
    struct json_object *j = NULL;
    int jc_ok = size < INT32_MAX && jc_parse(text, size, &j);
    if (rc) {
        check(rc == -1 && v == (const doc *)&a);
        check(err[0] && !strchr(err, '\n'));
        const char *at = strstr(err, " at offset ");
        check(at && strtoull(at + 11, NULL, 10) <= size);
        if (jc_ok && !strstr(err, "out of memory"))
            check_laxity(data, size, err);
        json_object_put(j);
        arena_free(&a);
        return 0;
    }
    check_doubles(v);
    /* written, read back, written again */
    struct arena w;
    arena_init(&w, 0);
    size_t n = 0;
    const char *out = doc_to_json_arena(&w, v, &n);
    check(out && strlen(out) <= n && out[n] == '\0');
    buf b;
    buf_init(&b);
    check(doc_to_json(&b, v) == 0 && b.len == n && memcmp(b.data, out, n) == 0);
    buf_free(&b);
    const doc *back = NULL;
    check(doc_parse(&w, out, n, &back, err, sizeof err) == 0);
    check(doc_equal(v, back));
    size_t n2 = 0;
    const char *out2 = doc_to_json_arena(&w, back, &n2);
    check(out2 && n2 == n && memcmp(out, out2, n) == 0);

    /* a small limit: fails for memory, or the same document */
    struct arena s;
    arena_init(&s, 64 + (size_t)data[0] * 16);
    const doc *sv = NULL;
    char serr[256];
    if (doc_parse(&s, text, size, &sv, serr, sizeof serr) == 0)
        check(doc_equal(v, sv));
    else
        check(strstr(serr, "out of memory") != NULL);
    arena_free(&s);

    /* json-c */
    check(jc_ok);
    if (!differs_from_jsonc(v)) {
        check(doc_type_of(v) == jc_doc_type(j));
        const char *theirs =
            json_object_to_json_string_ext(j, JC_FLAGS);
        check(strlen(theirs) == n && memcmp(theirs, out, n) == 0);
    }
    json_object_put(j);
    arena_free(&w);
    arena_free(&a);
    return 0;
}
