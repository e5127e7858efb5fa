/* portcullis eval : one CheckRequest (Envoy's proto3 JSON) through the
 * pipeline, printing the decision for people or as JSON. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "config/celcfg.h"
#include "config/cfgerr.h"
#include "host/hostimpl.h"
#include "kube/kube.h"
#include "metrics/metrics.h"
#include "plugin/confhook.h"
#include "plugin/loader.h"
#include "request/checkjson.h"
#include "server/submit.h"
#include "server/workers.h"
#include "util/buf.h"


static void usage(FILE *f)
{
    fprintf(f,
            "usage: portcullis eval --authconfigs PATH... --request FILE [options]\n"
            "Runs one CheckRequest, given in Envoy's proto3 JSON form (as\n"
            "MessageToJson prints envoy.service.auth.v3.CheckRequest), through the\n"
            "AuthConfigs and prints the decision.\n\n"
            "  -a, --authconfigs PATH  AuthConfig file or directory (repeatable)\n"
            "  -r, --request FILE      the CheckRequest JSON; - reads standard input\n"
            "  -o, --output FORMAT     text (default) or json\n"
            "  -e, --explain           show every evaluator's outcome and time, and the\n"
            "                          value of every CEL predicate evaluated\n"
            "  -p, --plugin-dir DIR    load plugins from DIR (repeatable)\n"
            "      --config-hook NAME:FILE\n"
            "                          run each AuthConfig through a config hook first,\n"
            "                          as serve does (repeatable), e.g. lua:hooks.lua\n"
            "  -k, --kubeconfig FILE   Kubernetes client config for evaluators that call\n"
            "                          the API (default: in-cluster, else $KUBECONFIG)\n"
            "  -h, --help              show this help\n\n"
            "Exit status: 0 allowed, 1 denied, 2 the request or configs are unusable.\n");
}

static const char *phase_label(pc_phase p)
{
    static const char *const n[] = {"identity", "metadata", "authorization",
                                    "response", "callback"};
    return (unsigned)p < PC_PHASE_COUNT_ ? n[p] : "?";
}

/* The CEL predicates evaluated, in order, for --explain. */
typedef struct cel_seen {
    struct json_object *list; /* [{path, predicate, value}] */
} cel_seen;

static void on_predicate(void *arg, const char *path, const char *src, const char *result)
{
    cel_seen *cs = arg;
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "path", json_object_new_string(path ? path : ""));
    json_object_object_add(e, "predicate", json_object_new_string(src));
    json_object_object_add(e, "value", json_object_new_string(result));
    json_object_array_add(cs->list, e);
}

static const char *jget(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return json_object_get_string(v);
}

static void print_text(const pipe_result *r, const cel_seen *cs)
{
    printf("%s  (gRPC %s %d, HTTP %d)", r->allowed ? "ALLOW" : "DENY",
           metrics_code_name(r->grpc_code), r->grpc_code, r->http_status);
    if (r->authconfig)
        printf("  authconfig %s", r->authconfig);
    printf("\n");
    if (r->reason && *r->reason)
        printf("reason: %s\n", r->reason);
    for (size_t i = 0; i < r->n_headers; i++)
        printf("header %.*s: %.*s\n", (int)r->headers[i].name.len,
               r->headers[i].name.ptr, (int)r->headers[i].value.len,
               r->headers[i].value.ptr);
    if (r->body && *r->body)
        printf("body: %s\n", r->body);
    if (r->dynmeta) {
        buf b;
        buf_init(&b);
        if (doc_to_json(&b, r->dynmeta) == 0)
            printf("dynamic_metadata: %s\n", b.data);
        buf_free(&b);
    }
    if (r->explain) {
        printf("evaluators:\n");
        for (size_t i = 0; i < r->n_trace; i++) {
            const pipe_trace *t = &r->trace[i];
            printf("  %-13s %-24s %-22s %-8s %8.1f us%s%s\n", phase_label(t->phase),
                   t->name, t->type, t->outcome, (double)t->ns / 1000.0,
                   t->reason[0] ? "  " : "", t->reason);
        }
        size_t n = cs->list ? json_object_array_length(cs->list) : 0;
        if (n)
            printf("predicates:\n");
        for (size_t i = 0; i < n; i++) {
            struct json_object *e = json_object_array_get_idx(cs->list, i);
            printf("  %s: %s  =>  %s\n", jget(e, "path"), jget(e, "predicate"),
                   jget(e, "value"));
        }
    }
}

static void print_json(const pipe_result *r, const cel_seen *cs)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "allowed", json_object_new_boolean(r->allowed));
    json_object_object_add(o, "code", json_object_new_int(r->grpc_code));
    json_object_object_add(o, "http_status", json_object_new_int(r->http_status));
    struct json_object *h = json_object_new_object();
    for (size_t i = 0; i < r->n_headers; i++) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)r->headers[i].name.len,
                 r->headers[i].name.ptr);
        struct json_object *old;
        if (json_object_object_get_ex(h, name, &old)) {
            /* Several challenges join as RFC 7235 allows. */
            buf b;
            buf_init(&b);
            buf_printf(&b, "%s, %.*s", json_object_get_string(old),
                       (int)r->headers[i].value.len, r->headers[i].value.ptr);
            json_object_object_add(h, name, json_object_new_string(b.data));
            buf_free(&b);
            continue;
        }
        json_object_object_add(h, name, json_object_new_string_len(
                                            r->headers[i].value.ptr,
                                            (int)r->headers[i].value.len));
    }
    json_object_object_add(o, "headers", h);
    json_object_object_add(o, "body", json_object_new_string(r->body ? r->body : ""));
    struct json_object *dm = NULL;
    if (r->dynmeta && doc_to_jsonc(r->dynmeta, &dm) != 0)
        dm = NULL;
    json_object_object_add(o, "dynamic_metadata", dm);
    json_object_object_add(o, "reason", json_object_new_string(r->reason ? r->reason : ""));
    json_object_object_add(o, "authconfig",
                           r->authconfig ? json_object_new_string(r->authconfig) : NULL);
    if (r->explain) {
        struct json_object *ex = json_object_new_array();
        for (size_t i = 0; i < r->n_trace; i++) {
            const pipe_trace *t = &r->trace[i];
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "phase", json_object_new_string(phase_label(t->phase)));
            json_object_object_add(e, "name", json_object_new_string(t->name));
            json_object_object_add(e, "type", json_object_new_string(t->type));
            json_object_object_add(e, "outcome", json_object_new_string(t->outcome));
            json_object_object_add(e, "duration_us", json_object_new_double((double)t->ns / 1000.0));
            if (t->reason[0])
                json_object_object_add(e, "reason", json_object_new_string(t->reason));
            json_object_array_add(ex, e);
        }
        json_object_object_add(o, "explain", ex);
        if (cs->list)
            json_object_object_add(o, "predicates", json_object_get(cs->list));
    }
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"authconfigs", required_argument, NULL, 'a'},
        {"request", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"explain", no_argument, NULL, 'e'},
        {"plugin-dir", required_argument, NULL, 'p'},
        {"kubeconfig", required_argument, NULL, 'k'},
        {"config-hook", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char *dirs[32], *paths[64];
    const char *hooks[CONFHOOK_MAX + 1];
    int nd = 0, np = 0, nh = 0, explain = 0, json = 0, c;
    const char *request = NULL, *kubeconfig = NULL;
    while ((c = getopt_long(argc, argv, "a:r:o:ep:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': if (np < 64) paths[np++] = optarg; break;
        case 'r': request = optarg; break;
        case 'o':
            if (strcmp(optarg, "json") == 0) json = 1;
            else if (strcmp(optarg, "text") == 0) json = 0;
            else {
                fprintf(stderr, "portcullis eval: --output must be text or json\n");
                return 2;
            }
            break;
        case 'e': explain = 1; break;
        case 'p': if (nd < 32) dirs[nd++] = optarg; break;
        case 'k': kubeconfig = optarg; break;
        case 'c': if (nh < CONFHOOK_MAX + 1) hooks[nh++] = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    for (; optind < argc && np < 64; optind++)
        paths[np++] = argv[optind];
    if (!np || !request) {
        usage(stderr);
        return 2;
    }
    size_t len;
    char *text = cli_read_file(request, &len);
    if (!text) {
        fprintf(stderr, "portcullis eval: cannot read %s: %s\n", request, strerror(errno));
        return 2;
    }
    checkjson cj;
    char err[256];
    int rc = checkjson_parse(text, len, &cj, err, sizeof err);
    if (rc == CHECKJSON_SYNTAX) {
        fprintf(stderr, "portcullis eval: %s: %s\n", request, err);
        free(text);
        return 2;
    }
    char kerr[512];
    if (kube_setup(kubeconfig, kerr, sizeof kerr) < 0) {
        fprintf(stderr, "portcullis eval: %s\n", kerr);
        checkjson_free(&cj);
        free(text);
        return 2;
    }
    cli_load_plugins(dirs, nd, 0);
    if (cli_add_hooks("eval", hooks, nh) < 0) {
        checkjson_free(&cj);
        free(text);
        loader_reset();
        kube_teardown();
        return 2;
    }
    snapshot_sink sink = {cfgerr_print_error, NULL, NULL};
    snapshot *s = snapshot_load(host_table(), (const char *const *)paths, (size_t)np, &sink);
    if (!s || !cli_usable_paths("eval", s)) {
        snapshot_unref(s);
        confhook_reset();
        checkjson_free(&cj);
        free(text);
        loader_reset();
        kube_teardown();
        return 2;
    }
    pipe_result r;
    cel_seen cs = {explain ? json_object_new_array() : NULL};
    if (explain)
        celcfg_observe(on_predicate, &cs);
    if (rc == CHECKJSON_NO_HTTP) {
        pipe_result_init(&r, explain);
        pipe_result_deny(&r, PC_GRPC_INVALID_ARGUMENT, 400, "Invalid request");
    } else {
        /* The serving path: blocking evaluators run on a worker, as in
         * `serve`, after the inline try. */
        int pool = workers_start(1);
        submit_decide(s, &cj.view, explain, &r);
        if (pool == 0)
            workers_stop();
    }
    celcfg_observe(NULL, NULL);
    if (json)
        print_json(&r, &cs);
    else
        print_text(&r, &cs);
    json_object_put(cs.list);
    int allowed = r.allowed;
    pipe_result_free(&r);
    checkjson_free(&cj);
    free(text);
    snapshot_unref(s);
    confhook_reset();
    loader_reset();
    kube_teardown();
    return allowed ? 0 : 1;
}
