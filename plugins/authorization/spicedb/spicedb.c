/*
 * authorization "spicedb": asks an Authzed/SpiceDB server whether the
 * subject has the permission on the resource (authzed.api.v1
 * PermissionsService/CheckPermission over gRPC), as Authorino does. Granted
 * only on PERMISSIONSHIP_HAS_PERMISSION; any other permissionship denies
 * with "<PERMISSIONSHIP_...>;token=<checked_at>", and any gRPC or transport
 * error denies with the error. auth.authorization.NAME is
 * {"checked_at": {"token": ...}, "permissionship": 2}.
 *
 * Every kind, name and permission is a value or selector, sent as its
 * text. sharedSecretRef names a Secret whose key is the preshared key,
 * sent as `authorization: Bearer <key>`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"
#include "sdb.h"

#define SDB_VOS "{\"type\":\"object\"}"
#define SDB_OBJ                                                               \
    "{\"type\":\"object\",\"required\":[\"kind\",\"name\"],"                   \
    "\"additionalProperties\":false,\"properties\":{"                        \
    "\"kind\":" SDB_VOS ",\"name\":" SDB_VOS "}}"

static const char sdb_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"endpoint\",\"subject\",\"resource\",\"permission\"],\"properties\":{"
    "\"endpoint\":{\"type\":\"string\"},"
    "\"insecure\":{\"type\":\"boolean\",\"default\":false},"
    "\"sharedSecretRef\":{\"type\":\"object\",\"required\":[\"name\",\"key\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"}}},"
    "\"subject\":" SDB_OBJ ","
    "\"resource\":" SDB_OBJ ","
    "\"permission\":" SDB_VOS ","
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":300000,\"default\":5000}}}";

static void wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
    free(s);
}

static void sdb_destroy(void *p)
{
    sdb_inst *in = p;
    if (!in)
        return;
    const pc_host *h = in->host;
    sdb_pool_drain(in);
    pthread_mutex_destroy(&in->pool_mu);
    /* The key is in one of these lines: wipe them all before freeing. */
    for (struct curl_slist *l = in->headers; l; l = l->next) {
        volatile char *v = l->data;
        while (v && *v)
            *v++ = '\0';
    }
    curl_slist_free_all(in->headers);
    pc_vos *vs[] = {in->subject.kind, in->subject.name, in->resource.kind, in->resource.name,
                    in->permission};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        if (vs[i])
            h->vos_free(vs[i]);
    free(in->url);
    free(in->host_name);
    free(in->port);
    free(in->authority);
    wipe_free(in->bearer);
    free(in->ca_file);
    free(in->ca_path);
    free(in);
    curl_global_cleanup();
}

/* endpoint is a gRPC target, host:port or [v6]:port; without a port gRPC
 * clients dial 443. Anything else (a URL, a path) is a config error.
 * Fills url (TLS), host_name and port (the h2c dialer) and authority. */
static int parse_endpoint(sdb_inst *in, const char *ep, char *err, size_t errlen)
{
    size_t n = ep ? strlen(ep) : 0;
    size_t host_start = 0, host_end = n;
    const char *port = NULL;
    int v6 = n && ep[0] == '[';
    if (v6) {
        const char *rb = strchr(ep, ']');
        host_start = 1;
        host_end = rb ? (size_t)(rb - ep) : 0;
        if (rb && rb[1] == ':')
            port = rb + 2;
        else if (rb && rb[1])
            host_end = 0;
    } else {
        const char *colon = strchr(ep ? ep : "", ':');
        if (colon) {
            host_end = (size_t)(colon - ep);
            port = colon + 1;
        }
    }
    int ok = host_end > host_start && n < 256;
    for (size_t i = host_start; ok && i < host_end; i++) {
        char c = ep[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == '_' || (v6 && c == ':');
    }
    long pn = 443;
    if (ok && port) {
        char *end = NULL;
        pn = strtol(port, &end, 10);
        ok = *port >= '0' && *port <= '9' && end && !*end && pn > 0 && pn < 65536;
    }
    if (!ok) {
        snprintf(err, errlen, "endpoint: expected host:port (the gRPC address of SpiceDB), got \"%.80s\"",
                 ep ? ep : "");
        return -1;
    }
    int hl = (int)(host_end - host_start);
    const char *host = ep + host_start;
    char authority[300], ports[8];
    snprintf(ports, sizeof ports, "%ld", pn);
    snprintf(authority, sizeof authority, v6 ? "[%.*s]:%s" : "%.*s:%s", hl, host, ports);
    size_t ul = strlen(authority) + sizeof SDB_METHOD_PATH + 8;
    in->url = malloc(ul);
    in->host_name = strndup(host, (size_t)hl);
    in->port = strdup(ports);
    in->authority = strdup(authority);
    if (!in->url || !in->host_name || !in->port || !in->authority) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(in->url, ul, "https://%s" SDB_METHOD_PATH, authority);
    return 0;
}

static pc_vos *compile(const pc_host *h, pc_create_ctx *cc, const pc_value *spec,
                       const char *what, char *err, size_t errlen)
{
    char verr[256] = "";
    pc_vos *v = h->vos_compile(cc, spec, verr, sizeof verr);
    if (!v)
        snprintf(err, errlen, "%s: %s", what, verr[0] ? verr : "expected {value} or {selector}");
    return v;
}

static int compile_obj(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       const char *key, sdb_obj *o, char *err, size_t errlen)
{
    char what[32];
    const pc_value *spec = h->value_get(cfg, key);
    snprintf(what, sizeof what, "%s.kind", key);
    if (!(o->kind = compile(h, cc, h->value_get(spec, "kind"), what, err, errlen)))
        return -1;
    snprintf(what, sizeof what, "%s.name", key);
    if (!(o->name = compile(h, cc, h->value_get(spec, "name"), what, err, errlen)))
        return -1;
    return 0;
}

/* The fixed request headers; the key is sent as a bearer token, as
 * Authzed's clients send it. */
static int build_headers(sdb_inst *in, const char *key, char *err, size_t errlen)
{
    static const char *const fixed[] = {
        "Content-Type: application/grpc", "TE: trailers", "User-Agent: " SDB_USER_AGENT,
        "Accept:", "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *l = curl_slist_append(in->headers, fixed[i]);
        if (!l)
            goto oom;
        in->headers = l;
    }
    if (key) {
        size_t n = strlen(key) + sizeof "Authorization: Bearer ";
        char *line = malloc(n);
        if (!line)
            goto oom;
        snprintf(line, n, "Authorization: Bearer %s", key);
        struct curl_slist *l = curl_slist_append(in->headers, line);
        /* The h2c path sends the value on its own. */
        in->bearer = strdup(line + sizeof "Authorization: " - 1);
        memset(line, 0, n);
        free(line);
        if (!l || !in->bearer)
            goto oom;
        in->headers = l;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static char *env_copy(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

static void *sdb_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg, char *err,
                        size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return NULL;
    }
    sdb_inst *in = calloc(1, sizeof *in);
    if (!in) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = h;
    pthread_mutex_init(&in->pool_mu, NULL);
    char *key = NULL;
    in->insecure = h->value_bool(h->value_get(cfg, "insecure"));
    in->timeout_ms = h->value_int(h->value_get(cfg, "timeout"));
    if (parse_endpoint(in, h->value_string(h->value_get(cfg, "endpoint"), NULL), err,
                       errlen) < 0)
        goto fail;
    const pc_value *ref = h->value_get(cfg, "sharedSecretRef");
    if (ref) {
        key = hc_secret(h, cc, h->value_string(h->value_get(ref, "name"), NULL),
                        h->value_string(h->value_get(ref, "key"), NULL), "sharedSecretRef",
                        err, errlen);
        if (!key)
            goto fail;
        if (strpbrk(key, "\r\n")) {
            snprintf(err, errlen, "sharedSecretRef: the key holds a line break");
            goto fail;
        }
    }
    if (build_headers(in, key, err, errlen) < 0)
        goto fail;
    wipe_free(key);
    key = NULL;
    if (compile_obj(h, cc, cfg, "subject", &in->subject, err, errlen) < 0 ||
        compile_obj(h, cc, cfg, "resource", &in->resource, err, errlen) < 0 ||
        !(in->permission = compile(h, cc, h->value_get(cfg, "permission"), "permission", err,
                                   errlen)))
        goto fail;
    /* The system's trust store, as Authorino's (Go's) is: the bundle
     * libcurl was built with, or the one SSL_CERT_FILE / SSL_CERT_DIR
     * name. */
    in->ca_file = env_copy("SSL_CERT_FILE");
    in->ca_path = env_copy("SSL_CERT_DIR");
    return in;
fail:
    wipe_free(key);
    sdb_destroy(in);
    return NULL;
}

/* The text of one part (Authorino's StringifyJSON), NUL-terminated and
 * bounded; NULL with the reason set. */
static const char *part(const sdb_inst *in, pc_eval *ev, const pc_vos *v, const char *what)
{
    const pc_host *h = in->host;
    const pc_value *r = h->vos_resolve(ev, v);
    size_t n = 0;
    const char *s = r ? h->value_text(r, &n) : NULL;
    if (!s) {
        h->eval_set_reason(ev, "spicedb: %s resolved to nothing", what);
        return NULL;
    }
    if (n > SDB_MAX_FIELD || strlen(s) != n) {
        h->eval_set_reason(ev, "spicedb: %s is %s", what,
                           n > SDB_MAX_FIELD ? "too long" : "not text (holds a NUL)");
        return NULL;
    }
    return s;
}

static pc_status publish(const sdb_inst *in, pc_eval *ev, const sdb_result *res)
{
    const pc_host *h = in->host;
    pc_value *o = h->value_new_object(ev);
    if (!o)
        goto oom;
    if (res->has_token) {
        pc_value *t = h->value_new_object(ev);
        if (!t || h->value_set(t, "token", h->value_new_string(ev, res->token,
                                                                strlen(res->token))) != PC_OK ||
            h->value_set(o, "checked_at", t) != PC_OK)
            goto oom;
    }
    if (h->value_set(o, "permissionship", h->value_new_int(ev, res->permissionship)) != PC_OK)
        goto oom;
    h->eval_set_output(ev, o);
    return PC_OK;
oom:
    h->eval_set_reason(ev, "spicedb: out of memory");
    return PC_ERROR;
}

static pc_status sdb_evaluate(void *p, pc_eval *ev)
{
    sdb_inst *in = p;
    const pc_host *h = in->host;
    sdb_check c;
    if (!(c.resource_id = part(in, ev, in->resource.name, "resource.name")) ||
        !(c.resource_type = part(in, ev, in->resource.kind, "resource.kind")) ||
        !(c.subject_id = part(in, ev, in->subject.name, "subject.name")) ||
        !(c.subject_type = part(in, ev, in->subject.kind, "subject.kind")) ||
        !(c.permission = part(in, ev, in->permission, "permission")))
        return PC_ERROR;
    size_t len = 0;
    uint8_t *body = sdb_encode_check(&c, &len);
    if (!body) {
        h->eval_set_reason(ev, "spicedb: out of memory");
        return PC_ERROR;
    }
    sdb_result res;
    pc_status st = sdb_call(in, ev, body, len, &res);
    free(body);
    if (st != PC_OK)
        return st;
    if (res.permissionship != SDB_PERM_HAS_PERMISSION) {
        const char *name = sdb_perm_name(res.permissionship);
        char num[16];
        if (!name) {
            snprintf(num, sizeof num, "%d", res.permissionship);
            name = num;
        }
        if (res.has_token)
            h->eval_set_reason(ev, "%s;token=%s", name, res.token);
        else
            h->eval_set_reason(ev, "%s", name);
        return PC_DENY;
    }
    return publish(in, ev, &res);
}

static const pc_evaluator_type sdb_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "spicedb",
    .config_schema = sdb_schema,
    .create = sdb_create,
    .destroy = sdb_destroy,
    .evaluate = sdb_evaluate,
};

static const pc_evaluator_type *const sdb_types[] = {&sdb_type, NULL};

PC_PLUGIN_DEFINE("spicedb", "1.0.0",
                 "Authzed/SpiceDB CheckPermission authorization (gRPC, authzed.api.v1)",
                 sdb_types, NULL)
