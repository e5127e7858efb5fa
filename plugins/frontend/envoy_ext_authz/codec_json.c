/*
 * codec_json.c - google.protobuf.Struct to JSON text, for
 * AttributeContext.metadata_context.
 *
 * Rendering takes two passes over the message with the same writer: the
 * first only counts, the second fills one arena block of the exact size.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "google/protobuf/struct.pb-c.h"

typedef struct jw {
    char *out;  /* NULL while counting */
    size_t len;
} jw;

static void put(jw *w, const char *s, size_t n)
{
    if (w->out && n)
        memcpy(w->out + w->len, s, n);
    w->len += n;
}

static void put_c(jw *w, char c)
{
    if (w->out)
        w->out[w->len] = c;
    w->len++;
}

static void put_string(jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = s ? strlen(s) : 0;
    size_t i = 0, run = 0;
    put_c(w, '"');
    /* Struct strings come from the peer unchecked: invalid UTF-8 becomes
     * U+FFFD so the text stays valid JSON for any parser. */
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        int valid;
        size_t n = codec_utf8_next(s + i, len - i, &valid);
        if (valid && c >= 0x80) {
            i += n;
            continue;
        }
        put(w, s + run, i - run);
        i += n;
        run = i;
        if (!valid) {
            put(w, "\xEF\xBF\xBD", 3);
            continue;
        }
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\b': put(w, "\\b", 2); break;
        case '\f': put(w, "\\f", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default: put(w, esc, 6); break;
        }
    }
    put(w, s + run, len - run);
    put_c(w, '"');
}

size_t codec_json_number(double d, char *buf)
{
    if (!isfinite(d)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    int n;
    if (d == floor(d) && fabs(d) < 1e15) {
        n = snprintf(buf, 32, "%.0f", d);
    } else {
        /* The shortest of %.15g..%.17g that reads back as the same double. */
        for (int prec = 15;; prec++) {
            n = snprintf(buf, 32, "%.*g", prec, d);
            if (prec == 17 || strtod(buf, NULL) == d)
                break;
        }
    }
    for (int i = 0; i < n; i++)
        if (buf[i] == ',') /* a locale with a decimal comma */
            buf[i] = '.';
    return (size_t)n;
}

static void put_struct(jw *w, const Google__Protobuf__Struct *s);

static void put_value(jw *w, const Google__Protobuf__Value *v)
{
    char num[32];
    if (!v) {
        put(w, "null", 4);
        return;
    }
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        put(w, num, codec_json_number(v->number_value, num));
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        put_string(w, v->string_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        if (v->bool_value)
            put(w, "true", 4);
        else
            put(w, "false", 5);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        put_struct(w, v->struct_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        put_c(w, '[');
        if (v->list_value)
            for (size_t i = 0; i < v->list_value->n_values; i++) {
                if (i)
                    put_c(w, ',');
                put_value(w, v->list_value->values[i]);
            }
        put_c(w, ']');
        break;
    default: /* null_value, or no kind at all */
        put(w, "null", 4);
        break;
    }
}

/* Struct nesting is bounded by codec_wire_check's depth limit. */
static void put_struct(jw *w, const Google__Protobuf__Struct *s)
{
    put_c(w, '{');
    if (s)
        for (size_t i = 0; i < s->n_fields; i++) {
            if (i)
                put_c(w, ',');
            put_string(w, s->fields[i]->key);
            put_c(w, ':');
            put_value(w, s->fields[i]->value);
        }
    put_c(w, '}');
}

/* ---- the check made before anything is built ---- */

static int check_struct(const Google__Protobuf__Struct *s, int level, int max);

/* 0, or -1 when v (at nesting level `level`) nests deeper than max or holds
 * a number JSON cannot carry. */
static int check_value(const Google__Protobuf__Value *v, int level, int max)
{
    if (!v)
        return 0;
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        return isfinite(v->number_value) ? 0 : -1;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return check_struct(v->struct_value, level + 1, max);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        if (level + 1 > max)
            return -1;
        if (v->list_value)
            for (size_t i = 0; i < v->list_value->n_values; i++)
                if (check_value(v->list_value->values[i], level + 1, max) != 0)
                    return -1;
        return 0;
    default:
        return 0;
    }
}

static int check_struct(const Google__Protobuf__Struct *s, int level, int max)
{
    if (level > max)
        return -1;
    if (s)
        for (size_t i = 0; i < s->n_fields; i++)
            if (check_value(s->fields[i]->value, level, max) != 0)
                return -1;
    return 0;
}

int codec_metadata_check(const Envoy__Config__Core__V3__Metadata *md,
                         int max_depth)
{
    if (!md)
        return 0;
    for (size_t i = 0; i < md->n_filter_metadata; i++)
        if (check_struct(md->filter_metadata[i]->value, 1, max_depth) != 0)
            return CODEC_EINVALREQ;
    return 0;
}

static void put_metadata(jw *w, const Envoy__Config__Core__V3__Metadata *md)
{
    put(w, "{\"filter_metadata\":{", 20);
    for (size_t i = 0; i < md->n_filter_metadata; i++) {
        if (i)
            put_c(w, ',');
        put_string(w, md->filter_metadata[i]->key);
        put_c(w, ':');
        put_struct(w, md->filter_metadata[i]->value);
    }
    put(w, "}}", 2);
}

int codec_metadata_json(codec_arena *a,
                        const Envoy__Config__Core__V3__Metadata *md,
                        pc_str *out)
{
    out->ptr = "";
    out->len = 0;
    if (!md || md->n_filter_metadata == 0)
        return 0;
    jw w = {NULL, 0};
    put_metadata(&w, md);
    char *p = codec_arena_alloc(a, w.len + 1);
    if (!p)
        return CODEC_ENOMEM;
    size_t counted = w.len;
    w.out = p;
    w.len = 0;
    put_metadata(&w, md);
    if (w.len != counted)
        return CODEC_EINVAL;
    p[w.len] = '\0';
    out->ptr = p;
    out->len = w.len;
    return 0;
}
