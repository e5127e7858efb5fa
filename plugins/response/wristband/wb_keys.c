/* wb_keys.c - the wristband's signing keys: PEM private keys from Secrets,
 * JWS signatures (RFC 7515/7518: RSASSA-PKCS1-v1_5 and ECDSA with the raw
 * R||S form) and the public halves as JWKs (RFC 7517). OpenSSL 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "wb.h"

#define WB_MIN_RSA_BITS 2048

struct wb_key {
    EVP_PKEY *pkey;
    const EVP_MD *md;
    const char *alg;       /* static */
    const char *crv;       /* "P-256"..., NULL for RSA */
    size_t coord;          /* bytes of an EC coordinate (R and S too) */
    char *kid;
};

static const struct {
    const char *alg, *group, *crv;
    size_t coord;
    int sha;
} wb_algs[] = {
    {"ES256", "prime256v1", "P-256", 32, 256},
    {"ES384", "secp384r1", "P-384", 48, 384},
    {"ES512", "secp521r1", "P-521", 66, 512},
    {"RS256", NULL, NULL, 0, 256},
    {"RS384", NULL, NULL, 0, 384},
    {"RS512", NULL, NULL, 0, 512},
};

/* Never prompts for a passphrase: an encrypted key simply fails to load. */
static int no_pass(char *pw, int size, int rw, void *u)
{
    (void)pw, (void)size, (void)rw, (void)u;
    return -1;
}

wb_key *wb_key_load(const char *pem, const char *alg, const char *kid, char *err,
                    size_t errlen)
{
    size_t a = 0;
    while (a < sizeof wb_algs / sizeof wb_algs[0] && strcmp(wb_algs[a].alg, alg))
        a++;
    if (a == sizeof wb_algs / sizeof wb_algs[0]) {
        snprintf(err, errlen, "algorithm %s is not one of ES256, ES384, ES512, RS256, RS384, "
                              "RS512", alg);
        return NULL;
    }
    wb_key *k = calloc(1, sizeof *k);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!k || !bio || !(k->kid = hc_strdup(kid))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
    ERR_clear_error();
    if (!k->pkey) {
        snprintf(err, errlen, "key.pem is not a PEM private key");
        goto fail;
    }
    k->alg = wb_algs[a].alg;
    k->md = wb_algs[a].sha == 256 ? EVP_sha256() : wb_algs[a].sha == 384 ? EVP_sha384()
                                                                         : EVP_sha512();
    if (wb_algs[a].group) {
        char group[64] = "";
        if (!EVP_PKEY_is_a(k->pkey, "EC") ||
            !EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof group, NULL) ||
            strcmp(group, wb_algs[a].group)) {
            snprintf(err, errlen, "%s needs an EC key on %s", alg, wb_algs[a].crv);
            goto fail;
        }
        k->crv = wb_algs[a].crv;
        k->coord = wb_algs[a].coord;
    } else if (!EVP_PKEY_is_a(k->pkey, "RSA") || EVP_PKEY_get_bits(k->pkey) < WB_MIN_RSA_BITS) {
        snprintf(err, errlen, "%s needs an RSA key of at least %d bits", alg, WB_MIN_RSA_BITS);
        goto fail;
    }
    BIO_free(bio);
    return k;
fail:
    ERR_clear_error();
    BIO_free(bio);
    wb_key_free(k);
    return NULL;
}

void wb_key_free(wb_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->kid);
    free(k);
}

const char *wb_key_alg(const wb_key *k) { return k->alg; }
const char *wb_key_kid(const wb_key *k) { return k->kid; }

int wb_key_sign(const wb_key *k, const char *data, size_t len, buf *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL, raw[2 * 66];
    size_t siglen = 0;
    int rc = -1;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, k->md, NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
        goto done;
    if (k->crv) {
        /* OpenSSL gives DER; JWS wants R and S as fixed-size big-endian. */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        const BIGNUM *r, *s;
        if (!es)
            goto done;
        ECDSA_SIG_get0(es, &r, &s);
        int ok = BN_bn2binpad(r, raw, (int)k->coord) > 0 &&
                 BN_bn2binpad(s, raw + k->coord, (int)k->coord) > 0;
        ECDSA_SIG_free(es);
        if (!ok)
            goto done;
        hc_buf_base64url(out, raw, 2 * k->coord);
    } else {
        hc_buf_base64url(out, sig, siglen);
    }
    rc = out->failed ? -1 : 0;
done:
    ERR_clear_error();
    free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* "name":"base64url(bn padded to pad bytes)" */
static int put_bn(const wb_key *k, const char *param, const char *name, size_t pad,
                  buf *out)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k->pkey, param, &bn))
        return -1;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *b = malloc(n ? n : 1);
    int rc = -1;
    if (b && BN_bn2binpad(bn, b, (int)n) >= 0) {
        buf_puts(out, ",\"");
        buf_puts(out, name);
        buf_puts(out, "\":\"");
        hc_buf_base64url(out, b, n);
        buf_puts(out, "\"");
        rc = 0;
    }
    free(b);
    BN_free(bn);
    return rc;
}

int wb_key_jwk(const wb_key *k, buf *out)
{
    buf_puts(out, "{\"use\":\"sig\",\"kty\":\"");
    buf_puts(out, k->crv ? "EC" : "RSA");
    buf_puts(out, "\",\"kid\":");
    wb_json_str(out, k->kid, strlen(k->kid));
    buf_puts(out, ",\"alg\":\"");
    buf_puts(out, k->alg);
    buf_puts(out, "\"");
    int rc;
    if (k->crv) {
        buf_puts(out, ",\"crv\":\"");
        buf_puts(out, k->crv);
        buf_puts(out, "\"");
        rc = put_bn(k, OSSL_PKEY_PARAM_EC_PUB_X, "x", k->coord, out) |
             put_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, "y", k->coord, out);
    } else {
        rc = put_bn(k, OSSL_PKEY_PARAM_RSA_N, "n", 0, out) |
             put_bn(k, OSSL_PKEY_PARAM_RSA_E, "e", 0, out);
    }
    buf_puts(out, "}");
    ERR_clear_error();
    return rc || out->failed ? -1 : 0;
}
