/* wb.h - the `wristband` response: a JWT signed by the AuthConfig, and the
 * OpenID Connect discovery and key set that let others verify it. */
#ifndef WB_H
#define WB_H
#include <stddef.h>
#include <stdint.h>
#include "hc.h"

/* Authorino's DEFAULT_WRISTBAND_DURATION, seconds. */
#define WB_DEFAULT_DURATION_S 300
/* The discovery listener: PORTCULLIS_OIDC_HTTP_ADDR (which `serve` sets
 * from Authorino's --oidc-http-port), else this. */
#define WB_DEFAULT_OIDC_ADDR "0.0.0.0:8083"
/* A discovery request must arrive whole within this long, and be this big
 * at most; the listener serves one connection at a time. */
#define WB_OIDC_READ_TIMEOUT_MS 1000
#define WB_OIDC_MAX_REQUEST 8192

/* ---- wb_keys.c: signing keys (OpenSSL 3) ---- */
typedef struct wb_key wb_key;
/* Loads a PEM private key for alg (ES256/384/512: an EC key on P-256,
 * P-384, P-521; RS256/384/512: an RSA key of 2048 bits or more). NULL
 * with err. */
wb_key *wb_key_load(const char *pem, const char *alg, const char *kid, char *err,
                    size_t errlen);
void wb_key_free(wb_key *k);
const char *wb_key_alg(const wb_key *k);
const char *wb_key_kid(const wb_key *k);
/* Appends base64url(signature of data) to out (JWS: R||S for ECDSA). 0 or -1. */
int wb_key_sign(const wb_key *k, const char *data, size_t len, buf *out);
/* Appends the public key as a JWK object (kty, kid, use, alg, n/e or crv/x/y). */
int wb_key_jwk(const wb_key *k, buf *out);

/* ---- wb_json.c ---- */
/* v as JSON the way Go's encoding/json writes it: object keys sorted,
 * <, >, & and U+2028/9 escaped, so hashes match Authorino's. */
void wb_json(const pc_host *h, const pc_value *v, buf *b);
/* A JSON string literal of s. */
void wb_json_str(buf *b, const char *s, size_t n);

/* ---- wb_docs.c: an issuer's fixed documents ---- */
/* base64url of the JOSE header of k's tokens ({"alg","kid","typ"}), a new
 * string, or NULL when out of memory. */
char *wb_header_b64(const wb_key *k);
/* Appends the discovery document of issuer to disc and the key set of the
 * keys (all published, the first signs) to jwks. 0, or -1 when a key
 * cannot be exported or a buffer overflowed. */
int wb_docs_build(const char *issuer, wb_key *const *keys, size_t n_keys, buf *disc,
                  buf *jwks);

/* ---- wb_oidc.c: the discovery listener shared by all instances ---- */
typedef struct wb_issuer wb_issuer;
/* Publishes "/<ns>/<authconfig>/<name>/.well-known/..." with the two
 * documents (copied). The first issuer starts the listener thread, which
 * binds once the server is ready (never in `check` or `eval`). */
wb_issuer *wb_oidc_add(const pc_host *h, const char *path, const char *discovery,
                       const char *jwks, char *err, size_t errlen);
/* Withdraws it; the last one stops the listener. */
void wb_oidc_remove(wb_issuer *is);
#endif
