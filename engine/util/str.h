/* str.h - the string toolbox: equality of length-delimited text, ASCII
 * case-insensitive comparison and lowercasing. ASCII only and independent
 * of the locale, as HTTP header names, hosts and methods need: toupper()
 * and strcasecmp() follow LC_CTYPE. Header-only, for the engine and the
 * plugins alike. */
#ifndef PC_UTIL_STR_H
#define PC_UTIL_STR_H
#include <stddef.h>
#include <string.h>

static inline char str_lower_c(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline char str_upper_c(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The n bytes of s lowercased into dst (dst may be s). */
static inline void str_lower(char *dst, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = str_lower_c(s[i]);
}

/* The n bytes of s uppercased into dst (dst may be s). */
static inline void str_upper(char *dst, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = str_upper_c(s[i]);
}

/* The value of hex digit c (either case), or -1. */
static inline int str_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 1 when the n bytes at s are exactly the C string lit. */
static inline int str_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && (n == 0 || memcmp(s, lit, n) == 0);
}

/* 1 when a and b hold the same bytes, ignoring ASCII case. */
static inline int str_ieq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (str_lower_c(a[i]) != str_lower_c(b[i]))
            return 0;
    return 1;
}

/* strcmp ignoring ASCII case: <0, 0 or >0. */
static inline int str_icmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)str_lower_c(*a);
        unsigned char y = (unsigned char)str_lower_c(*b);
        if (x != y || !x)
            return x - y;
    }
}

/* The first n bytes of a and b compared ignoring ASCII case (strncasecmp). */
static inline int str_nicmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)str_lower_c(a[i]);
        unsigned char y = (unsigned char)str_lower_c(b[i]);
        if (x != y || !x)
            return x - y;
    }
    return 0;
}
#endif
