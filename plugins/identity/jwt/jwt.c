/*
 * identity "jwt": the credential is a JWT signed by a key of the
 * configured provider (OpenID Connect discovery from `issuerUrl`, or a
 * `jwksUrl`), unexpired, and, with issuerUrl, issued by that issuer. The
 * identity is the token's claims, so auth.identity.sub,
 * auth.identity.realm_access.roles and friends resolve.
 *
 * Keys are fetched when the instance is created and then by the
 * instance's own thread (jwt_refresh.c), never by a request. Verified
 * tokens are cached by the host (HMAC'd keys: no token is stored) until
 * the token's exp, at most `ttl` (or JWT_DEFAULT_CACHE_TTL_S without one);
 * hits are answered on the I/O thread. Denials are not cached: they are
 * cheap to repeat and a cached one could outlive a key rotation.
 *
 * `oidc: {endpoint, ttl, timeout}` is the older spelling of
 * `jwt: {issuerUrl, ttl, timeout}` and maps to the same evaluator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#include "jwt_token.h"

#define JWT_DEFAULT_TIMEOUT_MS 5000
/* `timeout: 0` means "no timeout" in Authorino; fetches stay bounded. */
#define JWT_MAX_TIMEOUT_MS 60000
#define JWT_DEFAULT_CACHE_TTL_S 300
/* How long create waits for the first fetch, at most: AuthConfigs load
 * one after another, so a provider that never answers must not hold up
 * the others for long. Requests arriving before the keys wait for the
 * fetch under way (jwt_refresh_demand). */
#define JWT_CREATE_WAIT_MAX_MS 3000

#define JWT_URL_SCHEMA "{\"type\":\"string\",\"pattern\":\"^https?://[^/?#]+\"}"
#define JWT_COMMON_SCHEMA                                              \
    "\"ttl\":{\"type\":\"integer\",\"minimum\":0},"                    \
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0}"

static const char jwt_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"issuerUrl\":" JWT_URL_SCHEMA ",\"jwksUrl\":" JWT_URL_SCHEMA ","
    JWT_COMMON_SCHEMA "}}";

static const char oidc_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"endpoint\"],"
    "\"properties\":{\"endpoint\":" JWT_URL_SCHEMA "," JWT_COMMON_SCHEMA "}}";

static void jwt_destroy(void *p)
{
    jwt_inst *in = p;
    if (!in)
        return;
    jwt_refresh_stop(in->rf);
    if (in->cache)
        in->host->cache_free(in->cache);
    free(in->issuer);
    free(in);
}

typedef struct jwt_fieldcheck {
    const char *const *known;
    const char *bad;
} jwt_fieldcheck;

static int jwt_field_cb(void *arg, const char *key, const pc_value *val)
{
    (void)val;
    jwt_fieldcheck *kf = arg;
    for (const char *const *k = kf->known; *k; k++)
        if (strcmp(*k, key) == 0)
            return 0;
    kf->bad = key;
    return 1;
}

static int64_t jwt_int(const pc_host *h, const pc_value *cfg, const char *key, int64_t dflt)
{
    const pc_value *v = h->value_get(cfg, key);
    return h->value_type(v) == PC_TYPE_INT ? h->value_int(v) : dflt;
}

static const char *jwt_str(const pc_host *h, const pc_value *cfg, const char *key)
{
    const char *s = h->value_string(h->value_get(cfg, key), NULL);
    return s && *s ? s : NULL;
}

/* The host warns about fields its schema does not know; a misspelt `ttl`
 * silently ignored would change behaviour, so it is an error here. */
static int jwt_known_fields(const pc_host *h, const pc_value *cfg, const char *const *known,
                            char *err, size_t errlen)
{
    jwt_fieldcheck kf = {known, NULL};
    h->value_foreach(cfg, jwt_field_cb, &kf);
    if (!kf.bad)
        return 0;
    snprintf(err, errlen, "unknown field \"%.64s\"", kf.bad);
    return -1;
}

static void *jwt_make(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                      const char *issuer, const char *jwks, char *err, size_t errlen)
{
    if (!issuer == !jwks) {
        snprintf(err, errlen, "use one of: jwksUrl, issuerUrl");
        return NULL;
    }
    int64_t ttl_s = jwt_int(h, cfg, "ttl", 0);
    int64_t timeout = jwt_int(h, cfg, "timeout", JWT_DEFAULT_TIMEOUT_MS);
    if (ttl_s < 0 || timeout < 0 || ttl_s > 366LL * 86400) {
        snprintf(err, errlen, "ttl and timeout must be non-negative (ttl at most a year)");
        return NULL;
    }
    if (timeout == 0 || timeout > JWT_MAX_TIMEOUT_MS)
        timeout = JWT_MAX_TIMEOUT_MS;
    jwt_inst *in = calloc(1, sizeof *in);
    if (!in || (issuer && !(in->issuer = strdup(issuer)))) {
        snprintf(err, errlen, "out of memory");
        jwt_destroy(in);
        return NULL;
    }
    in->host = h;
    in->timeout_ms = timeout;
    in->cache_ttl_ms = (ttl_s ? ttl_s : JWT_DEFAULT_CACHE_TTL_S) * 1000;
    pc_cache_opts o = {.struct_size = sizeof o, .name = "jwt",
                       .ok_ttl_ms = in->cache_ttl_ms, .deny_ttl_ms = 0};
    if (!(in->cache = h->cache_new(&o))) {
        snprintf(err, errlen, "cannot create the token cache");
        jwt_destroy(in);
        return NULL;
    }
    char who[512];
    snprintf(who, sizeof who, "jwt %s/%s/%s", h->cc_authconfig_namespace(cc),
             h->cc_authconfig_name(cc), h->cc_evaluator_name(cc));
    jwt_refresh_cfg rc = {.who = who, .issuer = issuer, .jwks_url = jwks,
                          .ttl_ms = ttl_s * 1000, .timeout_ms = timeout};
    int64_t wait = 2 * timeout + 100;
    if (wait > JWT_CREATE_WAIT_MAX_MS)
        wait = JWT_CREATE_WAIT_MAX_MS;
    if (!(in->rf = jwt_refresh_start(h, &rc, wait, err, errlen))) {
        jwt_destroy(in);
        return NULL;
    }
    return in;
}

static const char *const jwt_fields[] = {"issuerUrl", "jwksUrl", "ttl", "timeout", NULL};
static const char *const oidc_fields[] = {"endpoint", "ttl", "timeout", NULL};

static void *jwt_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                        char *err, size_t errlen)
{
    if (jwt_known_fields(h, cfg, jwt_fields, err, errlen) != 0)
        return NULL;
    return jwt_make(h, cc, cfg, jwt_str(h, cfg, "issuerUrl"), jwt_str(h, cfg, "jwksUrl"),
                    err, errlen);
}

static void *oidc_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                         char *err, size_t errlen)
{
    if (jwt_known_fields(h, cfg, oidc_fields, err, errlen) != 0)
        return NULL;
    return jwt_make(h, cc, cfg, jwt_str(h, cfg, "endpoint"), NULL, err, errlen);
}

static pc_status jwt_evaluate(void *p, pc_eval *ev)
{
    jwt_inst *in = p;
    const pc_host *h = in->host;
    size_t tlen = 0;
    const char *tok = h->eval_credential(ev, &tlen);
    if (!tok || !tlen) {
        h->eval_set_reason(ev, "credential not found");
        return PC_DENY;
    }
    jwt_ask a = {.in = in, .token = tok, .token_len = tlen};
    const pc_value *got = NULL;
    /* On an I/O thread only a cached verification can answer. */
    pc_status st = h->cache_lookup(in->cache, ev, tok, tlen,
                                   h->eval_can_block(ev) ? jwt_token_fill : NULL, &a, &got);
    switch (st) {
    case PC_AGAIN:
        return PC_AGAIN;
    case PC_OK:
        if (h->value_type(got) != PC_TYPE_OBJECT) {
            h->eval_set_reason(ev, "jwt: empty result");
            return PC_ERROR;
        }
        /* The cache hands each request its own value: publish it as is. */
        h->eval_set_output(ev, (pc_value *)got);
        return PC_OK;
    case PC_DENY: {
        const char *why = h->value_string(got, NULL);
        h->eval_set_reason(ev, "%s", why ? why : "oidc: malformed jwt");
        return PC_DENY;
    }
    default:
        return PC_ERROR;
    }
}

#define JWT_FLAGS (PC_EVAL_MAY_BLOCK | PC_EVAL_NEEDS_CREDENTIAL | PC_EVAL_TRY_NONBLOCKING)

static const pc_evaluator_type jwt_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = JWT_FLAGS,
    .phase = PC_PHASE_IDENTITY,
    .name = "jwt",
    .config_schema = jwt_schema,
    .create = jwt_create,
    .destroy = jwt_destroy,
    .evaluate = jwt_evaluate,
};

static const pc_evaluator_type oidc_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = JWT_FLAGS,
    .phase = PC_PHASE_IDENTITY,
    .name = "oidc",
    .config_schema = oidc_schema,
    .create = oidc_create,
    .destroy = jwt_destroy,
    .evaluate = jwt_evaluate,
};

static const pc_evaluator_type *const jwt_types[] = {&jwt_type, &oidc_type, NULL};

PC_PLUGIN_DEFINE("jwt", "1.0.0",
                 "JWT / OpenID Connect identity (JWKS-verified tokens, claims as identity)",
                 jwt_types, NULL)
