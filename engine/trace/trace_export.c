/* trace_export.c - the bounded queue of finished traces and the one
 * thread that batches them into OTLP/HTTP POSTs.
 *
 * A request's thread only links its trace onto the queue under a mutex
 * held for a few instructions; the exporter takes a whole batch off in
 * the same way and encodes and sends it with the lock released, so a slow
 * or absent receiver never delays a verdict. When the queue holds
 * max_queue_spans, new traces are dropped and counted. A POST that fails
 * is not retried: its spans are dropped and counted. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "http/httpc.h"
#include "metrics/metrics.h"
#include "trace_int.h"
#include "util/clock.h"
#include "util/log.h"

#define LOG_TRACE "portcullis.trace"
#define MAX_TAGS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    trace_req *head, **tail;
    size_t queued;             /* spans in the queue */
    trace_req *pool;           /* exported records for reuse */
    size_t n_pool;
    int stop;
    int64_t stop_by_ns;        /* CLOCK_MONOTONIC: the final flush ends by then */
    pthread_t thread;
    int running;
    trace_settings s;
    char url[2048];
    char auth[1024];
    /* resource attributes: owned copies */
    const char *keys[MAX_TAGS + 8], *values[MAX_TAGS + 8];
    char *owned[2 * MAX_TAGS];
    size_t n_owned;
    trace_resource res;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .tail = &g.head};

static atomic_ullong g_exported, g_drop_full, g_drop_failed, g_posts_ok, g_posts_err;
static atomic_ullong g_queued_gauge;

void trace_settings_default(trace_settings *s)
{
    memset(s, 0, sizeof *s);
    s->max_queue_spans = TRACE_DEFAULT_QUEUE;
    s->max_batch_spans = TRACE_DEFAULT_BATCH;
    s->batch_delay_ms = TRACE_DEFAULT_DELAY_MS;
    s->export_timeout_ms = TRACE_DEFAULT_TIMEOUT_MS;
    s->sampling_ratio = 1.0;
}

static size_t spans_of(const trace_req *t)
{
    return 1 + t->n_spans;
}

void trace_queue_push(trace_req *t)
{
    size_t n = spans_of(t);
    pthread_mutex_lock(&g.mu);
    if (g.stop || g.queued + n > g.s.max_queue_spans) {
        pthread_mutex_unlock(&g.mu);
        atomic_fetch_add_explicit(&g_drop_full, n, memory_order_relaxed);
        if (!t->pooled || trace_cache_put(t) < 0)
            free(t);
        return;
    }
    t->next = NULL;
    *g.tail = t;
    g.tail = &t->next;
    g.queued += n;
    atomic_store_explicit(&g_queued_gauge, g.queued, memory_order_relaxed);
    /* Wake the exporter only when a batch is full; otherwise it wakes at
     * its delay. */
    int wake = g.queued >= g.s.max_batch_spans && g.queued - n < g.s.max_batch_spans;
    /* Records for this thread's next requests, while the lock is held. */
    for (size_t room = trace_cache_room(); room && g.pool; room--) {
        trace_req *r = g.pool;
        g.pool = r->next;
        g.n_pool--;
        if (trace_cache_put(r) < 0) {
            r->next = g.pool;
            g.pool = r;
            g.n_pool++;
            break;
        }
    }
    pthread_mutex_unlock(&g.mu);
    if (wake)
        pthread_cond_signal(&g.cv);
}

/* Under g.mu: detaches whole traces up to max_batch_spans (at least one). */
static trace_req *take_batch(size_t *spans)
{
    trace_req *first = g.head, **link = &g.head;
    size_t n = 0;
    while (*link && (n == 0 || n + spans_of(*link) <= g.s.max_batch_spans)) {
        n += spans_of(*link);
        link = &(*link)->next;
    }
    g.head = *link;
    *link = NULL;
    if (!g.head)
        g.tail = &g.head;
    g.queued -= n;
    atomic_store_explicit(&g_queued_gauge, g.queued, memory_order_relaxed);
    *spans = n;
    return n ? first : NULL;
}

/* Pooled records go back to the pool (up to TRACE_POOL_MAX), the rest are
 * freed. */
static void free_list(trace_req *t)
{
    trace_req *rest = NULL;
    pthread_mutex_lock(&g.mu);
    while (t) {
        trace_req *next = t->next;
        if (t->pooled && g.n_pool < TRACE_POOL_MAX) {
            t->next = g.pool;
            g.pool = t;
            g.n_pool++;
        } else {
            t->next = rest;
            rest = t;
        }
        t = next;
    }
    pthread_mutex_unlock(&g.mu);
    while (rest) {
        trace_req *next = rest->next;
        free(rest);
        rest = next;
    }
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
    (void)p, (void)arg;
    return sz * n;
}

/* A failing receiver is logged at most every 10 s, with the count of
 * failures since the last line (exporter thread only). */
static void warn_failed(const char *fmt, const char *what, long status)
{
    static int64_t last_ns;
    static unsigned long since;
    int64_t now = clock_mono_ns();
    since++;
    if (last_ns && now - last_ns < 10 * 1000000000LL)
        return;
    char why[256];
    snprintf(why, sizeof why, fmt, what, status);
    plog(PC_LOG_WARN, LOG_TRACE, "exporting spans: %s (%lu failed export%s since the "
         "last report; spans are dropped)", why, since, since == 1 ? "" : "s");
    last_ns = now;
    since = 0;
}

/* One POST, no retry, within timeout_ms. Returns 0 when the receiver
 * took it (2xx). */
static int post(CURL *c, const buf *body, int64_t timeout_ms)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    char authh[1100];
    if (g.auth[0]) {
        snprintf(authh, sizeof authh, "Authorization: %s", g.auth);
        h = curl_slist_append(h, authh);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, g.url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        warn_failed("%s", curl_easy_strerror(rc), 0);
        return -1;
    }
    if (status < 200 || status > 299) {
        warn_failed("%sthe receiver answered %ld", "", status);
        return -1;
    }
    return 0;
}

/* Returns 0 when the batch was exported; the batch is freed either way. */
static int export_batch(CURL *c, trace_req *list, size_t spans, buf *body,
                        int64_t timeout_ms)
{
    long n = trace_otlp_encode(list, &g.res, body);
    free_list(list);
    int ok = n >= 0 && c && timeout_ms > 0 && post(c, body, timeout_ms) == 0;
    if (ok) {
        atomic_fetch_add_explicit(&g_exported, spans, memory_order_relaxed);
        atomic_fetch_add_explicit(&g_posts_ok, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&g_drop_failed, spans, memory_order_relaxed);
        atomic_fetch_add_explicit(&g_posts_err, 1, memory_order_relaxed);
    }
    return ok ? 0 : -1;
}

static void *exporter(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    buf body;
    buf_init(&body);
    pthread_mutex_lock(&g.mu);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (g.s.batch_delay_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(g.s.batch_delay_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!g.stop && g.queued < g.s.max_batch_spans)
            if (pthread_cond_timedwait(&g.cv, &g.mu, &until) != 0)
                break;
        int stopping = g.stop;
        size_t spans = 0;
        trace_req *batch = take_batch(&spans);
        pthread_mutex_unlock(&g.mu);
        /* While stopping, all the batches left share one export timeout. */
        int64_t timeout_ms = stopping ? (g.stop_by_ns - clock_mono_ns()) / 1000000
                                      : g.s.export_timeout_ms;
        if (batch && export_batch(c, batch, spans, &body, timeout_ms) < 0 && stopping) {
            /* Stopping with the receiver failing or out of time: drop
             * what is left rather than wait out a timeout per batch. */
            for (;;) {
                pthread_mutex_lock(&g.mu);
                batch = take_batch(&spans);
                pthread_mutex_unlock(&g.mu);
                if (!batch)
                    break;
                atomic_fetch_add_explicit(&g_drop_failed, spans, memory_order_relaxed);
                free_list(batch);
            }
        }
        pthread_mutex_lock(&g.mu);
        if (stopping && !g.head)
            break;
    }
    pthread_mutex_unlock(&g.mu);
    buf_free(&body);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static void render(buf *b)
{
    buf_printf(b, "# HELP portcullis_tracing_spans_exported_total Spans the OTLP receiver "
                  "accepted.\n# TYPE portcullis_tracing_spans_exported_total counter\n"
                  "portcullis_tracing_spans_exported_total %llu\n",
               (unsigned long long)atomic_load(&g_exported));
    buf_printf(b, "# HELP portcullis_tracing_spans_dropped_total Spans not exported: the "
                  "queue was full, or the POST failed.\n"
                  "# TYPE portcullis_tracing_spans_dropped_total counter\n"
                  "portcullis_tracing_spans_dropped_total{reason=\"queue_full\"} %llu\n"
                  "portcullis_tracing_spans_dropped_total{reason=\"export_failed\"} %llu\n",
               (unsigned long long)atomic_load(&g_drop_full),
               (unsigned long long)atomic_load(&g_drop_failed));
    buf_printf(b, "# HELP portcullis_tracing_exports_total OTLP/HTTP POSTs, by result.\n"
                  "# TYPE portcullis_tracing_exports_total counter\n"
                  "portcullis_tracing_exports_total{result=\"ok\"} %llu\n"
                  "portcullis_tracing_exports_total{result=\"error\"} %llu\n",
               (unsigned long long)atomic_load(&g_posts_ok),
               (unsigned long long)atomic_load(&g_posts_err));
    buf_printf(b, "# HELP portcullis_tracing_queue_spans Spans waiting for export.\n"
                  "# TYPE portcullis_tracing_queue_spans gauge\n"
                  "portcullis_tracing_queue_spans %llu\n",
               (unsigned long long)atomic_load(&g_queued_gauge));
}

static void free_resource(void)
{
    for (size_t i = 0; i < g.n_owned; i++)
        free(g.owned[i]);
    g.n_owned = 0;
    g.res.n = 0;
}

static int res_set(const char *k, size_t kl, const char *v, size_t vl)
{
    char *key = strndup(k, kl), *val = strndup(v, vl);
    if (!key || !val) {
        free(key);
        free(val);
        return -1;
    }
    g.owned[g.n_owned++] = key;
    g.owned[g.n_owned++] = val;
    /* A tag may override a built-in attribute (service.name too). */
    for (size_t i = 0; i < g.res.n; i++)
        if (strcmp(g.keys[i], key) == 0) {
            g.values[i] = val;
            return 0;
        }
    g.keys[g.res.n] = key;
    g.values[g.res.n] = val;
    g.res.n++;
    return 0;
}

/* service.name and the rest, then --tracing-service-tag key=value, split
 * at the first '=' after trimming, as Authorino does. A tag without '='
 * or with an empty key is a mistake, and said so. */
static int build_resource(const trace_settings *s, char *err, size_t errlen)
{
    static const char *const base[][2] = {
        {"service.name", "portcullis"},
        {"service.version", PORTCULLIS_VERSION},
        {"telemetry.sdk.name", "portcullis"},
        {"telemetry.sdk.language", "c"},
        {"telemetry.sdk.version", PORTCULLIS_VERSION}};
    if (s->n_tags > MAX_TAGS) {
        snprintf(err, errlen, "--tracing-service-tag: at most %d", MAX_TAGS);
        return -1;
    }
    g.res.keys = g.keys;
    g.res.values = g.values;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if (res_set(base[i][0], strlen(base[i][0]), base[i][1], strlen(base[i][1])) < 0)
            goto oom;
    for (size_t i = 0; i < s->n_tags; i++) {
        const char *t = s->tags[i];
        size_t n = strlen(t);
        while (n && (*t == ' ' || *t == '\t'))
            t++, n--;
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        const char *eq = memchr(t, '=', n);
        if (!eq || eq == t) {
            snprintf(err, errlen, "--tracing-service-tag \"%s\": want KEY=VALUE", s->tags[i]);
            free_resource();
            return -1;
        }
        if (res_set(t, (size_t)(eq - t), eq + 1, n - (size_t)(eq - t) - 1) < 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    free_resource();
    return -1;
}

int trace_start(const trace_settings *s, char *err, size_t errlen)
{
    if (s->max_queue_spans < 1 || s->max_queue_spans > 1000000) {
        snprintf(err, errlen, "--tracing-max-queue-size: 1..1000000 spans");
        return -1;
    }
    if (s->max_batch_spans < 1 || s->max_batch_spans > s->max_queue_spans) {
        snprintf(err, errlen, "--tracing-max-export-batch-size: 1..the queue size");
        return -1;
    }
    if (s->batch_delay_ms < 1 || s->batch_delay_ms > 3600000 ||
        s->export_timeout_ms < 1 || s->export_timeout_ms > 3600000) {
        snprintf(err, errlen, "--tracing-batch-delay and --tracing-export-timeout: "
                              "1..3600000 ms");
        return -1;
    }
    if (!(s->sampling_ratio >= 0.0 && s->sampling_ratio <= 1.0)) {
        snprintf(err, errlen, "--tracing-sampling-ratio: 0..1");
        return -1;
    }
    if (trace_endpoint_parse(s->endpoint, s->insecure, g.url, sizeof g.url, g.auth,
                             sizeof g.auth, err, errlen) < 0)
        return -1;
    if (build_resource(s, err, errlen) < 0)
        return -1;
    g.s = *s;
    g.s.tags = NULL;
    g.s.n_tags = 0;
    /* OpenTelemetry's TraceIdRatioBased: the trace id's low 63 bits below
     * ratio * 2^63. */
    trace_ratio_bound = s->sampling_ratio >= 1.0 ? UINT64_MAX
                        : (uint64_t)(s->sampling_ratio * 9223372036854775808.0);
    httpc_global_init();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cv, &ca);
    pthread_condattr_destroy(&ca);
    g.stop = 0;
    if (pthread_create(&g.thread, NULL, exporter, NULL) != 0) {
        snprintf(err, errlen, "cannot start the trace exporter thread");
        pthread_cond_destroy(&g.cv);
        free_resource();
        return -1;
    }
    g.running = 1;
    static int registered;
    if (!registered++)
        metrics_add_collector(render);
    trace_on = 1;
    plog(PC_LOG_INFO, LOG_TRACE, "exporting spans to %s (OTLP/HTTP)", g.url);
    return 0;
}

void trace_stop(void)
{
    if (!g.running)
        return;
    trace_on = 0;
    pthread_mutex_lock(&g.mu);
    g.stop = 1;
    g.stop_by_ns = clock_mono_ns() + g.s.export_timeout_ms * 1000000;
    pthread_mutex_unlock(&g.mu);
    pthread_cond_signal(&g.cv);
    pthread_join(g.thread, NULL);
    g.running = 0;
    pthread_mutex_lock(&g.mu);
    trace_req *pool = g.pool;
    g.pool = NULL;
    g.n_pool = 0;
    pthread_mutex_unlock(&g.mu);
    while (pool) {
        trace_req *next = pool->next;
        free(pool);
        pool = next;
    }
    pthread_cond_destroy(&g.cv);
    free_resource();
    /* g.stop stays set: a trace that still ends is dropped, not kept. */
}
