/* cel_time.c - google.protobuf.Duration and Timestamp: parsing (Go duration
 * syntax, RFC 3339), formatting, the duration()/timestamp() conversions and the
 * get* accessors, in UTC or a fixed "+HH:MM" offset. */
#include <stdio.h>
#include <string.h>
#include "cel/cel_int.h"

/* days since 1970-01-01 <-> proleptic Gregorian date (H. Hinnant's algorithms) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, int k, int *out)
{
    if (at + (size_t)k > n) return -1;
    int v = 0;
    for (int i = 0; i < k; i++) {
        char ch = s[at + (size_t)i];
        if (ch < '0' || ch > '9') return -1;
        v = v * 10 + (ch - '0');
    }
    *out = v;
    return 0;
}

int cel_parse_timestamp(const char *s, size_t n, int64_t *sec, int32_t *nsec)
{
    int Y, M, D, h, mi, se;
    if (digits(s, n, 0, 4, &Y) || n < 20 || s[4] != '-' || digits(s, n, 5, 2, &M) || s[7] != '-' ||
        digits(s, n, 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s, n, 11, 2, &h) ||
        s[13] != ':' || digits(s, n, 14, 2, &mi) || s[16] != ':' || digits(s, n, 17, 2, &se))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60) return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap)) return -1;
    size_t p = 19;
    int64_t frac = 0;
    if (p < n && s[p] == '.') {
        p++;
        int nd = 0;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
            if (nd < 9) frac = frac * 10 + (s[p] - '0'), nd++;
            p++;
        }
        if (!nd) return -1;
        while (nd++ < 9) frac *= 10;
    }
    int64_t off = 0;
    if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < n && (s[p] == '+' || s[p] == '-')) {
        int oh, om;
        if (digits(s, n, p + 1, 2, &oh) || p + 3 >= n || s[p + 3] != ':' || digits(s, n, p + 4, 2, &om))
            return -1;
        off = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (p != n) return -1;
    *sec = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + se - off;
    *nsec = (int32_t)frac;
    return *sec < CEL_TS_MIN || *sec > CEL_TS_MAX ? -1 : 0;
}

size_t cel_fmt_timestamp(char *out, size_t cap, int64_t sec, int32_t nsec)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (nsec) {
        char f[16];
        snprintf(f, sizeof f, "%09d", nsec);
        int k = 9;
        while (k > 0 && f[k - 1] == '0') k--;
        n += snprintf(out + n, cap - (size_t)n, ".%.*s", k, f);
    }
    n += snprintf(out + n, cap - (size_t)n, "Z");
    return (size_t)n;
}

/* Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+ */
int cel_parse_duration(const char *s, size_t n, int64_t *sec, int32_t *nsec)
{
    size_t p = 0;
    int neg = 0;
    if (p < n && (s[p] == '-' || s[p] == '+')) neg = s[p++] == '-';
    if (p == n) return -1;
    if (n - p == 1 && s[p] == '0') {
        *sec = 0;
        *nsec = 0;
        return 0;
    }
    /* total in nanoseconds, held as a long double-free pair to avoid overflow */
    __int128 total = 0;
    while (p < n) {
        __int128 whole = 0;
        int64_t fnum = 0, fden = 1;
        size_t d0 = p;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
            whole = whole * 10 + (s[p++] - '0');
            if (whole > (__int128)1 << 100) return -1;
        }
        int any = p > d0;
        if (p < n && s[p] == '.') {
            p++;
            size_t f0 = p;
            while (p < n && s[p] >= '0' && s[p] <= '9') {
                if (fden < 1000000000000000000LL / 10) fnum = fnum * 10 + (s[p] - '0'), fden *= 10;
                p++;
            }
            any |= p > f0;
        }
        if (!any) return -1;
        int64_t unit;
        if (p + 1 < n && s[p] == 'n' && s[p + 1] == 's') unit = 1, p += 2;
        else if (p + 1 < n && s[p] == 'u' && s[p + 1] == 's') unit = 1000, p += 2;
        else if (p + 2 < n && (unsigned char)s[p] == 0xC2 && (unsigned char)s[p + 1] == 0xB5 && s[p + 2] == 's')
            unit = 1000, p += 3;
        else if (p + 1 < n && s[p] == 'm' && s[p + 1] == 's') unit = 1000000, p += 2;
        else if (p < n && s[p] == 's') unit = 1000000000, p += 1;
        else if (p < n && s[p] == 'm') unit = 60000000000LL, p += 1;
        else if (p < n && s[p] == 'h') unit = 3600000000000LL, p += 1;
        else return -1;
        total += whole * unit + (__int128)fnum * unit / fden;
        if (total > (__int128)CEL_DUR_MAX_SEC * 1000000000) return -1;
    }
    if (neg) total = -total;
    *sec = (int64_t)(total / 1000000000);
    *nsec = (int32_t)(total % 1000000000);
    if (*nsec < 0) {
        *nsec += 1000000000;
        (*sec)--;
    }
    return 0;
}

size_t cel_fmt_duration(char *out, size_t cap, int64_t sec, int32_t nsec)
{
    /* protobuf's JSON form: seconds with up to nine fractional digits, "s" */
    int neg = sec < 0;
    if (neg && nsec) {
        sec += 1;
        nsec = 1000000000 - nsec;
    }
    int n = snprintf(out, cap, "%s%lld", neg && sec == 0 ? "-" : "", (long long)sec);
    if (nsec) {
        char f[16];
        snprintf(f, sizeof f, "%09d", nsec);
        int k = 9;
        while (k > 0 && f[k - 1] == '0') k--;
        n += snprintf(out + n, cap - (size_t)n, ".%.*s", k, f);
    }
    n += snprintf(out + n, cap - (size_t)n, "s");
    return (size_t)n;
}

static cel_value f_duration(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    if (a[0].kind == CEL_DURATION) return a[0];
    if (a[0].kind != CEL_STRING) return cel_errv(c, "no such overload: duration(%s)", cel_type_name(a[0]));
    int64_t s;
    int32_t ns;
    if (cel_parse_duration(a[0].u.s, a[0].n, &s, &ns)) return cel_errv(c, "invalid duration");
    cel_value v = {CEL_DURATION, 0, (uint32_t)ns, {.sec = s}};
    return v;
}

static cel_value f_timestamp(cel_ctx *c, const cel_node *n, cel_value *a, int na)
{
    (void)n; (void)na;
    int64_t s;
    int32_t ns = 0;
    if (a[0].kind == CEL_TIMESTAMP) return a[0];
    if (a[0].kind == CEL_INT) {
        s = a[0].u.i;
        if (s < CEL_TS_MIN || s > CEL_TS_MAX) return cel_errv(c, "timestamp out of range");
    } else if (a[0].kind == CEL_STRING) {
        if (cel_parse_timestamp(a[0].u.s, a[0].n, &s, &ns)) return cel_errv(c, "invalid timestamp");
    } else {
        return cel_errv(c, "no such overload: timestamp(%s)", cel_type_name(a[0]));
    }
    cel_value v = {CEL_TIMESTAMP, 0, (uint32_t)ns, {.sec = s}};
    return v;
}

enum { G_YEAR, G_MONTH, G_DOY, G_DOM, G_DATE, G_DOW, G_HOURS, G_MINUTES, G_SECONDS, G_MILLIS };

/* "UTC", "Z", "+05:30", "-08:00" (IANA zone names would need the zone database) */
static int tz_offset(cel_value tz, int64_t *off)
{
    const char *s = tz.u.s;
    size_t n = tz.n;
    int h, m;
    if ((n == 3 && !memcmp(s, "UTC", 3)) || (n == 1 && s[0] == 'Z')) {
        *off = 0;
        return 0;
    }
    if (n == 5 && !digits(s, n, 0, 2, &h) && s[2] == ':' && !digits(s, n, 3, 2, &m) && h < 24 && m < 60) {
        *off = h * 3600 + m * 60; /* "02:00" is east of UTC */
        return 0;
    }
    if (n == 6 && (s[0] == '+' || s[0] == '-') && !digits(s, n, 1, 2, &h) && s[3] == ':' &&
        !digits(s, n, 4, 2, &m) && h < 24 && m < 60) {
        *off = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
        return 0;
    }
    return -1;
}

static cel_value getter(cel_ctx *c, cel_value *a, int na, int what, const char *name)
{
    cel_value v = a[0];
    if (v.kind == CEL_DURATION && na == 1) {
        int64_t s = v.u.sec, ns = v.n;
        if (s < 0 && ns) s++, ns -= 1000000000; /* truncate towards zero */
        switch (what) {
        case G_HOURS: return cel_int(s / 3600);
        case G_MINUTES: return cel_int(s / 60);
        case G_SECONDS: return cel_int(s);
        case G_MILLIS: return cel_int(s * 1000 + ns / 1000000); /* all in milliseconds, as cel-go */
        default: break;
        }
    }
    if (v.kind != CEL_TIMESTAMP || (na == 2 && a[1].kind != CEL_STRING))
        return cel_errv(c, "no such overload: %s.%s", cel_type_name(v), name);
    int64_t off = 0;
    if (na == 2 && tz_offset(a[1], &off)) return cel_errv(c, "unsupported time zone '%.*s'", (int)a[1].n, a[1].u.s);
    int64_t t = v.u.sec + off;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t rem = t - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    switch (what) {
    case G_YEAR: return cel_int(y);
    case G_MONTH: return cel_int(m - 1);
    case G_DOY: return cel_int(days - days_from_civil(y, 1, 1));
    case G_DOM: return cel_int(d - 1);
    case G_DATE: return cel_int(d);
    case G_DOW: return cel_int(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    case G_HOURS: return cel_int(rem / 3600);
    case G_MINUTES: return cel_int(rem / 60 % 60);
    case G_SECONDS: return cel_int(rem % 60);
    default: return cel_int(v.n / 1000000);
    }
}

#define GETTER(fname, what, text)                                                   \
    static cel_value fname(cel_ctx *c, const cel_node *n, cel_value *a, int na) \
    {                                                                             \
        (void)n;                                                                  \
        return getter(c, a, na, what, text);                                      \
    }
GETTER(g_year, G_YEAR, "getFullYear")
GETTER(g_month, G_MONTH, "getMonth")
GETTER(g_doy, G_DOY, "getDayOfYear")
GETTER(g_dom, G_DOM, "getDayOfMonth")
GETTER(g_date, G_DATE, "getDate")
GETTER(g_dow, G_DOW, "getDayOfWeek")
GETTER(g_hours, G_HOURS, "getHours")
GETTER(g_minutes, G_MINUTES, "getMinutes")
GETTER(g_seconds, G_SECONDS, "getSeconds")
GETTER(g_millis, G_MILLIS, "getMilliseconds")

const cel_fdef cel_time_fns[] = {
    {"duration", 1, 1, -1, -1, f_duration},
    {"timestamp", 1, 1, -1, -1, f_timestamp},
    {"getFullYear", -1, -1, 1, 2, g_year},
    {"getMonth", -1, -1, 1, 2, g_month},
    {"getDayOfYear", -1, -1, 1, 2, g_doy},
    {"getDayOfMonth", -1, -1, 1, 2, g_dom},
    {"getDate", -1, -1, 1, 2, g_date},
    {"getDayOfWeek", -1, -1, 1, 2, g_dow},
    {"getHours", -1, -1, 1, 2, g_hours},
    {"getMinutes", -1, -1, 1, 2, g_minutes},
    {"getSeconds", -1, -1, 1, 2, g_seconds},
    {"getMilliseconds", -1, -1, 1, 2, g_millis},
    {NULL, 0, 0, 0, 0, NULL}};
