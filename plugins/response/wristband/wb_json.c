/* wb_json.c - JSON text for the token: Go's encoding/json conventions
 * (sorted object keys, HTML-safe escapes), so `sub` - the SHA-256 of the
 * identity's JSON - is the value Authorino computes for the same identity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb.h"

void wb_json_str(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(b, e, 2);
        } else if (c == '\n') {
            buf_append(b, "\\n", 2);
        } else if (c == '\r') {
            buf_append(b, "\\r", 2);
        } else if (c == '\t') {
            buf_append(b, "\\t", 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 6);
        } else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
            buf_puts(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
            i += 2;
        } else {
            buf_append(b, &s[i], 1);
        }
    }
    buf_append(b, "\"", 1);
}

/* Go's float64 format: the shortest digits that read back the same, in
 * plain notation for 1e-6 <= |d| < 1e21 and exponent notation beyond. */
static void put_double(buf *b, double d)
{
    char t[400];
    if (!isfinite(d)) {
        buf_puts(b, "null");
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(t, sizeof t, "%.*g", p, d);
        if (strtod(t, NULL) == d)
            break;
    }
    snprintf(t, sizeof t, "%.*g", p, d);
    double a = fabs(d);
    if (strchr(t, 'e') && a >= 1e-6 && a < 1e21) {
        int exp10 = (int)floor(log10(a));
        int decimals = p - 1 - exp10;
        snprintf(t, sizeof t, "%.*f", decimals > 0 ? decimals : 0, d);
    }
    buf_puts(b, t);
}

typedef struct kv {
    const char *k;
    const pc_value *v;
} kv;

typedef struct kv_list {
    kv *items;
    size_t n, cap;
} kv_list;

static int take_key(void *arg, const char *key, const pc_value *val)
{
    kv_list *l = arg;
    if (l->n == l->cap)
        return 1;
    l->items[l->n].k = key;
    l->items[l->n++].v = val;
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->k, ((const kv *)b)->k);
}

/* Nesting deeper than this fails the token rather than the stack. */
#define WB_MAX_DEPTH 64

static void put_value(const pc_host *h, const pc_value *v, buf *b, int depth)
{
    size_t n;
    if (depth > WB_MAX_DEPTH) {
        b->failed = 1;
        return;
    }
    switch (v ? h->value_type(v) : PC_TYPE_NULL) {
    case PC_TYPE_NULL:
        buf_puts(b, "null");
        return;
    case PC_TYPE_BOOL:
        buf_puts(b, h->value_bool(v) ? "true" : "false");
        return;
    case PC_TYPE_INT: {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)h->value_int(v));
        buf_puts(b, t);
        return;
    }
    case PC_TYPE_DOUBLE:
        put_double(b, h->value_double(v));
        return;
    case PC_TYPE_STRING: {
        const char *s = h->value_string(v, &n);
        wb_json_str(b, s ? s : "", s ? n : 0);
        return;
    }
    case PC_TYPE_ARRAY:
        buf_append(b, "[", 1);
        n = h->value_length(v);
        for (size_t i = 0; i < n && !b->failed; i++) {
            if (i)
                buf_append(b, ",", 1);
            put_value(h, h->value_at(v, i), b, depth + 1);
        }
        buf_append(b, "]", 1);
        return;
    case PC_TYPE_OBJECT: {
        n = h->value_length(v);
        kv_list l = {calloc(n ? n : 1, sizeof(kv)), 0, n};
        if (!l.items) {
            b->failed = 1;
            return;
        }
        h->value_foreach(v, take_key, &l);
        qsort(l.items, l.n, sizeof(kv), by_key);
        buf_append(b, "{", 1);
        for (size_t i = 0; i < l.n && !b->failed; i++) {
            if (i)
                buf_append(b, ",", 1);
            wb_json_str(b, l.items[i].k, strlen(l.items[i].k));
            buf_append(b, ":", 1);
            put_value(h, l.items[i].v, b, depth + 1);
        }
        buf_append(b, "}", 1);
        free(l.items);
        return;
    }
    }
}

void wb_json(const pc_host *h, const pc_value *v, buf *b)
{
    put_value(h, v, b, 0);
}
