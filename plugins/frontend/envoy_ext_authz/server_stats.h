/*
 * server_stats.h - the frontend's own metrics, named as Go's middlewares
 * name them: grpc_server_* (go-grpc-prometheus, with its handling-time
 * histogram), Authorino's http_server_handled_total{status} and
 * http_server_handling_seconds for HTTP authorization, and promhttp's
 * {code, method} labels on http_server_requests_total and
 * http_server_request_duration_seconds.
 *
 * Per-thread counters: each loop has its own srv_stats, written only by
 * its thread (a relaxed load and store, no lock and no locked instruction
 * on the request path) and summed over the loops when /metrics is scraped.
 */
#ifndef PC_EXTAUTHZ_SERVER_STATS_H
#define PC_EXTAUTHZ_SERVER_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "server_buf.h"
#include "service.h"

typedef _Atomic uint64_t srv_ctr;

/* prometheus.DefBuckets, go-grpc-prometheus's default */
#define SRV_DEF_BUCKETS 11
/* Authorino's LinearBuckets(0.001, 0.05, 20) */
#define SRV_AUTHORINO_BUCKETS 20
#define SRV_MAX_BUCKETS 20
#define SRV_GRPC_CODES 17
/* HTTP statuses 100..599 */
#define SRV_HTTP_STATUS_MIN 100
#define SRV_HTTP_STATUSES 500

typedef struct srv_hist {
    srv_ctr bucket[SRV_MAX_BUCKETS]; /* per bucket, not cumulative */
    srv_ctr count;
    srv_ctr sum_ns;
} srv_hist;

typedef struct srv_stats_rpc {
    srv_ctr started, received, sent;
    srv_ctr handled[SRV_GRPC_CODES];
    srv_hist seconds;
} srv_stats_rpc;

typedef struct srv_stats {
    srv_stats_rpc rpc[SVC_METHOD_COUNT_];
    srv_ctr http[SVC_HTTP_METHODS][SRV_HTTP_STATUSES];
    srv_hist http_seconds[SVC_HTTP_METHODS]; /* DefBuckets, by method */
    srv_hist http_authorino;                 /* Authorino's buckets */
} srv_stats;

/** One request being measured; zero (kind NONE) when not. Lives in the
 *  h2 stream or h1 slot that answers the request. */
typedef struct srv_obs {
    int64_t start_ns;
    int kind;  /* SRV_OBS_* */
    int index; /* svc_method_id, or svc_http_method_index */
} srv_obs;

enum { SRV_OBS_NONE = 0, SRV_OBS_GRPC = 1, SRV_OBS_HTTP = 2 };

/* Loop thread only, on that loop's stats. now_ns: CLOCK_MONOTONIC. */

/** A gRPC call whose request message arrived (started, received). */
void srv_obs_grpc_start(srv_stats *st, srv_obs *o, svc_method_id id,
                        int64_t now_ns);
/** Its answer: the grpc-status, and whether a response message went
 *  with it. Does nothing unless o was started. */
void srv_obs_grpc_done(srv_stats *st, srv_obs *o, int grpc_code, int sent,
                       int64_t now_ns);
/** An HTTP authorization request handed to the pipeline. */
void srv_obs_http_start(srv_obs *o, pc_str method, int64_t now_ns);
/** Its answer's status. Does nothing unless o was started. */
void srv_obs_http_done(srv_stats *st, srv_obs *o, int status, int64_t now_ns);

/** Appends the families, summed over n stats, in the text format (0.0.4).
 *  -1 when out of memory. Any thread. */
int srv_stats_render(const srv_stats *const *stats, int n, srv_buf *out);

#endif
