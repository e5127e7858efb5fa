/* The wristband response (plugins/response/wristband): the signing keys,
 * the JOSE header and the issuer's discovery document and key set checked
 * directly against OpenSSL; then tokens issued through the engine for each
 * algorithm, verified with OpenSSL, and the config errors (Secrets, keys,
 * typos, limits) with their file:line: path. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <json-c/json.h>
#include "cu_main.h"
#include "pc_testutil.h"
#include "wb.h"

/* ---- keys made for the suite ---- */
enum { K_P256, K_P384, K_P521, K_RSA, K_RSA1024, K_N };
static EVP_PKEY *g_pkey[K_N];
static char *g_pem[K_N];

static char *pem_of(EVP_PKEY *k, const EVP_CIPHER *enc)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *p;
    if (b && PEM_write_bio_PrivateKey(b, k, enc, enc ? (unsigned char *)"pw" : NULL,
                                      enc ? 2 : 0, NULL, NULL) == 1) {
        long n = BIO_get_mem_data(b, &p);
        if ((out = malloc((size_t)n + 1))) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static int make_keys(void)
{
    if (g_pkey[0])
        return 0;
    g_pkey[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    g_pkey[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    g_pkey[K_P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    g_pkey[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    g_pkey[K_RSA1024] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    for (int i = 0; i < K_N; i++)
        if (!g_pkey[i] || !(g_pem[i] = pem_of(g_pkey[i], NULL)))
            return -1;
    return 0;
}

static void free_keys(void)
{
    for (int i = 0; i < K_N; i++) {
        EVP_PKEY_free(g_pkey[i]);
        free(g_pem[i]);
        g_pkey[i] = NULL;
        g_pem[i] = NULL;
    }
}

static const struct {
    const char *alg;
    int key;
    const char *md;
    size_t coord;
} g_algs[] = {
    {"ES256", K_P256, "SHA256", 32}, {"ES384", K_P384, "SHA384", 48},
    {"ES512", K_P521, "SHA512", 66}, {"RS256", K_RSA, "SHA256", 0},
    {"RS384", K_RSA, "SHA384", 0},   {"RS512", K_RSA, "SHA512", 0},
};
#define N_ALGS (sizeof g_algs / sizeof g_algs[0])

/* ---- base64url and JSON ---- */
static size_t b64url_dec(const char *s, size_t n, unsigned char *out, size_t cap)
{
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        int d = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52 : c == '-' ? 62 : c == '_' ? 63 : -1;
        if (d < 0)
            return (size_t)-1;
        v = v << 6 | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return (size_t)-1;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return o;
}

/* base64url text of a JSON document, parsed (json_object_put it). */
static json_object *b64_json(const char *s, size_t n)
{
    static unsigned char raw[65536];
    size_t len = b64url_dec(s, n, raw, sizeof raw - 1);
    if (len == (size_t)-1)
        return NULL;
    raw[len] = '\0';
    return json_tokener_parse((const char *)raw);
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int)
               ? json_object_get_int64(v) : -1;
}

/* 1 when sig (JWS form: R||S for ECDSA) is a valid signature of data by
 * the public half of key under md. */
static int verify_sig(EVP_PKEY *key, const char *md, size_t coord, const char *data,
                      size_t len, const unsigned char *sig, size_t siglen)
{
    unsigned char der[256];
    const unsigned char *s = sig;
    size_t sl = siglen;
    if (coord) {
        if (siglen != 2 * coord)
            return 0;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL), *t = BN_bin2bn(sig + coord, (int)coord, NULL);
        ECDSA_SIG_set0(es, r, t);
        unsigned char *p = der;
        int n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        if (n <= 0)
            return 0;
        s = der;
        sl = (size_t)n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(ctx, s, sl, (const unsigned char *)data, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* ---- the key code directly ---- */
static void test_key_load_errors(void)
{
    CU_ASSERT_FATAL(make_keys() == 0);
    static const struct {
        int key;
        const char *alg, *needle;
    } bad[] = {
        {K_P256, "RS256", "RSA key of at least 2048"}, {K_P256, "RS512", "RSA key"},
        {K_RSA, "ES256", "EC key on P-256"},           {K_P256, "ES384", "EC key on P-384"},
        {K_P384, "ES512", "EC key on P-521"},          {K_P521, "ES256", "EC key on P-256"},
        {K_RSA1024, "RS256", "at least 2048 bits"},    {K_P256, "HS256", "not one of"},
        {K_P256, "es256", "not one of"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        wb_key *k = wb_key_load(g_pem[bad[i].key], bad[i].alg, "kid", err, sizeof err);
        CU_ASSERT_PTR_NULL(k);
        if (!strstr(err, bad[i].needle))
            fprintf(stderr, "\n  %s: %s\n", bad[i].alg, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].needle));
        wb_key_free(k);
    }
    /* Garbage, a public key, an encrypted key: none is a private key, and
     * no passphrase is asked for. */
    char *enc = pem_of(g_pkey[K_P256], EVP_aes_128_cbc());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, g_pkey[K_P256]);
    char *pub = NULL;
    long n = BIO_get_mem_data(b, &pub);
    char *pubs = strndup(pub, (size_t)n);
    BIO_free(b);
    const char *notkeys[] = {"", "garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                             "-----END PRIVATE KEY-----\n", pubs, enc};
    for (size_t i = 0; i < sizeof notkeys / sizeof notkeys[0]; i++) {
        char err[256] = "";
        wb_key *k = wb_key_load(notkeys[i], "ES256", "kid", err, sizeof err);
        CU_ASSERT_PTR_NULL(k);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a PEM private key"));
        wb_key_free(k);
    }
    free(enc);
    free(pubs);
    /* The same key loads for the right algorithm. */
    char err[256] = "";
    wb_key *k = wb_key_load(g_pem[K_P384], "ES384", "kid", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(k);
    wb_key_free(k);
}

static void test_sign_each_alg(void)
{
    CU_ASSERT_FATAL(make_keys() == 0);
    static const char data[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
    for (size_t a = 0; a < N_ALGS; a++) {
        char err[256] = "";
        wb_key *k = wb_key_load(g_pem[g_algs[a].key], g_algs[a].alg, "k1", err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_STRING_EQUAL(wb_key_alg(k), g_algs[a].alg);
        CU_ASSERT_STRING_EQUAL(wb_key_kid(k), "k1");
        buf sig;
        buf_init_max(&sig, 4096);
        CU_ASSERT_EQUAL(wb_key_sign(k, data, strlen(data), &sig), 0);
        unsigned char raw[1024];
        size_t rl = b64url_dec(sig.data, sig.len, raw, sizeof raw);
        CU_ASSERT_FATAL(rl != (size_t)-1);
        CU_ASSERT_EQUAL(rl, g_algs[a].coord ? 2 * g_algs[a].coord : 256);
        CU_ASSERT(verify_sig(g_pkey[g_algs[a].key], g_algs[a].md, g_algs[a].coord, data,
                             strlen(data), raw, rl));
        /* The check can fail: other data, another hash, a flipped bit. */
        CU_ASSERT(!verify_sig(g_pkey[g_algs[a].key], g_algs[a].md, g_algs[a].coord, data,
                              strlen(data) - 1, raw, rl));
        CU_ASSERT(!verify_sig(g_pkey[g_algs[a].key], a % 3 == 0 ? "SHA384" : "SHA256",
                              g_algs[a].coord, data, strlen(data), raw, rl));
        raw[rl / 2] ^= 1;
        CU_ASSERT(!verify_sig(g_pkey[g_algs[a].key], g_algs[a].md, g_algs[a].coord, data,
                              strlen(data), raw, rl));
        buf_wipe(&sig);
        wb_key_free(k);
    }
}

static void test_header(void)
{
    CU_ASSERT_FATAL(make_keys() == 0);
    char err[256];
    wb_key *k = wb_key_load(g_pem[K_RSA], "RS384", "my \"kid\"", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    char *h = wb_header_b64(k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NULL(strpbrk(h, "=+/"));
    json_object *o = b64_json(h, strlen(h));
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "alg") ? jstr(o, "alg") : "", "RS384");
    CU_ASSERT_STRING_EQUAL(jstr(o, "kid") ? jstr(o, "kid") : "", "my \"kid\"");
    CU_ASSERT_STRING_EQUAL(jstr(o, "typ") ? jstr(o, "typ") : "", "JWT");
    CU_ASSERT_EQUAL(json_object_object_length(o), 3);
    json_object_put(o);
    free(h);
    wb_key_free(k);
}

/* 1 when the JWK member name (base64url) is the key's parameter param,
 * big-endian and padded to pad bytes (0: minimal). */
static int jwk_bn_is(json_object *jwk, const char *name, EVP_PKEY *key, const char *param,
                     size_t pad)
{
    const char *s = jstr(jwk, name);
    unsigned char got[1024], want[1024];
    BIGNUM *bn = NULL;
    if (!s || !EVP_PKEY_get_bn_param(key, param, &bn))
        return 0;
    size_t gl = b64url_dec(s, strlen(s), got, sizeof got);
    size_t wl = pad ? pad : (size_t)BN_num_bytes(bn);
    int ok = gl == wl && BN_bn2binpad(bn, want, (int)wl) == (int)wl && !memcmp(got, want, wl);
    BN_free(bn);
    return ok;
}

static void test_jwks_and_discovery(void)
{
    CU_ASSERT_FATAL(make_keys() == 0);
    wb_key *keys[N_ALGS];
    char err[256];
    for (size_t a = 0; a < N_ALGS; a++) {
        char kid[16];
        snprintf(kid, sizeof kid, "kid-%zu", a);
        keys[a] = wb_key_load(g_pem[g_algs[a].key], g_algs[a].alg, kid, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(keys[a]);
    }
    buf disc, jwks;
    buf_init_max(&disc, 65536);
    buf_init_max(&jwks, 65536);
    CU_ASSERT_EQUAL(wb_docs_build("https://id.test/ns/ac/wb//", keys, N_ALGS, &disc, &jwks), 0);
    json_object *d = json_tokener_parse(disc.data), *j = json_tokener_parse(jwks.data), *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(jstr(d, "issuer") ? jstr(d, "issuer") : "", "https://id.test/ns/ac/wb//");
    CU_ASSERT_STRING_EQUAL(jstr(d, "jwks_uri") ? jstr(d, "jwks_uri") : "",
                           "https://id.test/ns/ac/wb/.well-known/openid-connect/certs");
    CU_ASSERT(json_object_object_get_ex(d, "id_token_signing_alg_values_supported", &v) &&
              json_object_array_length(v) == 6);
    CU_ASSERT_FATAL(json_object_object_get_ex(j, "keys", &v) &&
                    json_object_array_length(v) == N_ALGS);
    for (size_t a = 0; a < N_ALGS; a++) {
        json_object *k = json_object_array_get_idx(v, a);
        char kid[16];
        snprintf(kid, sizeof kid, "kid-%zu", a);
        EVP_PKEY *pk = g_pkey[g_algs[a].key];
        CU_ASSERT_STRING_EQUAL(jstr(k, "kid") ? jstr(k, "kid") : "", kid);
        CU_ASSERT_STRING_EQUAL(jstr(k, "alg") ? jstr(k, "alg") : "", g_algs[a].alg);
        CU_ASSERT_STRING_EQUAL(jstr(k, "use") ? jstr(k, "use") : "", "sig");
        if (g_algs[a].coord) {
            static const char *crv[] = {"P-256", "P-384", "P-521"};
            CU_ASSERT_STRING_EQUAL(jstr(k, "kty") ? jstr(k, "kty") : "", "EC");
            CU_ASSERT_STRING_EQUAL(jstr(k, "crv") ? jstr(k, "crv") : "", crv[a]);
            CU_ASSERT(jwk_bn_is(k, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, g_algs[a].coord));
            CU_ASSERT(jwk_bn_is(k, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, g_algs[a].coord));
            /* x is not y: the comparison can fail. */
            CU_ASSERT(!jwk_bn_is(k, "x", pk, OSSL_PKEY_PARAM_EC_PUB_Y, g_algs[a].coord));
            CU_ASSERT_PTR_NULL(jstr(k, "n"));
        } else {
            CU_ASSERT_STRING_EQUAL(jstr(k, "kty") ? jstr(k, "kty") : "", "RSA");
            CU_ASSERT(jwk_bn_is(k, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0));
            CU_ASSERT(jwk_bn_is(k, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0));
            CU_ASSERT_STRING_EQUAL(jstr(k, "e") ? jstr(k, "e") : "", "AQAB");
            CU_ASSERT_PTR_NULL(jstr(k, "crv"));
        }
    }
    json_object_put(d);
    json_object_put(j);
    buf_wipe(&disc);
    buf_wipe(&jwks);
    /* A key set over its cap fails rather than publishing half of it. */
    buf_init_max(&disc, 65536);
    buf_init_max(&jwks, 600);
    CU_ASSERT_EQUAL(wb_docs_build("https://id.test/x", keys, N_ALGS, &disc, &jwks), -1);
    buf_wipe(&disc);
    buf_wipe(&jwks);
    for (size_t a = 0; a < N_ALGS; a++)
        wb_key_free(keys[a]);
}

/* ---- through the engine ---- */
/* A Secret with key.pem (or another key) holding pem. */
static void put_secret(char *y, size_t cap, const char *name, const char *key, const char *pem)
{
    size_t o = strlen(y);
    o += (size_t)snprintf(y + o, cap - o, "---\napiVersion: v1\nkind: Secret\n"
                          "metadata: {name: %s, namespace: ns}\nstringData:\n  %s: |\n",
                          name, key);
    for (const char *p = pem; *p && o < cap;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        o += (size_t)snprintf(y + o, cap - o, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static char g_yaml[262144];
/* The AuthConfig's authentication (the anonymous identity by default). */
static const char *g_identity = "    anon: {anonymous: {}}\n";

/* An AuthConfig for wb.test whose x-wristband header is a wristband with
 * the given fields (indented under `wristband:`), plus the suite's keys as
 * Secrets key-es256 ... key-rs (and one without key.pem, nokey). */
static snapshot *load_wb(const char *fields, tu_errors *errs)
{
    snprintf(g_yaml, sizeof g_yaml,
             "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
             "metadata: {name: wbac, namespace: ns}\nspec:\n  hosts: [wb.test]\n"
             "  authentication:\n%s"
             "  response:\n    success:\n      headers:\n        x-wristband:\n"
             "          wristband:\n%s", g_identity, fields);
    static const char *names[] = {"key-es256", "key-es384", "key-es512", "key-rs", "key-rs1024"};
    for (int i = 0; i < K_N; i++)
        put_secret(g_yaml, sizeof g_yaml, names[i], "key.pem", g_pem[i]);
    put_secret(g_yaml, sizeof g_yaml, "nokey", "other.pem", g_pem[K_P256]);
    put_secret(g_yaml, sizeof g_yaml, "garbage", "key.pem", "not a key\n");
    tu_errors local = {0};
    snapshot *s = tu_snapshot(g_yaml, errs ? errs : &local);
    if (!errs)
        for (int i = 0; i < local.n; i++)
            fprintf(stderr, "\n  config: %s\n", local.lines[i]);
    return s;
}

static int ready(void)
{
    static int ok = -1;
    if (ok < 0) {
        /* The discovery listener must not bind anything from a unit suite. */
        setenv("PORTCULLIS_OIDC_HTTP_ADDR", "off", 1);
        ok = make_keys() == 0 && tu_load_plugins() == 0;
    }
    return ok;
}

/* The wristband of GET path on wb.test, or "" when none was issued; extra is more
 * request headers as JSON members (",\"name\":\"value\""). */
static const char *issue_h(snapshot *s, const char *path, const char *extra)
{
    static char tok[65536];
    static char req[70000];
    snprintf(req, sizeof req,
             "{\"attributes\":{\"request\":{\"http\":{\"id\":\"1\",\"method\":\"GET\","
             "\"path\":\"%s\",\"host\":\"wb.test\",\"scheme\":\"http\","
             "\"headers\":{\":authority\":\"wb.test\",\"x-user\":\"alice\"%s}}}}}", path, extra);
    pipe_result r;
    tok[0] = '\0';
    if (tu_decide(s, req, &r, 0) == 0 && r.allowed)
        tu_header(&r, "x-wristband", tok, sizeof tok);
    pipe_result_free(&r);
    return tok;
}

static const char *issue(snapshot *s, const char *path) { return issue_h(s, path, ""); }

static const char *g_alg_secret[] = {"key-es256", "key-es384", "key-es512",
                                     "key-rs", "key-rs", "key-rs"};

static void test_tokens_each_alg(void)
{
    CU_ASSERT_FATAL(ready());
    for (size_t a = 0; a < N_ALGS; a++) {
        char f[2048];
        snprintf(f, sizeof f,
                 "            issuer: https://id.test/ns/wbac/x-wristband\n"
                 "            tokenDuration: %d\n"
                 "            customClaims:\n"
                 "              aud: {value: internal}\n"
                 "              n: {value: 1.5}\n"
                 "              nested: {value: {b: [1, true, null], a: \"<&>\"}}\n"
                 "              path: {selector: request.path}\n"
                 "              user: {selector: request.headers.x-user}\n"
                 "              absent: {selector: request.headers.x-none}\n"
                 "            signingKeyRefs:\n"
                 "            - {name: %s, algorithm: %s}\n"
                 "            - {name: key-es256, algorithm: ES256}\n",
                 (int)(60 + a), g_alg_secret[a], g_algs[a].alg);
        snapshot *s = load_wb(f, NULL);
        CU_ASSERT_FATAL(s && s->n_configs == 1);
        int64_t before = time(NULL);
        const char *tok = issue(s, "/p?q=1");
        int64_t after = time(NULL);
        const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
        json_object *h = b64_json(tok, (size_t)(d1 - tok));
        json_object *c = b64_json(d1 + 1, (size_t)(d2 - d1 - 1)), *v;
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_STRING_EQUAL(jstr(h, "alg") ? jstr(h, "alg") : "", g_algs[a].alg);
        CU_ASSERT_STRING_EQUAL(jstr(h, "kid") ? jstr(h, "kid") : "", g_alg_secret[a]);
        unsigned char sig[1024];
        size_t sl = b64url_dec(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
        CU_ASSERT_FATAL(sl != (size_t)-1);
        EVP_PKEY *pk = g_pkey[g_algs[a].key];
        CU_ASSERT(verify_sig(pk, g_algs[a].md, g_algs[a].coord, tok, (size_t)(d2 - tok), sig, sl));
        /* Not under the second (published, not signing) key. */
        CU_ASSERT(a == 0 || !verify_sig(g_pkey[K_P256], "SHA256", 32, tok, (size_t)(d2 - tok),
                                        sig, sl));
        CU_ASSERT_STRING_EQUAL(jstr(c, "iss") ? jstr(c, "iss") : "",
                               "https://id.test/ns/wbac/x-wristband");
        int64_t iat = jint(c, "iat");
        CU_ASSERT(iat >= before && iat <= after);
        CU_ASSERT_EQUAL(jint(c, "exp"), iat + 60 + (int64_t)a);
        /* sub: SHA-256 of the identity as Go writes it. */
        unsigned char sum[32];
        char want[65];
        EVP_Digest("{\"anonymous\":true}", 18, sum, NULL, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
            snprintf(want + 2 * i, 3, "%02x", sum[i]);
        CU_ASSERT_STRING_EQUAL(jstr(c, "sub") ? jstr(c, "sub") : "", want);
        CU_ASSERT_STRING_EQUAL(jstr(c, "aud") ? jstr(c, "aud") : "", "internal");
        CU_ASSERT_STRING_EQUAL(jstr(c, "path") ? jstr(c, "path") : "", "/p?q=1");
        CU_ASSERT_STRING_EQUAL(jstr(c, "user") ? jstr(c, "user") : "", "alice");
        CU_ASSERT(json_object_object_get_ex(c, "absent", &v) && v == NULL);
        CU_ASSERT(json_object_object_get_ex(c, "n", &v) &&
                  json_object_is_type(v, json_type_double) && json_object_get_double(v) == 1.5);
        /* Go's encoding/json: sorted keys, HTML-safe escapes. */
        unsigned char raw[4096];
        size_t rl = b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1), raw, sizeof raw - 1);
        raw[rl == (size_t)-1 ? 0 : rl] = '\0';
        CU_ASSERT_PTR_NOT_NULL(strstr((char *)raw,
                                      "\"nested\":{\"a\":\"\\u003c\\u0026\\u003e\","
                                      "\"b\":[1,true,null]}"));
        CU_ASSERT_PTR_NOT_NULL(strstr((char *)raw, "{\"absent\":null,\"aud\":"));
        json_object_put(h);
        json_object_put(c);
        snapshot_unref(s);
    }
}

static void test_token_duration_default(void)
{
    CU_ASSERT_FATAL(ready());
    snapshot *s = load_wb("            issuer: http://id.test/w\n"
                          "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                          NULL);
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    const char *tok = issue(s, "/");
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
    json_object *c = b64_json(d1 + 1, (size_t)(d2 - d1 - 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(jint(c, "exp") - jint(c, "iat"), WB_DEFAULT_DURATION_S);
    /* Exactly iss, iat, exp and sub without customClaims. */
    CU_ASSERT_EQUAL(json_object_object_length(c), 4);
    json_object_put(c);
    snapshot_unref(s);
}

/* Custom claims override the standard ones, as Authorino's do. */
static void test_claims_override(void)
{
    CU_ASSERT_FATAL(ready());
    snapshot *s = load_wb("            issuer: http://id.test/w\n"
                          "            customClaims:\n"
                          "              sub: {value: fixed}\n"
                          "              exp: {value: 7}\n"
                          "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                          NULL);
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    const char *tok = issue(s, "/");
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
    json_object *c = b64_json(d1 + 1, (size_t)(d2 - d1 - 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(jstr(c, "sub") ? jstr(c, "sub") : "", "fixed");
    CU_ASSERT_EQUAL(jint(c, "exp"), 7);
    json_object_put(c);
    snapshot_unref(s);
}

/* A config that must fail to load, with needle (and the evaluator's path)
 * in the first error and no key material anywhere. */
static void expect_error(const char *fields, const char *needle)
{
    tu_errors e = {0};
    snapshot *s = load_wb(fields, &e);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    int ok = e.n > 0 && strstr(e.lines[0], needle) && strstr(e.lines[0], ".yaml:") &&
             strstr(e.lines[0], "x-wristband");
    if (!ok)
        fprintf(stderr, "\n  want \"%s\", got: %s\n", needle, e.n ? e.lines[0] : "(nothing)");
    CU_ASSERT(ok);
    for (int i = 0; i < e.n; i++)
        CU_ASSERT_PTR_NULL(strstr(e.lines[i], "BEGIN"));
    snapshot_unref(s);
}

#define ISS "            issuer: https://id.test/w\n"
static void test_config_errors(void)
{
    CU_ASSERT_FATAL(ready());
    expect_error(ISS "            signingKeyRefs: [{name: nope, algorithm: ES256}]\n",
                 "Secret ns/nope not found");
    expect_error(ISS "            signingKeyRefs: [{name: nokey, algorithm: ES256}]\n",
                 "key.pem");
    expect_error(ISS "            signingKeyRefs: [{name: garbage, algorithm: ES256}]\n",
                 "not a PEM private key");
    expect_error(ISS "            signingKeyRefs: [{name: key-es256, algorithm: RS256}]\n",
                 "RSA key");
    expect_error(ISS "            signingKeyRefs: [{name: key-rs, algorithm: ES512}]\n",
                 "P-521");
    expect_error(ISS "            signingKeyRefs: [{name: key-es256, algorithm: ES384}]\n",
                 "P-384");
    expect_error(ISS "            signingKeyRefs: [{name: key-rs1024, algorithm: RS256}]\n",
                 "2048");
    expect_error(ISS "            signingKeyRefs:\n"
                 "            - {name: key-es256, algorithm: ES256}\n"
                 "            - {name: key-es256, algorithm: ES384}\n",
                 "signingKeyRefs[1]");
    expect_error(ISS "            signingKeyRefs: [{name: key-es256, algorithm: HS256}]\n",
                 "algorithm");
    expect_error(ISS "            signingKeyRefs: []\n", "at least one");
    expect_error("            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                 "issuer");
    expect_error("            issuer: id.test\n"
                 "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                 "http://");
    expect_error(ISS "            tokenDuration: 0\n"
                 "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                 "tokenDuration");
    expect_error(ISS "            customClaims: {a: {valu: 1}}\n"
                 "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                 "customClaims");
    /* Unknown fields, at the top and inside a key reference, by path. */
    expect_error(ISS "            tokenDuraton: 5\n"
                 "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                 "tokenDuraton");
    expect_error(ISS "            signingKeyRefs: [{name: key-es256, algorithm: ES256, "
                 "kid: x}]\n", "signingKeyRefs[0].kid");
}

static void test_limits(void)
{
    CU_ASSERT_FATAL(ready());
    /* WB_MAX_KEYS (16) keys load; one more is refused. */
    char f[8192];
    size_t o = (size_t)snprintf(f, sizeof f, ISS "            signingKeyRefs:\n");
    for (int i = 0; i < 16; i++)
        o += (size_t)snprintf(f + o, sizeof f - o,
                              "            - {name: key-es256, algorithm: ES256}\n");
    snapshot *s = load_wb(f, NULL);
    CU_ASSERT(s && s->n_configs == 1);
    snapshot_unref(s);
    snprintf(f + o, sizeof f - o, "            - {name: key-es256, algorithm: ES256}\n");
    expect_error(f, "at most 16 keys");
    /* An issuer of 2048 bytes is accepted, one longer refused. */
    static char longiss[4096];
    snprintf(longiss, sizeof longiss, "            issuer: https://%02040d\n"
             "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n", 0);
    s = load_wb(longiss, NULL);
    CU_ASSERT(s && s->n_configs == 1);
    snapshot_unref(s);
    snprintf(longiss, sizeof longiss, "            issuer: https://%02041d\n"
             "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n", 0);
    expect_error(longiss, "issuer must be");
    /* Claims beyond WB_MAX_TOKEN (64 KiB) issue no token rather than one
     * that large; just under, the token is issued. */
    s = load_wb(ISS "            customClaims:\n"
                "              p: {selector: request.path}\n"
                "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n", NULL);
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    static char path[60000];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[30000] = '\0';
    CU_ASSERT(strlen(issue(s, path)) > 40000);
    path[30000] = 'a';
    path[sizeof path - 1] = '\0';
    CU_ASSERT_STRING_EQUAL(issue(s, path), "");
    snapshot_unref(s);
}

/* A wristband presented back to its own issuer is not re-issued; one of
 * another issuer is. */
static void test_own_issuer(void)
{
    CU_ASSERT_FATAL(ready());
    g_identity = "    plain:\n      plain: {selector: \"request.headers.x-id|@fromstr\"}\n";
    snapshot *s = load_wb("            issuer: https://id.test/w\n"
                          "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n",
                          NULL);
    g_identity = "    anon: {anonymous: {}}\n";
    CU_ASSERT_FATAL(s && s->n_configs == 1);
    CU_ASSERT_STRING_EQUAL(issue_h(s, "/", ",\"x-id\":\"{\\\"iss\\\":\\\"https://id.test/w\\\"}\""), "");
    CU_ASSERT(strlen(issue_h(s, "/", ",\"x-id\":\"{\\\"iss\\\":\\\"https://other.test\\\"}\"")) >
              100);
    snapshot_unref(s);
}

/* Claims nested deeper than the serialiser's bound issue no token; within
 * it they are issued. */
static void test_claim_depth(void)
{
    CU_ASSERT_FATAL(ready());
    static const int depth[] = {60, 70};
    for (int i = 0; i < 2; i++) {
        char f[1024], v[200];
        memset(v, '[', (size_t)depth[i]);
        memset(v + depth[i], ']', (size_t)depth[i]);
        v[2 * depth[i]] = '\0';
        snprintf(f, sizeof f, ISS "            customClaims: {d: {value: %s}}\n"
                 "            signingKeyRefs: [{name: key-es256, algorithm: ES256}]\n", v);
        snapshot *s = load_wb(f, NULL);
        CU_ASSERT_FATAL(s && s->n_configs == 1);
        size_t n = strlen(issue(s, "/"));
        CU_ASSERT(i == 0 ? n > 100 : n == 0);
        snapshot_unref(s);
    }
}

int cu_register(void)
{
    static const cu_case keys[] = {
        {"key load errors", test_key_load_errors},
        {"signature per algorithm", test_sign_each_alg},
        {"JOSE header", test_header},
        {"JWKS and discovery", test_jwks_and_discovery},
        {NULL, NULL},
    };
    static const cu_case engine[] = {
        {"tokens per algorithm", test_tokens_each_alg},
        {"tokenDuration default", test_token_duration_default},
        {"custom claims override", test_claims_override},
        {"config errors", test_config_errors},
        {"limits", test_limits},
        {"own issuer", test_own_issuer},
        {"claim depth", test_claim_depth},
        {NULL, NULL},
    };
    atexit(free_keys);
    return cu_add_suite("wristband keys", keys) || cu_add_suite("wristband tokens", engine);
}
