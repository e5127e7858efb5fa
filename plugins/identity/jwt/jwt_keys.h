/* jwt_keys.h - JSON Web Keys (RFC 7517/7518/8037) as OpenSSL public keys,
 * and the signature algorithms a key may verify. */
#ifndef JWT_KEYS_H
#define JWT_KEYS_H
#include <stdatomic.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <portcullis/host.h>

/* The JWS algorithms accepted. "none" and the HMAC family are not among
 * them: a public key must never serve as a shared secret. */
typedef enum jwt_alg {
    JWT_RS256, JWT_RS384, JWT_RS512,
    JWT_PS256, JWT_PS384, JWT_PS512,
    JWT_ES256, JWT_ES384, JWT_ES512,
    JWT_EDDSA,
    JWT_ALG_COUNT_
} jwt_alg;

typedef enum jwt_kty { JWT_KTY_RSA, JWT_KTY_EC, JWT_KTY_OKP } jwt_kty;

/* Largest key set kept; the rest of a bigger document is ignored. */
#define JWT_MAX_KEYS 64
/* Smallest RSA modulus accepted, in bits. */
#define JWT_MIN_RSA_BITS 2048

typedef struct jwt_key {
    char *kid;            /* NULL when the JWK has none */
    jwt_kty kty;
    int ec_bits;          /* EC: 256, 384 or 521 */
    int alg;              /* the JWK's own "alg", or -1 when absent */
    EVP_PKEY *pkey;
    /* Verification contexts initialised once per algorithm the key fits
     * (NULL where it does not, or where the provider cannot copy one);
     * each verification copies one instead of fetching the algorithm
     * implementation again. Read-only once the set is published. */
    EVP_MD_CTX *tmpl[JWT_ALG_COUNT_];
} jwt_key;

/* An immutable, reference-counted set: requests hold a reference while
 * they verify, a refresh swaps in a new set. */
typedef struct jwt_keyset {
    atomic_int refs;
    size_t n;
    jwt_key keys[];
} jwt_keyset;

/* The algorithm for a JWS "alg" name, or -1 when it is not accepted. */
int jwt_alg_parse(const char *name);
const char *jwt_alg_name(int alg);

/* 1 if k may verify a signature made with alg: the key type and curve
 * must be the algorithm's, and a JWK that names an alg only that one. */
int jwt_key_fits(const jwt_key *k, int alg);

/* Parses a JWKS document. Keys that are not for signatures, of unknown
 * types or curves, or malformed are skipped (their count in *skipped).
 * NULL with a reason in err when the document is not a JWKS or holds no
 * usable key. */
jwt_keyset *jwt_keyset_parse(const pc_host *h, const char *json, size_t len,
                             size_t *skipped, char *err, size_t errlen);
jwt_keyset *jwt_keyset_ref(jwt_keyset *ks);
void jwt_keyset_unref(jwt_keyset *ks);
#endif
