/* log.c - one line per call on stderr, written with one write(2) so lines
 * from many threads never interleave. JSON lines are what log collectors
 * expect from a container (the shape of Authorino's production logs: ts
 * in seconds since the epoch); text is for people at a terminal. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "str.h"

static pc_log_level g_level = PC_LOG_INFO;
static plog_format g_format = PLOG_JSON;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void plog_setup(pc_log_level level, plog_format fmt)
{
    g_level = level;
    g_format = fmt;
}

plog_format plog_current_format(void)
{
    return g_format;
}

int plog_parse_level(const char *s, pc_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (str_icmp(s, level_names[i]) == 0) {
            *out = (pc_log_level)i;
            return 0;
        }
    if (str_icmp(s, "warning") == 0) {
        *out = PC_LOG_WARN;
        return 0;
    }
    return -1;
}

int plog_parse_format(const char *s, plog_format *out)
{
    if (strcmp(s, "json") == 0)
        *out = PLOG_JSON;
    else if (strcmp(s, "text") == 0)
        *out = PLOG_TEXT;
    else
        return -1;
    return 0;
}

int plog_parse_mode(const char *s, plog_format *out)
{
    if (strcmp(s, "production") == 0)
        *out = PLOG_JSON;
    else if (strcmp(s, "development") == 0)
        *out = PLOG_TEXT;
    else
        return -1;
    return 0;
}

int plog_enabled(pc_log_level level)
{
    return level >= g_level;
}

/* ---- the line buffer ---- */

#define PLOG_LINE_MAX 8192
#define PLOG_DEPTH_MAX 4
/* Kept free for the closing braces and the newline. */
#define PLOG_TAIL (PLOG_DEPTH_MAX + 4)

struct plog_line {
    size_t len;
    int fmt;
    int depth;
    int first;        /* no field yet at this depth (JSON) */
    int full;         /* something was cut: drop the rest */
    size_t prefix[PLOG_DEPTH_MAX + 1]; /* text: where "key." ends in pfx */
    char pfx[128];
    char buf[PLOG_LINE_MAX];
};

static _Thread_local plog_line tl_line;

static size_t room(const plog_line *l)
{
    return l->len + PLOG_TAIL < PLOG_LINE_MAX ? PLOG_LINE_MAX - PLOG_TAIL - l->len : 0;
}

static void put(plog_line *l, const char *s, size_t n)
{
    if (l->full || n > room(l)) {
        l->full = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(plog_line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* A JSON string body (or a text value): escapes quotes, backslashes and
 * control bytes; stops cleanly where the line is full. */
static void put_escaped(plog_line *l, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && !l->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if (room(l) < 6) {
            l->full = 1;
            break;
        }
        char *o = l->buf + l->len;
        if (c == '"' || c == '\\') {
            o[0] = '\\';
            o[1] = (char)c;
            l->len += 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            l->len += 6;
        } else {
            o[0] = (char)c;
            l->len++;
        }
    }
}

static void put_key(plog_line *l, const char *key)
{
    if (l->fmt == PLOG_JSON) {
        put(l, l->first ? "\"" : ",\"", l->first ? 1 : 2);
        put_escaped(l, key, strlen(key));
        put(l, "\":", 2);
        l->first = 0;
    } else {
        put(l, " ", 1);
        put(l, l->pfx, l->prefix[l->depth]);
        puts_(l, key);
        put(l, "=", 1);
    }
}

plog_line *plog_begin(pc_log_level level, const char *logger, const char *msg)
{
    if (!plog_enabled(level))
        return NULL;
    if ((unsigned)level > PC_LOG_ERROR)
        level = PC_LOG_ERROR;
    plog_line *l = &tl_line;
    l->len = 0;
    l->depth = 0;
    l->full = 0;
    l->fmt = g_format;
    l->prefix[0] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[48];
    if (l->fmt == PLOG_JSON) {
        int n = snprintf(when, sizeof when, "%lld.%06ld", (long long)ts.tv_sec,
                         ts.tv_nsec / 1000);
        puts_(l, "{\"level\":\"");
        puts_(l, level_names[level]);
        puts_(l, "\",\"ts\":");
        put(l, when, (size_t)n);
        puts_(l, ",\"logger\":\"");
        put_escaped(l, logger, strlen(logger));
        puts_(l, "\",\"msg\":\"");
        put_escaped(l, msg, strlen(msg));
        put(l, "\"", 1);
        l->first = 0;
    } else {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        int n = snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                         tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
        put(l, when, (size_t)n);
        puts_(l, logger);
        put(l, ": ", 2);
        puts_(l, msg);
    }
    return l;
}

/* A field that does not fit is dropped whole (the line ends there), so
 * what is written stays valid JSON. */
static int field_fits(plog_line *l, size_t start)
{
    if (!l->full)
        return 1;
    l->len = start;
    return 0;
}

void plog_kv_str(plog_line *l, const char *key, const char *val, size_t len)
{
    if (!l || l->full)
        return;
    size_t start = l->len;
    put_key(l, key);
    if (l->fmt == PLOG_JSON)
        put(l, "\"", 1);
    if (!field_fits(l, start))
        return;
    put_escaped(l, val ? val : "", val ? len : 0);
    /* A cut string is still closed (the tail reserve has room). */
    if (l->fmt == PLOG_JSON)
        l->buf[l->len++] = '"';
}

void plog_kv_int(plog_line *l, const char *key, long long v)
{
    if (!l)
        return;
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);
    size_t start = l->len;
    put_key(l, key);
    put(l, num, (size_t)n);
    field_fits(l, start);
}

void plog_kv_bool(plog_line *l, const char *key, int v)
{
    if (!l)
        return;
    size_t start = l->len;
    put_key(l, key);
    puts_(l, v ? "true" : "false");
    field_fits(l, start);
}

void plog_obj_open(plog_line *l, const char *key)
{
    if (!l || l->depth >= PLOG_DEPTH_MAX)
        return;
    if (l->fmt == PLOG_JSON) {
        size_t start = l->len;
        put_key(l, key);
        put(l, "{", 1);
        if (!field_fits(l, start))
            return; /* not opened: nothing to close */
        l->first = 1;
    } else {
        size_t at = l->prefix[l->depth];
        int n = snprintf(l->pfx + at, sizeof l->pfx - at, "%s.", key);
        l->prefix[l->depth + 1] =
            n > 0 && at + (size_t)n < sizeof l->pfx ? at + (size_t)n : at;
    }
    l->depth++;
}

void plog_obj_close(plog_line *l)
{
    if (!l || l->depth == 0)
        return;
    l->depth--;
    if (l->fmt == PLOG_JSON) {
        /* The tail reserve always has room for a brace. */
        l->buf[l->len++] = '}';
        l->first = 0;
    }
}

void plog_end(plog_line *l)
{
    if (!l)
        return;
    while (l->depth > 0)
        plog_obj_close(l);
    if (l->fmt == PLOG_JSON)
        l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    /* One write: stderr is unbuffered and shared by every thread. */
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(2, l->buf + off, l->len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

void plog_v(pc_log_level level, const char *who, const char *fmt, va_list ap)
{
    if (!plog_enabled(level))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    plog_end(plog_begin(level, who ? who : "portcullis", msg));
}

void plog(pc_log_level level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plog_v(level, who, fmt, ap);
    va_end(ap);
}

/* ---- redaction ---- */

#define PLOG_REDACT_MAX 64

typedef struct redact_list {
    const char *names[PLOG_REDACT_MAX];
    int n;
} redact_list;

/* Authorino's defaults (pkg/log/redact.go). */
static redact_list g_headers = {{"authorization", "cookie", "x-api-key", "apikey",
                                 "proxy-authorization", "set-cookie"}, 6};
static redact_list g_fields = {{"token", "access_token", "refresh_token", "id_token",
                                "client_secret", "password", "secret", "api_key",
                                "apikey"}, 9};

static int list_has(const redact_list *rl, const char *name, size_t len)
{
    for (int i = 0; i < rl->n; i++)
        if (str_ieq(rl->names[i], strlen(rl->names[i]), name, len))
            return 1;
    return 0;
}

static int list_edit(redact_list *rl, const char *name, int add)
{
    size_t len = strlen(name);
    for (int i = 0; i < rl->n; i++)
        if (str_ieq(rl->names[i], strlen(rl->names[i]), name, len)) {
            if (!add)
                rl->names[i] = rl->names[--rl->n];
            return 0;
        }
    if (!add)
        return 0;
    if (rl->n >= PLOG_REDACT_MAX)
        return -1;
    rl->names[rl->n++] = name; /* argv or environ: lives as long as the process */
    return 0;
}

int plog_redact_header(const char *name, int add) { return list_edit(&g_headers, name, add); }
int plog_redact_field(const char *name, int add) { return list_edit(&g_fields, name, add); }
int plog_header_sensitive(const char *n, size_t len) { return list_has(&g_headers, n, len); }
int plog_field_sensitive(const char *n, size_t len) { return list_has(&g_fields, n, len); }
