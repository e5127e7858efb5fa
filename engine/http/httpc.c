#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "httpc.h"
#include "util/clock.h"
#include "util/thread_exit.h"

static CURLSH *g_share;
static pthread_mutex_t g_share_mu[CURL_LOCK_DATA_LAST];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local CURL *t_curl;

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    (void)h, (void)a, (void)u;
    pthread_mutex_lock(&g_share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    (void)h, (void)u;
    pthread_mutex_unlock(&g_share_mu[d]);
}

static void init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&g_share_mu[i], NULL);
    g_share = curl_share_init();
    curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

void httpc_global_init(void)
{
    pthread_once(&g_once, init_once);
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    buf *b = arg;
    /* Responses from APIs we call are small; 16 MiB keeps a hostile peer
     * from eating memory. */
    if (b->len + sz * n > 16u << 20)
        return 0;
    return buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

typedef struct stream_ctx {
    httpc_sink sink;
    void *arg;
} stream_ctx;

static size_t on_stream(char *p, size_t sz, size_t n, void *arg)
{
    stream_ctx *sc = arg;
    return sc->sink(p, sz * n, sc->arg) == 0 ? sz * n : 0;
}

static size_t buf_sink(const char *p, size_t n, void *arg)
{
    return on_body((char *)p, 1, n, arg) == n ? 0 : 1;
}

static pc_status perform(CURL *c, const pc_http_request *req, const httpc_tls *tls,
                         int64_t deadline_ns, const httpc_ctl *ctl, long *status,
                         httpc_sink sink, void *arg, char *err, size_t errlen);

pc_status httpc_do(const pc_http_request *req, const httpc_tls *tls,
                   int64_t deadline_ns, long *status, buf *body, char *err,
                   size_t errlen)
{
    httpc_global_init();
    if (!t_curl) {
        if (!(t_curl = curl_easy_init())) {
            snprintf(err, errlen, "cannot create an HTTP client");
            return PC_ERROR;
        }
        thread_at_exit(curl_easy_cleanup, t_curl);
    }
    curl_easy_reset(t_curl);
    pc_status st = perform(t_curl, req, tls, deadline_ns, NULL, status, buf_sink, body,
                           err, errlen);
    if (st == PC_OK && !body->data)
        buf_append(body, "", 0);
    return st;
}

/* A handle of its own: the sink may call httpc_do_ctl on this thread (the
 * controller writes status while its watch is open). */
pc_status httpc_stream(const pc_http_request *req, const httpc_tls *tls,
                       const httpc_ctl *ctl, long *status, httpc_sink sink, void *arg,
                       char *err, size_t errlen)
{
    httpc_global_init();
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot create an HTTP client");
        return PC_ERROR;
    }
    pc_status st = perform(c, req, tls, 0, ctl, status, sink, arg, err, errlen);
    curl_easy_cleanup(c);
    return st;
}

/* curl's timer may end a transfer a little before the request's deadline
 * by our clock (its own clock, millisecond rounding). A transfer the
 * deadline cut returns only once the deadline has passed, so the pipeline
 * answers the deadline (UNAVAILABLE) instead of deciding on an evaluator
 * error just before it. The wait is that rounding: at most a few ms. */
static void wait_past(int64_t deadline_ns)
{
    const int64_t limit = clock_mono_ns() + 20 * 1000000;
    for (int64_t now = clock_mono_ns(); now <= deadline_ns && now < limit;
         now = clock_mono_ns()) {
        int64_t d = deadline_ns - now + 1;
        struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

pc_status httpc_do_ctl(const pc_http_request *req, const httpc_tls *tls,
                       const httpc_ctl *ctl, long *status, buf *body, char *err,
                       size_t errlen)
{
    pc_status st = httpc_stream(req, tls, ctl, status, buf_sink, body, err, errlen);
    if (st == PC_OK && !body->data)
        buf_append(body, "", 0);
    return st;
}

/* curl_easy_perform, except that stop is polled while waiting on the
 * socket: the multi interface comes back every HTTPC_STOP_POLL_MS in every
 * phase (TLS handshake, headers, an idle body alike), so a peer that stalls
 * cannot keep the caller past its stop. */
static CURLcode run(CURL *c, const httpc_ctl *ctl)
{
    if (!ctl || !ctl->stop)
        return curl_easy_perform(c);
    if (ctl->stop(ctl->stop_arg))
        return CURLE_ABORTED_BY_CALLBACK;
    CURLM *m = curl_multi_init();
    if (!m)
        return CURLE_OUT_OF_MEMORY;
    if (curl_multi_add_handle(m, c) != CURLM_OK) {
        curl_multi_cleanup(m);
        return CURLE_FAILED_INIT;
    }
    CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        if (!running) {
            int left;
            CURLMsg *msg;
            rc = CURLE_FAILED_INIT;
            while ((msg = curl_multi_info_read(m, &left)))
                if (msg->msg == CURLMSG_DONE)
                    rc = msg->data.result;
            break;
        }
        if (ctl->stop(ctl->stop_arg))
            break;
        if (curl_multi_poll(m, NULL, 0, HTTPC_STOP_POLL_MS, NULL) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(m, c);
    curl_multi_cleanup(m);
    return rc;
}

static pc_status perform(CURL *c, const pc_http_request *req, const httpc_tls *tls,
                         int64_t deadline_ns, const httpc_ctl *ctl, long *status,
                         httpc_sink sink, void *arg, char *err, size_t errlen)
{
    int64_t timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 0;
    int by_deadline = 0;
    if (deadline_ns) {
        int64_t left_ns = deadline_ns - clock_mono_ns();
        int64_t left = left_ns > 0 ? (left_ns + 999999) / 1000000 : 0;
        if (left <= 0) {
            snprintf(err, errlen, "deadline exceeded before the request");
            return PC_ERROR;
        }
        if (!timeout_ms || left < timeout_ms) {
            timeout_ms = left;
            by_deadline = 1;
        }
    }
    struct curl_slist *hdrs = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        hdrs = curl_slist_append(hdrs, *h);
    curl_easy_setopt(c, CURLOPT_SHARE, g_share);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    long connect_ms = timeout_ms ? (long)timeout_ms : 10000L;
    if (ctl && ctl->connect_timeout_ms > 0 &&
        (!timeout_ms || ctl->connect_timeout_ms < timeout_ms))
        connect_ms = (long)ctl->connect_timeout_ms;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (ctl && ctl->low_speed_ms > 0) {
        /* curl counts whole seconds: round up. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)((ctl->low_speed_ms + 999) / 1000));
    }
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    stream_ctx sc = {sink, arg};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sc);
    const char *ca = req->ca_file;
    if (tls) {
        if (tls->ca_file)
            ca = tls->ca_file;
        if (tls->ca_blob) {
            struct curl_blob b = {(void *)tls->ca_blob, tls->ca_blob_len, CURL_BLOB_COPY};
            curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
        }
        if (tls->cert_file)
            curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert_file);
        if (tls->key_file)
            curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key_file);
        if (tls->cert_blob) {
            struct curl_blob b = {(void *)tls->cert_blob, tls->cert_blob_len, CURL_BLOB_COPY};
            curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
        }
        if (tls->key_blob) {
            struct curl_blob b = {(void *)tls->key_blob, tls->key_blob_len, CURL_BLOB_COPY};
            curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
        }
    }
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    CURLcode rc = run(c, ctl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT && by_deadline)
            wait_past(deadline_ns);
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return PC_ERROR;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return PC_OK;
}
