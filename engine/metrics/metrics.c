/* metrics.c - one mutex guards the series tables: updates are a few
 * increments, far cheaper than the request they count. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "util/buf.h"

#define NBUCKETS 12
static const double bucket_le[NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                           0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1};
#define NCODES 17

struct pc_counter {
    char *name, *help;
    atomic_uint_fast64_t value;
    struct pc_counter *next;
};

typedef struct series {
    char *authconfig;
    uint64_t total;
    uint64_t by_code[NCODES];
    uint64_t buckets[NBUCKETS];
    double sum;
    struct series *next;
} series;

#define SERIES_BUCKETS 1024
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static series *g_series[SERIES_BUCKETS];
static uint64_t g_by_code[NCODES];
static pc_counter *g_counters;
static atomic_size_t g_authconfigs;

static const char *const code_names[NCODES] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

const char *metrics_code_name(int code)
{
    return code >= 0 && code < NCODES ? code_names[code] : "UNKNOWN";
}

pc_counter *metrics_counter_new(const char *name, const char *help)
{
    pthread_mutex_lock(&g_mu);
    for (pc_counter *c = g_counters; c; c = c->next)
        if (strcmp(c->name, name) == 0) {
            pthread_mutex_unlock(&g_mu);
            return c;
        }
    pc_counter *c = calloc(1, sizeof *c);
    if (c) {
        c->name = strdup(name);
        c->help = strdup(help ? help : name);
        c->next = g_counters;
        g_counters = c;
    }
    pthread_mutex_unlock(&g_mu);
    return c;
}

void metrics_counter_add(pc_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add(&c->value, n);
}

static unsigned hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

void metrics_request(const pc_verdict *v, int64_t duration_ns)
{
    int code = v->grpc_code >= 0 && v->grpc_code < NCODES ? v->grpc_code : 2;
    double secs = (double)duration_ns / 1e9;
    pthread_mutex_lock(&g_mu);
    g_by_code[code]++;
    if (v->authconfig.len) {
        unsigned b = hash(v->authconfig.ptr, v->authconfig.len) % SERIES_BUCKETS;
        series *s = g_series[b];
        while (s && (strlen(s->authconfig) != v->authconfig.len ||
                     memcmp(s->authconfig, v->authconfig.ptr, v->authconfig.len)))
            s = s->next;
        if (!s && (s = calloc(1, sizeof *s))) {
            s->authconfig = strndup(v->authconfig.ptr, v->authconfig.len);
            s->next = g_series[b];
            g_series[b] = s;
        }
        if (s) {
            s->total++;
            s->by_code[code]++;
            s->sum += secs;
            for (int i = 0; i < NBUCKETS; i++)
                if (secs <= bucket_le[i])
                    s->buckets[i]++;
        }
    }
    pthread_mutex_unlock(&g_mu);
}

struct metrics_evseries {
    char *labels; /* rendered label set */
    atomic_uint_fast64_t total, denied, ignored, cancelled;
    atomic_uint_fast64_t buckets[NBUCKETS];
    atomic_uint_fast64_t sum_ns;
    struct metrics_evseries *next;
};

static metrics_evseries *g_evseries;

#define label_escape metrics_label_escape

metrics_evseries *metrics_evaluator_series(const char *ns, const char *authconfig,
                                           const char *type, const char *name)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "namespace=\"");
    label_escape(&b, ns);
    buf_puts(&b, "\",authconfig=\"");
    label_escape(&b, authconfig);
    buf_puts(&b, "\",evaluator_type=\"");
    label_escape(&b, type);
    buf_puts(&b, "\",evaluator_name=\"");
    label_escape(&b, name);
    buf_puts(&b, "\"");
    pthread_mutex_lock(&g_mu);
    metrics_evseries *s = g_evseries;
    while (s && strcmp(s->labels, b.data))
        s = s->next;
    if (!s && (s = calloc(1, sizeof *s))) {
        s->labels = buf_steal(&b);
        s->next = g_evseries;
        g_evseries = s;
    }
    pthread_mutex_unlock(&g_mu);
    buf_free(&b);
    return s;
}

void metrics_evaluator(metrics_evseries *s, metrics_ev_outcome o, int64_t ns)
{
    if (!s)
        return;
    atomic_fetch_add(&s->total, 1);
    if (o == MEV_DENIED)
        atomic_fetch_add(&s->denied, 1);
    else if (o == MEV_IGNORED)
        atomic_fetch_add(&s->ignored, 1);
    else if (o == MEV_CANCELLED)
        atomic_fetch_add(&s->cancelled, 1);
    double secs = (double)ns / 1e9;
    for (int i = 0; i < NBUCKETS; i++)
        if (secs <= bucket_le[i])
            atomic_fetch_add(&s->buckets[i], 1);
    atomic_fetch_add(&s->sum_ns, (uint_fast64_t)(ns > 0 ? ns : 0));
}

static void render_evaluators(buf *b)
{
    static const char *const names[] = {"total", "denied", "ignored", "cancelled"};
    for (int k = 0; k < 4; k++) {
        buf_printf(b, "# HELP auth_server_evaluator_%s Evaluator runs (%s).\n"
                      "# TYPE auth_server_evaluator_%s counter\n", names[k], names[k], names[k]);
        for (metrics_evseries *s = g_evseries; s; s = s->next) {
            uint64_t v = k == 0 ? atomic_load(&s->total) : k == 1 ? atomic_load(&s->denied)
                       : k == 2 ? atomic_load(&s->ignored) : atomic_load(&s->cancelled);
            buf_printf(b, "auth_server_evaluator_%s{%s} %llu\n", names[k], s->labels,
                       (unsigned long long)v);
        }
    }
    buf_puts(b, "# HELP auth_server_evaluator_duration_seconds Evaluator duration.\n"
                "# TYPE auth_server_evaluator_duration_seconds histogram\n");
    for (metrics_evseries *s = g_evseries; s; s = s->next) {
        for (int i = 0; i < NBUCKETS; i++)
            buf_printf(b, "auth_server_evaluator_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                       s->labels, bucket_le[i], (unsigned long long)atomic_load(&s->buckets[i]));
        uint64_t total = atomic_load(&s->total);
        buf_printf(b, "auth_server_evaluator_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                   s->labels, (unsigned long long)total);
        buf_printf(b, "auth_server_evaluator_duration_seconds_sum{%s} %.9f\n", s->labels,
                   (double)atomic_load(&s->sum_ns) / 1e9);
        buf_printf(b, "auth_server_evaluator_duration_seconds_count{%s} %llu\n", s->labels,
                   (unsigned long long)total);
    }
}

#define MAX_COLLECTORS 16
static void (*g_collectors[MAX_COLLECTORS])(buf *b);
static atomic_int g_ncollectors;

void metrics_add_collector(void (*render)(buf *b))
{
    pthread_mutex_lock(&g_mu);
    int n = atomic_load(&g_ncollectors);
    if (n < MAX_COLLECTORS) {
        g_collectors[n] = render;
        atomic_store(&g_ncollectors, n + 1);
    }
    pthread_mutex_unlock(&g_mu);
}

void metrics_set_authconfigs(size_t n)
{
    atomic_store(&g_authconfigs, n);
}

void metrics_label_escape(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        if (*s == '\n') {
            buf_puts(b, "\\n");
            continue;
        }
        buf_putc(b, *s);
    }
}

char *metrics_render(size_t *len)
{
    buf b;
    buf_init(&b);
    pthread_mutex_lock(&g_mu);
    buf_printf(&b, "# HELP portcullis_authconfigs AuthConfigs currently loaded.\n"
                   "# TYPE portcullis_authconfigs gauge\nportcullis_authconfigs %zu\n",
               atomic_load(&g_authconfigs));
    buf_puts(&b, "# HELP auth_server_response_status Responses by status.\n"
                 "# TYPE auth_server_response_status counter\n");
    for (int c = 0; c < NCODES; c++)
        if (g_by_code[c])
            buf_printf(&b, "auth_server_response_status{status=\"%s\"} %llu\n",
                       code_names[c], (unsigned long long)g_by_code[c]);
    buf_puts(&b, "# HELP auth_server_authconfig_total Requests per AuthConfig.\n"
                 "# TYPE auth_server_authconfig_total counter\n");
    for (int i = 0; i < SERIES_BUCKETS; i++)
        for (series *s = g_series[i]; s; s = s->next) {
            buf_puts(&b, "auth_server_authconfig_total{authconfig=\"");
            label_escape(&b, s->authconfig);
            buf_printf(&b, "\"} %llu\n", (unsigned long long)s->total);
        }
    buf_puts(&b, "# HELP auth_server_authconfig_response_status Responses per AuthConfig by status.\n"
                 "# TYPE auth_server_authconfig_response_status counter\n");
    for (int i = 0; i < SERIES_BUCKETS; i++)
        for (series *s = g_series[i]; s; s = s->next)
            for (int c = 0; c < NCODES; c++)
                if (s->by_code[c]) {
                    buf_puts(&b, "auth_server_authconfig_response_status{authconfig=\"");
                    label_escape(&b, s->authconfig);
                    buf_printf(&b, "\",status=\"%s\"} %llu\n", code_names[c],
                               (unsigned long long)s->by_code[c]);
                }
    buf_puts(&b, "# HELP auth_server_authconfig_duration_seconds Pipeline duration per AuthConfig.\n"
                 "# TYPE auth_server_authconfig_duration_seconds histogram\n");
    for (int i = 0; i < SERIES_BUCKETS; i++)
        for (series *s = g_series[i]; s; s = s->next) {
            for (int k = 0; k < NBUCKETS; k++) {
                buf_puts(&b, "auth_server_authconfig_duration_seconds_bucket{authconfig=\"");
                label_escape(&b, s->authconfig);
                buf_printf(&b, "\",le=\"%g\"} %llu\n", bucket_le[k],
                           (unsigned long long)s->buckets[k]);
            }
            buf_puts(&b, "auth_server_authconfig_duration_seconds_bucket{authconfig=\"");
            label_escape(&b, s->authconfig);
            buf_printf(&b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)s->total);
            buf_puts(&b, "auth_server_authconfig_duration_seconds_sum{authconfig=\"");
            label_escape(&b, s->authconfig);
            buf_printf(&b, "\"} %.9f\n", s->sum);
            buf_puts(&b, "auth_server_authconfig_duration_seconds_count{authconfig=\"");
            label_escape(&b, s->authconfig);
            buf_printf(&b, "\"} %llu\n", (unsigned long long)s->total);
        }
    if (g_evseries)
        render_evaluators(&b);
    int nc = atomic_load(&g_ncollectors);
    for (int i = 0; i < nc; i++)
        g_collectors[i](&b);
    for (pc_counter *c = g_counters; c; c = c->next)
        buf_printf(&b, "# HELP portcullis_%s %s\n# TYPE portcullis_%s counter\nportcullis_%s %llu\n",
                   c->name, c->help, c->name, c->name,
                   (unsigned long long)atomic_load(&c->value));
    pthread_mutex_unlock(&g_mu);
    if (len)
        *len = b.len;
    return buf_steal(&b);
}
