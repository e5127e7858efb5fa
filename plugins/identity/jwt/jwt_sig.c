/* Signature checks for RS*, PS* (MGF1 with the same hash, salt as long as
 * the hash, RFC 7518 §3.5), ES* (raw r||s re-encoded as the DER OpenSSL
 * verifies) and EdDSA over Ed25519 (no pre-hash). */
#include <pthread.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include "jwt_sig.h"

/* Digests fetched once: EVP_get_digestbyname-style implicit fetches look
 * the algorithm up on every verification. */
static EVP_MD *js_md[3];
static pthread_once_t js_once = PTHREAD_ONCE_INIT;

static void js_init(void)
{
    js_md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
    js_md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
    js_md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *js_digest(int alg)
{
    switch (alg) {
    case JWT_RS256: case JWT_PS256: case JWT_ES256: return js_md[0];
    case JWT_RS384: case JWT_PS384: case JWT_ES384: return js_md[1];
    case JWT_RS512: case JWT_PS512: case JWT_ES512: return js_md[2];
    default: return NULL;
    }
}

/* r||s (each `half` bytes) as a DER ECDSA-Sig-Value in out; its length,
 * or 0 on failure. */
static size_t js_ecdsa_der(const unsigned char *sig, size_t half, unsigned char *out,
                           size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    size_t n = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        int len = i2d_ECDSA_SIG(es, NULL);
        if (len > 0 && (size_t)len <= cap) {
            unsigned char *p = out;
            n = (size_t)i2d_ECDSA_SIG(es, &p);
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

/* A verification context for k and alg, PSS parameters set; NULL on
 * failure. */
static EVP_MD_CTX *js_init_ctx(const jwt_key *k, int alg)
{
    pthread_once(&js_once, js_init);
    const EVP_MD *md = alg == JWT_EDDSA ? NULL : js_digest(alg);
    if (alg != JWT_EDDSA && !md)
        return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey) == 1) {
        int pss = alg == JWT_PS256 || alg == JWT_PS384 || alg == JWT_PS512;
        if (!pss ||
            (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1))
            return ctx;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

void jwt_sig_prepare(jwt_key *k)
{
    for (int alg = 0; alg < JWT_ALG_COUNT_; alg++) {
        /* EdDSA is one-shot and stateless to set up: nothing to save. */
        if (alg == JWT_EDDSA || !jwt_key_fits(k, alg))
            continue;
        k->tmpl[alg] = js_init_ctx(k, alg);
    }
}

/* A fresh context: a copy of the template, else initialised anew. */
static EVP_MD_CTX *js_ctx(const jwt_key *k, int alg)
{
    const EVP_MD_CTX *t = k->tmpl[alg];
    if (t) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (ctx && EVP_MD_CTX_copy_ex(ctx, t) == 1)
            return ctx;
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
    }
    return js_init_ctx(k, alg);
}

int jwt_sig_verify(const jwt_key *k, int alg, const unsigned char *msg, size_t msg_len,
                   const unsigned char *sig, size_t sig_len)
{
    if (!jwt_key_fits(k, alg))
        return 0;
    unsigned char der[2 * 66 + 16];
    if (k->kty == JWT_KTY_EC) {
        size_t half = (size_t)(k->ec_bits + 7) / 8;
        if (sig_len != 2 * half || !(sig_len = js_ecdsa_der(sig, half, der, sizeof der)))
            return 0;
        sig = der;
    } else if (k->kty == JWT_KTY_RSA) {
        if (sig_len != (size_t)EVP_PKEY_get_size(k->pkey))
            return 0;
    } else if (sig_len != 64) {
        return 0;
    }
    EVP_MD_CTX *ctx = js_ctx(k, alg);
    int ok = ctx && EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        ERR_clear_error(); /* a forged token must leave nothing behind */
    return ok;
}
