/* log.h - leveled logging as JSON lines (default) or text. */
#ifndef PC_UTIL_LOG_H
#define PC_UTIL_LOG_H
#include <stdarg.h>
#include <portcullis/host.h>

typedef enum { PLOG_JSON = 0, PLOG_TEXT = 1 } plog_format;

void plog_setup(pc_log_level level, plog_format fmt);
int plog_parse_level(const char *s, pc_log_level *out);
int plog_parse_format(const char *s, plog_format *out);
int plog_enabled(pc_log_level level);
void plog(pc_log_level level, const char *who, const char *fmt, ...)
    PC_PRINTF(3, 4);
void plog_v(pc_log_level level, const char *who, const char *fmt, va_list ap);

#define PLOG_DEBUG(...) plog(PC_LOG_DEBUG, "portcullis", __VA_ARGS__)
#define PLOG_INFO(...) plog(PC_LOG_INFO, "portcullis", __VA_ARGS__)
#define PLOG_WARN(...) plog(PC_LOG_WARN, "portcullis", __VA_ARGS__)
#define PLOG_ERROR(...) plog(PC_LOG_ERROR, "portcullis", __VA_ARGS__)
#endif
