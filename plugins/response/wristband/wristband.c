/*
 * response "wristband": a JWT issued by the AuthConfig for the request it
 * just authorized (Authorino's Festival Wristband), placed as a header or
 * Envoy dynamic metadata like any response item. Claims: iss (`issuer`),
 * iat, exp (iat + `tokenDuration`, default 300 s), sub (the SHA-256, hex,
 * of the resolved identity's JSON) and the `customClaims`, values or
 * selectors, which may override the others. Signed with the first of
 * `signingKeyRefs` (Secrets holding `key.pem`); all of them are published
 * in the key set.
 *
 * The issuer's discovery document and key set are served on the wristband
 * listener (wb_oidc.c) at /<namespace>/<authconfig>/<name>/.well-known/...,
 * so a `jwt` identity elsewhere can trust the issuer. The `issuer` should
 * therefore be the URL of that path as other services reach it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wb.h"

static const char wb_schema[] =
    "{\"type\":\"object\",\"required\":[\"issuer\",\"signingKeyRefs\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"issuer\":{\"type\":\"string\"},"
    "\"customClaims\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\"}},"
    "\"tokenDuration\":{\"type\":\"integer\",\"minimum\":1,\"default\":300},"
    "\"signingKeyRefs\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"required\":[\"name\",\"algorithm\"],\"additionalProperties\":false,\"properties\":{"
    "\"name\":{\"type\":\"string\"},"
    "\"algorithm\":{\"type\":\"string\",\"enum\":[\"ES256\",\"ES384\",\"ES512\",\"RS256\","
    "\"RS384\",\"RS512\"]}}}}}}";

/* Signing keys per wristband (Authorino sets no limit; a key set this
 * large is a mistake). */
#define WB_MAX_KEYS 16
/* The signed token (claims come from the request; capped). */
#define WB_MAX_TOKEN (64 * 1024)
#define WB_MAX_DOC (64 * 1024)

typedef struct wb_inst {
    const pc_host *host;
    char *issuer;
    int64_t duration_s;
    hc_named *claims;      /* sorted by name */
    size_t n_claims;
    wb_key *keys[WB_MAX_KEYS];
    size_t n_keys;
    char *header_b64;      /* base64url of the JOSE header, fixed per instance */
    wb_issuer *published;
} wb_inst;

static void wb_destroy(void *p)
{
    wb_inst *in = p;
    if (!in)
        return;
    wb_oidc_remove(in->published);
    for (size_t i = 0; i < in->n_claims; i++) {
        free(in->claims[i].name);
        in->host->vos_free(in->claims[i].vos);
    }
    free(in->claims);
    for (size_t i = 0; i < in->n_keys; i++)
        wb_key_free(in->keys[i]);
    free(in->issuer);
    free(in->header_b64);
    free(in);
}

typedef struct claim_load {
    wb_inst *in;
    pc_create_ctx *cc;
    char *err;
    size_t errlen;
} claim_load;

static int take_claim(void *arg, const char *key, const pc_value *val)
{
    claim_load *l = arg;
    const pc_host *h = l->in->host;
    char verr[256] = "";
    pc_vos *v = h->vos_compile(l->cc, val, verr, sizeof verr);
    if (!v) {
        snprintf(l->err, l->errlen, "customClaims.%s: %s", key,
                 verr[0] ? verr : "expected {value} or {selector}");
        return 1;
    }
    hc_named *c = &l->in->claims[l->in->n_claims++];
    c->vos = v;
    if (!(c->name = hc_strdup(key))) {
        snprintf(l->err, l->errlen, "out of memory");
        return 1;
    }
    return 0;
}

static int load_keys(wb_inst *in, pc_create_ctx *cc, const pc_value *refs, char *err,
                     size_t errlen)
{
    const pc_host *h = in->host;
    size_t n = h->value_length(refs);
    if (!n) {
        snprintf(err, errlen, "signingKeyRefs: at least one signing key is needed");
        return -1;
    }
    if (n > WB_MAX_KEYS) {
        snprintf(err, errlen, "signingKeyRefs: at most %d keys", WB_MAX_KEYS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const pc_value *r = h->value_at(refs, i);
        const char *name = h->value_string(h->value_get(r, "name"), NULL);
        const char *alg = h->value_string(h->value_get(r, "algorithm"), NULL);
        char what[64], kerr[256] = "";
        snprintf(what, sizeof what, "signingKeyRefs[%zu]", i);
        char *pem = hc_secret(h, cc, name, "key.pem", what, err, errlen);
        if (!pem)
            return -1;
        wb_key *k = wb_key_load(pem, alg ? alg : "", name, kerr, sizeof kerr);
        memset(pem, 0, strlen(pem));
        free(pem);
        if (!k) {
            snprintf(err, errlen, "%s (Secret %s): %s", what, name, kerr);
            return -1;
        }
        in->keys[in->n_keys++] = k;
    }
    return 0;
}

/* The discovery document and key set, published under the instance's path. */
static int publish(wb_inst *in, pc_create_ctx *cc, char *err, size_t errlen)
{
    const pc_host *h = in->host;
    buf disc, jwks, path;
    buf_init_max(&disc, WB_MAX_DOC);
    buf_init_max(&jwks, WB_MAX_DOC);
    buf_init_max(&path, 1024);
    int rc = wb_docs_build(in->issuer, in->keys, in->n_keys, &disc, &jwks);
    const char *ns = h->cc_authconfig_namespace(cc);
    buf_puts(&path, ns && *ns ? ns : "default");
    buf_puts(&path, "/");
    buf_puts(&path, h->cc_authconfig_name(cc));
    buf_puts(&path, "/");
    buf_puts(&path, h->cc_evaluator_name(cc));
    if (rc || disc.failed || jwks.failed || path.failed) {
        snprintf(err, errlen, "cannot build the discovery documents");
        rc = -1;
    } else if (!(in->published = wb_oidc_add(h, path.data, disc.data, jwks.data, err, errlen))) {
        rc = -1;
    }
    buf_wipe(&disc);
    buf_wipe(&jwks);
    buf_wipe(&path);
    return rc;
}

static void *wb_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg, char *err,
                       size_t errlen)
{
    wb_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = h;
    const char *iss = h->value_string(h->value_get(cfg, "issuer"), NULL);
    if (!iss || (strncmp(iss, "http://", 7) && strncmp(iss, "https://", 8)) ||
        strlen(iss) > 2048) {
        snprintf(err, errlen, "issuer must be an http:// or https:// URL (the wristband "
                              "discovery path as others reach it)");
        goto fail;
    }
    if (!(in->issuer = hc_strdup(iss)))
        goto oom;
    const pc_value *d = h->value_get(cfg, "tokenDuration");
    in->duration_s = h->value_type(d) == PC_TYPE_INT ? h->value_int(d) : WB_DEFAULT_DURATION_S;
    const pc_value *claims = h->value_get(cfg, "customClaims");
    size_t nc = h->value_length(claims);
    if (nc) {
        if (!(in->claims = calloc(nc, sizeof *in->claims)))
            goto oom;
        claim_load l = {in, cc, err, errlen};
        if (h->value_foreach(claims, take_claim, &l))
            goto fail;
    }
    if (load_keys(in, cc, h->value_get(cfg, "signingKeyRefs"), err, errlen) < 0)
        goto fail;
    if (!(in->header_b64 = wb_header_b64(in->keys[0])))
        goto oom;
    if (publish(in, cc, err, errlen) < 0)
        goto fail;
    return in;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    wb_destroy(in);
    return NULL;
}

static pc_status wb_evaluate(void *p, pc_eval *ev)
{
    const wb_inst *in = p;
    const pc_host *h = in->host;
    const pc_value *identity = h->value_get(h->value_get(h->eval_root(ev), "auth"), "identity");
    /* A wristband presented back to its own issuer is not re-issued
     * (Authorino skips an OIDC identity of the same issuer). */
    const char *iss = h->value_string(h->value_get(identity, "iss"), NULL);
    if (iss && !strcmp(iss, in->issuer)) {
        h->eval_set_reason(ev, "wristband: the identity is a wristband of this issuer");
        return PC_ERROR;
    }
    buf id, claims, tok;
    buf_init_max(&id, HC_MAX_BODY);
    buf_init_max(&claims, WB_MAX_TOKEN);
    buf_init_max(&tok, WB_MAX_TOKEN);
    pc_status st = PC_ERROR;
    wb_json(h, identity, &id);
    if (id.failed) {
        h->eval_set_reason(ev, "wristband: the identity cannot be serialised");
        goto done;
    }
    uint8_t sum[32];
    char sub[65];
    h->sha256(id.data, id.len, sum);
    for (int i = 0; i < 32; i++)
        snprintf(sub + 2 * i, 3, "%02x", sum[i]);
    int64_t iat = h->realtime_ns() / 1000000000;
    pc_value *c = h->value_new_object(ev);
    if (!c || h->value_set(c, "iss", h->value_new_string(ev, in->issuer, strlen(in->issuer))) ||
        h->value_set(c, "iat", h->value_new_int(ev, iat)) ||
        h->value_set(c, "exp", h->value_new_int(ev, iat + in->duration_s)) ||
        h->value_set(c, "sub", h->value_new_string(ev, sub, 64))) {
        h->eval_set_reason(ev, "wristband: out of memory");
        goto done;
    }
    for (size_t i = 0; i < in->n_claims; i++) {
        const pc_value *v = h->vos_resolve(ev, in->claims[i].vos);
        if (h->value_set(c, in->claims[i].name, v ? h->value_copy(ev, v) : NULL)) {
            h->eval_set_reason(ev, "wristband: out of memory");
            goto done;
        }
    }
    wb_json(h, c, &claims);
    buf_puts(&tok, in->header_b64);
    buf_append(&tok, ".", 1);
    if (!claims.failed)
        hc_buf_base64url(&tok, (const unsigned char *)claims.data, claims.len);
    if (claims.failed || tok.failed) {
        h->eval_set_reason(ev, "wristband: the claims are larger than %d bytes", WB_MAX_TOKEN);
        goto done;
    }
    size_t signed_len = tok.len;
    buf_append(&tok, ".", 1);
    buf sig;
    buf_init_max(&sig, 4096);
    int rc = wb_key_sign(in->keys[0], tok.data, signed_len, &sig);
    if (!rc)
        buf_append(&tok, sig.data, sig.len);
    buf_wipe(&sig);
    if (rc || tok.failed) {
        h->eval_set_reason(ev, "wristband: signing failed");
        goto done;
    }
    pc_value *out = h->value_new_string(ev, tok.data, tok.len);
    if (!out) {
        h->eval_set_reason(ev, "wristband: out of memory");
        goto done;
    }
    h->eval_set_output(ev, out);
    st = PC_OK;
done:
    buf_wipe(&id);
    buf_wipe(&claims);
    buf_wipe(&tok);
    return st;
}

static const pc_evaluator_type wb_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .phase = PC_PHASE_RESPONSE,
    .name = "wristband",
    .config_schema = wb_schema,
    .create = wb_create,
    .destroy = wb_destroy,
    .evaluate = wb_evaluate,
};

static const pc_evaluator_type *const wb_types[] = {&wb_type, NULL};

PC_PLUGIN_DEFINE("response_wristband", "1.0.0",
                 "Festival Wristband tokens: JWTs signed by the AuthConfig, with OpenID "
                 "Connect discovery for their issuer",
                 wb_types, NULL)
