/*
 * metadata "userInfo": the OpenID Connect UserInfo (OIDC Core §5.3) of the
 * request's access token, as Authorino fetches it. `identitySource` names
 * a `jwt` authentication (with `issuerUrl`) of the same AuthConfig; the
 * userinfo_endpoint comes from that issuer's discovery document and is
 * called with the token the identity verified, as a bearer token. The
 * JSON object it answers is auth.metadata.NAME.
 *
 * How the named identity is found: at create, in the AuthConfig's spec
 * (pc_host.cc_authconfig_spec), as Authorino's controller looks it up by
 * name - a missing one, or one without an issuer, is a config error. At
 * request time, as Authorino checks that the identity that resolved has
 * the same issuer, auth.identity.iss must be that issuerUrl (a jwt
 * identity only accepts tokens whose iss is its discovered issuer, which
 * must equal issuerUrl); otherwise the evaluator fails. `userInfoUrl`
 * calls a fixed endpoint instead, with no issuer check.
 *
 * The discovery document is cached per issuer for the identity's `ttl`
 * (else UI_DISCOVERY_TTL_MS), fetched once for concurrent requests;
 * failures are not kept. Any failure - no identity of that issuer, no
 * token, transport error or timeout, a status outside 2xx, an answer that
 * is not a JSON object - fails the evaluator, which denies (Authorino
 * decodes any answer, so a 401 there yields an object without claims;
 * here it is an error either way). The evaluator-level `cache` works as
 * for `http` metadata. Tokens are never logged nor put in reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"
#include "userinfo.h"

/* The discovery document is kept this long unless the identity has a ttl. */
#define UI_DISCOVERY_TTL_MS (3600 * 1000)
/* `timeout: 0` is "no timeout" in Authorino; calls stay bounded. */
#define UI_MAX_TIMEOUT_MS 60000
#define UI_WELL_KNOWN "/.well-known/openid-configuration"

static const char ui_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"identitySource\":{\"type\":\"string\"},"
    "\"userInfoUrl\":{\"type\":\"string\",\"pattern\":\"^https?://[^/?#]+\"},"
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":5000}}}";

static void ui_destroy(void *p)
{
    ui_inst *in = p;
    if (!in)
        return;
    if (in->disc)
        in->h->cache_free(in->disc);
    free(in->issuer);
    free(in->disc_url);
    free(in->url);
    free(in->cred_name);
    free(in);
}

static const char *str_of(const pc_host *h, const pc_value *o, const char *k)
{
    const char *s = h->value_string(h->value_get(o, k), NULL);
    return s && *s ? s : NULL;
}

/* The identity's `credentials` (the engine checked them when it compiled
 * that identity); none is the Authorization header with "Bearer". */
static int take_credentials(ui_inst *in, const pc_value *ident, char *err, size_t errlen)
{
    const pc_host *h = in->h;
    const pc_value *c = h->value_get(ident, "credentials");
    const pc_value *v;
    const char *name = "Bearer";
    in->cred = UI_CRED_AUTH_HEADER;
    if ((v = h->value_get(c, "customHeader"))) {
        in->cred = UI_CRED_CUSTOM_HEADER;
        name = str_of(h, v, "name");
    } else if ((v = h->value_get(c, "queryString"))) {
        in->cred = UI_CRED_QUERY;
        name = str_of(h, v, "name");
    } else if ((v = h->value_get(c, "cookie"))) {
        in->cred = UI_CRED_COOKIE;
        name = str_of(h, v, "name");
    } else if ((v = h->value_get(c, "authorizationHeader"))) {
        const pc_value *pv = h->value_get(v, "prefix");
        name = pv ? h->value_string(pv, NULL) : "Bearer";
    }
    if (!name || !(in->cred_name = hc_strdup(name))) {
        snprintf(err, errlen, "the identity's credentials name no location");
        return -1;
    }
    if (in->cred == UI_CRED_CUSTOM_HEADER)
        for (char *p = in->cred_name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* The only authentication of the spec, or NULL. */
static int count_one(void *arg, const char *key, const pc_value *val)
{
    (void)key;
    const pc_value **only = arg;
    *only = *only ? NULL : val;
    return *only ? 0 : 1;
}

static int from_identity(ui_inst *in, pc_create_ctx *cc, const char *src, int64_t *ttl_ms,
                         char *err, size_t errlen)
{
    const pc_host *h = in->h;
    const pc_value *spec = PC_HOST_HAS(h, cc_authconfig_spec) ? h->cc_authconfig_spec(cc)
                                                              : NULL;
    if (!spec) {
        snprintf(err, errlen, "identitySource needs a host that shows the AuthConfig "
                              "(ABI 1.6)");
        return -1;
    }
    const pc_value *ident = h->value_get(h->value_get(spec, "authentication"), src);
    if (h->value_type(ident) != PC_TYPE_OBJECT) {
        snprintf(err, errlen, "missing identity config %s", src);
        return -1;
    }
    const pc_value *j = h->value_get(ident, "jwt");
    const char *issuer = j ? str_of(h, j, "issuerUrl") : NULL;
    if (!j && (j = h->value_get(ident, "oidc")))
        issuer = str_of(h, j, "endpoint");
    if (!issuer) {
        snprintf(err, errlen, "identitySource %s is not a jwt authentication with an "
                              "issuerUrl", src);
        return -1;
    }
    const pc_value *ttl = h->value_get(j, "ttl");
    if (h->value_type(ttl) == PC_TYPE_INT && h->value_int(ttl) > 0 &&
        h->value_int(ttl) < 366LL * 86400)
        *ttl_ms = h->value_int(ttl) * 1000;
    size_t il = strlen(issuer);
    while (il && issuer[il - 1] == '/')
        il--;
    in->issuer = hc_strdup(issuer);
    in->disc_url = malloc(il + sizeof UI_WELL_KNOWN);
    if (!in->issuer || !in->disc_url) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(in->disc_url, issuer, il);
    memcpy(in->disc_url + il, UI_WELL_KNOWN, sizeof UI_WELL_KNOWN);
    return take_credentials(in, ident, err, errlen);
}

static void *ui_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg, char *err,
                       size_t errlen)
{
    const char *src = str_of(h, cfg, "identitySource");
    const char *url = str_of(h, cfg, "userInfoUrl");
    if (!src == !url) {
        snprintf(err, errlen, "use one of: identitySource, userInfoUrl");
        return NULL;
    }
    ui_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->h = h;
    const pc_value *t = h->value_get(cfg, "timeout");
    in->timeout_ms = h->value_type(t) == PC_TYPE_INT ? h->value_int(t) : HC_DEFAULT_TIMEOUT_MS;
    if (in->timeout_ms <= 0 || in->timeout_ms > UI_MAX_TIMEOUT_MS)
        in->timeout_ms = UI_MAX_TIMEOUT_MS;
    int64_t ttl_ms = UI_DISCOVERY_TTL_MS;
    int rc;
    if (src) {
        rc = from_identity(in, cc, src, &ttl_ms, err, errlen);
    } else {
        /* The token is the identity's: that of the only authentication,
         * else from the Authorization header. */
        const pc_value *spec = PC_HOST_HAS(h, cc_authconfig_spec) ? h->cc_authconfig_spec(cc)
                                                                  : NULL;
        const pc_value *only = NULL;
        h->value_foreach(h->value_get(spec, "authentication"), count_one, &only);
        in->url = hc_strdup(url);
        rc = in->url ? take_credentials(in, only, err, errlen) : -1;
        if (!in->url)
            snprintf(err, errlen, "out of memory");
    }
    if (rc == 0 && src) {
        pc_cache_opts o = {.struct_size = sizeof o, .name = "userinfo-discovery",
                           .ok_ttl_ms = ttl_ms, .deny_ttl_ms = 0, .max_entries = 1};
        if (!(in->disc = h->cache_new(&o))) {
            snprintf(err, errlen, "cannot create the discovery cache");
            rc = -1;
        }
    }
    if (rc != 0) {
        ui_destroy(in);
        return NULL;
    }
    return in;
}

static pc_status ui_evaluate(void *p, pc_eval *ev)
{
    const ui_inst *in = p;
    const pc_host *h = in->h;
    const char *url = in->url;
    if (in->issuer) {
        const pc_value *id = h->value_get(h->value_get(h->eval_root(ev), "auth"), "identity");
        const char *iss = h->value_string(h->value_get(id, "iss"), NULL);
        if (!iss || strcmp(iss, in->issuer) != 0) {
            h->eval_set_reason(ev, "userinfo: missing identity for oidc issuer %s. "
                                   "skipping related userinfo metadata", in->issuer);
            return PC_ERROR;
        }
        const pc_value *doc = NULL;
        if (hc_discovery(h, ev, in->disc, "userinfo", in->disc_url, in->issuer,
                         in->timeout_ms, &doc) != PC_OK ||
            !(url = hc_endpoint_of(h, ev, "userinfo", doc, "userinfo_endpoint")))
            return PC_ERROR;
    }
    const char *tok = ui_token(in, ev);
    if (!tok) {
        h->eval_set_reason(ev, "userinfo: credential not found");
        return PC_ERROR;
    }
    pc_value *out = NULL;
    if (hc_get_json(h, ev, "userinfo", "the userinfo endpoint", url, tok, in->timeout_ms,
                    &out) != PC_OK)
        return PC_ERROR;
    if (h->value_type(out) != PC_TYPE_OBJECT) {
        h->eval_set_reason(ev, "userinfo: the userinfo endpoint answered JSON that is not "
                               "an object");
        return PC_ERROR;
    }
    h->eval_set_output(ev, out);
    return PC_OK;
}

static const pc_evaluator_type ui_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_METADATA,
    .name = "userInfo",
    .config_schema = ui_schema,
    .create = ui_create,
    .destroy = ui_destroy,
    .evaluate = ui_evaluate,
};

static const pc_evaluator_type *const ui_types[] = {&ui_type, NULL};

PC_PLUGIN_DEFINE("metadata_userinfo", "1.0.0",
                 "OpenID Connect UserInfo of the request's token, through the discovery of "
                 "a jwt identity's issuer",
                 ui_types, NULL)
