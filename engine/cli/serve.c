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
#include <sys/resource.h>
#include <unistd.h>
#include "cli.h"
#include "cache/cache.h"
#include "config/celcfg.h"
#include "config/cfgerr.h"
#include "config/ydoc.h"
#include "controller/controller.h"
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
    int watch;                       /* -1: decide (in a cluster or with a
                                        kubeconfig, and no AuthConfig paths) */
    const char *watch_ns, *ac_selector, *secret_selector;
    int write_status;
    int leader_election;
    const char *lease_ns;
    int64_t lease_ms;
    /* Frontend settings passed through as they are (limits, timeouts):
     * the file's frontendOptions object, then KEY=VALUE options. */
    struct json_object *fe_file_opts;
    const char *fe_opts[MAXLIST];
    int n_fe_opts;
    const char *cache_max_bytes; /* text, checked in cache_setting() */
    const char *cel_steps, *cel_bytes; /* text, checked by celcfg_setting() */
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
        "  --watch-authconfigs       read AuthConfigs from the Kubernetes API (list +\n"
        "                            watch); default when in a cluster or given a\n"
        "                            kubeconfig, and no --authconfigs path\n"
        "  --no-watch-authconfigs    never watch, even then\n"
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
        "  --frontend-option KEY=VALUE\n"
        "                            a frontend setting, e.g. memory_budget_bytes=268435456\n"
        "                            (repeatable; docs/configuration.md lists them)\n"
        "  --cache-max-bytes N       memory budget of each evaluator cache, bytes\n"
        "                            (default 67108864 = 64 MiB)\n"
        "  --cel-max-steps N         steps one CEL evaluation may take (default 100000)\n"
        "  --cel-max-bytes N         memory one CEL evaluation may use (default 1048576)\n"
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
    "\"watchAuthConfigs\":{\"type\":\"boolean\"},"
    "\"watchNamespace\":{\"type\":\"string\"},"
    "\"authConfigLabelSelector\":{\"type\":\"string\"},"
    "\"secretLabelSelector\":{\"type\":\"string\"},"
    "\"statusUpdates\":{\"type\":\"boolean\"},"
    "\"frontendOptions\":{\"type\":\"object\"},"

    "\"cache\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
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
    json_object_object_get_ex(o, "frontendOptions", &s->fe_file_opts);
    struct json_object *ca = NULL, *mb = NULL;
    if (json_object_object_get_ex(o, "cache", &ca) &&
        json_object_object_get_ex(ca, "maxBytes", &mb))
        s->cache_max_bytes = json_object_get_string(mb);
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
    if ((v = getenv("PORTCULLIS_CACHE_MAX_BYTES"))) s->cache_max_bytes = v;
    if ((v = getenv("PORTCULLIS_CEL_MAX_STEPS"))) s->cel_steps = v;
    if ((v = getenv("PORTCULLIS_CEL_MAX_BYTES"))) s->cel_bytes = v;
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

static void on_synced(void *arg)
{
    (void)arg;
    submit_set_ready(1);
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

static struct json_object *frontend_config(const settings *s)
{
    struct json_object *o = json_object_new_object();
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

static void on_fe_problem(void *arg, const char *sub, const struct json_object *node,
                          const char *msg, int unknown)
{
    (void)node;
    (void)unknown;
    fprintf(stderr, "portcullis serve: frontend option%s%s: %s\n", *sub ? " " : "", sub, msg);
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
        fprintf(stderr, "portcullis serve: frontend schema: %s\n", err);
        return -1;
    }
    int problems = 0;
    schema_validate(sc, cfg, on_fe_problem, &problems);
    schema_free(sc);
    return problems ? -1 : 0;
}

static int serve_main(int argc, char **argv, ydoc_file **cfgfile, char **envlists);

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
    char *envlists[3] = {NULL, NULL, NULL};
    int rc = serve_main(argc, argv, &cfgfile, envlists);
    ydoc_file_free(cfgfile);
    for (int i = 0; i < 3; i++)
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
        {"cel-max-steps", required_argument, NULL, 19},
        {"cel-max-bytes", required_argument, NULL, 20},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    settings s = {.grpc_addr = "0.0.0.0:50051", .http_addr = "0.0.0.0:5001",
                  .admin_addr = "0.0.0.0:8080", .workers = 32, .log_level = "info",
                  .log_format = "json", .grace_ms = 10000,
                  .frontend = "envoy_ext_authz", .watch = -1, .write_status = 1,
                  .secret_selector = "authorino.kuadrant.io/managed-by=authorino"};
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
    int flag_ac = 0, flag_pd = 0, flag_fo = 0;
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
        case 19: s.cel_steps = optarg; break;
        case 20: s.cel_bytes = optarg; break;
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
    for (int i = 0; i < s.n_fe_opts; i++) {
        const char *eq = strchr(s.fe_opts[i], '=');
        if (!eq || eq == s.fe_opts[i] || eq - s.fe_opts[i] >= 128) {
            fprintf(stderr, "portcullis serve: --frontend-option \"%s\": want KEY=VALUE\n",
                    s.fe_opts[i]);
            return 2;
        }
    }
    if (cache_setting(&s) < 0)
        return 2;
    char celerr[160];
    if (celcfg_setting(s.cel_steps, s.cel_bytes, celerr, sizeof celerr) < 0) {
        fprintf(stderr, "portcullis serve: %s\n", celerr);
        return 2;
    }
    metrics_set_deep(s.deep_metrics);
    if ((s.tls_cert == NULL) != (s.tls_key == NULL)) {
        fprintf(stderr, "portcullis serve: --tls-cert and --tls-key go together\n");
        return 2;
    }
    plog_setup(lvl, fmt);
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
    if (s.watch < 0) {
        const char *incluster = getenv("KUBERNETES_SERVICE_HOST");
        s.watch = s.n_authconfigs == 0 && kube_configured() &&
                  ((incluster && *incluster) || s.kubeconfig);
    }
    if (s.watch && s.n_authconfigs) {
        fprintf(stderr, "portcullis serve: AuthConfigs come either from the Kubernetes API "
                        "(--watch-authconfigs) or from files (--authconfigs), not both\n");
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
                              .write_status = s.write_status, .on_synced = on_synced};
        char cerr[512];
        if (controller_start(&co, cerr, sizeof cerr) < 0) {
            fprintf(stderr, "portcullis serve: %s\n", cerr);
            return 2;
        }
    } else {
        snapshot *snap = load(&s);
        if (!snap)
            return 2;
        snapshot_install(snap);
        metrics_set_authconfigs(snap->n_configs);
        submit_set_ready(1);
    }

    struct json_object *fcfg = frontend_config(&s);
    if (!fcfg || check_frontend_config(lf, fcfg) != 0) {
        json_object_put(fcfg);
        return 2;
    }
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
        if (sig == SIGHUP && s.watch) {
            plog(PC_LOG_INFO, "config", "SIGHUP: AuthConfigs come from the Kubernetes API; "
                                        "nothing to reload");
            continue;
        }
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
    /* Readiness goes down at once; what the frontend already received is
     * still decided during the grace period, and only then does submit
     * answer "Busy". */
    submit_set_draining(1);
    lf->t.stop(fe, s.grace_ms);
    submit_set_ready(0);
    lf->t.destroy(fe);
    controller_stop();
    workers_stop();
    snapshot_install(NULL);
    kube_teardown();
    plog(PC_LOG_INFO, "portcullis", "stopped");
    return 0;
}
