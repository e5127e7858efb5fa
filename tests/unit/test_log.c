/* Tests for engine/util/log: structured lines are valid JSON whatever they
 * hold (quotes, control bytes, values past the 8 KiB line), nested objects
 * close, text mode names fields, and the redaction lists match names
 * without regard to case. stderr goes to a temporary file meanwhile. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu_main.h"
#include "util/log.h"

static char captured[65536];

/* Runs fn with fd 2 on a temporary file; captured holds what it wrote. */
static void capture(void (*fn)(void))
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int saved = dup(2);
    dup2(fileno(f), 2);
    fn();
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    captured[n] = '\0';
    fclose(f);
}

static void write_fields(void)
{
    plog_setup(PC_LOG_INFO, PLOG_JSON);
    plog_line *l = plog_begin(PC_LOG_INFO, "t.logger", "a \"msg\"");
    plog_kv_str(l, "request id", "r\"1\n\x01", 6);
    plog_kv_bool(l, "authorized", 0);
    plog_kv_int(l, "n", -42);
    plog_obj_open(l, "object");
    plog_kv_str(l, "message", "why", 3);
    plog_obj_open(l, "inner");
    plog_kv_int(l, "code", 7);
    plog_end(l); /* closes both objects */
}

static void test_json_fields(void)
{
    capture(write_fields);
    CU_ASSERT_EQUAL(strchr(captured, '\n') - captured + 1, (long)strlen(captured));
    struct json_object *o = json_tokener_parse(captured);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    struct json_object *v, *obj, *in;
    CU_ASSERT(json_object_object_get_ex(o, "level", &v) &&
              strcmp(json_object_get_string(v), "info") == 0);
    CU_ASSERT(json_object_object_get_ex(o, "ts", &v) && json_object_is_type(v, json_type_double));
    CU_ASSERT(json_object_object_get_ex(o, "logger", &v) &&
              strcmp(json_object_get_string(v), "t.logger") == 0);
    CU_ASSERT(json_object_object_get_ex(o, "msg", &v) &&
              strcmp(json_object_get_string(v), "a \"msg\"") == 0);
    CU_ASSERT(json_object_object_get_ex(o, "request id", &v) &&
              strcmp(json_object_get_string(v), "r\"1\n\x01") == 0);
    CU_ASSERT(json_object_object_get_ex(o, "authorized", &v) &&
              json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
    CU_ASSERT(json_object_object_get_ex(o, "n", &v) && json_object_get_int(v) == -42);
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "object", &obj));
    CU_ASSERT(json_object_object_get_ex(obj, "message", &v));
    CU_ASSERT(json_object_object_get_ex(obj, "inner", &in) &&
              json_object_object_get_ex(in, "code", &v) && json_object_get_int(v) == 7);
    json_object_put(o);
}

static void write_long(void)
{
    static char big[20000];
    memset(big, '"', sizeof big); /* every byte escapes to two */
    plog_setup(PC_LOG_INFO, PLOG_JSON);
    plog_line *l = plog_begin(PC_LOG_INFO, "t", "long");
    plog_obj_open(l, "o");
    plog_kv_str(l, "big", big, sizeof big);
    plog_kv_str(l, "after", "x", 1);
    plog_end(l);
}

static void test_long_value_stays_json(void)
{
    capture(write_long);
    size_t n = strlen(captured);
    CU_ASSERT(n <= 8192);
    CU_ASSERT(n > 4096);
    CU_ASSERT_EQUAL(captured[n - 1], '\n');
    struct json_object *o = json_tokener_parse(captured);
    CU_ASSERT_PTR_NOT_NULL(o);
    struct json_object *obj, *v;
    CU_ASSERT(o && json_object_object_get_ex(o, "o", &obj) &&
              json_object_object_get_ex(obj, "big", &v));
    json_object_put(o);
}

static void write_text(void)
{
    plog_setup(PC_LOG_INFO, PLOG_TEXT);
    plog_line *l = plog_begin(PC_LOG_INFO, "t", "decided");
    plog_kv_bool(l, "authorized", 1);
    plog_obj_open(l, "object");
    plog_kv_int(l, "code", 0);
    plog_obj_close(l);
    plog_end(l);
    plog(PC_LOG_DEBUG, "t", "not shown at info");
}

static void test_text_mode(void)
{
    capture(write_text);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured, " info  t: decided authorized=true object.code=0\n"));
    CU_ASSERT_PTR_NULL(strstr(captured, "not shown"));
    CU_ASSERT(captured[0] != '{');
}

static void test_modes_and_redaction(void)
{
    plog_format f;
    CU_ASSERT(plog_parse_mode("production", &f) == 0 && f == PLOG_JSON);
    CU_ASSERT(plog_parse_mode("development", &f) == 0 && f == PLOG_TEXT);
    CU_ASSERT(plog_parse_mode("json", &f) < 0);
    CU_ASSERT(plog_header_sensitive("Authorization", 13));
    CU_ASSERT(plog_header_sensitive("COOKIE", 6));
    CU_ASSERT(plog_header_sensitive("x-api-key", 9));
    CU_ASSERT(!plog_header_sensitive("x-request-id", 12));
    CU_ASSERT(plog_field_sensitive("access_token", 12));
    CU_ASSERT(!plog_field_sensitive("access", 6));
    CU_ASSERT(plog_redact_header("X-Tenant", 1) == 0);
    CU_ASSERT(plog_header_sensitive("x-tenant", 8));
    CU_ASSERT(plog_redact_header("cookie", 0) == 0);
    CU_ASSERT(!plog_header_sensitive("cookie", 6));
    CU_ASSERT(plog_redact_header("cookie", 1) == 0);
    CU_ASSERT(plog_redact_field("Session_Key", 1) == 0);
    CU_ASSERT(plog_field_sensitive("session_key", 11));
}

int cu_register(void)
{
    static const cu_case cases[] = {
        { "json fields", test_json_fields },
        { "a long value stays valid JSON", test_long_value_stays_json },
        { "text mode", test_text_mode },
        { "modes and redaction lists", test_modes_and_redaction },
        { NULL, NULL },
    };
    return cu_add_suite("log", cases);
}
