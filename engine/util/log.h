/* log.h - leveled logging as JSON lines (default) or text.
 *
 * plog() writes one message. Structured lines (the decision log) are built
 * once into a thread-local buffer with plog_begin / plog_kv_* / plog_end,
 * so a line costs one write(2) and no allocation. */
#ifndef PC_UTIL_LOG_H
#define PC_UTIL_LOG_H
#include <stdarg.h>
#include <stddef.h>
#include <portcullis/host.h>

typedef enum { PLOG_JSON = 0, PLOG_TEXT = 1 } plog_format;

void plog_setup(pc_log_level level, plog_format fmt);
int plog_parse_level(const char *s, pc_log_level *out);
int plog_parse_format(const char *s, plog_format *out);
/* Authorino's --log-mode: production (JSON) or development (text). */
int plog_parse_mode(const char *s, plog_format *out);
plog_format plog_current_format(void);
int plog_enabled(pc_log_level level);
void plog(pc_log_level level, const char *who, const char *fmt, ...)
    PC_PRINTF(3, 4);
void plog_v(pc_log_level level, const char *who, const char *fmt, va_list ap);

/* ---- structured lines ---- */

typedef struct plog_line plog_line;
/* NULL when the level is off; otherwise the calling thread's line, begun
 * with ts, level, logger and msg. Every plog_kv_* takes a NULL line. */
plog_line *plog_begin(pc_log_level level, const char *logger, const char *msg);
void plog_kv_str(plog_line *l, const char *key, const char *val, size_t len);
void plog_kv_int(plog_line *l, const char *key, long long v);
void plog_kv_bool(plog_line *l, const char *key, int v);
/* Opens a nested object (JSON) or a "key.sub" prefix (text); close it. */
void plog_obj_open(plog_line *l, const char *key);
void plog_obj_close(plog_line *l);
/* Writes the line (truncated at 8 KiB, still valid JSON). */
void plog_end(plog_line *l);

/* ---- redaction (Authorino's lists; case-insensitive) ---- */

#define PLOG_REDACTED "***REDACTED***"
/* Set at start-up, before any thread logs. -1 when the list is full. */
int plog_redact_header(const char *name, int add);
int plog_redact_field(const char *name, int add);
int plog_header_sensitive(const char *name, size_t len);
int plog_field_sensitive(const char *name, size_t len);

#define PLOG_DEBUG(...) plog(PC_LOG_DEBUG, "portcullis", __VA_ARGS__)
#define PLOG_INFO(...) plog(PC_LOG_INFO, "portcullis", __VA_ARGS__)
#define PLOG_WARN(...) plog(PC_LOG_WARN, "portcullis", __VA_ARGS__)
#define PLOG_ERROR(...) plog(PC_LOG_ERROR, "portcullis", __VA_ARGS__)
#endif
