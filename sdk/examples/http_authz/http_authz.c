/*
 * authorization "externalDecision": asks an HTTP service.
 *
 * For each request the plugin POSTs
 *     {"method": "GET", "path": "/hello", "identity": <auth.identity>}
 * to the configured URL and grants when the answer is HTTP 200 with a JSON
 * body whose "allow" is true. Any other 200 body, or a 4xx answer, is a
 * denial (the body's "reason" string, when there is one, is the reason).
 * Transport errors, timeouts, 5xx and bodies that are not JSON cannot
 * decide: they fail closed with PC_ERROR and are never cached.
 *
 * Decisions, granted and denied alike, are cached for `ttl` seconds, keyed
 * by method, path and identity; concurrent misses for one key make a single
 * call (the host's single-flight cache). ttl 0 turns the cache off.
 *
 * Config: {url: "http://...", ttl: 60}
 * The result object, auth.authorization.<name>, is the service's answer.
 */
/* strdup is POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#define HA_DEFAULT_TTL 60

static const char ha_schema[] =
    "{\"type\":\"object\","
    " \"properties\":{"
    "  \"url\":{\"type\":\"string\",\"pattern\":\"^https?://\"},"
    "  \"ttl\":{\"type\":\"integer\",\"minimum\":0,\"default\":60}},"
    " \"required\":[\"url\"],"
    " \"additionalProperties\":false}";

typedef struct ha_inst {
    const pc_host *host;
    char *url;
    pc_cache *cache; /* NULL when ttl is 0 */
} ha_inst;

static void ha_destroy(void *instance)
{
    ha_inst *in = instance;
    if (!in)
        return;
    if (in->cache)
        in->host->cache_free(in->cache);
    free(in->url);
    free(in);
}

static void *ha_create(const pc_host *host, pc_create_ctx *cc,
                       const pc_value *config, char *err, size_t errlen)
{
    ha_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    const char *url = host->value_string(host->value_get(config, "url"), NULL);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        snprintf(err, errlen, "url must be an http:// or https:// URL");
        ha_destroy(in);
        return NULL;
    }
    in->url = strdup(url);

    int64_t ttl = HA_DEFAULT_TTL;
    const pc_value *t = host->value_get(config, "ttl");
    if (t) {
        if (host->value_type(t) != PC_TYPE_INT || host->value_int(t) < 0) {
            snprintf(err, errlen, "ttl must be a non-negative number of seconds");
            ha_destroy(in);
            return NULL;
        }
        ttl = host->value_int(t);
    }
    if (ttl > 0) {
        pc_cache_opts o = {
            .struct_size = sizeof o,
            .name = host->cc_evaluator_name(cc),
            .ok_ttl_ms = ttl * 1000,
            .deny_ttl_ms = ttl * 1000,
            .max_entries = 0,
        };
        in->cache = host->cache_new(&o);
        if (!in->cache) {
            snprintf(err, errlen, "cannot create the decision cache");
            ha_destroy(in);
            return NULL;
        }
    }
    if (!in->url) {
        snprintf(err, errlen, "out of memory");
        ha_destroy(in);
        return NULL;
    }
    return in;
}

/* What one evaluation hands the fill callback. */
struct ha_call {
    const ha_inst *in;
    const char *body; /* the JSON to POST */
    size_t body_len;
};

static pc_status ha_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    (void)ttl_ms;
    const struct ha_call *call = arg;
    const pc_host *h = call->in->host;
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    pc_http_request req = {
        .struct_size = sizeof req,
        .method = "POST",
        .url = call->in->url,
        .headers = headers,
        .body = call->body,
        .body_len = call->body_len,
        .timeout_ms = 0,
        .ca_file = NULL,
    };
    pc_http_response resp = {0};
    char err[256] = "";
    if (h->http_do(ev, &req, &resp, err, sizeof err) != PC_OK) {
        /* err names the transport problem, never the request body. */
        h->eval_set_reason(ev, "decision service unreachable: %s", err);
        return PC_ERROR;
    }
    if (resp.status >= 400 && resp.status < 500) {
        pc_value *v = h->value_parse(ev, resp.body, resp.body_len);
        *out = v ? v : h->value_new_object(ev);
        return PC_DENY;
    }
    if (resp.status != 200) {
        h->eval_set_reason(ev, "decision service answered HTTP %ld", resp.status);
        return PC_ERROR;
    }
    pc_value *v = h->value_parse(ev, resp.body, resp.body_len);
    if (!v || h->value_type(v) != PC_TYPE_OBJECT) {
        h->eval_set_reason(ev, "decision service answered something other than a JSON object");
        return PC_ERROR;
    }
    const pc_value *allow = h->value_get(v, "allow");
    *out = v;
    return allow && h->value_type(allow) == PC_TYPE_BOOL && h->value_bool(allow)
               ? PC_OK
               : PC_DENY;
}

static const pc_value *http_field(const pc_host *h, pc_eval *ev, const char *key)
{
    /* Authorino's well-known attributes: request.method, request.path... */
    return h->value_get(h->value_get(h->eval_root(ev), "request"), key);
}

static pc_status ha_evaluate(void *instance, pc_eval *ev)
{
    const ha_inst *in = instance;
    const pc_host *h = in->host;
    const pc_value *identity = h->value_get(h->value_get(h->eval_root(ev), "auth"), "identity");

    pc_value *q = h->value_new_object(ev);
    const pc_value *method = http_field(h, ev, "method");
    const pc_value *path = http_field(h, ev, "path");
    if (!q || h->value_set(q, "method", method ? h->value_copy(ev, method) : NULL) != PC_OK ||
        h->value_set(q, "path", path ? h->value_copy(ev, path) : NULL) != PC_OK ||
        h->value_set(q, "identity", identity ? h->value_copy(ev, identity) : NULL) != PC_OK) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    /* The body is the cache key too: method, path and identity are exactly
     * what the decision depends on. The host HMACs keys before storing. */
    char *body = h->value_to_json(q);
    if (!body) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    struct ha_call call = {in, body, strlen(body)};
    const pc_value *answer = NULL;
    pc_value *filled = NULL;
    pc_status st;
    if (in->cache) {
        st = h->cache_lookup(in->cache, ev, body, call.body_len, ha_fill, &call, &answer);
    } else {
        int64_t ttl = 0;
        st = ha_fill(&call, ev, &filled, &ttl);
        answer = filled;
    }
    h->free(body);
    if (st == PC_ERROR)
        return PC_ERROR;
    if (answer)
        h->eval_set_output(ev, h->value_copy(ev, answer));
    if (st == PC_DENY) {
        const char *why = h->value_string(h->value_get(answer, "reason"), NULL);
        h->eval_set_reason(ev, "%s", why && *why ? why : "denied by the decision service");
    }
    return st;
}

static const pc_evaluator_type ha_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "externalDecision",
    .config_schema = ha_schema,
    .challenge = NULL,
    .create = ha_create,
    .destroy = ha_destroy,
    .evaluate = ha_evaluate,
};

static const pc_evaluator_type *const ha_types[] = {&ha_type, NULL};

PC_PLUGIN_DEFINE("http_authz", "1.0.0",
                 "Authorization by an external HTTP decision service",
                 ha_types, NULL)
