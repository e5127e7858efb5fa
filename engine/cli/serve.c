/* portcullis serve : loads plugins and AuthConfigs, starts the frontend,
 * and waits for signals (SIGTERM/SIGINT: drain and exit 0; SIGHUP: reload).
 *
 * Settings come from, in rising precedence: the server config file
 * (--config), PORTCULLIS_* environment variables, flags. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "cli.h"
#include "filewatch.h"
#include "trace_flags.h"
#include "cache/cache.h"
#include "config/celcfg.h"
#include "config/cfgerr.h"
#include "ydoc/ydoc.h"
#include "controller/controller.h"
#include "metrics/metrics.h"
#include "host/hostimpl.h"
#include "plugin/confhook.h"
#include "plugin/loader.h"
#include "plugin/schema.h"
#include "server/readiness.h"
#include "server/submit.h"
#include "server/workers.h"
#include "snapshot/snapshot.h"
#include "util/log.h"
#include "kube/kube.h"

#define MAXLIST 32

typedef struct settings {
    const char *grpc_addr, *http_addr, *admin_addr;
    const char *authconfigs[MAXLIST];
    int n_authconfigs;
    const char *plugin_dirs[MAXLIST];
    int n_plugin_dirs;
    /* Config hooks: "NAME:FILE" texts (flags, environment), or the file's
     * configHooks list (strings or {NAME: {config}}) when no flag names one. */
    const char *hooks[MAXLIST];
    int n_hooks;
    struct json_object *hooks_file;
    const char *kubeconfig, *config;
    int workers, io_threads;
    const char *tls_cert, *tls_key, *tls_client_ca;
    const char *log_level, *log_format;
    int64_t timeout_ms, grace_ms;
    const char *frontend;
    int watch;                       /* -1: decide (in a cluster or with a
                                        kubeconfig, and no AuthConfig paths) */
    const char *watch_ns, *ac_selector, *secret_selector;
    int write_status;
    int leader_election;
    const char *lease_ns;
    int64_t lease_ms;
    const char *kube_connect, *kube_low_speed; /* text, checked in kube_limits() */
    /* Frontend settings passed through as they are (limits, timeouts):
     * the file's frontendOptions object, then KEY=VALUE options. */
    struct json_object *fe_file_opts;
    const char *fe_opts[MAXLIST];
    int n_fe_opts;
    const char *cache_max_bytes; /* text, checked in cache_setting() */
    const char *request_max_bytes; /* text, checked in request_setting() */
    const char *cel_steps, *cel_bytes; /* text, checked by celcfg_setting() */
    int deep_metrics;
    int watch_files;                 /* reload --authconfigs files on change */
    /* Probes and metrics apart (Authorino's ports); NULL: --admin-addr. */
    const char *health_addr, *metrics_addr;
    const char *tls_min_version;  /* "1.2" or "1.3" */
    const char *max_body;         /* --max-http-request-body-size, checked */
    const char *oidc_addr;        /* --oidc-http-port: exported, see oidc_port() */
    char grpc_buf[32], http_buf[32], cache_buf[24], oidc_buf[80];
} settings;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: portcullis serve [options]\n"
        "Runs the authorization server: Envoy ext_authz over gRPC, HTTP\n"
        "authorization, probes (/healthz, /readyz, /readyz/authconfigs) and\n"
        "metrics (/metrics, /server-metrics).\n\n"
        "  --grpc-addr HOST:PORT     gRPC listener (default 0.0.0.0:50051; port 0 disables)\n"
        "  --http-addr HOST:PORT     HTTP listener (default 0.0.0.0:5001)\n"
        "  --admin-addr HOST:PORT    metrics and probes on one listener (default:\n"
        "                            --metrics-addr and --health-probe-addr)\n"
        "  --metrics-addr HOST:PORT  /metrics, /server-metrics (default 0.0.0.0:8080)\n"
        "  --health-probe-addr HOST:PORT\n"
        "                            /healthz, /readyz, /readyz/authconfigs\n"
        "                            (default 0.0.0.0:8081; the same as\n"
        "                            --metrics-addr: one listener)\n"
        "  --authconfigs PATH        AuthConfig file or directory (repeatable)\n"
        "  --plugin-dir DIR          plugin directory (repeatable; default: installed)\n"
        "  --config-hook NAME:FILE   run each AuthConfig through a config hook as it\n"
        "                            loads, e.g. lua:/etc/portcullis/hooks.lua\n"
        "                            (repeatable; run in order)\n"
        "  --kubeconfig FILE         Kubernetes client config (default: in-cluster,\n"
        "                            then $KUBECONFIG)\n"
        "  --config FILE             server config file (YAML)\n"
        "  --workers N               worker threads for blocking pipelines (default 32)\n"
        "  --io-threads N            I/O threads (default: number of cores)\n"
        "  --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]\n"
        "                            serve gRPC and HTTP over TLS (mTLS with a CA)\n"
        "  --timeout MS              bound every check to MS, whatever deadline its\n"
        "                            client gave (default 0 = none)\n"
        "  --watch-authconfigs       read AuthConfigs from the Kubernetes API (list +\n"
        "                            watch); default when in a cluster or given a\n"
        "                            kubeconfig, and no --authconfigs path\n"
        "  --no-watch-authconfigs    never watch, even then\n"
        "  --watch-files[=false]     reload changed --authconfigs files at once, without\n"
        "                            SIGHUP (default true)\n"
        "  --watch-namespace NS      watch one namespace (default: all)\n"
        "  --auth-config-label-selector SEL\n"
        "                            watch only AuthConfigs with these labels\n"
        "  --secret-label-selector SEL\n"
        "                            Secrets to read in controller mode (default\n"
        "                            authorino.kuadrant.io/managed-by=authorino)\n"
        "  --no-status-updates       do not write AuthConfig status\n"
        "  --enable-leader-election  replicas elect one (a Lease) to write status\n"
        "  --leader-election-namespace NS\n"
        "                            where the Lease lives (default: $POD_NAMESPACE,\n"
        "                            the watched namespace, else default)\n"
        "  --leader-election-lease-duration MS  (default 15000)\n"
        "  --kube-connect-timeout MS TCP connect and TLS handshake of each call to the\n"
        "                            Kubernetes API in controller mode (default 10000)\n"
        "  --kube-low-speed-timeout MS\n"
        "                            a list, status write or Lease call to the API\n"
        "                            under 1 byte/s this long fails (default 10000;\n"
        "                            0 = never)\n"
        "  --frontend-option KEY=VALUE\n"
        "                            a frontend setting, e.g. memory_budget_bytes=268435456\n"
        "                            (repeatable; docs/configuration.md lists them)\n"
        "  --cache-max-bytes N       memory budget of each evaluator cache, bytes\n"
        "                            (default 67108864 = 64 MiB)\n"
        "  --request-max-bytes N     memory one request's values may use: its document,\n"
        "                            outputs, everything evaluators build (default\n"
        "                            33554432 = 32 MiB; at least 65536)\n"
        "  --cel-max-steps N         steps one CEL evaluation may take (default 100000)\n"
        "  --cel-max-bytes N         memory one CEL evaluation may use (default 1048576)\n"
        "  --deep-metrics-enabled    auth_server_evaluator_* for every evaluator, not\n"
        "                            only those with metrics: true (default off)\n"
        "  --log-level LEVEL         debug, info, warn, error (default info)\n"
        "  --log-format FORMAT       json (default) or text\n"
        "  --log-mode MODE           production (json) or development (text)\n"
        "  --log-redact-add-header NAME, --log-redact-remove-header NAME\n"
        "  --log-redact-add-field NAME, --log-redact-remove-field NAME\n"
        "                            what debug logs redact (repeatable)\n"
        TRACE_FLAG_USAGE
        "Authorino's flags and environment variables are accepted too:\n"
        "--ext-auth-grpc-port, --ext-auth-http-port, --tls-cert-key,\n"
        "--tls-min-version, --max-http-request-body-size, --evaluator-cache-size\n"
        "(MB), --oidc-http-port (wristband discovery, default 8083) and the rest\n"
        "(docs/configuration.md has the table); `portcullis\n"
        "server` is `portcullis serve`.\n"
        "  -h, --help                show this help\n\n"
        "Every flag is also read from the environment as PORTCULLIS_<FLAG>, e.g.\n"
        "PORTCULLIS_GRPC_ADDR, PORTCULLIS_AUTHCONFIGS (a colon-separated list).\n");
}

/* Fatal start-up errors: a JSON line when the logs are JSON, so a log
 * pipeline sees why the server did not start. */
static void serve_fail(const char *fmt, ...) PC_PRINTF(1, 2);
static void serve_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plog_v(PC_LOG_ERROR, "portcullis", fmt, ap);
    va_end(ap);
}

/* ---- config file ---- */

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int jint(struct json_object *o, const char *k, int dflt)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_int))
        return dflt;
    return json_object_get_int(v);
}

static void jlist(struct json_object *o, const char *k, const char **out, int *n)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return;
    if (json_object_is_type(v, json_type_string)) {
        *n = 0;
        out[(*n)++] = json_object_get_string(v);
        return;
    }
    if (!json_object_is_type(v, json_type_array))
        return;
    *n = 0;
    for (size_t i = 0; i < json_object_array_length(v) && *n < MAXLIST; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_string))
            out[(*n)++] = json_object_get_string(e);
    }
}

static const char *const SERVER_SCHEMA =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"listeners\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"grpc\":{\"type\":\"string\"},\"http\":{\"type\":\"string\"},\"admin\":{\"type\":\"string\"},"
    "\"health\":{\"type\":\"string\"},\"metrics\":{\"type\":\"string\"}}},"
    "\"tls\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"cert\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"},\"clientCA\":{\"type\":\"string\"}}},"
    "\"authconfigs\":{\"type\":[\"string\",\"array\"],\"items\":{\"type\":\"string\"}},"
    "\"plugins\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"dirs\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
    "\"kubeconfig\":{\"type\":\"string\"},"
    "\"configHooks\":{\"type\":\"array\",\"maxItems\":8,\"items\":{\"oneOf\":["
    "{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_]+:.\"},"
    "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\"}}]}},"
    "\"log\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"level\":{\"enum\":[\"debug\",\"info\",\"warn\",\"error\"]},"
    "\"format\":{\"enum\":[\"json\",\"text\"]}}},"
    "\"workers\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4096},"
    "\"ioThreads\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":256},"
    "\"timeoutMs\":{\"type\":\"integer\",\"minimum\":0},"
    "\"gracePeriodMs\":{\"type\":\"integer\",\"minimum\":0},"
    "\"frontend\":{\"type\":\"string\"},"
    "\"watchAuthConfigs\":{\"type\":\"boolean\"},"
    "\"watchNamespace\":{\"type\":\"string\"},"
    "\"authConfigLabelSelector\":{\"type\":\"string\"},"
    "\"secretLabelSelector\":{\"type\":\"string\"},"
    "\"statusUpdates\":{\"type\":\"boolean\"},"
    "\"watchFiles\":{\"type\":\"boolean\"},"
    "\"frontendOptions\":{\"type\":\"object\"},"

    "\"cache\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"maxBytes\":{\"type\":\"integer\",\"minimum\":65536}}},"
    "\"request\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"maxBytes\":{\"type\":\"integer\",\"minimum\":65536}}},"
    "\"cel\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"maxSteps\":{\"type\":\"integer\",\"minimum\":100},"
    "\"maxBytes\":{\"type\":\"integer\",\"minimum\":4096}}},"
    "\"metrics\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"deep\":{\"type\":\"boolean\"}}}}}";

static void on_cfg_problem(void *arg, const char *sub, const struct json_object *node,
                           const char *msg, int unknown)
{
    cfgerr_schema(arg, "", sub, node, msg, unknown);
}

static int read_config_file(settings *s, ydoc_file **keep)
{
    char err[512];
    if (ydoc_load_file(s->config, keep, err, sizeof err) < 0) {
        serve_fail("%s", err);
        return -1;
    }
    if ((*keep)->n_docs == 0)
        return 0;
    struct json_object *o = (*keep)->docs[0].root;
    schema *sc = schema_compile(SERVER_SCHEMA, err, sizeof err);
    cfgerr ce = {.file = s->config, .doc_line = (*keep)->docs[0].line,
                 .on_error = cfgerr_print_error, .on_warning = cfgerr_print_warning};
    if (sc) {
        schema_validate(sc, o, on_cfg_problem, &ce);
        schema_free(sc);
    }
    if (ce.errors)
        return -1;
    struct json_object *l = NULL, *t = NULL, *p = NULL, *lg = NULL;
    json_object_object_get_ex(o, "listeners", &l);
    json_object_object_get_ex(o, "tls", &t);
    json_object_object_get_ex(o, "plugins", &p);
    json_object_object_get_ex(o, "log", &lg);
    if (jstr(l, "grpc")) s->grpc_addr = jstr(l, "grpc");
    if (jstr(l, "http")) s->http_addr = jstr(l, "http");
    if (jstr(l, "admin")) s->admin_addr = jstr(l, "admin");
    if (jstr(l, "health")) s->health_addr = jstr(l, "health");
    if (jstr(l, "metrics")) s->metrics_addr = jstr(l, "metrics");
    if (jstr(t, "cert")) s->tls_cert = jstr(t, "cert");
    if (jstr(t, "key")) s->tls_key = jstr(t, "key");
    if (jstr(t, "clientCA")) s->tls_client_ca = jstr(t, "clientCA");
    jlist(o, "authconfigs", s->authconfigs, &s->n_authconfigs);
    jlist(p, "dirs", s->plugin_dirs, &s->n_plugin_dirs);
    json_object_object_get_ex(o, "configHooks", &s->hooks_file);
    if (jstr(o, "kubeconfig")) s->kubeconfig = jstr(o, "kubeconfig");
    if (jstr(lg, "level")) s->log_level = jstr(lg, "level");
    if (jstr(lg, "format")) s->log_format = jstr(lg, "format");
    if (jstr(o, "frontend")) s->frontend = jstr(o, "frontend");
    json_object_object_get_ex(o, "frontendOptions", &s->fe_file_opts);
    struct json_object *ca = NULL, *mb = NULL;
    if (json_object_object_get_ex(o, "cache", &ca) &&
        json_object_object_get_ex(ca, "maxBytes", &mb))
        s->cache_max_bytes = json_object_get_string(mb);
    if (json_object_object_get_ex(o, "request", &ca) &&
        json_object_object_get_ex(ca, "maxBytes", &mb))
        s->request_max_bytes = json_object_get_string(mb);
    if (json_object_object_get_ex(o, "cel", &ca)) {
        if (json_object_object_get_ex(ca, "maxSteps", &mb)) s->cel_steps = json_object_get_string(mb);
        if (json_object_object_get_ex(ca, "maxBytes", &mb)) s->cel_bytes = json_object_get_string(mb);
    }
    struct json_object *me = NULL, *dp = NULL;
    if (json_object_object_get_ex(o, "metrics", &me) &&
        json_object_object_get_ex(me, "deep", &dp))
        s->deep_metrics = json_object_get_boolean(dp);
    s->workers = jint(o, "workers", s->workers);
    s->io_threads = jint(o, "ioThreads", s->io_threads);
    s->timeout_ms = jint(o, "timeoutMs", (int)s->timeout_ms);
    s->grace_ms = jint(o, "gracePeriodMs", (int)s->grace_ms);
    struct json_object *b;
    if (json_object_object_get_ex(o, "watchAuthConfigs", &b))
        s->watch = json_object_get_boolean(b);
    if (json_object_object_get_ex(o, "watchFiles", &b))
        s->watch_files = json_object_get_boolean(b);
    if (json_object_object_get_ex(o, "statusUpdates", &b))
        s->write_status = json_object_get_boolean(b);
    if (jstr(o, "watchNamespace")) s->watch_ns = jstr(o, "watchNamespace");
    if (jstr(o, "secretLabelSelector")) s->secret_selector = jstr(o, "secretLabelSelector");
    if (jstr(o, "authConfigLabelSelector"))
        s->ac_selector = jstr(o, "authConfigLabelSelector");
    return 0;
}

/* ---- environment ---- */

static void split_list(char *v, const char **out, int *n)
{
    *n = 0;
    for (char *tok = strtok(v, ":"); tok && *n < MAXLIST; tok = strtok(NULL, ":"))
        out[(*n)++] = tok;
}

static void read_env(settings *s, char **lists)
{
    const char *v;
    if ((v = getenv("PORTCULLIS_GRPC_ADDR"))) s->grpc_addr = v;
    if ((v = getenv("PORTCULLIS_HTTP_ADDR"))) s->http_addr = v;
    if ((v = getenv("PORTCULLIS_ADMIN_ADDR"))) s->admin_addr = v;
    if ((v = getenv("PORTCULLIS_KUBECONFIG"))) s->kubeconfig = v;
    if ((v = getenv("PORTCULLIS_TLS_CERT"))) s->tls_cert = v;
    if ((v = getenv("PORTCULLIS_TLS_KEY"))) s->tls_key = v;
    if ((v = getenv("PORTCULLIS_TLS_CLIENT_CA"))) s->tls_client_ca = v;
    if ((v = getenv("PORTCULLIS_LOG_LEVEL"))) s->log_level = v;
    if ((v = getenv("PORTCULLIS_LOG_FORMAT"))) s->log_format = v;
    if ((v = getenv("PORTCULLIS_WORKERS"))) s->workers = atoi(v);
    if ((v = getenv("PORTCULLIS_IO_THREADS"))) s->io_threads = atoi(v);
    if ((v = getenv("PORTCULLIS_TIMEOUT"))) s->timeout_ms = atoll(v);
    if ((v = getenv("PORTCULLIS_HEALTH_PROBE_ADDR"))) s->health_addr = v;
    if ((v = getenv("PORTCULLIS_METRICS_ADDR"))) s->metrics_addr = v;
    /* Authorino's names too, so its Deployments' env works unchanged. */
    if ((v = getenv("WATCH_NAMESPACE"))) s->watch_ns = v;
    if ((v = getenv("PORTCULLIS_WATCH_NAMESPACE"))) s->watch_ns = v;
    if ((v = getenv("AUTH_CONFIG_LABEL_SELECTOR"))) s->ac_selector = v;
    if ((v = getenv("PORTCULLIS_AUTH_CONFIG_LABEL_SELECTOR"))) s->ac_selector = v;
    if ((v = getenv("SECRET_LABEL_SELECTOR"))) s->secret_selector = v;
    if ((v = getenv("POD_NAMESPACE"))) s->lease_ns = v;
    if ((v = getenv("PORTCULLIS_SECRET_LABEL_SELECTOR"))) s->secret_selector = v;
    if ((v = getenv("PORTCULLIS_WATCH_AUTHCONFIGS")))
        s->watch = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    if ((v = getenv("PORTCULLIS_FRONTEND_OPTIONS")) && (lists[2] = strdup(v))) {
        s->n_fe_opts = 0;
        for (char *tok = strtok(lists[2], ","); tok && s->n_fe_opts < MAXLIST;
             tok = strtok(NULL, ","))
            s->fe_opts[s->n_fe_opts++] = tok;
    }
    if ((v = getenv("PORTCULLIS_WATCH_FILES")))
        s->watch_files = strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
    if ((v = getenv("PORTCULLIS_CACHE_MAX_BYTES"))) s->cache_max_bytes = v;
    if ((v = getenv("PORTCULLIS_REQUEST_MAX_BYTES"))) s->request_max_bytes = v;
    if ((v = getenv("PORTCULLIS_CEL_MAX_STEPS"))) s->cel_steps = v;
    if ((v = getenv("PORTCULLIS_CEL_MAX_BYTES"))) s->cel_bytes = v;
    if ((v = getenv("PORTCULLIS_KUBE_CONNECT_TIMEOUT"))) s->kube_connect = v;
    if ((v = getenv("PORTCULLIS_KUBE_LOW_SPEED_TIMEOUT"))) s->kube_low_speed = v;
    if ((v = getenv("PORTCULLIS_DEEP_METRICS_ENABLED")))
        s->deep_metrics = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    if ((v = getenv("PORTCULLIS_AUTHCONFIGS")) && (lists[0] = strdup(v)))
        split_list(lists[0], s->authconfigs, &s->n_authconfigs);
    if ((v = getenv("PORTCULLIS_PLUGIN_DIR")) && (lists[1] = strdup(v)))
        split_list(lists[1], s->plugin_dirs, &s->n_plugin_dirs);
    /* NAME:FILE holds a colon: the list is comma-separated. */
    if ((v = getenv("PORTCULLIS_CONFIG_HOOK")) && (lists[3] = strdup(v))) {
        s->n_hooks = 0;
        for (char *tok = strtok(lists[3], ","); tok && s->n_hooks < MAXLIST;
             tok = strtok(NULL, ","))
            s->hooks[s->n_hooks++] = tok;
    }
}

/* ---- caches ---- */

/* The byte budget of each evaluator cache: a whole number of bytes from
 * 64 KiB (each of a cache's 16 stripes must hold a few entries) up. */
static int cache_setting(const settings *s)
{
    if (!s->cache_max_bytes)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(s->cache_max_bytes, &end, 10);
    if (errno || end == s->cache_max_bytes || *end || s->cache_max_bytes[0] == '-' ||
        n < 65536 || n > SIZE_MAX) {
        serve_fail("--cache-max-bytes must be a number of bytes, "
                        "at least 65536 (got \"%s\")", s->cache_max_bytes);
        return -1;
    }
    cache_set_default_max_bytes((size_t)n);
    return 0;
}

/* The memory of one request (eval/evalctx.h), from 64 KiB up. */
static int request_setting(const settings *s)
{
    long long n;
    if (!s->request_max_bytes)
        return 0;
    if (cli_number(s->request_max_bytes, 65536, INT64_C(1) << 40, &n) < 0) {
        serve_fail("--request-max-bytes must be a number of bytes, "
                   "at least 65536 (got \"%s\")", s->request_max_bytes);
        return -1;
    }
    reqctx_set_max_bytes((size_t)n);
    return 0;
}

/* ---- Authorino's flags and environment variables ----
 *
 * An Authorino Deployment's args and env start this server unchanged. Each
 * alias is checked as it is read: a wrong value names the flag (or the
 * variable) and stops the start. */

enum {
    AL_GRPC_PORT = 1000, AL_HTTP_PORT, AL_TLS_KEY, AL_TLS_MIN, AL_TLS_MAX,
    AL_TLS_CIPHERS, AL_BODY, AL_CACHE_MB, AL_LOG_MODE, AL_HEALTH, AL_METRICS,
    AL_REDACT_ADD_FIELD, AL_REDACT_RM_FIELD, AL_REDACT_ADD_HEADER,
    AL_REDACT_RM_HEADER, AL_OIDC_PORT, AL_SUPERSEDING, AL_DEEP_ENV
};

typedef struct alias {
    int code;
    const char *flag, *env;
} alias;

/* Codes below 1000 (above any option letter) are serve's own options
 * that Authorino shares. */
static const alias ALIASES[] = {
    {AL_GRPC_PORT, "ext-auth-grpc-port", "EXT_AUTH_GRPC_PORT"},
    {AL_HTTP_PORT, "ext-auth-http-port", "EXT_AUTH_HTTP_PORT"},
    {1, "tls-cert", "TLS_CERT"},
    {AL_TLS_KEY, "tls-cert-key", "TLS_CERT_KEY"},
    {AL_TLS_MIN, "tls-min-version", "TLS_MIN_VERSION"},
    {AL_TLS_MAX, "tls-max-version", "TLS_MAX_VERSION"},
    {AL_TLS_CIPHERS, "tls-cipher-suites", "TLS_CIPHER_SUITES"},
    {6, "timeout", "TIMEOUT"},
    {AL_BODY, "max-http-request-body-size", "MAX_HTTP_REQUEST_BODY_SIZE"},
    {AL_CACHE_MB, "evaluator-cache-size", "EVALUATOR_CACHE_SIZE"},
    {4, "log-level", "LOG_LEVEL"},
    {AL_LOG_MODE, "log-mode", "LOG_MODE"},
    {AL_HEALTH, "health-probe-addr", NULL},
    {AL_METRICS, "metrics-addr", NULL},
    {AL_REDACT_ADD_FIELD, "log-redact-add-field", NULL},
    {AL_REDACT_RM_FIELD, "log-redact-remove-field", NULL},
    {AL_REDACT_ADD_HEADER, "log-redact-add-header", NULL},
    {AL_REDACT_RM_HEADER, "log-redact-remove-header", NULL},
    {AL_OIDC_PORT, "oidc-http-port", "OIDC_HTTP_PORT"},
    {AL_SUPERSEDING, "allow-superseding-host-subsets", NULL},
    {AL_DEEP_ENV, "deep-metrics-enabled", "DEEP_METRICS_ENABLED"},
};

static int alias_bad(const alias *a, int from_env, const char *val, const char *want)
{
    if (from_env)
        serve_fail("%s (--%s): %s, got \"%s\"", a->env, a->flag,
                want, val);
    else
        serve_fail("--%s: %s, got \"%s\"", a->flag, want, val);
    return -1;
}

static int alias_port(const alias *a, int env, const char *v, char *out, size_t cap,
                      const char **addr)
{
    long long port;
    if (cli_number(v, 0, 65535, &port) < 0)
        return alias_bad(a, env, v, "want a port number 0-65535");
    snprintf(out, cap, "0.0.0.0:%lld", port);
    *addr = out;
    return 0;
}

/* The wristband plugin's discovery listener takes its address from
 * PORTCULLIS_OIDC_HTTP_ADDR. Authorino's port replaces that address's port
 * and keeps its host (all interfaces when it names none); its variable,
 * OIDC_HTTP_PORT, yields to ours, the flag to nothing. */
static int oidc_port(settings *s, int from_env, long long port)
{
    const char *ours = getenv("PORTCULLIS_OIDC_HTTP_ADDR");
    if (from_env && ours)
        return 0;
    const char *colon = ours ? strrchr(ours, ':') : NULL;
    int hl = colon && colon - ours < 64 ? (int)(colon - ours) : 0;
    if (hl)
        snprintf(s->oidc_buf, sizeof s->oidc_buf, "%.*s:%lld", hl, ours, port);
    else
        snprintf(s->oidc_buf, sizeof s->oidc_buf, "0.0.0.0:%lld", port);
    s->oidc_addr = s->oidc_buf;
    return 0;
}

static int serve_alias(settings *s, int code, const char *v, int env)
{
    const alias *a = NULL;
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (ALIASES[i].code == code)
            a = &ALIASES[i];
    long long n;
    pc_log_level lvl;
    plog_format fmt;
    switch (code) {
    case AL_GRPC_PORT: return alias_port(a, env, v, s->grpc_buf, sizeof s->grpc_buf, &s->grpc_addr);
    case AL_HTTP_PORT: return alias_port(a, env, v, s->http_buf, sizeof s->http_buf, &s->http_addr);
    case 1: s->tls_cert = *v ? v : NULL; return 0; /* Authorino: "" is no TLS */
    case AL_TLS_KEY: s->tls_key = *v ? v : NULL; return 0;
    case AL_TLS_MIN:
        if (strcmp(v, "1.2") && strcmp(v, "1.3"))
            return alias_bad(a, env, v, "want 1.2 or 1.3 (TLS 1.0 and 1.1 are never served)");
        s->tls_min_version = v;
        return 0;
    case AL_TLS_MAX:
        if (!*v)
            return 0;
        return alias_bad(a, env, v, "not supported: the TLS listener offers TLS 1.2 and "
                                    "1.3, capped only by --tls-min-version");
    case AL_TLS_CIPHERS:
        if (!*v)
            return 0;
        return alias_bad(a, env, v, "not supported: the TLS listener uses OpenSSL's "
                                    "default cipher suites");
    case 6:
        if (cli_number(v, 0, INT64_C(1) << 40, &n) < 0)
            return alias_bad(a, env, v, "want a number of milliseconds");
        s->timeout_ms = n;
        return 0;
    case AL_BODY:
        if (cli_number(v, 0, INT32_MAX, &n) < 0)
            return alias_bad(a, env, v, "want a number of bytes, 0-2147483647");
        s->max_body = v;
        return 0;
    case AL_CACHE_MB:
        /* Authorino's unit is the megabyte. */
        if (cli_number(v, 1, 1 << 20, &n) < 0)
            return alias_bad(a, env, v, "want a number of megabytes, at least 1");
        snprintf(s->cache_buf, sizeof s->cache_buf, "%lld", n << 20);
        s->cache_max_bytes = s->cache_buf;
        return 0;
    case 4:
        if (plog_parse_level(v, &lvl) < 0)
            return alias_bad(a, env, v, "want debug, info, warn or error");
        s->log_level = v;
        return 0;
    case AL_LOG_MODE:
        if (plog_parse_mode(v, &fmt) < 0)
            return alias_bad(a, env, v, "want production or development");
        s->log_format = fmt == PLOG_JSON ? "json" : "text";
        return 0;
    case AL_HEALTH: s->health_addr = v; return 0;
    case AL_METRICS: s->metrics_addr = v; return 0;
    case AL_REDACT_ADD_FIELD:
    case AL_REDACT_RM_FIELD:
    case AL_REDACT_ADD_HEADER:
    case AL_REDACT_RM_HEADER: {
        int field = code == AL_REDACT_ADD_FIELD || code == AL_REDACT_RM_FIELD;
        int add = code == AL_REDACT_ADD_FIELD || code == AL_REDACT_ADD_HEADER;
        if (!*v || (field ? plog_redact_field(v, add) : plog_redact_header(v, add)) < 0)
            return alias_bad(a, env, v, "want a name (at most 64 in the list)");
        return 0;
    }
    case AL_OIDC_PORT:
        if (cli_number(v, 0, 65535, &n) < 0)
            return alias_bad(a, env, v, "want a port number 0-65535");
        return oidc_port(s, env, n);
    case AL_SUPERSEDING: return 0; /* host conflicts: the older AuthConfig wins */
    case AL_DEEP_ENV:
        s->deep_metrics = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
        return 0;
    }
    return -1;
}

/* Authorino's variables, read before PORTCULLIS_* ones (which win). */
static int read_authorino_env(settings *s)
{
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++) {
        const char *v = ALIASES[i].env ? getenv(ALIASES[i].env) : NULL;
        if (v && serve_alias(s, ALIASES[i].code, v, 1) < 0)
            return -1;
    }
    return 0;
}

/* ---- running ---- */

static void log_refusal(void *arg, const char *line)
{
    (void)arg;
    plog(PC_LOG_ERROR, "plugins", "%s", line);
}

static void on_synced(void *arg)
{
    (void)arg;
    submit_set_ready(1);
}

/* "KEY=VALUE" as JSON: integers and booleans by their look, else a string;
 * the frontend's schema then says whether the type fits the key. */
static struct json_object *fe_opt_value(const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return json_object_new_boolean(v[0] == 't');
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && !errno)
        return json_object_new_int64(n);
    return json_object_new_string(v);
}

/* --kube-connect-timeout and --kube-low-speed-timeout, in ms. */
static int kube_limits(const settings *s)
{
    long long connect = KUBE_CONNECT_TIMEOUT_MS, slow = KUBE_LOW_SPEED_MS;
    if (s->kube_connect && cli_number(s->kube_connect, 1, 600000, &connect) < 0) {
        serve_fail("--kube-connect-timeout: want milliseconds, 1-600000");
        return -1;
    }
    if (s->kube_low_speed && cli_number(s->kube_low_speed, 0, 600000, &slow) < 0) {
        serve_fail("--kube-low-speed-timeout: want milliseconds, 0-600000");
        return -1;
    }
    kube_set_control_limits(connect, slow);
    return 0;
}

static struct json_object *frontend_config(const settings *s)
{
    struct json_object *o = json_object_new_object();
    if (s->max_body) /* under the file's and --frontend-option's own setting */
        json_object_object_add(o, "max_http_body_bytes", fe_opt_value(s->max_body));
    if (s->fe_file_opts) {
        json_object_object_foreach(s->fe_file_opts, k, fv)
            json_object_object_add(o, k, json_object_get(fv));
    }
    for (int i = 0; i < s->n_fe_opts; i++) {
        const char *eq = strchr(s->fe_opts[i], '=');
        if (!eq)
            continue; /* refused in serve_main */
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - s->fe_opts[i]), s->fe_opts[i]);
        json_object_object_add(o, key, fe_opt_value(eq + 1));
    }
    json_object_object_add(o, "grpc_addr", json_object_new_string(s->grpc_addr));
    json_object_object_add(o, "http_addr", json_object_new_string(s->http_addr));
    /* --admin-addr alone puts probes and metrics on one listener; the
     * frontend serves both there when the two addresses are the same. */
    const char *metrics = s->metrics_addr ? s->metrics_addr
                          : s->admin_addr ? s->admin_addr : "0.0.0.0:8080";
    const char *health = s->health_addr ? s->health_addr
                         : s->admin_addr ? s->admin_addr : "0.0.0.0:8081";
    json_object_object_add(o, "admin_addr", json_object_new_string(metrics));
    json_object_object_add(o, "health_addr", json_object_new_string(health));
    if (s->io_threads > 0)
        json_object_object_add(o, "io_threads", json_object_new_int(s->io_threads));
    if (s->tls_cert || s->tls_key) {
        struct json_object *t = json_object_new_object();
        if (s->tls_cert) json_object_object_add(t, "cert", json_object_new_string(s->tls_cert));
        if (s->tls_key) json_object_object_add(t, "key", json_object_new_string(s->tls_key));
        if (s->tls_client_ca)
            json_object_object_add(t, "client_ca", json_object_new_string(s->tls_client_ca));
        if (s->tls_min_version)
            json_object_object_add(t, "min_version", json_object_new_string(s->tls_min_version));
        json_object_object_add(o, "tls", t);
    }
    return o;
}

static void on_fe_problem(void *arg, const char *sub, const struct json_object *node,
                          const char *msg, int unknown)
{
    (void)node;
    (void)unknown;
    serve_fail("frontend option%s%s: %s", *sub ? " " : "", sub, msg);
    ++*(int *)arg;
}

/* A mistyped or out-of-range frontend option is an error, not ignored. */
static int check_frontend_config(const loader_frontend *lf, struct json_object *cfg)
{
    if (!lf->t.config_schema)
        return 0;
    char err[256];
    schema *sc = schema_compile(lf->t.config_schema, err, sizeof err);
    if (!sc) {
        serve_fail("frontend schema: %s", err);
        return -1;
    }
    int problems = 0;
    schema_validate(sc, cfg, on_fe_problem, &problems);
    schema_free(sc);
    return problems ? -1 : 0;
}

static int serve_main(int argc, char **argv, ydoc_file **cfgfile, char **envlists);

/* Creates the config hooks before any AuthConfig loads: flags and the
 * environment name them as NAME:FILE, else the server config's list does
 * (NAME:FILE strings or {NAME: {config}} objects). */
static int setup_hooks(const settings *s)
{
    char err[600];
    int n = s->n_hooks ? s->n_hooks
            : s->hooks_file ? (int)json_object_array_length(s->hooks_file) : 0;
    if (n > CONFHOOK_MAX) {
        serve_fail("at most %d config hooks (got %d)", CONFHOOK_MAX, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int rc = -1;
        if (s->n_hooks) {
            rc = confhook_add_spec(host_table(), s->hooks[i], err, sizeof err);
        } else {
            struct json_object *e = json_object_array_get_idx(s->hooks_file, (size_t)i);
            if (json_object_is_type(e, json_type_string)) {
                rc = confhook_add_spec(host_table(), json_object_get_string(e), err, sizeof err);
            } else if (json_object_object_length(e) != 1) {
                snprintf(err, sizeof err, "want one hook name as the key, e.g. "
                                          "{lua: {file: hooks.lua}}");
                rc = -1;
            } else {
                json_object_object_foreach(e, name, conf) {
                    rc = confhook_add(host_table(), name, conf, err, sizeof err);
                }
            }
        }
        if (rc < 0) {
            if (s->n_hooks)
                serve_fail("%s", err);
            else /* where in the server config file */
                serve_fail("%s:%d: configHooks[%d]: %s", s->config,
                           ydoc_line(json_object_array_get_idx(s->hooks_file, (size_t)i)), i,
                           err);
            confhook_reset();
            return -1;
        }
    }
    return 0;
}

/* Every connection costs a descriptor: take all the hard limit allows (the
 * soft limit is often 1024 while the hard one is far higher). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        plog(PC_LOG_DEBUG, "portcullis", "open file limit raised from %llu to %llu",
             (unsigned long long)was, (unsigned long long)rl.rlim_max);
    else
        plog(PC_LOG_WARN, "portcullis", "cannot raise the open file limit from %llu: %s",
             (unsigned long long)was, strerror(errno));
}

int cmd_serve(int argc, char **argv)
{
    /* Everything serve_main reads from files and the environment lives
     * here, so every exit path frees it. */
    ydoc_file *cfgfile = NULL;
    char *envlists[4] = {NULL, NULL, NULL, NULL};
    int rc = serve_main(argc, argv, &cfgfile, envlists);
    ydoc_file_free(cfgfile);
    for (int i = 0; i < 4; i++)
        free(envlists[i]);
    return rc;
}

static int serve_main(int argc, char **argv, ydoc_file **cfgfile, char **envlists)
{
    static const struct option opts[] = {
        {"grpc-addr", required_argument, NULL, 'g'},
        {"http-addr", required_argument, NULL, 'H'},
        {"admin-addr", required_argument, NULL, 'A'},
        {"authconfigs", required_argument, NULL, 'a'},
        {"plugin-dir", required_argument, NULL, 'p'},
        {"kubeconfig", required_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'c'},
        {"workers", required_argument, NULL, 'w'},
        {"io-threads", required_argument, NULL, 'i'},
        {"tls-cert", required_argument, NULL, 1},
        {"tls-key", required_argument, NULL, 2},
        {"tls-client-ca", required_argument, NULL, 3},
        {"log-level", required_argument, NULL, 4},
        {"log-format", required_argument, NULL, 5},
        {"timeout", required_argument, NULL, 6},
        {"watch-authconfigs", no_argument, NULL, 7},
        {"no-watch-authconfigs", no_argument, NULL, 8},
        {"watch-namespace", required_argument, NULL, 9},
        {"auth-config-label-selector", required_argument, NULL, 10},
        {"no-status-updates", no_argument, NULL, 11},
        {"secret-label-selector", required_argument, NULL, 12},
        {"enable-leader-election", no_argument, NULL, 13},
        {"leader-election-namespace", required_argument, NULL, 14},
        {"leader-election-lease-duration", required_argument, NULL, 15},
        {"frontend-option", required_argument, NULL, 16},
        {"cache-max-bytes", required_argument, NULL, 17},
        {"deep-metrics-enabled", no_argument, NULL, 18},
        {"watch-files", optional_argument, NULL, 19},
        {"ext-auth-grpc-port", required_argument, NULL, AL_GRPC_PORT},
        {"ext-auth-http-port", required_argument, NULL, AL_HTTP_PORT},
        {"tls-cert-key", required_argument, NULL, AL_TLS_KEY},
        {"tls-min-version", required_argument, NULL, AL_TLS_MIN},
        {"tls-max-version", required_argument, NULL, AL_TLS_MAX},
        {"tls-cipher-suites", required_argument, NULL, AL_TLS_CIPHERS},
        {"max-http-request-body-size", required_argument, NULL, AL_BODY},
        {"evaluator-cache-size", required_argument, NULL, AL_CACHE_MB},
        {"log-mode", required_argument, NULL, AL_LOG_MODE},
        {"health-probe-addr", required_argument, NULL, AL_HEALTH},
        {"metrics-addr", required_argument, NULL, AL_METRICS},
        {"log-redact-add-field", required_argument, NULL, AL_REDACT_ADD_FIELD},
        {"log-redact-remove-field", required_argument, NULL, AL_REDACT_RM_FIELD},
        {"log-redact-add-header", required_argument, NULL, AL_REDACT_ADD_HEADER},
        {"log-redact-remove-header", required_argument, NULL, AL_REDACT_RM_HEADER},
        {"oidc-http-port", required_argument, NULL, AL_OIDC_PORT},
        {"allow-superseding-host-subsets", no_argument, NULL, AL_SUPERSEDING},
        {"cel-max-steps", required_argument, NULL, 21},
        {"cel-max-bytes", required_argument, NULL, 22},
        TRACE_FLAG_OPTIONS,
        {"config-hook", required_argument, NULL, 23},
        {"kube-connect-timeout", required_argument, NULL, 24},
        {"kube-low-speed-timeout", required_argument, NULL, 25},
        {"request-max-bytes", required_argument, NULL, 26},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    settings s = {.grpc_addr = "0.0.0.0:50051", .http_addr = "0.0.0.0:5001",
                  .workers = 32, .log_level = "info",
                  .log_format = "json", .grace_ms = 10000,
                  .frontend = "envoy_ext_authz", .watch = -1, .write_status = 1,
                  .watch_files = 1,
                  .secret_selector = "authorino.kuadrant.io/managed-by=authorino"};
    /* First pass: only --config and --help, so the file can sit under the
     * environment and the flags. */
    int c;
    opterr = 0;
    const char *early = getenv("PORTCULLIS_LOG_FORMAT");
    if (!early && getenv("LOG_MODE"))
        early = strcmp(getenv("LOG_MODE"), "development") ? "json" : "text";
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 5 || c == AL_LOG_MODE)
            early = strcmp(optarg, "text") && strcmp(optarg, "development") ? "json" : "text";
        if (c == 'c')
            s.config = optarg;
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
    }
    plog_setup(PC_LOG_WARN, early && strcmp(early, "text") == 0 ? PLOG_TEXT : PLOG_JSON);
    if (!s.config)
        s.config = getenv("PORTCULLIS_CONFIG");
    if (s.config && read_config_file(&s, cfgfile) < 0)
        return 2;
    if (read_authorino_env(&s) < 0)
        return 2;
    read_env(&s, envlists);
    optind = 1;
    opterr = 1;
    int flag_ac = 0, flag_pd = 0, flag_fo = 0, flag_hk = 0;
    trace_flags tf;
    trace_flags_init(&tf);
    if (trace_flags_env(&tf) < 0)
        return 2;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': s.grpc_addr = optarg; break;
        case 'H': s.http_addr = optarg; break;
        case 'A': s.admin_addr = optarg; break;
        case 'a':
            if (!flag_ac++) s.n_authconfigs = 0;
            if (s.n_authconfigs < MAXLIST) s.authconfigs[s.n_authconfigs++] = optarg;
            break;
        case 'p':
            if (!flag_pd++) s.n_plugin_dirs = 0;
            if (s.n_plugin_dirs < MAXLIST) s.plugin_dirs[s.n_plugin_dirs++] = optarg;
            break;
        case 'k': s.kubeconfig = optarg; break;
        case 'c': break;
        case 'w': s.workers = atoi(optarg); break;
        case 'i': s.io_threads = atoi(optarg); break;
        case 1: s.tls_cert = optarg; break;
        case 2: s.tls_key = optarg; break;
        case 3: s.tls_client_ca = optarg; break;
        case 4:
        case 6:
            if (serve_alias(&s, c, optarg, 0) < 0)
                return 2;
            break;
        case 5: s.log_format = optarg; break;
        case 7: s.watch = 1; break;
        case 8: s.watch = 0; break;
        case 9: s.watch_ns = optarg; break;
        case 10: s.ac_selector = optarg; break;
        case 11: s.write_status = 0; break;
        case 12: s.secret_selector = optarg; break;
        case 13: s.leader_election = 1; break;
        case 14: s.lease_ns = optarg; break;
        case 15: s.lease_ms = atoll(optarg); break;
        case 16:
            if (!flag_fo++) s.n_fe_opts = 0;
            if (s.n_fe_opts < MAXLIST) s.fe_opts[s.n_fe_opts++] = optarg;
            break;
        case 17: s.cache_max_bytes = optarg; break;
        case 18: s.deep_metrics = 1; break;
        case 19:
            if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false")) {
                fprintf(stderr, "portcullis serve: --watch-files is true or false\n");
                return 2;
            }
            s.watch_files = !optarg || strcmp(optarg, "true") == 0;
            break;
        case 21: s.cel_steps = optarg; break;
        case 22: s.cel_bytes = optarg; break;
        case 23:
            if (!flag_hk++) s.n_hooks = 0;
            if (s.n_hooks < MAXLIST) s.hooks[s.n_hooks++] = optarg;
            break;
        case 24: s.kube_connect = optarg; break;
        case 25: s.kube_low_speed = optarg; break;
        case 26: s.request_max_bytes = optarg; break;
        case AL_SUPERSEDING: break;
        default:
            if (c >= TF_ENDPOINT && c < TF_LAST_) {
                if (trace_flags_set(&tf, c, optarg) < 0)
                    return 2;
                break;
            }
            if (c < AL_GRPC_PORT) {
                usage(stderr);
                return 2;
            }
            if (serve_alias(&s, c, optarg, 0) < 0)
                return 2;
            break;
        }
    }
    pc_log_level lvl;
    plog_format fmt;
    if (plog_parse_level(s.log_level, &lvl) < 0 || plog_parse_format(s.log_format, &fmt) < 0) {
        serve_fail("bad --log-level or --log-format");
        return 2;
    }
    if (s.workers < 1 || s.workers > 4096) {
        serve_fail("--workers must be 1..4096");
        return 2;
    }
    for (int i = 0; i < s.n_fe_opts; i++) {
        const char *eq = strchr(s.fe_opts[i], '=');
        if (!eq || eq == s.fe_opts[i] || eq - s.fe_opts[i] >= 128) {
            serve_fail("--frontend-option \"%s\": want KEY=VALUE",
                    s.fe_opts[i]);
            return 2;
        }
    }
    if (cache_setting(&s) < 0 || request_setting(&s) < 0 || kube_limits(&s) < 0)
        return 2;
    char celerr[160];
    if (celcfg_setting(s.cel_steps, s.cel_bytes, celerr, sizeof celerr) < 0) {
        fprintf(stderr, "portcullis serve: %s\n", celerr);
        return 2;
    }
    metrics_set_deep(s.deep_metrics);
    if (s.tls_min_version && !s.tls_cert) {
        serve_fail("--tls-min-version needs --tls-cert and --tls-cert-key");
        return 2;
    }
    if ((s.tls_cert == NULL) != (s.tls_key == NULL)) {
        serve_fail("--tls-cert and --tls-key go together");
        return 2;
    }
    plog_setup(lvl, fmt);
    /* Still one thread: nothing reads the environment while it changes. */
    if (s.oidc_addr && setenv("PORTCULLIS_OIDC_HTTP_ADDR", s.oidc_addr, 1) < 0) {
        serve_fail("--oidc-http-port: %s", strerror(errno));
        return 2;
    }
    raise_fd_limit();
    /* Many worker threads each get a malloc arena by default; a few shared
     * ones keep resident memory flat under bursts of blocking checks. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 4);
    /* Buffers of 256 KiB and more (a large request body, a slow client's
     * output) come straight from mmap, so freeing them hands them back at
     * once. A fixed threshold also stops glibc from raising it after the
     * first such free, which would leave them in arenas whose tops
     * malloc_trim cannot shrink. */
    if (!getenv("MALLOC_MMAP_THRESHOLD_"))
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);

    /* Signals are taken by sigwait in this thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (s.n_plugin_dirs == 0)
        loader_load_dir(loader_default_dir(), log_refusal, NULL);
    for (int i = 0; i < s.n_plugin_dirs; i++)
        loader_load_dir(s.plugin_dirs[i], log_refusal, NULL);
    if (setup_hooks(&s) < 0)
        return 2;
    char kerr[512];
    if (kube_setup(s.kubeconfig, kerr, sizeof kerr) < 0) {
        serve_fail("%s", kerr);
        return 2;
    }
    const loader_frontend *lf = loader_find_frontend(s.frontend);
    if (!lf) {
        serve_fail("no plugin provides the frontend \"%s\" "
                        "(plugin directory: %s)", s.frontend,
                s.n_plugin_dirs ? s.plugin_dirs[0] : loader_default_dir());
        return 2;
    }
    if (workers_start(s.workers) < 0) {
        serve_fail("cannot start worker threads");
        return 2;
    }
    if (trace_flags_start(&tf) < 0)
        return 2;
    submit_install(s.timeout_ms);
    if (s.watch < 0) {
        const char *incluster = getenv("KUBERNETES_SERVICE_HOST");
        const char *kc_env = getenv("KUBECONFIG");
        s.watch = s.n_authconfigs == 0 && kube_configured() &&
                  ((incluster && *incluster) || s.kubeconfig || (kc_env && *kc_env));
    }
    if (s.watch && s.n_authconfigs) {
        serve_fail("AuthConfigs come either from the Kubernetes API "
                        "(--watch-authconfigs) or from files (--authconfigs), not both");
        return 2;
    }
    if (s.watch) {
        /* Nothing is served (and /readyz says 503) until the first list
         * is compiled. */
        snapshot_install(snapshot_assemble(NULL, 0, NULL, NULL));
        controller_opts co = {.namespace_ = s.watch_ns, .label_selector = s.ac_selector,
                              .secret_selector = s.secret_selector,
                              .leader_election = s.leader_election,
                              .lease_namespace = s.lease_ns, .lease_duration_ms = s.lease_ms,
                              .write_status = s.write_status, .on_synced = on_synced,
                              .host = host_table()};
        char cerr[512];
        if (controller_start(&co, cerr, sizeof cerr) < 0) {
            serve_fail("%s", cerr);
            return 2;
        }
    } else {
        char ferr[256];
        if (filewatch_start(s.authconfigs, (size_t)s.n_authconfigs, s.watch_files, ferr,
                            sizeof ferr) < 0) {
            fprintf(stderr, "portcullis serve: %s\n", ferr);
            return 2;
        }
    }

    struct json_object *fcfg = frontend_config(&s);
    if (!fcfg || check_frontend_config(lf, fcfg) != 0) {
        json_object_put(fcfg);
        return 2;
    }
    char err[512] = "";
    /* Plugins read their config as doc values, valid while create runs. */
    struct arena mem;
    arena_init(&mem, 0);
    int cerr = 0;
    const doc *dcfg = doc_from_jsonc(&mem, fcfg, NULL, &cerr);
    void *fe = NULL;
    if (cerr) {
        snprintf(err, sizeof err, "out of memory");
    } else {
        struct arena *was = evalctx_enter(&mem);
        fe = lf->t.create(host_table(), (const pc_value *)dcfg, err, sizeof err);
        evalctx_enter(was);
    }
    arena_free(&mem);
    json_object_put(fcfg);
    if (!fe) {
        serve_fail("frontend %s: %s", s.frontend, err);
        return 2;
    }
    if (lf->t.start(fe, err, sizeof err) != PC_OK) {
        serve_fail("%s", err);
        lf->t.destroy(fe);
        return 2;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP && s.watch) {
            plog(PC_LOG_INFO, "config", "SIGHUP: AuthConfigs come from the Kubernetes API; "
                                        "nothing to reload");
            continue;
        }
        if (sig == SIGHUP) {
            plog(PC_LOG_INFO, "config", "SIGHUP: reloading AuthConfigs");
            filewatch_reload_all();
            continue;
        }
        plog(PC_LOG_INFO, "portcullis", "signal %d: draining for up to %lld ms", sig,
             (long long)s.grace_ms);
        break;
    }
    filewatch_stop(); /* no reload while draining */
    /* Readiness goes down at once; what the frontend already received is
     * still decided during the grace period, and only then does submit
     * answer "Busy". */
    submit_set_draining(1);
    lf->t.stop(fe, s.grace_ms);
    submit_set_ready(0);
    lf->t.destroy(fe);
    controller_stop();
    workers_stop();
    trace_stop();
    snapshot_install(NULL);
    confhook_reset();
    kube_teardown();
    plog(PC_LOG_INFO, "portcullis", "stopped");
    return 0;
}
