/* Authorino's modifiers (pkg/json/json.go): @extract, @replace, @case, @base64, @strip.
 *
 * Each reads its input as gjson's Result.String() (sel_text; an absent input reads as "")
 * and, apart from @case and @strip, answers with a string. Arguments are checked at compile
 * time; Authorino silently ignores a bad one, which hides typos, so here it is an error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "sel_mods.h"
#include "selector.h"
#include "util/base64.h"

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int new_string(struct arena *ar, const char *s, size_t n, const doc **out, int *outp)
{
    *out = doc_new_str(ar, s, n);
    *outp = 1;
    return *out ? 0 : -1;
}

static int buf_result(buf *b, struct arena *ar, const doc **out, int *outp)
{
    *out = sel_buf_to_doc(b, ar);
    *outp = 1;
    buf_free(b);
    return *out ? 0 : -1;
}

/* gjson's Result.Int(), used for "pos". */
static long long gjson_int(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        return json_object_get_boolean(v) ? 1 : 0;
    case json_type_int:
        return (long long)json_object_get_int64(v);
    case json_type_double: {
        double d = json_object_get_double(v);
        if (d >= -9007199254740991.0 && d <= 9007199254740991.0)
            return (long long)d;
        return d > 0 ? LLONG_MAX : LLONG_MIN;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v), *p = s;
        int neg = *p == '-';
        p += neg;
        unsigned long long n = 0;
        int digits = *p != '\0';
        for (; *p; p++) {
            if (*p < '0' || *p > '9') {
                digits = 0;
                break;
            }
            unsigned d = (unsigned)(*p - '0');
            n = n > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : n * 10 + d;
        }
        if (digits) {
            if (neg)
                return n > (unsigned long long)LLONG_MAX ? LLONG_MIN : -(long long)n;
            return n > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)n;
        }
        char *end;
        double d = strtod(s, &end);
        if (end == s || *end != '\0')
            return 0;
        if (d >= 9.2e18)
            return LLONG_MAX;
        if (d <= -9.2e18 || d != d)
            return LLONG_MIN;
        return (long long)d;
    }
    default:
        return 0;
    }
}

/* Parses an object argument; non-object JSON leaves every option at its default, as
 * gjson's ForEach over a scalar does. */
static int object_arg(struct sel_modarg *a, struct json_object **obj, const char *usage,
                      char *err, size_t errlen)
{
    *obj = NULL;
    if (sel_json_parse(a->raw, a->rawlen, obj) != 0) {
        sel_errf(err, errlen, "%s", usage);
        return -1;
    }
    if (!json_object_is_type(*obj, json_type_object)) {
        json_object_put(*obj);
        *obj = NULL;
    }
    return 0;
}

/* gjson's String() of a modifier argument (json-c, at compile time). */
static int copy_text(struct json_object *v, char **s, size_t *n)
{
    size_t len = 0;
    const char *t = "";
    if (json_object_is_type(v, json_type_string)) {
        t = json_object_get_string(v);
        len = (size_t)json_object_get_string_len(v);
    } else if (v && !(t = json_object_to_json_string_length(
                          v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len))) {
        return -1;
    }
    free(*s);
    *s = dupn(t, len);
    *n = len;
    return *s ? 0 : -1;
}

int sel_prep_extract(struct sel_modarg *a, char *err, size_t errlen)
{
    a->s1 = dupn(" ", 1);
    a->s1len = 1;
    a->pos = 0;
    if (!a->s1) {
        sel_errf(err, errlen, "out of memory");
        return -1;
    }
    if (!a->present || a->rawlen == 0)
        return 0;
    struct json_object *o;
    if (object_arg(a, &o, "@extract expects a JSON object argument such as "
                          "{\"sep\":\" \",\"pos\":1}", err, errlen) != 0)
        return -1;
    if (!o)
        return 0;
    struct json_object *v;
    int r = 0;
    if (json_object_object_get_ex(o, "sep", &v))
        r = copy_text(v, &a->s1, &a->s1len);
    if (json_object_object_get_ex(o, "pos", &v))
        a->pos = gjson_int(v);
    json_object_put(o);
    if (r)
        sel_errf(err, errlen, "out of memory");
    return r;
}

/* strings.Split(s, sep)[pos]; out of range (or negative, where Go would panic) is absent. */
int sel_mod_extract(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp)
{
    (void)present;
    size_t len;
    const char *s = sel_text(in, ar, &len);
    *out = NULL;
    *outp = 0;
    if (!s)
        return -1;
    if (a->pos < 0)
        return 0;
    unsigned long long want = (unsigned long long)a->pos, k = 0;
    if (a->s1len == 0) {
        /* An empty separator splits into UTF-8 sequences. */
        for (size_t i = 0; i < len; k++) {
            size_t rl = sel_utf8_len((const unsigned char *)s + i, len - i);
            if (k == want)
                return new_string(ar, s + i, rl, out, outp);
            i += rl;
        }
        return 0;
    }
    for (size_t start = 0;; k++) {
        const char *hit = memmem(s + start, len - start, a->s1, a->s1len);
        size_t stop = hit ? (size_t)(hit - s) : len;
        if (k == want)
            return new_string(ar, s + start, stop - start, out, outp);
        if (!hit)
            return 0;
        start = stop + a->s1len;
    }
}

int sel_prep_replace(struct sel_modarg *a, char *err, size_t errlen)
{
    a->mode = 0;
    if (!a->present || a->rawlen == 0)
        return 0;
    struct json_object *o;
    if (object_arg(a, &o, "@replace expects a JSON object argument such as "
                          "{\"old\":\"a\",\"new\":\"b\"}", err, errlen) != 0)
        return -1;
    a->mode = 1;
    a->s1 = dupn("", 0);
    a->s2 = dupn("", 0);
    int r = !a->s1 || !a->s2;
    struct json_object *v;
    if (!r && o && json_object_object_get_ex(o, "old", &v))
        r = copy_text(v, &a->s1, &a->s1len);
    if (!r && o && json_object_object_get_ex(o, "new", &v))
        r = copy_text(v, &a->s2, &a->s2len);
    json_object_put(o);
    if (r)
        sel_errf(err, errlen, "out of memory");
    return r ? -1 : 0;
}

/* strings.ReplaceAll: an empty old string matches before and after every UTF-8 sequence. */
int sel_mod_replace(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp)
{
    if (!a->mode) {
        *out = in;
        *outp = present;
        return 0;
    }
    size_t len;
    const char *s = sel_text(in, ar, &len);
    if (!s)
        return -1;
    char local[256];
    buf b;
    buf_init_on(&b, local, sizeof local);
    if (a->s1len == 0) {
        buf_append(&b, a->s2, a->s2len);
        for (size_t i = 0; i < len && !b.failed;) {
            size_t rl = sel_utf8_len((const unsigned char *)s + i, len - i);
            buf_append(&b, s + i, rl);
            buf_append(&b, a->s2, a->s2len);
            i += rl;
        }
    } else {
        size_t start = 0;
        const char *hit;
        while (!b.failed && (hit = memmem(s + start, len - start, a->s1, a->s1len))) {
            buf_append(&b, s + start, (size_t)(hit - s) - start);
            buf_append(&b, a->s2, a->s2len);
            start = (size_t)(hit - s) + a->s1len;
        }
        buf_append(&b, s + start, len - start);
    }
    return buf_result(&b, ar, out, outp);
}

int sel_prep_case(struct sel_modarg *a, char *err, size_t errlen)
{
    if (a->present && !strcmp(a->raw, "upper")) {
        a->mode = SEL_MAP_UPPER;
        return 0;
    }
    if (a->present && !strcmp(a->raw, "lower")) {
        a->mode = SEL_MAP_LOWER;
        return 0;
    }
    sel_errf(err, errlen, "@case expects 'upper' or 'lower'%s",
             a->present && strchr(a->raw, '.') ? " (its argument runs to the next '|')" : "");
    return -1;
}

int sel_mod_case(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp)
{
    *out = NULL;
    *outp = 0;
    if (!present)
        return 0;
    switch (doc_type_of(in)) {
    case DOC_NULL:
    case DOC_BOOL:
        /* Upper-cased `true`/`null` is no JSON at all, so gjson finds nothing. */
        if (a->mode == SEL_MAP_UPPER)
            return 0;
        *out = in;
        *outp = 1;
        return 0;
    case DOC_INT:
    case DOC_DOUBLE:
        *out = in;
        *outp = 1;
        return 0;
    default:
        *outp = 1;
        return sel_map_value(in, (enum sel_textmap)a->mode, ar, 0, out);
    }
}

int sel_prep_base64(struct sel_modarg *a, char *err, size_t errlen)
{
    if (a->present && !strcmp(a->raw, "encode")) {
        a->mode = 1;
        return 0;
    }
    if (a->present && !strcmp(a->raw, "decode")) {
        a->mode = 2;
        return 0;
    }
    sel_errf(err, errlen, "@base64 expects 'encode' or 'decode'%s",
             a->present && strchr(a->raw, '.') ? " (its argument runs to the next '|')" : "");
    return -1;
}

int sel_mod_base64(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp)
{
    (void)present;
    size_t len, n = 0;
    const char *s = sel_text(in, ar, &len);
    if (!s)
        return -1;
    if (a->mode == 1) {
        char *enc = b64_encode(s, len, &n);
        int r = enc ? new_string(ar, enc, n, out, outp) : -1;
        free(enc);
        return r;
    }
    unsigned char *dec = b64_decode_lenient(s, len, &n);
    int r = dec ? new_string(ar, (const char *)dec, n, out, outp) : -1;
    free(dec);
    return r;
}

int sel_mod_strip(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp)
{
    (void)a;
    *out = NULL;
    *outp = present;
    if (!present)
        return 0;
    return sel_map_value(in, SEL_MAP_STRIP, ar, 0, out);
}
