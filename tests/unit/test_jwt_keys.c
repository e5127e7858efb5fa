/* Tests for the jwt plugin's JWK parsing (plugins/identity/jwt/jwt_keys.c)
 * and signature checks (jwt_sig.c), with keys and signatures made here by
 * OpenSSL: which JWKs are used or skipped, which algorithms a key may
 * verify, and that every algorithm accepts its own signatures and nothing
 * else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "cu_main.h"
#include "host/hostimpl.h"
#include "jwt_keys.h"
#include "jwt_sig.h"

static const pc_host *H;

/* base64url without padding. */
static char *b64u(const unsigned char *d, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (len && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    return out;
}

static char *bn_b64u(const EVP_PKEY *pk, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(pk, param, &bn);
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *buf = malloc(n);
    BN_bn2binpad(bn, buf, (int)n);
    char *s = b64u(buf, n);
    free(buf);
    BN_free(bn);
    return s;
}

static char *rsa_jwk(EVP_PKEY *pk, const char *extra)
{
    char *n = bn_b64u(pk, OSSL_PKEY_PARAM_RSA_N, 0), *e = bn_b64u(pk, OSSL_PKEY_PARAM_RSA_E, 0);
    char *out = malloc(strlen(n) + strlen(e) + strlen(extra) + 64);
    sprintf(out, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s}", n, e, extra);
    free(n);
    free(e);
    return out;
}

static char *ec_jwk(EVP_PKEY *pk, const char *crv, size_t size, int spoil_y, const char *extra)
{
    char *x = bn_b64u(pk, OSSL_PKEY_PARAM_EC_PUB_X, size);
    BIGNUM *y = NULL;
    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    if (spoil_y)
        BN_add_word(y, 1); /* (x, y+1) is not on the curve */
    unsigned char buf[66];
    BN_bn2binpad(y, buf, (int)size);
    char *ys = b64u(buf, size);
    BN_free(y);
    char *out = malloc(strlen(x) + strlen(ys) + strlen(extra) + 96);
    sprintf(out, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", crv, x, ys, extra);
    free(x);
    free(ys);
    return out;
}

static char *okp_jwk(EVP_PKEY *pk, const char *extra)
{
    unsigned char raw[32];
    size_t n = sizeof raw;
    EVP_PKEY_get_raw_public_key(pk, raw, &n);
    char *x = b64u(raw, n);
    char *out = malloc(strlen(x) + strlen(extra) + 64);
    sprintf(out, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"%s}", x, extra);
    free(x);
    return out;
}

/* Parses {"keys":[jwk]}: the set (or NULL), and *skipped. */
static jwt_keyset *parse1(const char *jwk, size_t *skipped, char *err)
{
    char *doc = malloc(strlen(jwk) + 16);
    sprintf(doc, "{\"keys\":[%s]}", jwk);
    jwt_keyset *ks = jwt_keyset_parse(H, doc, strlen(doc), skipped, err, 256);
    free(doc);
    return ks;
}

static EVP_PKEY *rsa2048, *rsa1024, *p256, *p384, *p521, *ed;

static void keys_once(void)
{
    if (rsa2048)
        return;
    H = host_table();
    rsa2048 = EVP_RSA_gen(2048);
    rsa1024 = EVP_RSA_gen(1024);
    p256 = EVP_EC_gen("P-256");
    p384 = EVP_EC_gen("P-384");
    p521 = EVP_EC_gen("P-521");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CU_ASSERT_FATAL(rsa2048 && rsa1024 && p256 && p384 && p521 && ed);
}

static void expect_skipped(char *jwk, const char *why)
{
    size_t skipped = 0;
    char err[256] = "";
    jwt_keyset *ks = parse1(jwk, &skipped, err);
    if (ks || skipped != 1 || !strstr(err, why))
        fprintf(stderr, "  expected skip (%s), got %s\n", why, ks ? "a key" : err);
    CU_ASSERT_PTR_NULL(ks);
    CU_ASSERT_EQUAL(skipped, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
    jwt_keyset_unref(ks);
    free(jwk);
}

static jwt_keyset *expect_key(char *jwk)
{
    size_t skipped = 1;
    char err[256] = "";
    jwt_keyset *ks = parse1(jwk, &skipped, err);
    if (!ks)
        fprintf(stderr, "  expected a key, got: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
    CU_ASSERT_EQUAL(ks->n, 1);
    CU_ASSERT_EQUAL(skipped, 0);
    free(jwk);
    return ks;
}

static void test_parse(void)
{
    keys_once();
    jwt_keyset *ks = expect_key(rsa_jwk(rsa2048, ",\"kid\":\"r1\",\"use\":\"sig\""));
    CU_ASSERT_STRING_EQUAL(ks->keys[0].kid, "r1");
    CU_ASSERT_EQUAL(ks->keys[0].kty, JWT_KTY_RSA);
    CU_ASSERT_EQUAL(ks->keys[0].alg, -1);
    jwt_keyset_unref(ks);
    ks = expect_key(ec_jwk(p384, "P-384", 48, 0, ",\"alg\":\"ES384\""));
    CU_ASSERT_EQUAL(ks->keys[0].ec_bits, 384);
    CU_ASSERT_EQUAL(ks->keys[0].alg, JWT_ES384);
    CU_ASSERT_PTR_NULL(ks->keys[0].kid);
    jwt_keyset_unref(ks);
    jwt_keyset_unref(expect_key(ec_jwk(p521, "P-521", 66, 0, "")));
    jwt_keyset_unref(expect_key(okp_jwk(ed, ",\"key_ops\":[\"verify\"]")));

    expect_skipped(rsa_jwk(rsa1024, ""), "shorter than 2048 bits");
    expect_skipped(ec_jwk(p256, "P-256", 32, 1, ""), "EC point rejected");
    expect_skipped(ec_jwk(p256, "P-384", 32, 0, ""), "x and y of the curve's size");
    expect_skipped(ec_jwk(p256, "secp256k1", 32, 0, ""), "not P-256, P-384 or P-521");
    expect_skipped(rsa_jwk(rsa2048, ",\"use\":\"enc\""), "not a signature key");
    expect_skipped(rsa_jwk(rsa2048, ",\"key_ops\":[\"encrypt\"]"), "not a signature key");
    expect_skipped(rsa_jwk(rsa2048, ",\"alg\":\"HS256\""), "alg not accepted");
    expect_skipped(rsa_jwk(rsa2048, ",\"alg\":\"ES256\""), "does not match the key type");
    expect_skipped(ec_jwk(p256, "P-256", 32, 0, ",\"alg\":\"ES384\""), "does not match");
    expect_skipped(strdup("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}"), "unknown kty");
    expect_skipped(strdup("{\"kty\":\"RSA\",\"n\":\"!!\",\"e\":\"AQAB\"}"), "needs n and e");
    expect_skipped(strdup("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}"), "not Ed25519");

    size_t skipped = 0;
    char err[256] = "";
    CU_ASSERT_PTR_NULL(jwt_keyset_parse(H, "[]", 2, &skipped, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a JWKS document"));
    CU_ASSERT_PTR_NULL(jwt_keyset_parse(H, "{\"keys\":[]}", 11, &skipped, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no usable signature key"));
}

static void test_cap(void)
{
    keys_once();
    char *one = okp_jwk(ed, "");
    size_t n = 70, len = strlen(one);
    char *doc = malloc(n * (len + 1) + 16), *p = doc;
    p += sprintf(p, "{\"keys\":[");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", one);
    sprintf(p, "]}");
    size_t skipped = 0;
    char err[256];
    jwt_keyset *ks = jwt_keyset_parse(H, doc, strlen(doc), &skipped, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
    CU_ASSERT_EQUAL(ks->n, JWT_MAX_KEYS);
    CU_ASSERT_EQUAL(skipped, n - JWT_MAX_KEYS);
    jwt_keyset_unref(ks);
    free(doc);
    free(one);
}

static void test_fits(void)
{
    jwt_key rsa = {.kty = JWT_KTY_RSA, .alg = -1}, rs256 = {.kty = JWT_KTY_RSA, .alg = JWT_RS256};
    jwt_key ec384 = {.kty = JWT_KTY_EC, .ec_bits = 384, .alg = -1};
    jwt_key okp = {.kty = JWT_KTY_OKP, .alg = -1};
    for (int a = 0; a < JWT_ALG_COUNT_; a++) {
        CU_ASSERT_EQUAL(jwt_key_fits(&rsa, a), a <= JWT_PS512);
        CU_ASSERT_EQUAL(jwt_key_fits(&rs256, a), a == JWT_RS256);
        CU_ASSERT_EQUAL(jwt_key_fits(&ec384, a), a == JWT_ES384);
        CU_ASSERT_EQUAL(jwt_key_fits(&okp, a), a == JWT_EDDSA);
    }
    CU_ASSERT_EQUAL(jwt_alg_parse("none"), -1);
    CU_ASSERT_EQUAL(jwt_alg_parse("HS256"), -1);
    CU_ASSERT_EQUAL(jwt_alg_parse("rs256"), -1);
    CU_ASSERT_EQUAL(jwt_alg_parse("EdDSA"), JWT_EDDSA);
    CU_ASSERT_EQUAL(jwt_alg_parse(NULL), -1);
}

/* Signs msg with pk for alg the way a JWS carries it (ES*: raw r||s). */
static size_t sign(EVP_PKEY *pk, int alg, const unsigned char *msg, size_t n,
                   unsigned char *sig)
{
    static const char *const md[] = {"SHA256", "SHA384", "SHA512"};
    const char *mdn = alg == JWT_EDDSA ? NULL : md[(alg % 3)];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t len = 600;
    unsigned char der[600];
    CU_ASSERT_FATAL(EVP_DigestSignInit_ex(c, &pc, mdn, NULL, NULL, pk, NULL) == 1);
    if (alg >= JWT_PS256 && alg <= JWT_PS512) {
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
    }
    CU_ASSERT_FATAL(EVP_DigestSign(c, der, &len, msg, n) == 1);
    EVP_MD_CTX_free(c);
    if (alg < JWT_ES256 || alg == JWT_EDDSA) {
        memcpy(sig, der, len);
        return len;
    }
    size_t half = alg == JWT_ES256 ? 32 : alg == JWT_ES384 ? 48 : 66;
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half);
    ECDSA_SIG_free(es);
    return 2 * half;
}

static void test_verify(void)
{
    keys_once();
    struct { EVP_PKEY *pk; char *jwk; int algs[6]; } cases[] = {
        {rsa2048, rsa_jwk(rsa2048, ""),
         {JWT_RS256, JWT_RS384, JWT_RS512, JWT_PS256, JWT_PS384, JWT_PS512}},
        {p256, ec_jwk(p256, "P-256", 32, 0, ""), {JWT_ES256, -1}},
        {p384, ec_jwk(p384, "P-384", 48, 0, ""), {JWT_ES384, -1}},
        {p521, ec_jwk(p521, "P-521", 66, 0, ""), {JWT_ES512, -1}},
        {ed, okp_jwk(ed, ""), {JWT_EDDSA, -1}},
    };
    const unsigned char msg[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
    size_t mlen = sizeof msg - 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t skipped;
        char err[256];
        jwt_keyset *ks = parse1(cases[i].jwk, &skipped, err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
        const jwt_key *k = &ks->keys[0];
        for (int j = 0; j < 6 && cases[i].algs[j] >= 0; j++) {
            int alg = cases[i].algs[j];
            unsigned char sig[600];
            size_t sl = sign(cases[i].pk, alg, msg, mlen, sig);
            int ok = jwt_sig_verify(k, alg, msg, mlen, sig, sl);
            if (!ok)
                fprintf(stderr, "  %s: own signature refused\n", jwt_alg_name(alg));
            CU_ASSERT(ok);
            /* Another message, a flipped bit, a short signature: refused. */
            CU_ASSERT(!jwt_sig_verify(k, alg, msg, mlen - 1, sig, sl));
            sig[sl / 2] ^= 1;
            CU_ASSERT(!jwt_sig_verify(k, alg, msg, mlen, sig, sl));
            sig[sl / 2] ^= 1;
            CU_ASSERT(!jwt_sig_verify(k, alg, msg, mlen, sig, sl - 1));
            /* The same key under an algorithm of another family: refused. */
            int other = alg == JWT_EDDSA ? JWT_RS256 : alg <= JWT_PS512 ? JWT_ES256 : JWT_EDDSA;
            CU_ASSERT(!jwt_sig_verify(k, other, msg, mlen, sig, sl));
        }
        /* RS256 and PS256 signatures are not interchangeable. */
        if (k->kty == JWT_KTY_RSA) {
            unsigned char sig[600];
            size_t sl = sign(cases[i].pk, JWT_PS256, msg, mlen, sig);
            CU_ASSERT(!jwt_sig_verify(k, JWT_RS256, msg, mlen, sig, sl));
        }
        jwt_keyset_unref(ks);
        free(cases[i].jwk);
    }
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"JWKs used and skipped", test_parse},
        {"at most 64 keys", test_cap},
        {"which algorithms a key fits", test_fits},
        {"every algorithm verifies its own and nothing else", test_verify},
        {NULL, NULL}};
    return cu_add_suite("jwt keys and signatures", cases);
}
