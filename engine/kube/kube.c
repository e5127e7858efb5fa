/* The Kubernetes client behind pc_host.kube_do: one API server, requests
 * through httpc (connection reuse, TLS always verified), bearer tokens read
 * from files kept fresh the way client-go does (re-read every minute, and
 * once more after a 401, since kubelet rotates projected tokens). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http/httpc.h"
#include "kube.h"
#include "kube_conf.h"
#include "kube_exec.h"
#include "eval/evalctx.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_TOKEN_REFRESH_NS (60LL * 1000000000LL)

static kube_conf g_conf;
static httpc_tls g_tls;
static int g_configured;
static pthread_mutex_t g_tok_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_file_token;       /* last token read from g_conf.token_file */
static kube_exec_cache g_exec;   /* the exec plugin's last credential */
/* Why the kubeconfig found by default (not one asked for) was not usable:
 * said when something needs the API, not before. */
static char g_unusable[512];
static int64_t g_file_token_ns;  /* when it was read */
static int64_t g_connect_ms = KUBE_CONNECT_TIMEOUT_MS, g_low_speed_ms = KUBE_LOW_SPEED_MS;

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* Re-reads the token file when forced or stale; keeps the old token when
 * the file is momentarily unreadable (kubelet swaps it atomically, but an
 * operator's file may be replaced non-atomically). */
static void refresh_token_locked(int force)
{
    int64_t now = clock_mono_ns();
    if (!force && g_file_token && now - g_file_token_ns < KUBE_TOKEN_REFRESH_NS)
        return;
    char err[256];
    char *t = kube_read_token(g_conf.token_file, err, sizeof err);
    if (!t) {
        plog(PC_LOG_WARN, "kube", "%s", err);
        return;
    }
    wipe_free(g_file_token);
    g_file_token = t;
    g_file_token_ns = now;
}

/* "Authorization: Bearer ..." into hdr, or "" when there is no token. */
static void auth_header(buf *hdr, int force_reread)
{
    buf_reset(hdr);
    if (g_conf.exec_argv) {
        pthread_mutex_lock(&g_tok_mu);
        char err[256];
        const char *t = kube_exec_token(&g_exec, g_conf.exec_argv, g_conf.exec_env,
                                        g_conf.exec_api_version, force_reread, err,
                                        sizeof err);
        if (t)
            buf_printf(hdr, "Authorization: Bearer %s", t);
        else
            plog(PC_LOG_WARN, "kube", "%s", err);
        pthread_mutex_unlock(&g_tok_mu);
        return;
    }
    if (g_conf.token) {
        buf_printf(hdr, "Authorization: Bearer %s", g_conf.token);
        return;
    }
    if (!g_conf.token_file)
        return;
    pthread_mutex_lock(&g_tok_mu);
    refresh_token_locked(force_reread);
    if (g_file_token)
        buf_printf(hdr, "Authorization: Bearer %s", g_file_token);
    pthread_mutex_unlock(&g_tok_mu);
}

pc_status kube_do(pc_eval *ev, const char *method, const char *path, const char *body,
                  size_t body_len, int64_t timeout_ms, const char *const *extra,
                  pc_http_response *resp, char *err, size_t errlen)
{
    resp->status = 0;
    resp->body = NULL;
    resp->body_len = 0;
    if (!g_configured) {
        if (g_unusable[0])
            snprintf(err, errlen, "no usable Kubernetes API: %s", g_unusable);
        else
            snprintf(err, errlen, "no Kubernetes API server configured "
                                  "(use --kubeconfig or run in a cluster)");
        return PC_ERROR;
    }
    if (!path || path[0] != '/') {
        snprintf(err, errlen, "API path must start with '/'");
        return PC_ERROR;
    }
    buf url, auth, out;
    buf_init(&url);
    buf_init(&auth);
    buf_init(&out);
    buf_printf(&url, "%s%s", g_conf.server, path);
    int64_t deadline = evalctx_deadline(ev);
    long status = 0;
    pc_status st = PC_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        auth_header(&auth, attempt > 0);
        const char *hdrs[4 + KUBE_MAX_EXTRA] = {"Content-Type: application/json",
                                                "Accept: application/json"};
        size_t n = 2;
        if (auth.len)
            hdrs[n++] = auth.data;
        for (size_t i = 0; extra && extra[i] && i < KUBE_MAX_EXTRA; i++)
            hdrs[n++] = extra[i];
        hdrs[n] = NULL;
        pc_http_request req = {
            .struct_size = sizeof req,
            .method = method ? method : "GET",
            .url = url.data,
            .headers = hdrs,
            .body = body,
            .body_len = body ? body_len : 0,
            .timeout_ms = timeout_ms,
        };
        buf_reset(&out);
        st = httpc_do(&req, &g_tls, deadline, &status, &out, err, errlen);
        /* A 401 with a file token may mean it was just rotated. */
        if (st != PC_OK || status != 401 || (!g_conf.token_file && !g_conf.exec_argv))
            break;
    }
    buf_wipe(&auth);
    buf_free(&url);
    if (st == PC_OK) {
        resp->status = status;
        /* The body must live as long as the evaluation: copy it into the
         * request's memory, like pc_host.http_do does. */
        char *body_copy = evalctx_keep_bytes(ev, out.data, out.len);
        if (body_copy) {
            resp->body = body_copy;
            resp->body_len = out.len;
        } else {
            snprintf(err, errlen, "no evaluation to own the response");
            st = PC_ERROR;
        }
    }
    /* Responses echo the reviewed token (TokenReview spec): wipe them. */
    buf_wipe(&out);
    return st;
}

int kube_configured(void)
{
    return g_configured;
}

void kube_set_control_limits(int64_t connect_timeout_ms, int64_t low_speed_ms)
{
    g_connect_ms = connect_timeout_ms;
    g_low_speed_ms = low_speed_ms;
}

static int flag_set(void *arg)
{
    return atomic_load((const atomic_int *)arg);
}

/* One exchange for the control plane (no evaluation owns it): list, status
 * writes, watches. A 401 with a file token re-reads the token once. */
static pc_status control_exchange(const char *method, const char *path,
                                  const char *content_type, const char *body,
                                  size_t body_len, int64_t timeout_ms,
                                  const atomic_int *stop, long *status, buf *out,
                                  httpc_sink sink, void *arg, char *err, size_t errlen)
{
    *status = 0;
    if (!g_configured) {
        if (g_unusable[0])
            snprintf(err, errlen, "no usable Kubernetes API: %s", g_unusable);
        else
            snprintf(err, errlen, "no Kubernetes API server configured "
                                  "(use --kubeconfig or run in a cluster)");
        return PC_ERROR;
    }
    buf url, auth, ctype;
    buf_init(&url);
    buf_init(&auth);
    buf_init(&ctype);
    buf_printf(&url, "%s%s", g_conf.server, path);
    buf_printf(&ctype, "Content-Type: %s", content_type ? content_type : "application/json");
    pc_status st = PC_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        auth_header(&auth, attempt > 0);
        const char *hdrs[4] = {ctype.data, "Accept: application/json", NULL, NULL};
        if (auth.len)
            hdrs[2] = auth.data;
        pc_http_request req = {
            .struct_size = sizeof req,
            .method = method,
            .url = url.data,
            .headers = hdrs,
            .body = body,
            .body_len = body ? body_len : 0,
            .timeout_ms = timeout_ms,
        };
        /* A watch may rightly stay silent for minutes: no low-speed
         * limit there, its timeout and stop bound it. */
        httpc_ctl ctl = {.stop = stop ? flag_set : NULL, .stop_arg = (void *)stop,
                         .connect_timeout_ms = g_connect_ms,
                         .low_speed_ms = out ? g_low_speed_ms : 0};
        if (out) {
            buf_reset(out);
            st = httpc_do_ctl(&req, &g_tls, &ctl, status, out, err, errlen);
        } else {
            st = httpc_stream(&req, &g_tls, &ctl, status, sink, arg, err, errlen);
        }
        if (st != PC_OK || *status != 401 || (!g_conf.token_file && !g_conf.exec_argv))
            break;
    }
    buf_wipe(&auth);
    buf_free(&url);
    buf_free(&ctype);
    return st;
}

pc_status kube_call(const char *method, const char *path, const char *content_type,
                    const char *body, size_t body_len, int64_t timeout_ms,
                    const atomic_int *stop, long *status, buf *out, char *err,
                    size_t errlen)
{
    return control_exchange(method, path, content_type, body, body_len, timeout_ms, stop,
                            status, out, NULL, NULL, err, errlen);
}

pc_status kube_stream(const char *path, int64_t timeout_ms, const atomic_int *stop,
                      long *status, httpc_sink sink, void *arg, char *err, size_t errlen)
{
    return control_exchange("GET", path, NULL, NULL, 0, timeout_ms, stop, status, NULL,
                            sink, arg, err, errlen);
}

static void set_tls(void)
{
    memset(&g_tls, 0, sizeof g_tls);
    g_tls.ca_file = g_conf.ca_file;
    g_tls.ca_blob = g_conf.ca_data;
    g_tls.ca_blob_len = g_conf.ca_data_len;
    g_tls.cert_file = g_conf.cert_file;
    g_tls.key_file = g_conf.key_file;
    g_tls.cert_blob = g_conf.cert_data;
    g_tls.cert_blob_len = g_conf.cert_data_len;
    g_tls.key_blob = g_conf.key_data;
    g_tls.key_blob_len = g_conf.key_data_len;
}

/* client-go's order: --kubeconfig, then $KUBECONFIG (a list, merged), then
 * the in-cluster service account, then ~/.kube/config. */
int kube_setup(const char *kubeconfig, char *err, size_t errlen)
{
    kube_teardown();
    g_unusable[0] = '\0';
    kube_conf c;
    const char *how;
    char home_kc[4096];
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *env_kc = getenv("KUBECONFIG");
    const char *home = getenv("HOME");
    snprintf(home_kc, sizeof home_kc, "%s/.kube/config", home && *home ? home : "/");
    if (kubeconfig && *kubeconfig) {
        if (kube_conf_from_kubeconfig(kubeconfig, &c, err, errlen) < 0)
            return -1;
        how = kubeconfig;
    } else if (env_kc && *env_kc) {
        if (kube_conf_from_kubeconfig(env_kc, &c, g_unusable, sizeof g_unusable) < 0)
            return 0;
        how = env_kc;
    } else if (host && *host) {
        const char *dir = getenv("PORTCULLIS_SA_DIR");
        if (kube_conf_in_cluster(host, getenv("KUBERNETES_SERVICE_PORT"),
                                 dir && *dir ? dir : KUBE_SA_DIR, &c, err, errlen) < 0)
            return -1;
        how = "in-cluster service account";
    } else if (access(home_kc, R_OK) == 0) {
        if (kube_conf_from_kubeconfig(home_kc, &c, g_unusable, sizeof g_unusable) < 0)
            return 0;
        how = home_kc;
    } else {
        return 0;
    }
    g_conf = c;
    set_tls();
    if (g_conf.token_file) {
        pthread_mutex_lock(&g_tok_mu);
        refresh_token_locked(1);
        pthread_mutex_unlock(&g_tok_mu);
    }
    httpc_global_init();
    g_configured = 1;
    plog(PC_LOG_INFO, "kube", "Kubernetes API %s (%s)", g_conf.server, how);
    return 0;
}

void kube_teardown(void)
{
    g_unusable[0] = '\0'; /* after teardown nothing was configured at all */
    if (!g_configured)
        return;
    g_configured = 0;
    pthread_mutex_lock(&g_tok_mu);
    wipe_free(g_file_token);
    g_file_token = NULL;
    g_file_token_ns = 0;
    kube_exec_clear(&g_exec);
    pthread_mutex_unlock(&g_tok_mu);
    kube_conf_free(&g_conf);
    memset(&g_tls, 0, sizeof g_tls);
}
