/* ydoc_scalar.c - typing of YAML scalars by the YAML 1.2 core schema. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ydoc/ydoc_int.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef enum { K_STR, K_NULL, K_BOOL, K_INT, K_FLOAT } kind;

/* Numbers are read in the C locale whatever the process locale says. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static double to_double(const char *s)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale)
        return strtod_l(s, NULL, c_locale);
    return strtod(s, NULL);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hexval(char c)
{
    return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;
}

static int eq3(const char *s, size_t n, const char *a, const char *b, const char *c)
{
    size_t l = strlen(a);
    return n == l && (!memcmp(s, a, l) || !memcmp(s, b, l) || !memcmp(s, c, l));
}

static int is_null(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') || eq3(s, n, "null", "Null", "NULL");
}

/* 1 true, 0 false, -1 not a bool. */
static int bool_of(const char *s, size_t n)
{
    if (eq3(s, n, "true", "True", "TRUE"))
        return 1;
    if (eq3(s, n, "false", "False", "FALSE"))
        return 0;
    return -1;
}

/* 0o777 and 0xFF: base 8 or 16, else 0. */
static int radix_of(const char *s, size_t n)
{
    if (n < 3 || s[0] != '0')
        return 0;
    if (s[1] == 'o') {
        for (size_t i = 2; i < n; i++)
            if (s[i] < '0' || s[i] > '7')
                return 0;
        return 8;
    }
    if (s[1] == 'x') {
        for (size_t i = 2; i < n; i++)
            if (!is_hex(s[i]))
                return 0;
        return 16;
    }
    return 0;
}

/* [-+]?[0-9]+ */
static int is_decimal(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float_text(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0, d = 0;
    while (i < n && is_digit(s[i]))
        i++, d++;
    if (i < n && s[i] == '.') {
        size_t f = 0;
        i++;
        while (i < n && is_digit(s[i]))
            i++, f++;
        if (d == 0 && f == 0)
            return 0;
    } else if (d == 0) {
        return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < n && is_digit(s[i]))
            i++, e++;
        if (e == 0)
            return 0;
    }
    return i == n;
}

/* .inf, -.Inf, +.INF, .nan ... : 1 and *v set, else 0. */
static int special_float(const char *s, size_t n, double *v)
{
    double sign = 1;
    const char *p = s;
    size_t m = n;
    if (m && (p[0] == '-' || p[0] == '+')) {
        sign = p[0] == '-' ? -1 : 1;
        p++, m--;
    }
    if (eq3(p, m, ".inf", ".Inf", ".INF")) {
        *v = sign * INFINITY;
        return 1;
    }
    if (m == n && eq3(p, m, ".nan", ".NaN", ".NAN")) {
        *v = NAN;
        return 1;
    }
    return 0;
}

/* Integer text (already checked) to an int64 node, or a double one when
 * it does not fit, as YAML consumers do. */
static struct json_object *int_node(const char *s, size_t n, int radix)
{
    if (radix) {
        uint64_t u = 0;
        double d = 0;
        int over = 0;
        for (size_t i = 2; i < n; i++) {
            int v = hexval(s[i]);
            if (u > (UINT64_MAX - (uint64_t)v) / (uint64_t)radix)
                over = 1;
            else
                u = u * (uint64_t)radix + (uint64_t)v;
            d = d * radix + v;
        }
        if (over || u > INT64_MAX)
            return json_object_new_double(d);
        return json_object_new_int64((int64_t)u);
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return json_object_new_double(to_double(s));
    return json_object_new_int64(v);
}

static kind classify(const char *s, size_t n, int *radix)
{
    *radix = 0;
    if (n == 0)
        return K_NULL;
    /* Most scalars in configs are words: settle them on the first byte. */
    char c = s[0];
    if (!(is_digit(c) || c == '-' || c == '+' || c == '.' || c == '~' || c == 'n' ||
          c == 'N' || c == 't' || c == 'T' || c == 'f' || c == 'F'))
        return K_STR;
    if (is_null(s, n))
        return K_NULL;
    if (bool_of(s, n) >= 0)
        return K_BOOL;
    if (is_decimal(s, n))
        return K_INT;
    if ((*radix = radix_of(s, n)) != 0)
        return K_INT;
    double v;
    if (is_float_text(s, n) || special_float(s, n, &v))
        return K_FLOAT;
    return K_STR;
}

static struct json_object *float_node(const char *s, size_t n)
{
    double v;
    if (special_float(s, n, &v))
        return json_object_new_double(v);
    return json_object_new_double(to_double(s));
}

static struct json_object *make(kind k, const char *s, size_t n, int radix)
{
    switch (k) {
    case K_BOOL:
        return json_object_new_boolean(bool_of(s, n) == 1);
    case K_INT:
        return int_node(s, n, radix);
    case K_FLOAT:
        return float_node(s, n);
    default:
        return json_object_new_string_len(s, (int)n);
    }
}

int ydoc_scalar(const yaml_event_t *ev, struct json_object **out, const char **why)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    int radix = 0;
    kind k;

    *out = NULL;
    if (n > INT32_MAX) {
        *why = "scalar longer than 2 GiB";
        return -1;
    }
    if (tag && !strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1)) {
        const char *t = tag + sizeof TAG_PREFIX - 1;
        k = classify(s, n, &radix);
        if (!strcmp(t, "int")) {
            if (k != K_INT) {
                *why = "invalid !!int value";
                return -1;
            }
        } else if (!strcmp(t, "float")) {
            if (k != K_INT && k != K_FLOAT) {
                *why = "invalid !!float value";
                return -1;
            }
            if (k == K_INT) {
                struct json_object *i = int_node(s, n, radix);
                if (!i)
                    return -2;
                double d = json_object_get_double(i);
                json_object_put(i);
                return (*out = json_object_new_double(d)) ? 0 : -2;
            }
        } else if (!strcmp(t, "bool")) {
            if (k != K_BOOL) {
                *why = "invalid !!bool value";
                return -1;
            }
        } else if (!strcmp(t, "null")) {
            if (k != K_NULL) {
                *why = "invalid !!null value";
                return -1;
            }
            return 0;
        } else {
            /* !!str, !!binary, !!timestamp and the rest keep their text. */
            k = K_STR;
        }
    } else if (tag && !strcmp(tag, "!")) {
        k = K_STR; /* the non-specific tag: a string, by the spec */
    } else if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        k = K_STR;
    } else {
        k = classify(s, n, &radix);
    }
    if (k == K_NULL)
        return 0;
    *out = make(k, s, n, radix);
    return *out ? 0 : -2;
}
