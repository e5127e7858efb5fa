/* log.c - one line per call on stderr. JSON lines are what log collectors
 * expect from a container; text is for people at a terminal. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "log.h"

static pc_log_level g_level = PC_LOG_INFO;
static plog_format g_format = PLOG_JSON;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void plog_setup(pc_log_level level, plog_format fmt)
{
    g_level = level;
    g_format = fmt;
}

int plog_parse_level(const char *s, pc_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (pc_log_level)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
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

int plog_enabled(pc_log_level level)
{
    return level >= g_level;
}

/* Escapes a message for a JSON string; messages are short, so a fixed
 * buffer keeps logging allocation-free. */
static void json_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (; *src && o + 7 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
}

void plog_v(pc_log_level level, const char *who, const char *fmt, va_list ap)
{
    if (!plog_enabled(level))
        return;
    if ((unsigned)level > PC_LOG_ERROR)
        level = PC_LOG_ERROR;
    char msg[2048], esc[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    if (g_format == PLOG_TEXT) {
        fprintf(stderr, "%s %-5s %s: %s\n", when, level_names[level],
                who ? who : "portcullis", msg);
        return;
    }
    json_escape(esc, sizeof esc, msg);
    char wesc[256];
    json_escape(wesc, sizeof wesc, who ? who : "portcullis");
    fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"logger\":\"%s\",\"msg\":\"%s\"}\n",
            when, level_names[level], wesc, esc);
}

void plog(pc_log_level level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plog_v(level, who, fmt, ap);
    va_end(ap);
}
