/* portcullis serve : loads plugins and AuthConfigs, starts the frontend,
 * and waits for signals (SIGTERM/SIGINT: drain and exit 0; SIGHUP: reload).
 *
 * Settings come from, in rising precedence: the server config file
 * (--config), PORTCULLIS_* environment variables, flags. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "cache/cache.h"
#include "config/cfgerr.h"
#include "config/ydoc.h"
#include "metrics/metrics.h"
#include "plugin/hostimpl.h"
#include "plugin/loader.h"
#include "plugin/schema.h"
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
    const char *kubeconfig, *config;
    int workers, io_threads;
    const char *tls_cert, *tls_key, *tls_client_ca;
    const char *log_level, *log_format;
    int64_t timeout_ms, grace_ms;
    const char *frontend;
    const char *cache_max_bytes; /* text, checked in cache_setting() */
    int deep_metrics;
} settings;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: portcullis serve [options]\n"
        "Runs the authorization server: Envoy ext_authz over gRPC, HTTP\n"
        "authorization, and an admin port with /healthz, /readyz, /metrics.\n\n"
        "  --grpc-addr HOST:PORT     gRPC listener (default 0.0.0.0:50051; port 0 disables)\n"
        "  --http-addr HOST:PORT     HTTP listener (default 0.0.0.0:5001)\n"
        "  --admin-addr HOST:PORT    admin listener (default 0.0.0.0:8080)\n"
        "  --authconfigs PATH        AuthConfig file or directory (repeatable)\n"
        "  --plugin-dir DIR          plugin directory (repeatable; default: installed)\n"
        "  --kubeconfig FILE         Kubernetes client config (default: in-cluster,\n"
        "                            then $KUBECONFIG)\n"
        "  --config FILE             server config file (YAML)\n"
        "  --workers N               worker threads for blocking pipelines (default 32)\n"
        "  --io-threads N            I/O threads (default: number of cores)\n"
        "  --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]\n"
        "                            serve gRPC and HTTP over TLS (mTLS with a CA)\n"
        "  --timeout MS              default deadline of a check (default 0 = none)\n"
        "  --cache-max-bytes N       memory budget of each evaluator cache, bytes\n"
        "                            (default 67108864 = 64 MiB)\n"
        "  --deep-metrics-enabled    auth_server_evaluator_* for every evaluator, not\n"
        "                            only those with metrics: true (default off)\n"
        "  --log-level LEVEL         debug, info, warn, error (default info)\n"
        "  --log-format FORMAT       json (default) or text\n"
        "  -h, --help                show this help\n\n"
        "Every flag is also read from the environment as PORTCULLIS_<FLAG>, e.g.\n"
        "PORTCULLIS_GRPC_ADDR, PORTCULLIS_AUTHCONFIGS (a colon-separated list).\n");
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
    "\"grpc\":{\"type\":\"string\"},\"http\":{\"type\":\"string\"},\"admin\":{\"type\":\"string\"}}},"
    "\"tls\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"cert\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"},\"clientCA\":{\"type\":\"string\"}}},"
    "\"authconfigs\":{\"type\":[\"string\",\"array\"],\"items\":{\"type\":\"string\"}},"
    "\"plugins\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"dirs\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},"
    "\"kubeconfig\":{\"type\":\"string\"},"
    "\"log\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"level\":{\"enum\":[\"debug\",\"info\",\"warn\",\"error\"]},"
    "\"format\":{\"enum\":[\"json\",\"text\"]}}},"
    "\"workers\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4096},"
    "\"ioThreads\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":256},"
    "\"timeoutMs\":{\"type\":\"integer\",\"minimum\":0},"
    "\"gracePeriodMs\":{\"type\":\"integer\",\"minimum\":0},"
    "\"frontend\":{\"type\":\"string\"},"
    "\"cache\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"maxBytes\":{\"type\":\"integer\",\"minimum\":65536}}},"
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
        fprintf(stderr, "portcullis serve: %s\n", err);
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
    if (jstr(t, "cert")) s->tls_cert = jstr(t, "cert");
    if (jstr(t, "key")) s->tls_key = jstr(t, "key");
    if (jstr(t, "clientCA")) s->tls_client_ca = jstr(t, "clientCA");
    jlist(o, "authconfigs", s->authconfigs, &s->n_authconfigs);
    jlist(p, "dirs", s->plugin_dirs, &s->n_plugin_dirs);
    if (jstr(o, "kubeconfig")) s->kubeconfig = jstr(o, "kubeconfig");
    if (jstr(lg, "level")) s->log_level = jstr(lg, "level");
    if (jstr(lg, "format")) s->log_format = jstr(lg, "format");
    if (jstr(o, "frontend")) s->frontend = jstr(o, "frontend");
    struct json_object *ca = NULL, *mb = NULL;
    if (json_object_object_get_ex(o, "cache", &ca) &&
        json_object_object_get_ex(ca, "maxBytes", &mb))
        s->cache_max_bytes = json_object_get_string(mb);
    struct json_object *me = NULL, *dp = NULL;
    if (json_object_object_get_ex(o, "metrics", &me) &&
        json_object_object_get_ex(me, "deep", &dp))
        s->deep_metrics = json_object_get_boolean(dp);
    s->workers = jint(o, "workers", s->workers);
    s->io_threads = jint(o, "ioThreads", s->io_threads);
    s->timeout_ms = jint(o, "timeoutMs", (int)s->timeout_ms);
    s->grace_ms = jint(o, "gracePeriodMs", (int)s->grace_ms);
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
    if ((v = getenv("PORTCULLIS_CACHE_MAX_BYTES"))) s->cache_max_bytes = v;
    if ((v = getenv("PORTCULLIS_DEEP_METRICS_ENABLED")))
        s->deep_metrics = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    if ((v = getenv("PORTCULLIS_AUTHCONFIGS")) && (lists[0] = strdup(v)))
        split_list(lists[0], s->authconfigs, &s->n_authconfigs);
    if ((v = getenv("PORTCULLIS_PLUGIN_DIR")) && (lists[1] = strdup(v)))
        split_list(lists[1], s->plugin_dirs, &s->n_plugin_dirs);
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
        fprintf(stderr, "portcullis serve: --cache-max-bytes must be a number of bytes, "
                        "at least 65536 (got \"%s\")\n", s->cache_max_bytes);
        return -1;
    }
    cache_set_default_max_bytes((size_t)n);
    return 0;
}

/* ---- running ---- */

static void log_problem(void *arg, const char *line)
{
    (void)arg;
    plog(PC_LOG_ERROR, "config", "%s", line);
}

static void log_warning(void *arg, const char *line)
{
    (void)arg;
    plog(PC_LOG_WARN, "config", "%s", line);
}

static void log_refusal(void *arg, const char *line)
{
    (void)arg;
    plog(PC_LOG_ERROR, "plugins", "%s", line);
}

static snapshot *load(const settings *s)
{
    snapshot_sink sink = {log_problem, log_warning, NULL};
    snapshot *snap = snapshot_load(s->authconfigs, (size_t)s->n_authconfigs, &sink);
    if (snap)
        plog(PC_LOG_INFO, "config", "loaded %zu AuthConfigs from %d files (%d errors, %d warnings)",
             snap->n_configs, snap->files, snap->errors, snap->warnings);
    return snap;
}

static struct json_object *frontend_config(const settings *s)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "grpc_addr", json_object_new_string(s->grpc_addr));
    json_object_object_add(o, "http_addr", json_object_new_string(s->http_addr));
    json_object_object_add(o, "admin_addr", json_object_new_string(s->admin_addr));
    if (s->io_threads > 0)
        json_object_object_add(o, "io_threads", json_object_new_int(s->io_threads));
    if (s->tls_cert || s->tls_key) {
        struct json_object *t = json_object_new_object();
        if (s->tls_cert) json_object_object_add(t, "cert", json_object_new_string(s->tls_cert));
        if (s->tls_key) json_object_object_add(t, "key", json_object_new_string(s->tls_key));
        if (s->tls_client_ca)
            json_object_object_add(t, "client_ca", json_object_new_string(s->tls_client_ca));
        json_object_object_add(o, "tls", t);
    }
    return o;
}

static int serve_main(int argc, char **argv, ydoc_file **cfgfile, char **envlists);

int cmd_serve(int argc, char **argv)
{
    /* Everything serve_main reads from files and the environment lives
     * here, so every exit path frees it. */
    ydoc_file *cfgfile = NULL;
    char *envlists[2] = {NULL, NULL};
    int rc = serve_main(argc, argv, &cfgfile, envlists);
    ydoc_file_free(cfgfile);
    free(envlists[0]);
    free(envlists[1]);
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
        {"cache-max-bytes", required_argument, NULL, 7},
        {"deep-metrics-enabled", no_argument, NULL, 8},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    settings s = {.grpc_addr = "0.0.0.0:50051", .http_addr = "0.0.0.0:5001",
                  .admin_addr = "0.0.0.0:8080", .workers = 32, .log_level = "info",
                  .log_format = "json", .grace_ms = 10000,
                  .frontend = "envoy_ext_authz"};
    /* First pass: only --config and --help, so the file can sit under the
     * environment and the flags. */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c')
            s.config = optarg;
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
    }
    if (!s.config)
        s.config = getenv("PORTCULLIS_CONFIG");
    if (s.config && read_config_file(&s, cfgfile) < 0)
        return 2;
    read_env(&s, envlists);
    optind = 1;
    opterr = 1;
    int flag_ac = 0, flag_pd = 0;
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
        case 4: s.log_level = optarg; break;
        case 5: s.log_format = optarg; break;
        case 6: s.timeout_ms = atoll(optarg); break;
        case 7: s.cache_max_bytes = optarg; break;
        case 8: s.deep_metrics = 1; break;
        default: usage(stderr); return 2;
        }
    }
    pc_log_level lvl;
    plog_format fmt;
    if (plog_parse_level(s.log_level, &lvl) < 0 || plog_parse_format(s.log_format, &fmt) < 0) {
        fprintf(stderr, "portcullis serve: bad --log-level or --log-format\n");
        return 2;
    }
    if (s.workers < 1 || s.workers > 4096) {
        fprintf(stderr, "portcullis serve: --workers must be 1..4096\n");
        return 2;
    }
    if (cache_setting(&s) < 0)
        return 2;
    metrics_set_deep(s.deep_metrics);
    if ((s.tls_cert == NULL) != (s.tls_key == NULL)) {
        fprintf(stderr, "portcullis serve: --tls-cert and --tls-key go together\n");
        return 2;
    }
    plog_setup(lvl, fmt);
    /* Many worker threads each get a malloc arena by default; a few shared
     * ones keep resident memory flat under bursts of blocking checks. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 4);

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
    char kerr[512];
    if (kube_setup(s.kubeconfig, kerr, sizeof kerr) < 0) {
        fprintf(stderr, "portcullis serve: %s\n", kerr);
        return 2;
    }
    const loader_frontend *lf = loader_find_frontend(s.frontend);
    if (!lf) {
        fprintf(stderr, "portcullis serve: no plugin provides the frontend \"%s\" "
                        "(plugin directory: %s)\n", s.frontend,
                s.n_plugin_dirs ? s.plugin_dirs[0] : loader_default_dir());
        return 2;
    }
    if (workers_start(s.workers) < 0) {
        fprintf(stderr, "portcullis serve: cannot start worker threads\n");
        return 2;
    }
    submit_install(s.timeout_ms);
    snapshot *snap = load(&s);
    if (!snap)
        return 2;
    snapshot_install(snap);
    metrics_set_authconfigs(snap->n_configs);
    submit_set_ready(1);

    struct json_object *fcfg = frontend_config(&s);
    char err[512] = "";
    void *fe = lf->t.create(host_table(), (const pc_value *)fcfg, err, sizeof err);
    json_object_put(fcfg);
    if (!fe) {
        fprintf(stderr, "portcullis serve: frontend %s: %s\n", s.frontend, err);
        return 2;
    }
    if (lf->t.start(fe, err, sizeof err) != PC_OK) {
        fprintf(stderr, "portcullis serve: %s\n", err);
        lf->t.destroy(fe);
        return 2;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            plog(PC_LOG_INFO, "config", "SIGHUP: reloading AuthConfigs");
            snapshot *next = load(&s);
            if (next && next->errors == 0) {
                snapshot_install(next);
                metrics_set_authconfigs(next->n_configs);
                plog(PC_LOG_INFO, "config", "reloaded");
            } else {
                plog(PC_LOG_ERROR, "config",
                     "reload had %d errors: keeping the previous AuthConfigs",
                     next ? next->errors : -1);
                snapshot_unref(next);
            }
            continue;
        }
        plog(PC_LOG_INFO, "portcullis", "signal %d: draining for up to %lld ms", sig,
             (long long)s.grace_ms);
        break;
    }
    submit_set_ready(0);
    lf->t.stop(fe, s.grace_ms);
    lf->t.destroy(fe);
    workers_stop();
    snapshot_install(NULL);
    kube_teardown();
    plog(PC_LOG_INFO, "portcullis", "stopped");
    return 0;
}
