/*
 * metadata "uma": the resources a User-Managed Access 2.0 server (e.g.
 * Keycloak's Authorization Services) has registered for the request's
 * path, as Authorino fetches them for resource-level authorization.
 *
 *  1. discovery: `endpoint`/.well-known/uma2-configuration, whose issuer
 *     must be `endpoint` exactly (Authorino's check), for the token and
 *     resource registration endpoints; cached per instance for
 *     UMA_DISCOVERY_TTL_MS, fetched once for concurrent requests;
 *  2. a protection API token (PAT) by the client-credentials grant with
 *     the clientID/clientSecret of the `credentialsRef` Secret; cached and
 *     shared by all requests until shortly before it expires, one token
 *     request for concurrent misses (Authorino asks for one per request);
 *  3. GET resource_registration_endpoint?uri=<request.path>: the ids;
 *  4. GET resource_registration_endpoint/<id> for each of them.
 *
 * The output, auth.metadata.NAME, is the list of the resource objects in
 * the order of the ids (e.g. [{"_id", "name", "uris", "owner": {"id"}}]);
 * no match is []. Discovery is done at the first request rather than at
 * create, so a server that is down when the AuthConfig loads is retried.
 * Any failure - transport or timeout, a status outside 2xx, an answer that
 * is not the JSON expected, more than UMA_MAX_RESOURCES ids - fails the
 * evaluator, which denies; Authorino leaves out a resource it could not
 * fetch, which would hand a policy an incomplete list. The request path is
 * sent URL-encoded, so its own '&' and '#' cannot add query parameters.
 * The PAT and the client secret are never logged nor put in reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"

/* The discovery document is kept this long. */
#define UMA_DISCOVERY_TTL_MS (3600 * 1000)
/* More matching resources than this fail the evaluator. */
#define UMA_MAX_RESOURCES 100
/* `timeout: 0` is "no timeout" in Authorino; calls stay bounded. */
#define UMA_MAX_TIMEOUT_MS 60000
#define UMA_WELL_KNOWN "/.well-known/uma2-configuration"
#define UMA_WHAT "uma"

static const char uma_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"endpoint\",\"credentialsRef\"],\"properties\":{"
    "\"endpoint\":{\"type\":\"string\",\"pattern\":\"^https?://[^/?#]+\"},"
    "\"credentialsRef\":{\"type\":\"object\",\"required\":[\"name\"],"
    "\"additionalProperties\":false,\"properties\":{\"name\":{\"type\":\"string\"}}},"
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":5000}}}";

typedef struct uma_inst {
    const pc_host *h;
    char *endpoint;        /* as configured: the issuer the server must name */
    char *disc_url;
    char *client_id;
    char *client_secret;   /* wiped on destroy */
    int64_t timeout_ms;
    pc_cache *disc;        /* the discovery document */
    pc_cache *pat;         /* the protection API token */
} uma_inst;

static void wipe(char *s)
{
    if (s) {
        volatile char *v = s;
        while (*v)
            *v++ = 0;
        free(s);
    }
}

static void uma_destroy(void *p)
{
    uma_inst *in = p;
    if (!in)
        return;
    if (in->disc)
        in->h->cache_free(in->disc);
    if (in->pat)
        in->h->cache_free(in->pat);
    free(in->endpoint);
    free(in->disc_url);
    wipe(in->client_id);
    wipe(in->client_secret);
    free(in);
}

static void *uma_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg, char *err,
                        size_t errlen)
{
    const char *ep = h->value_string(h->value_get(cfg, "endpoint"), NULL);
    const char *ref = h->value_string(h->value_get(h->value_get(cfg, "credentialsRef"), "name"),
                                      NULL);
    uma_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->h = h;
    const pc_value *t = h->value_get(cfg, "timeout");
    in->timeout_ms = h->value_type(t) == PC_TYPE_INT ? h->value_int(t) : HC_DEFAULT_TIMEOUT_MS;
    if (in->timeout_ms <= 0 || in->timeout_ms > UMA_MAX_TIMEOUT_MS)
        in->timeout_ms = UMA_MAX_TIMEOUT_MS;
    size_t el = ep ? strlen(ep) : 0;
    while (el && ep[el - 1] == '/')
        el--;
    in->endpoint = hc_strdup(ep);
    in->disc_url = malloc(el + sizeof UMA_WELL_KNOWN);
    if (!in->endpoint || !in->disc_url) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(in->disc_url, ep, el);
    memcpy(in->disc_url + el, UMA_WELL_KNOWN, sizeof UMA_WELL_KNOWN);
    if (el + sizeof UMA_WELL_KNOWN > HC_MAX_URL) {
        snprintf(err, errlen, "endpoint is longer than %d characters", HC_MAX_URL);
        goto fail;
    }
    if (!(in->client_id = hc_secret(h, cc, ref, "clientID", "credentialsRef", err, errlen)) ||
        !(in->client_secret = hc_secret(h, cc, ref, "clientSecret", "credentialsRef", err,
                                        errlen)))
        goto fail;
    pc_cache_opts d = {.struct_size = sizeof d, .name = "uma-discovery",
                       .ok_ttl_ms = UMA_DISCOVERY_TTL_MS, .max_entries = 1};
    pc_cache_opts p = {.struct_size = sizeof p, .name = "uma-pat",
                       .ok_ttl_ms = HC_TOKEN_MAX_TTL_MS, .max_entries = 1};
    if (!(in->disc = h->cache_new(&d)) || !(in->pat = h->cache_new(&p))) {
        snprintf(err, errlen, "cannot create the discovery and token caches");
        goto fail;
    }
    return in;
fail:
    uma_destroy(in);
    return NULL;
}

/* The PAT through the shared client-credentials code, with the token
 * endpoint of the discovery document. */
static pc_status uma_pat(const uma_inst *in, pc_eval *ev, const char *token_url,
                         const char **pat)
{
    hc_oauth2 a = {.token_url = (char *)token_url, .client_id = in->client_id,
                   .client_secret = in->client_secret, .timeout_ms = in->timeout_ms,
                   .cache = in->pat};
    hc_inst call = {.host = in->h, .what = UMA_WHAT, .oauth2 = &a};
    return hc_oauth2_token(&call, ev, pat);
}

/* RFC 3986 unreserved characters stay, everything else is %XX. */
static void put_segment(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            buf_append(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

/* GET url (built in b, freed here) with the PAT. */
static pc_status get(const uma_inst *in, pc_eval *ev, buf *b, const char *label,
                     const char *pat, pc_value **out)
{
    const pc_host *h = in->h;
    pc_status st = PC_ERROR;
    if (b->failed || !b->data)
        h->eval_set_reason(ev, "uma: the url is longer than %d characters", HC_MAX_URL);
    else
        st = hc_get_json(h, ev, UMA_WHAT, label, b->data, pat, in->timeout_ms, out);
    buf_wipe(b);
    return st;
}

static pc_status uma_evaluate(void *p, pc_eval *ev)
{
    const uma_inst *in = p;
    const pc_host *h = in->h;
    const pc_value *doc = NULL;
    const char *token_url, *rr, *pat = NULL;
    if (hc_discovery(h, ev, in->disc, UMA_WHAT, in->disc_url, in->endpoint, in->timeout_ms,
                     &doc) != PC_OK ||
        !(token_url = hc_endpoint_of(h, ev, UMA_WHAT, doc, "token_endpoint")) ||
        !(rr = hc_endpoint_of(h, ev, UMA_WHAT, doc, "resource_registration_endpoint")) ||
        uma_pat(in, ev, token_url, &pat) != PC_OK)
        return PC_ERROR;

    const char *path = h->value_string(
        h->value_get(h->value_get(h->eval_root(ev), "request"), "path"), NULL);
    buf b;
    buf_init_max(&b, HC_MAX_URL + 1);
    buf_puts(&b, rr);
    buf_puts(&b, strchr(rr, '?') ? "&uri=" : "?uri=");
    hc_buf_form(&b, path ? path : "", path ? strlen(path) : 0);
    pc_value *ids = NULL;
    if (get(in, ev, &b, "the resource registration endpoint", pat, &ids) != PC_OK)
        return PC_ERROR;
    size_t n = h->value_length(ids);
    if (h->value_type(ids) != PC_TYPE_ARRAY) {
        h->eval_set_reason(ev, "uma: the resource query answered JSON that is not a list");
        return PC_ERROR;
    }
    if (n > UMA_MAX_RESOURCES) {
        h->eval_set_reason(ev, "uma: more than %d resources match the path",
                           UMA_MAX_RESOURCES);
        return PC_ERROR;
    }
    pc_value *out = h->value_new_array(ev);
    if (!out) {
        h->eval_set_reason(ev, "uma: out of memory");
        return PC_ERROR;
    }
    /* The query part of rr, if any, does not belong before the id. */
    size_t base = strcspn(rr, "?");
    for (size_t i = 0; i < n; i++) {
        const char *id = h->value_string(h->value_at(ids, i), NULL);
        if (!id || !*id) {
            h->eval_set_reason(ev, "uma: the resource query answered an id that is not a "
                                   "string");
            return PC_ERROR;
        }
        buf_init_max(&b, HC_MAX_URL + 1);
        buf_append(&b, rr, base);
        buf_append(&b, "/", 1);
        put_segment(&b, id);
        pc_value *res = NULL;
        if (get(in, ev, &b, "the resource endpoint", pat, &res) != PC_OK)
            return PC_ERROR;
        if (h->value_append(out, res) != PC_OK) {
            h->eval_set_reason(ev, "uma: out of memory");
            return PC_ERROR;
        }
    }
    h->eval_set_output(ev, out);
    return PC_OK;
}

static const pc_evaluator_type uma_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_METADATA,
    .name = "uma",
    .config_schema = uma_schema,
    .create = uma_create,
    .destroy = uma_destroy,
    .evaluate = uma_evaluate,
};

static const pc_evaluator_type *const uma_types[] = {&uma_type, NULL};

PC_PLUGIN_DEFINE("metadata_uma", "1.0.0",
                 "Resource data from a User-Managed Access (UMA 2.0) server for the request "
                 "path",
                 uma_types, NULL)
