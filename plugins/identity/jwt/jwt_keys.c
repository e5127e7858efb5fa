/* JWK parsing: RSA (n, e), EC (crv P-256/P-384/P-521, x, y) and OKP
 * (Ed25519, x) into EVP_PKEYs built from their raw parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include "jwt_keys.h"
#include "jwt_sig.h"

static const char *const jwt_alg_names[JWT_ALG_COUNT_] = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA"};

int jwt_alg_parse(const char *name)
{
    for (int i = 0; name && i < JWT_ALG_COUNT_; i++)
        if (strcmp(name, jwt_alg_names[i]) == 0)
            return i;
    return -1;
}

const char *jwt_alg_name(int alg)
{
    return alg >= 0 && alg < JWT_ALG_COUNT_ ? jwt_alg_names[alg] : "?";
}

int jwt_key_fits(const jwt_key *k, int alg)
{
    if (k->alg >= 0 && k->alg != alg)
        return 0;
    switch (alg) {
    case JWT_RS256: case JWT_RS384: case JWT_RS512:
    case JWT_PS256: case JWT_PS384: case JWT_PS512:
        return k->kty == JWT_KTY_RSA;
    case JWT_ES256: return k->kty == JWT_KTY_EC && k->ec_bits == 256;
    case JWT_ES384: return k->kty == JWT_KTY_EC && k->ec_bits == 384;
    case JWT_ES512: return k->kty == JWT_KTY_EC && k->ec_bits == 521;
    case JWT_EDDSA: return k->kty == JWT_KTY_OKP;
    default: return 0;
    }
}

/* A base64url member decoded; NULL when absent or invalid. */
static unsigned char *jk_b64(const pc_host *h, const pc_value *jwk, const char *name,
                             size_t *len)
{
    size_t sl = 0;
    const char *s = h->value_string(h->value_get(jwk, name), &sl);
    if (!s || !sl)
        return NULL;
    unsigned char *out = h->base64_decode(s, sl, 1, len);
    if (out && !*len) {
        h->free(out);
        return NULL;
    }
    return out;
}

static EVP_PKEY *jk_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pk;
}

static EVP_PKEY *jk_rsa(const pc_host *h, const pc_value *jwk, const char **why)
{
    size_t nl = 0, el = 0;
    unsigned char *n = jk_b64(h, jwk, "n", &nl), *e = jk_b64(h, jwk, "e", &el);
    EVP_PKEY *pk = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    *why = "RSA key needs n and e";
    if (!n || !e || el > 8)
        goto out;
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    if (!bn || !be)
        goto out;
    *why = "RSA modulus shorter than 2048 bits";
    if (BN_num_bits(bn) < JWT_MIN_RSA_BITS)
        goto out;
    *why = "RSA key rejected by OpenSSL";
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    pk = jk_fromdata("RSA", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    h->free(n);
    h->free(e);
    return pk;
}

static EVP_PKEY *jk_ec(const pc_host *h, const pc_value *jwk, int *bits, const char **why)
{
    const char *crv = h->value_string(h->value_get(jwk, "crv"), NULL);
    const char *group;
    size_t flen;
    *why = "EC curve is not P-256, P-384 or P-521";
    if (!crv)
        return NULL;
    if (strcmp(crv, "P-256") == 0) {
        group = "prime256v1", flen = 32, *bits = 256;
    } else if (strcmp(crv, "P-384") == 0) {
        group = "secp384r1", flen = 48, *bits = 384;
    } else if (strcmp(crv, "P-521") == 0) {
        group = "secp521r1", flen = 66, *bits = 521;
    } else {
        return NULL;
    }
    size_t xl = 0, yl = 0;
    unsigned char *x = jk_b64(h, jwk, "x", &xl), *y = jk_b64(h, jwk, "y", &yl);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    unsigned char pt[1 + 2 * 66];
    *why = "EC key needs x and y of the curve's size";
    if (!x || !y || xl != flen || yl != flen)
        goto out;
    /* The uncompressed point; OpenSSL checks that it lies on the curve. */
    pt[0] = 0x04;
    memcpy(pt + 1, x, flen);
    memcpy(pt + 1 + flen, y, flen);
    *why = "EC point rejected by OpenSSL";
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * flen))
        goto out;
    pk = jk_fromdata("EC", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    h->free(x);
    h->free(y);
    return pk;
}

static EVP_PKEY *jk_okp(const pc_host *h, const pc_value *jwk, const char **why)
{
    const char *crv = h->value_string(h->value_get(jwk, "crv"), NULL);
    *why = "OKP curve is not Ed25519";
    if (!crv || strcmp(crv, "Ed25519") != 0)
        return NULL;
    size_t xl = 0;
    unsigned char *x = jk_b64(h, jwk, "x", &xl);
    EVP_PKEY *pk = NULL;
    *why = "Ed25519 key needs a 32-byte x";
    if (x && xl == 32)
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
    h->free(x);
    return pk;
}

/* One JWK into k; 0 on success, -1 (with *why) to skip it. */
static int jk_one(const pc_host *h, const pc_value *jwk, jwt_key *k, const char **why)
{
    memset(k, 0, sizeof *k);
    k->alg = -1;
    *why = "not an object";
    if (h->value_type(jwk) != PC_TYPE_OBJECT)
        return -1;
    const char *use = h->value_string(h->value_get(jwk, "use"), NULL);
    *why = "not a signature key";
    if (use && strcmp(use, "sig") != 0)
        return -1;
    const pc_value *ops = h->value_get(jwk, "key_ops");
    if (h->value_type(ops) == PC_TYPE_ARRAY) {
        int verify = 0;
        for (size_t i = 0; i < h->value_length(ops); i++) {
            const char *op = h->value_string(h->value_at(ops, i), NULL);
            verify |= op && strcmp(op, "verify") == 0;
        }
        if (!verify)
            return -1;
    }
    const char *alg = h->value_string(h->value_get(jwk, "alg"), NULL);
    if (alg && (k->alg = jwt_alg_parse(alg)) < 0) {
        *why = "alg not accepted";
        return -1;
    }
    const char *kty = h->value_string(h->value_get(jwk, "kty"), NULL);
    *why = "unknown kty";
    if (!kty)
        return -1;
    if (strcmp(kty, "RSA") == 0) {
        k->kty = JWT_KTY_RSA;
        k->pkey = jk_rsa(h, jwk, why);
    } else if (strcmp(kty, "EC") == 0) {
        k->kty = JWT_KTY_EC;
        k->pkey = jk_ec(h, jwk, &k->ec_bits, why);
    } else if (strcmp(kty, "OKP") == 0) {
        k->kty = JWT_KTY_OKP;
        k->pkey = jk_okp(h, jwk, why);
    } else {
        return -1; /* "oct" (shared secrets) among them: never accepted */
    }
    if (!k->pkey)
        return -1;
    /* A JWK whose alg belongs to another key type would never verify. */
    if (k->alg >= 0 && !jwt_key_fits(k, k->alg)) {
        *why = "alg does not match the key type";
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        return -1;
    }
    size_t kl = 0;
    const char *kid = h->value_string(h->value_get(jwk, "kid"), &kl);
    if (kid && !(k->kid = strndup(kid, kl))) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        *why = "out of memory";
        return -1;
    }
    jwt_sig_prepare(k);
    return 0;
}

jwt_keyset *jwt_keyset_parse(const pc_host *h, const char *json, size_t len,
                             size_t *skipped, char *err, size_t errlen)
{
    *skipped = 0;
    pc_value *doc = h->value_keep_json(json, len);
    const pc_value *arr = doc ? h->value_get(doc, "keys") : NULL;
    if (h->value_type(arr) != PC_TYPE_ARRAY) {
        snprintf(err, errlen, "not a JWKS document (no \"keys\" list)");
        if (doc)
            h->value_release(doc);
        return NULL;
    }
    size_t n = h->value_length(arr);
    size_t cap = n < JWT_MAX_KEYS ? n : JWT_MAX_KEYS;
    jwt_keyset *ks = calloc(1, sizeof *ks + cap * sizeof(jwt_key));
    if (!ks) {
        snprintf(err, errlen, "out of memory");
        h->value_release(doc);
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    const char *last_why = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (ks->n == cap) {
            *skipped += n - i;
            break;
        }
        if (jk_one(h, h->value_at(arr, i), &ks->keys[ks->n], &why) == 0) {
            ks->n++;
        } else {
            ++*skipped;
            last_why = why;
        }
    }
    h->value_release(doc);
    if (!ks->n) {
        snprintf(err, errlen, "no usable signature key in the JWKS%s%s",
                 last_why ? ": " : "", last_why ? last_why : "");
        jwt_keyset_unref(ks);
        return NULL;
    }
    return ks;
}

jwt_keyset *jwt_keyset_ref(jwt_keyset *ks)
{
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    return ks;
}

void jwt_keyset_unref(jwt_keyset *ks)
{
    if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        free(ks->keys[i].kid);
        for (int a = 0; a < JWT_ALG_COUNT_; a++)
            EVP_MD_CTX_free(ks->keys[i].tmpl[a]);
        EVP_PKEY_free(ks->keys[i].pkey);
    }
    free(ks);
}
