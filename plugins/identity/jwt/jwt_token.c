/* Token checks in the order go-oidc makes them, cheap ones first so a
 * stale or foreign token never costs a key fetch: shape, algorithm,
 * issuer, exp/nbf/iat, then the signature. Deny reasons follow go-oidc's
 * wording (what Authorino reports) without the token's own values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jwt_sig.h"
#include "jwt_token.h"

#define JT_MALFORMED "oidc: malformed jwt"
#define JT_BAD_SIG "failed to verify signature: failed to verify id token signature"

typedef struct jt_parts {
    const char *hdr, *pay, *sig;
    size_t hdr_len, pay_len, sig_len;
    size_t signed_len;       /* "header.payload" */
} jt_parts;

static int jt_split(const char *t, size_t n, jt_parts *p)
{
    const char *d1 = memchr(t, '.', n);
    if (!d1)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', (size_t)(t + n - d1 - 1));
    if (!d2 || memchr(d2 + 1, '.', (size_t)(t + n - d2 - 1)))
        return -1;
    p->hdr = t;
    p->hdr_len = (size_t)(d1 - t);
    p->pay = d1 + 1;
    p->pay_len = (size_t)(d2 - d1 - 1);
    p->sig = d2 + 1;
    p->sig_len = (size_t)(t + n - d2 - 1);
    p->signed_len = (size_t)(d2 - t);
    return p->hdr_len && p->pay_len ? 0 : -1;
}

static pc_status jt_deny(const pc_host *h, pc_eval *ev, pc_value **out, const char *why)
{
    h->eval_set_reason(ev, "%s", why);
    *out = h->value_new_string(ev, why, strlen(why));
    return PC_DENY;
}

/* A base64url segment parsed as a JSON object, or NULL. */
static const pc_value *jt_json(const pc_host *h, pc_eval *ev, const char *s, size_t n)
{
    size_t len = 0;
    unsigned char *raw = h->base64_decode(s, n, 1, &len);
    if (!raw)
        return NULL;
    const pc_value *v = h->value_parse(ev, (const char *)raw, len);
    h->free(raw);
    return h->value_type(v) == PC_TYPE_OBJECT ? v : NULL;
}

/* A NumericDate claim: 1 and *t when present and a number, 0 when absent,
 * -1 when present with another type. */
static int jt_date(const pc_host *h, const pc_value *claims, const char *name, double *t)
{
    const pc_value *v = h->value_get(claims, name);
    switch (h->value_type(v)) {
    case PC_TYPE_NULL: return v ? -1 : 0;
    case PC_TYPE_INT: *t = (double)h->value_int(v); return 1;
    case PC_TYPE_DOUBLE: *t = h->value_double(v); return 1;
    default: return -1;
    }
}

/* Claim rules; NULL when they hold, else the deny reason. */
static const char *jt_claims(const jwt_inst *in, const pc_value *claims, double now,
                             double *exp)
{
    const pc_host *h = in->host;
    if (in->issuer) {
        const char *iss = h->value_string(h->value_get(claims, "iss"), NULL);
        if (!iss || strcmp(iss, in->issuer) != 0)
            return "oidc: id token issued by a different provider";
    }
    double nbf, iat;
    int has_exp = jt_date(h, claims, "exp", exp);
    int has_nbf = jt_date(h, claims, "nbf", &nbf);
    int has_iat = jt_date(h, claims, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return JT_MALFORMED ": a date claim is not a number";
    /* A token without exp never expires: go-oidc treats it as expired. */
    if (!has_exp || now > *exp + JWT_LEEWAY_S)
        return "oidc: token is expired";
    if (has_nbf && now + JWT_LEEWAY_S < nbf)
        return "oidc: current time before the nbf (not before) time";
    if (has_iat && now + JWT_LEEWAY_S < iat)
        return "oidc: token issued in the future (iat)";
    return NULL;
}

typedef enum { JT_VERIFIED, JT_NO_KEY, JT_FAILED } jt_result;

/* Tries the keys that may have made this signature: those with the
 * token's kid (all fitting ones when it has none). */
static jt_result jt_try_keys(const jwt_keyset *ks, int alg, const char *kid,
                             const jt_parts *p, const unsigned char *sig, size_t sig_len)
{
    int seen = 0;
    for (size_t i = 0; i < ks->n; i++) {
        const jwt_key *k = &ks->keys[i];
        if (kid && (!k->kid || strcmp(k->kid, kid) != 0))
            continue;
        seen = 1;
        if (jwt_key_fits(k, alg) &&
            jwt_sig_verify(k, alg, (const unsigned char *)p->hdr, p->signed_len, sig, sig_len))
            return JT_VERIFIED;
    }
    return seen || !kid ? JT_FAILED : JT_NO_KEY;
}

static int64_t jt_demand_deadline(const jwt_inst *in, pc_eval *ev)
{
    const pc_host *h = in->host;
    int64_t d = h->monotonic_ns() + (2 * in->timeout_ms + 100) * 1000000;
    int64_t ed = h->eval_deadline_ns(ev);
    return ed && ed < d ? ed : d;
}

static pc_status jt_signature(const jwt_inst *in, pc_eval *ev, pc_value **out, int alg,
                              const char *kid, const jt_parts *p)
{
    const pc_host *h = in->host;
    size_t sig_len = 0;
    unsigned char *sig = p->sig_len ? h->base64_decode(p->sig, p->sig_len, 1, &sig_len) : NULL;
    if (!sig || !sig_len) {
        h->free(sig);
        return jt_deny(h, ev, out, JT_MALFORMED ": no signature");
    }
    jwt_keyset *ks = jwt_refresh_keys(in->rf);
    jt_result r = ks ? jt_try_keys(ks, alg, kid, p, sig, sig_len) : JT_NO_KEY;
    /* An unknown kid (or no keys at all) may mean the provider rotated its
     * keys since the last fetch: ask for one, within the rate limit. */
    if (r == JT_NO_KEY &&
        jwt_refresh_demand(in->rf, kid, kid ? strlen(kid) : 0, jt_demand_deadline(in, ev))) {
        jwt_keyset_unref(ks);
        ks = jwt_refresh_keys(in->rf);
        r = ks ? jt_try_keys(ks, alg, kid, p, sig, sig_len) : JT_NO_KEY;
    }
    int had_keys = ks != NULL;
    jwt_keyset_unref(ks);
    h->free(sig);
    if (r == JT_VERIFIED)
        return PC_OK;
    if (!had_keys) {
        h->eval_set_reason(ev, "%s", in->issuer ? "missing openid connect configuration"
                                                : "failed to verify signature: no keys "
                                                  "fetched from the JWKS endpoint");
        return PC_ERROR;
    }
    return jt_deny(h, ev, out, JT_BAD_SIG);
}

pc_status jwt_token_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const jwt_ask *a = arg;
    const jwt_inst *in = a->in;
    const pc_host *h = in->host;
    *out = NULL;
    jt_parts p;
    if (a->token_len > JWT_MAX_TOKEN || jt_split(a->token, a->token_len, &p) != 0)
        return jt_deny(h, ev, out, JT_MALFORMED);
    const pc_value *hdr = jt_json(h, ev, p.hdr, p.hdr_len);
    if (!hdr)
        return jt_deny(h, ev, out, JT_MALFORMED ": bad header");
    /* No critical extension is understood, so none may be required. */
    if (h->value_get(hdr, "crit"))
        return jt_deny(h, ev, out, JT_MALFORMED ": unsupported crit header");
    int alg = jwt_alg_parse(h->value_string(h->value_get(hdr, "alg"), NULL));
    if (alg < 0)
        return jt_deny(h, ev, out, "oidc: id token signed with unsupported algorithm");
    const pc_value *kidv = h->value_get(hdr, "kid");
    const char *kid = h->value_string(kidv, NULL);
    if (kidv && !kid)
        return jt_deny(h, ev, out, JT_MALFORMED ": kid is not a string");
    pc_value *claims = (pc_value *)jt_json(h, ev, p.pay, p.pay_len);
    if (!claims)
        return jt_deny(h, ev, out, JT_MALFORMED ": bad payload");
    double now = (double)h->realtime_ns() / 1e9, exp = 0;
    const char *why = jt_claims(in, claims, now, &exp);
    if (why)
        return jt_deny(h, ev, out, why);
    pc_status st = jt_signature(in, ev, out, alg, kid, &p);
    if (st != PC_OK)
        return st;
    /* Never cached past the token's own expiry (the leeway is for skew,
     * not for caching). */
    double left_ms = (exp - now) * 1000.0;
    *ttl_ms = left_ms <= 0 ? 0 : left_ms < (double)in->cache_ttl_ms ? (int64_t)left_ms
                                                                    : in->cache_ttl_ms;
    *out = claims;
    return PC_OK;
}
