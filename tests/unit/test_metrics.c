/* Metrics: per-thread cells that add up exactly under concurrency and
 * across threads that come and go, Authorino's evaluator_type values, one
 * declaration per family, and plugin counter names. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cu_main.h"
#include "metrics/metrics.h"

static unsigned long long metric(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
        p += n;
    }
    return (unsigned long long)-1;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static pc_verdict verdict(const char *ac, int code)
{
    pc_verdict v = {.struct_size = sizeof v, .allowed = code == 0, .grpc_code = code};
    v.authconfig.ptr = ac;
    v.authconfig.len = strlen(ac);
    return v;
}

typedef struct rec_arg {
    int n;
    metrics_evseries *ev;
} rec_arg;

static void *recorder(void *p)
{
    rec_arg *a = p;
    pc_verdict ok = verdict("tenant-a/api", 0), denied = verdict("tenant-a/api", 7);
    pc_verdict other = verdict("tenant-b/web", 16);
    for (int i = 0; i < a->n; i++) {
        metrics_request(i % 4 == 0 ? &denied : &ok, 2000000);
        metrics_request(&other, 300000);
        metrics_evaluator(a->ev, i % 10 == 0 ? MEV_IGNORED : MEV_OK, 100000);
    }
    return NULL;
}

/* 8 threads at once, then 8 more after those ended (they take over the
 * cells the first ones left): every count is exact. */
static void test_threads_add_up(void)
{
    enum { T = 8, N = 20000 };
    metrics_evseries *ev = metrics_evaluator_series("tenant-a", "api", PC_PHASE_IDENTITY,
                                                    "apiKey", "friends");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_PTR_EQUAL(ev, metrics_evaluator_series("tenant-a", "api", PC_PHASE_IDENTITY,
                                                     "apiKey", "friends"));
    for (int round = 1; round <= 2; round++) {
        pthread_t th[T];
        rec_arg a = {N, ev};
        for (int i = 0; i < T; i++)
            CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, recorder, &a), 0);
        for (int i = 0; i < T; i++)
            pthread_join(th[i], NULL);
        unsigned long long all = (unsigned long long)round * T * N;
        char *text = metrics_render(NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_EQUAL(metric(text, "auth_server_response_status{status=\"OK\"}"), all * 3 / 4);
        CU_ASSERT_EQUAL(metric(text, "auth_server_response_status{status=\"PERMISSION_DENIED\"}"),
                        all / 4);
        CU_ASSERT_EQUAL(metric(text, "auth_server_response_status{status=\"UNAUTHENTICATED\"}"),
                        all);
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_total{namespace=\"tenant-a\","
                                     "authconfig=\"api\"}"), all);
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_response_status{namespace="
                                     "\"tenant-a\",authconfig=\"api\",status=\"PERMISSION_DENIED\"}"),
                        all / 4);
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_duration_seconds_count{namespace="
                                     "\"tenant-b\",authconfig=\"web\"}"), all);
        /* 2 ms falls in le=0.0025, not in le=0.001; 0.3 ms in le=0.0005. */
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_duration_seconds_bucket{namespace="
                                     "\"tenant-a\",authconfig=\"api\",le=\"0.001\"}"), 0);
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_duration_seconds_bucket{namespace="
                                     "\"tenant-a\",authconfig=\"api\",le=\"0.0025\"}"), all);
        CU_ASSERT_EQUAL(metric(text, "auth_server_authconfig_duration_seconds_bucket{namespace="
                                     "\"tenant-b\",authconfig=\"web\",le=\"0.0005\"}"), all);
        const char *evl = "{namespace=\"tenant-a\",authconfig=\"api\","
                          "evaluator_type=\"IDENTITY_APIKEY\",evaluator_name=\"friends\"}";
        char s[256];
        snprintf(s, sizeof s, "auth_server_evaluator_total%s", evl);
        CU_ASSERT_EQUAL(metric(text, s), all);
        snprintf(s, sizeof s, "auth_server_evaluator_ignored%s", evl);
        CU_ASSERT_EQUAL(metric(text, s), all / 10);
        snprintf(s, sizeof s, "auth_server_evaluator_duration_seconds_count%s", evl);
        CU_ASSERT_EQUAL(metric(text, s), all - all / 10);
        free(text);
    }
}

/* Every family once, with HELP and TYPE, however many series it has. */
static void test_families_once(void)
{
    metrics_evaluator_series("ns", "two", PC_PHASE_AUTHORIZATION, "patternMatching", "rule");
    metrics_evaluator_series("ns", "two", PC_PHASE_RESPONSE, "json", "out");
    pc_verdict v = verdict("ns/two", 0);
    metrics_request(&v, 1000);
    char *text = metrics_render(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    static const char *const fams[] = {
        "auth_server_response_status", "auth_server_authconfig_total",
        "auth_server_authconfig_response_status", "auth_server_authconfig_duration_seconds",
        "auth_server_evaluator_total", "auth_server_evaluator_denied",
        "auth_server_evaluator_ignored", "auth_server_evaluator_cancelled",
        "auth_server_evaluator_duration_seconds", "portcullis_authconfigs"};
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        char t[128], h[128];
        snprintf(t, sizeof t, "# TYPE %s ", fams[i]);
        snprintf(h, sizeof h, "# HELP %s ", fams[i]);
        CU_ASSERT_EQUAL(count_of(text, t), 1);
        CU_ASSERT_EQUAL(count_of(text, h), 1);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "evaluator_type=\"AUTHORIZATION_JSON\",evaluator_name=\"rule\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "evaluator_type=\"RESPONSE_JSON\",evaluator_name=\"out\""));
    free(text);
}

static void test_evaluator_types(void)
{
    char b[64];
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_IDENTITY, "apiKey", b, sizeof b),
                           "IDENTITY_APIKEY");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_IDENTITY, "kubernetesTokenReview",
                                                  b, sizeof b), "IDENTITY_KUBERNETES");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_IDENTITY, "anonymous", b, sizeof b),
                           "IDENTITY_NOOP");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_IDENTITY, "plain", b, sizeof b),
                           "IDENTITY_PLAIN");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_RESPONSE, "plain", b, sizeof b),
                           "RESPONSE_PLAIN");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_METADATA, "http", b, sizeof b),
                           "METADATA_GENERIC_HTTP");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_CALLBACK, "http", b, sizeof b),
                           "CALLBACK_HTTP");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_AUTHORIZATION, "lua", b, sizeof b),
                           "AUTHORIZATION_LUA");
    CU_ASSERT_STRING_EQUAL(metrics_evaluator_type(PC_PHASE_AUTHORIZATION, "my-check.v2", b,
                                                  sizeof b), "AUTHORIZATION_MY_CHECK_V2");
}

static void test_plugin_counters(void)
{
    pc_counter *c = metrics_counter_new("lookups_total", "Lookups \\ with a\nnewline.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_EQUAL(metrics_counter_new("lookups_total", NULL), c);
    metrics_counter_add(c, 5);
    metrics_counter_add(NULL, 5);
    CU_ASSERT_PTR_NULL(metrics_counter_new("bad name", NULL));
    CU_ASSERT_PTR_NULL(metrics_counter_new("9lives", NULL));
    CU_ASSERT_PTR_NULL(metrics_counter_new("", NULL));
    CU_ASSERT_PTR_NULL(metrics_counter_new("cache_hits_total", NULL));
    char *text = metrics_render(NULL);
    CU_ASSERT_EQUAL(metric(text, "portcullis_lookups_total"), 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# HELP portcullis_lookups_total Lookups \\\\ with a\\nnewline.\n"));
    free(text);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"per-thread counts add up exactly, across thread turnover", test_threads_add_up},
        {"each family is declared once", test_families_once},
        {"Authorino's evaluator_type values", test_evaluator_types},
        {"plugin counters: valid names only, help escaped", test_plugin_counters},
        {NULL, NULL}};
    return cu_add_suite("metrics", cases);
}
