/* The refresh thread of one jwt instance. It sleeps on a condition
 * variable until the next periodic refresh, a retry, an on-demand fetch or
 * stop; requests that wait for a fetch sleep on a second one. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "jwt_refresh.h"

struct jwt_refresh {
    const pc_host *h;
    char *who, *issuer, *jwks_url;
    int64_t ttl_ms, timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* the thread waits here */
    pthread_cond_t done;      /* requests wait here for a fetch to finish */
    jwt_keyset *keys;         /* NULL until the first success */
    uint64_t attempts;        /* finished fetches, successful or not */
    int fetching, demand, stop, failures;
    int64_t last_demand_ns;
    struct { uint8_t h[32]; int64_t at_ns; } kids[JWT_KID_SLOTS];
    size_t kid_next;
    pthread_t th;
};

static void rf_abs(int64_t mono_ns, struct timespec *ts)
{
    ts->tv_sec = mono_ns / 1000000000;
    ts->tv_nsec = mono_ns % 1000000000;
}

/* url for a log line or reason: scheme://host/path without any
 * user:password@ an operator may have put in it. */
static void rf_redact(const char *url, char *out, size_t cap)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    if (!at) {
        snprintf(out, cap, "%s", url);
        return;
    }
    snprintf(out, cap, "%.*s%s", (int)(host - url), url, at + 1);
}

/* GET url; 0 with the body (h->free it) on HTTP 200, else -1 and err. */
static int rf_get(jwt_refresh *rf, const char *url, char **body, size_t *len,
                  char *err, size_t errlen)
{
    static const char *const hdrs[] = {"Accept: application/json", NULL};
    pc_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url,
                           .headers = hdrs, .timeout_ms = rf->timeout_ms};
    long status = 0;
    char why[200] = "", shown[512];
    *body = NULL;
    rf_redact(url, shown, sizeof shown);
    if (rf->h->http_fetch(&req, &status, body, len, why, sizeof why) != PC_OK) {
        snprintf(err, errlen, "GET %s: %s", shown, why[0] ? why : "request failed");
        return -1;
    }
    if (status != 200) {
        snprintf(err, errlen, "GET %s: HTTP %ld", shown, status);
        rf->h->free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

/* OpenID Connect discovery: the provider's jwks_uri (free it), checking
 * that the document names the configured issuer exactly, as OIDC
 * Discovery §4.3 requires. */
static char *rf_discover(jwt_refresh *rf, char *err, size_t errlen)
{
    const pc_host *h = rf->h;
    size_t il = strlen(rf->issuer);
    while (il && rf->issuer[il - 1] == '/')
        il--;
    char url[2048];
    if (snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)il,
                 rf->issuer) >= (int)sizeof url) {
        snprintf(err, errlen, "issuerUrl too long");
        return NULL;
    }
    char *body = NULL;
    size_t len = 0;
    if (rf_get(rf, url, &body, &len, err, errlen) != 0)
        return NULL;
    pc_value *doc = h->value_keep_json(body, len);
    h->free(body);
    const char *iss = doc ? h->value_string(h->value_get(doc, "issuer"), NULL) : NULL;
    const char *jwks = doc ? h->value_string(h->value_get(doc, "jwks_uri"), NULL) : NULL;
    char *out = NULL;
    char shown[512];
    rf_redact(url, shown, sizeof shown);
    if (!doc)
        snprintf(err, errlen, "%s: not a JSON document", shown);
    else if (!iss || strcmp(iss, rf->issuer) != 0)
        snprintf(err, errlen, "%s: the issuer returned by the provider is not the "
                              "configured issuerUrl", shown);
    else if (!jwks || (strncmp(jwks, "https://", 8) && strncmp(jwks, "http://", 7)))
        snprintf(err, errlen, "%s: no http(s) jwks_uri", shown);
    else if (!(out = strdup(jwks)))
        snprintf(err, errlen, "out of memory");
    if (doc)
        h->value_release(doc);
    return out;
}

static jwt_keyset *rf_fetch(jwt_refresh *rf, char *err, size_t errlen)
{
    char *found = NULL;
    const char *url = rf->jwks_url;
    if (rf->issuer && !(url = found = rf_discover(rf, err, errlen)))
        return NULL;
    char *body = NULL;
    size_t len = 0, skipped = 0;
    jwt_keyset *ks = NULL;
    if (rf_get(rf, url, &body, &len, err, errlen) == 0) {
        char why[200] = "";
        ks = jwt_keyset_parse(rf->h, body, len, &skipped, why, sizeof why);
        char shown[512];
        rf_redact(url, shown, sizeof shown);
        if (!ks)
            snprintf(err, errlen, "%s: %s", shown, why);
        else if (skipped)
            rf->h->log(PC_LOG_INFO, rf->who, "%zu JWKS entries skipped (not usable "
                       "signature keys)", skipped);
        rf->h->free(body);
    }
    free(found);
    return ks;
}

/* When the next scheduled fetch is due after one finished (0 = none). */
static int64_t rf_next(const jwt_refresh *rf, int64_t now)
{
    if (!rf->failures)
        return rf->ttl_ms ? now + rf->ttl_ms * 1000000 : 0;
    /* Keys from an earlier fetch and no periodic refresh: a failed
     * on-demand fetch is not retried on its own. */
    if (rf->keys && !rf->ttl_ms)
        return 0;
    int64_t back = 1000;
    for (int i = 1; i < rf->failures && back < JWT_RETRY_MAX_MS; i++)
        back *= 2;
    if (back > JWT_RETRY_MAX_MS)
        back = JWT_RETRY_MAX_MS;
    if (rf->ttl_ms && back > rf->ttl_ms)
        back = rf->ttl_ms;
    return now + back * 1000000;
}

static void *rf_main(void *arg)
{
    jwt_refresh *rf = arg;
    const pc_host *h = rf->h;
    int64_t next_ns = 1; /* the first fetch: now */
    pthread_mutex_lock(&rf->mu);
    while (!rf->stop) {
        if (!rf->demand && !(next_ns && h->monotonic_ns() >= next_ns)) {
            if (next_ns) {
                struct timespec ts;
                rf_abs(next_ns, &ts);
                pthread_cond_timedwait(&rf->wake, &rf->mu, &ts);
            } else {
                pthread_cond_wait(&rf->wake, &rf->mu);
            }
            continue;
        }
        rf->demand = 0;
        rf->fetching = 1;
        pthread_mutex_unlock(&rf->mu);
        char err[512] = "";
        jwt_keyset *ks = rf_fetch(rf, err, sizeof err);
        pthread_mutex_lock(&rf->mu);
        jwt_keyset *old = NULL;
        if (ks) {
            if (rf->failures || !rf->keys)
                h->log(PC_LOG_INFO, rf->who, "%zu signing keys loaded", ks->n);
            old = rf->keys;
            rf->keys = ks;
            rf->failures = 0;
        } else {
            rf->failures++;
            h->log(PC_LOG_WARN, rf->who, "fetching the signing keys failed (%s); %s", err,
                   rf->keys ? "keeping the keys fetched before" : "denying until keys arrive");
        }
        next_ns = rf_next(rf, h->monotonic_ns());
        rf->fetching = 0;
        rf->attempts++;
        pthread_cond_broadcast(&rf->done);
        pthread_mutex_unlock(&rf->mu);
        jwt_keyset_unref(old);
        pthread_mutex_lock(&rf->mu);
    }
    pthread_mutex_unlock(&rf->mu);
    return NULL;
}

static void rf_free(jwt_refresh *rf)
{
    if (!rf)
        return;
    pthread_mutex_destroy(&rf->mu);
    pthread_cond_destroy(&rf->wake);
    pthread_cond_destroy(&rf->done);
    jwt_keyset_unref(rf->keys);
    free(rf->who);
    free(rf->issuer);
    free(rf->jwks_url);
    free(rf);
}

static int rf_wait_done(jwt_refresh *rf, uint64_t target, int64_t deadline_ns)
{
    struct timespec ts;
    rf_abs(deadline_ns, &ts);
    while (rf->attempts < target && !rf->stop)
        if (pthread_cond_timedwait(&rf->done, &rf->mu, &ts) == ETIMEDOUT)
            break;
    return rf->attempts >= target;
}

jwt_refresh *jwt_refresh_start(const pc_host *h, const jwt_refresh_cfg *cfg,
                               int64_t wait_ms, char *err, size_t errlen)
{
    if (!PC_HOST_HAS(h, http_fetch)) {
        snprintf(err, errlen, "the host has no http_fetch service (too old)");
        return NULL;
    }
    jwt_refresh *rf = calloc(1, sizeof *rf);
    if (!rf)
        goto oom;
    rf->h = h;
    rf->ttl_ms = cfg->ttl_ms;
    rf->timeout_ms = cfg->timeout_ms;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&rf->mu, NULL);
    pthread_cond_init(&rf->wake, &ca);
    pthread_cond_init(&rf->done, &ca);
    pthread_condattr_destroy(&ca);
    if (!(rf->who = strdup(cfg->who ? cfg->who : "jwt")) ||
        (cfg->issuer && !(rf->issuer = strdup(cfg->issuer))) ||
        (cfg->jwks_url && !(rf->jwks_url = strdup(cfg->jwks_url))))
        goto oom;
    if (pthread_create(&rf->th, NULL, rf_main, rf) != 0) {
        snprintf(err, errlen, "cannot start the key refresh thread");
        rf_free(rf);
        return NULL;
    }
    pthread_mutex_lock(&rf->mu);
    rf_wait_done(rf, 1, h->monotonic_ns() + wait_ms * 1000000);
    pthread_mutex_unlock(&rf->mu);
    return rf;
oom:
    snprintf(err, errlen, "out of memory");
    rf_free(rf);
    return NULL;
}

void jwt_refresh_stop(jwt_refresh *rf)
{
    if (!rf)
        return;
    pthread_mutex_lock(&rf->mu);
    rf->stop = 1;
    pthread_cond_signal(&rf->wake);
    pthread_cond_broadcast(&rf->done);
    pthread_mutex_unlock(&rf->mu);
    pthread_join(rf->th, NULL);
    rf_free(rf);
}

jwt_keyset *jwt_refresh_keys(jwt_refresh *rf)
{
    pthread_mutex_lock(&rf->mu);
    jwt_keyset *ks = jwt_keyset_ref(rf->keys);
    pthread_mutex_unlock(&rf->mu);
    return ks;
}

int jwt_refresh_demand(jwt_refresh *rf, const char *kid, size_t kid_len,
                       int64_t deadline_ns)
{
    const pc_host *h = rf->h;
    uint8_t kh[32];
    h->sha256(kid ? kid : "", kid ? kid_len : 0, kh);
    pthread_mutex_lock(&rf->mu);
    int64_t now = h->monotonic_ns();
    uint64_t target;
    if (rf->demand) {
        /* A fetch is already asked for: wait for it with the others. */
        target = rf->attempts + 1 + (uint64_t)rf->fetching;
    } else if (rf->fetching && !rf->keys) {
        /* The first fetch is still under way (a slow provider at start):
         * it is the one to wait for. */
        target = rf->attempts + 1;
    } else {
        for (size_t i = 0; i < JWT_KID_SLOTS; i++)
            if (rf->kids[i].at_ns && memcmp(rf->kids[i].h, kh, 32) == 0 &&
                now - rf->kids[i].at_ns < (int64_t)JWT_KID_FETCH_INTERVAL_MS * 1000000) {
                pthread_mutex_unlock(&rf->mu);
                return 0;
            }
        if (rf->last_demand_ns &&
            now - rf->last_demand_ns < (int64_t)JWT_DEMAND_MIN_INTERVAL_MS * 1000000) {
            pthread_mutex_unlock(&rf->mu);
            return 0;
        }
        size_t slot = rf->kid_next++ % JWT_KID_SLOTS;
        memcpy(rf->kids[slot].h, kh, 32);
        rf->kids[slot].at_ns = now;
        rf->last_demand_ns = now;
        /* A fetch under way may have started before the key appeared. */
        target = rf->attempts + 1 + (uint64_t)rf->fetching;
        rf->demand = 1;
        pthread_cond_signal(&rf->wake);
    }
    int ok = rf_wait_done(rf, target, deadline_ns);
    pthread_mutex_unlock(&rf->mu);
    return ok;
}
