/* The frontend's own metrics (server_stats.h): per-loop counters and their
 * exposition, summed over the loops at scrape time. */
#include "server_stats.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bucket bounds in nanoseconds, and as Go prints them (the shortest text
 * that reads back as the same float64; Authorino's linear buckets are
 * summed step by step, as prometheus.LinearBuckets does). */
static const uint64_t srv_def_ns[SRV_DEF_BUCKETS] = {
    5000000,   10000000,   25000000,   50000000,   100000000,  250000000,
    500000000, 1000000000, 2500000000, 5000000000, 10000000000};
static const char *const srv_def_le[SRV_DEF_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};

static uint64_t srv_authorino_ns[SRV_AUTHORINO_BUCKETS];
static char srv_authorino_le[SRV_AUTHORINO_BUCKETS][32];
static pthread_once_t srv_authorino_once = PTHREAD_ONCE_INIT;

/* The shortest %g that reads back as v, as Go's strconv 'g', -1. */
static void srv_fmt_float(char *buf, size_t cap, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void srv_authorino_init(void)
{
    double b = 0.001;
    for (int i = 0; i < SRV_AUTHORINO_BUCKETS; i++) {
        srv_fmt_float(srv_authorino_le[i], sizeof(srv_authorino_le[i]), b);
        srv_authorino_ns[i] = (uint64_t)(b * 1e9 + 0.5);
        b += 0.05;
    }
}

/* The only writer of a counter is its loop's thread: no read-modify-write
 * instruction is needed, only a store the scraper may read whole. */
static void srv_bump(srv_ctr *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static uint64_t srv_read(const srv_ctr *c)
{
    return atomic_load_explicit((srv_ctr *)c, memory_order_relaxed);
}

static void srv_observe(srv_hist *h, const uint64_t *bounds, int n, int64_t ns)
{
    uint64_t d = ns > 0 ? (uint64_t)ns : 0;
    int i = 0;
    while (i < n && d > bounds[i])
        i++;
    if (i < n)
        srv_bump(&h->bucket[i], 1);
    srv_bump(&h->count, 1);
    srv_bump(&h->sum_ns, d);
}

void srv_obs_grpc_start(srv_stats *st, srv_obs *o, svc_method_id id,
                        int64_t now_ns)
{
    if ((unsigned)id >= SVC_METHOD_COUNT_)
        return;
    o->kind = SRV_OBS_GRPC;
    o->index = id;
    o->start_ns = now_ns;
    srv_bump(&st->rpc[id].started, 1);
    srv_bump(&st->rpc[id].received, 1);
}

void srv_obs_grpc_done(srv_stats *st, srv_obs *o, int grpc_code, int sent,
                       int64_t now_ns)
{
    if (o->kind != SRV_OBS_GRPC)
        return;
    srv_stats_rpc *r = &st->rpc[o->index];
    if (grpc_code < 0 || grpc_code >= SRV_GRPC_CODES)
        grpc_code = 2; /* Unknown */
    srv_bump(&r->handled[grpc_code], 1);
    if (sent)
        srv_bump(&r->sent, 1);
    srv_observe(&r->seconds, srv_def_ns, SRV_DEF_BUCKETS, now_ns - o->start_ns);
    o->kind = SRV_OBS_NONE;
}

void srv_obs_http_start(srv_obs *o, pc_str method, int64_t now_ns)
{
    o->kind = SRV_OBS_HTTP;
    o->index = svc_http_method_index(method);
    o->start_ns = now_ns;
}

void srv_obs_http_done(srv_stats *st, srv_obs *o, int status, int64_t now_ns)
{
    if (o->kind != SRV_OBS_HTTP)
        return;
    pthread_once(&srv_authorino_once, srv_authorino_init);
    if (status < SRV_HTTP_STATUS_MIN || status >= SRV_HTTP_STATUS_MIN + SRV_HTTP_STATUSES)
        status = 500;
    int64_t d = now_ns - o->start_ns;
    srv_bump(&st->http[o->index][status - SRV_HTTP_STATUS_MIN], 1);
    srv_observe(&st->http_seconds[o->index], srv_def_ns, SRV_DEF_BUCKETS, d);
    srv_observe(&st->http_authorino, srv_authorino_ns, SRV_AUTHORINO_BUCKETS, d);
    o->kind = SRV_OBS_NONE;
}

/* ---- exposition ---- */

typedef struct srv_sum_hist {
    uint64_t bucket[SRV_MAX_BUCKETS], count, sum_ns;
} srv_sum_hist;

static void srv_sum(srv_sum_hist *out, const srv_stats *const *stats, int n,
                    size_t offset)
{
    memset(out, 0, sizeof(*out));
    for (int k = 0; k < n; k++) {
        const srv_hist *h = (const srv_hist *)((const char *)stats[k] + offset);
        for (int i = 0; i < SRV_MAX_BUCKETS; i++)
            out->bucket[i] += srv_read(&h->bucket[i]);
        out->count += srv_read(&h->count);
        out->sum_ns += srv_read(&h->sum_ns);
    }
}

static uint64_t srv_sum_ctr(const srv_stats *const *stats, int n, size_t offset)
{
    uint64_t v = 0;
    for (int k = 0; k < n; k++)
        v += srv_read((const srv_ctr *)((const char *)stats[k] + offset));
    return v;
}

/* Offsets of one counter or histogram within srv_stats. */
#define SRV_RPC(m, field) \
    (offsetof(srv_stats, rpc) + (size_t)(m) * sizeof(srv_stats_rpc) + (field))
#define SRV_HANDLED(code) \
    (offsetof(srv_stats_rpc, handled) + (size_t)(code) * sizeof(srv_ctr))
#define SRV_HTTP(m, s) \
    (offsetof(srv_stats, http) + ((size_t)(m) * SRV_HTTP_STATUSES + (size_t)(s)) * \
                                     sizeof(srv_ctr))
#define SRV_HTTP_SECONDS(m) \
    (offsetof(srv_stats, http_seconds) + (size_t)(m) * sizeof(srv_hist))

static int srv_head(srv_buf *b, const char *name, const char *type,
                    const char *help)
{
    char line[512];
    snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", name, help,
             name, type);
    return srv_buf_append_str(b, line);
}

/* name{labels} value; labels without braces, may be "". */
static int srv_sample(srv_buf *b, const char *name, const char *labels,
                      uint64_t v)
{
    char line[768];
    snprintf(line, sizeof(line), "%s%s%s%s %llu\n", name, *labels ? "{" : "",
             labels, *labels ? "}" : "", (unsigned long long)v);
    return srv_buf_append_str(b, line);
}

static int srv_hist_samples(srv_buf *b, const char *name, const char *labels,
                            const srv_sum_hist *h, const char *const *le,
                            int n_buckets)
{
    char bname[160], lab[640], sum[64];
    const char *sep = *labels ? "," : "";
    uint64_t cum = 0;
    int rc = 0;
    snprintf(bname, sizeof(bname), "%s_bucket", name);
    for (int i = 0; i < n_buckets; i++) {
        cum += h->bucket[i];
        snprintf(lab, sizeof(lab), "%s%sle=\"%s\"", labels, sep, le[i]);
        rc |= srv_sample(b, bname, lab, cum);
    }
    snprintf(lab, sizeof(lab), "%s%sle=\"+Inf\"", labels, sep);
    rc |= srv_sample(b, bname, lab, h->count);
    srv_fmt_float(sum, sizeof(sum), (double)h->sum_ns / 1e9);
    snprintf(lab, sizeof(lab), "%s_sum%s%s%s %s\n", name, *labels ? "{" : "",
             labels, *labels ? "}" : "", sum);
    rc |= srv_buf_append_str(b, lab);
    snprintf(bname, sizeof(bname), "%s_count", name);
    rc |= srv_sample(b, bname, labels, h->count);
    return rc ? -1 : 0;
}

static void srv_rpc_labels(char *out, size_t cap, const svc_method *m)
{
    snprintf(out, cap, "grpc_type=\"unary\",grpc_service=\"%s\",grpc_method=\"%s\"",
             m->service, m->name);
}

static int srv_render_grpc(const srv_stats *const *st, int n, srv_buf *b)
{
    static const struct {
        const char *name, *help;
        size_t field;
    } ctrs[] = {
        {"grpc_server_started_total", "Total number of RPCs started on the server.",
         offsetof(srv_stats_rpc, started)},
        {"grpc_server_msg_received_total",
         "Total number of RPC stream messages received on the server.",
         offsetof(srv_stats_rpc, received)},
        {"grpc_server_msg_sent_total",
         "Total number of gRPC stream messages sent by the server.",
         offsetof(srv_stats_rpc, sent)},
    };
    char lab[400], lab2[480];
    int rc = 0;
    /* Every method's series exist from the start, as after
     * go-grpc-prometheus's InitializeMetrics; handled only per code seen. */
    for (size_t f = 0; f < sizeof(ctrs) / sizeof(ctrs[0]); f++) {
        rc |= srv_head(b, ctrs[f].name, "counter", ctrs[f].help);
        for (int m = 0; m < SVC_METHOD_COUNT_; m++) {
            srv_rpc_labels(lab, sizeof(lab), svc_grpc_method_at((svc_method_id)m));
            rc |= srv_sample(b, ctrs[f].name, lab,
                             srv_sum_ctr(st, n, SRV_RPC(m, ctrs[f].field)));
        }
    }
    int any = 0;
    for (int m = 0; m < SVC_METHOD_COUNT_; m++) {
        for (int code = 0; code < SRV_GRPC_CODES; code++) {
            uint64_t v = srv_sum_ctr(st, n, SRV_RPC(m, SRV_HANDLED(code)));
            if (!v)
                continue;
            if (!any++)
                rc |= srv_head(b, "grpc_server_handled_total", "counter",
                               "Total number of RPCs completed on the server, "
                               "regardless of success or failure.");
            srv_rpc_labels(lab, sizeof(lab), svc_grpc_method_at((svc_method_id)m));
            snprintf(lab2, sizeof(lab2), "%s,grpc_code=\"%s\"", lab,
                     svc_grpc_code_name(code));
            rc |= srv_sample(b, "grpc_server_handled_total", lab2, v);
        }
    }
    rc |= srv_head(b, "grpc_server_handling_seconds", "histogram",
                   "Histogram of response latency (seconds) of gRPC that had "
                   "been application-level handled by the server.");
    for (int m = 0; m < SVC_METHOD_COUNT_; m++) {
        srv_sum_hist h;
        srv_sum(&h, st, n, SRV_RPC(m, offsetof(srv_stats_rpc, seconds)));
        srv_rpc_labels(lab, sizeof(lab), svc_grpc_method_at((svc_method_id)m));
        rc |= srv_hist_samples(b, "grpc_server_handling_seconds", lab, &h,
                               srv_def_le, SRV_DEF_BUCKETS);
    }
    return rc ? -1 : 0;
}

static int srv_render_http(const srv_stats *const *st, int n, srv_buf *b)
{
    char lab[128], name[16];
    const char *le[SRV_AUTHORINO_BUCKETS];
    int rc = 0;
    pthread_once(&srv_authorino_once, srv_authorino_init);
    for (int i = 0; i < SRV_AUTHORINO_BUCKETS; i++)
        le[i] = srv_authorino_le[i];

    /* Authorino's pair, for its dashboards. */
    int any = 0;
    for (int s = 0; s < SRV_HTTP_STATUSES; s++) {
        uint64_t v = 0;
        for (int m = 0; m < SVC_HTTP_METHODS; m++)
            v += srv_sum_ctr(st, n, SRV_HTTP(m, s));
        if (!v)
            continue;
        if (!any++)
            rc |= srv_head(b, "http_server_handled_total", "counter",
                           "Total number of calls completed on the raw HTTP "
                           "authorization server, regardless of success or failure.");
        snprintf(lab, sizeof(lab), "status=\"%s\"",
                 svc_http_status_name(s + SRV_HTTP_STATUS_MIN, name));
        rc |= srv_sample(b, "http_server_handled_total", lab, v);
    }
    srv_sum_hist h;
    srv_sum(&h, st, n, offsetof(srv_stats, http_authorino));
    rc |= srv_head(b, "http_server_handling_seconds", "histogram",
                   "Response latency (seconds) of raw HTTP authorization request "
                   "that had been application-level handled by the server.");
    rc |= srv_hist_samples(b, "http_server_handling_seconds", "", &h, le,
                           SRV_AUTHORINO_BUCKETS);

    /* promhttp's labels: code and method on the counter, method on the
     * duration. */
    any = 0;
    for (int m = 0; m < SVC_HTTP_METHODS; m++) {
        for (int s = 0; s < SRV_HTTP_STATUSES; s++) {
            uint64_t v = srv_sum_ctr(st, n, SRV_HTTP(m, s));
            if (!v)
                continue;
            if (!any++)
                rc |= srv_head(b, "http_server_requests_total", "counter",
                               "Total number of HTTP authorization requests "
                               "answered, by status code and method.");
            snprintf(lab, sizeof(lab), "code=\"%d\",method=\"%s\"",
                     s + SRV_HTTP_STATUS_MIN, svc_http_method_label(m));
            rc |= srv_sample(b, "http_server_requests_total", lab, v);
        }
    }
    any = 0;
    for (int m = 0; m < SVC_HTTP_METHODS; m++) {
        srv_sum(&h, st, n, SRV_HTTP_SECONDS(m));
        if (!h.count)
            continue;
        if (!any++)
            rc |= srv_head(b, "http_server_request_duration_seconds", "histogram",
                           "Duration of HTTP authorization requests, from the "
                           "request read to its answer, in seconds.");
        snprintf(lab, sizeof(lab), "method=\"%s\"", svc_http_method_label(m));
        rc |= srv_hist_samples(b, "http_server_request_duration_seconds", lab, &h,
                               srv_def_le, SRV_DEF_BUCKETS);
    }
    return rc ? -1 : 0;
}

int srv_stats_render(const srv_stats *const *stats, int n, srv_buf *out)
{
    if (srv_render_grpc(stats, n, out) != 0 || srv_render_http(stats, n, out) != 0)
        return -1;
    return 0;
}
