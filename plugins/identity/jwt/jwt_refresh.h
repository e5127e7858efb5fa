/* jwt_refresh.h - the key set of one jwt instance, kept fresh by a thread
 * the instance owns: discovery and JWKS at start, every `ttl`, and on
 * demand for an unknown kid (rate limited). Requests never fetch; at most
 * they ask for a fetch and wait for it. Keys survive a failed refresh. */
#ifndef JWT_REFRESH_H
#define JWT_REFRESH_H
#include <portcullis/host.h>
#include "jwt_keys.h"

/* One on-demand fetch per kid within this window. */
#define JWT_KID_FETCH_INTERVAL_MS 30000
/* On-demand fetches of any kid at most this often. */
#define JWT_DEMAND_MIN_INTERVAL_MS 1000
/* Retries while no key set was ever fetched, or after a failed refresh:
 * from 1 s, doubling, up to this (and never beyond ttl when ttl is set). */
#define JWT_RETRY_MAX_MS 30000
/* kids remembered for the per-kid limit. */
#define JWT_KID_SLOTS 64

typedef struct jwt_refresh jwt_refresh;

typedef struct jwt_refresh_cfg {
    const char *who;          /* for logs: namespace/authconfig/evaluator */
    const char *issuer;       /* issuerUrl (discovery), or NULL */
    const char *jwks_url;     /* jwksUrl, or NULL */
    int64_t ttl_ms;           /* periodic refresh; 0 = none */
    int64_t timeout_ms;       /* per HTTP request */
} jwt_refresh_cfg;

/* Starts the thread, which fetches at once; waits up to wait_ms for that
 * first attempt so an instance is usable as soon as create returns when
 * the provider is up. NULL with err on a setup failure (never because
 * the provider is down). */
jwt_refresh *jwt_refresh_start(const pc_host *h, const jwt_refresh_cfg *cfg,
                               int64_t wait_ms, char *err, size_t errlen);
/* Stops and joins the thread (waits for a fetch in progress). */
void jwt_refresh_stop(jwt_refresh *rf);

/* The current key set with a reference (jwt_keyset_unref it), or NULL
 * when none was fetched yet. */
jwt_keyset *jwt_refresh_keys(jwt_refresh *rf);

/* Asks for a fetch because no key matches `kid` (NULL/"" for a token
 * without one) and waits until it completes or until deadline_ns
 * (CLOCK_MONOTONIC). Returns 1 when a fetch finished after the call
 * (look the key up again), 0 when the rate limit refused one or time ran
 * out. */
int jwt_refresh_demand(jwt_refresh *rf, const char *kid, size_t kid_len,
                       int64_t deadline_ns);
#endif
