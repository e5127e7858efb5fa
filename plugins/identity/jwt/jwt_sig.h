/* jwt_sig.h - checks a JWS signature with one key (OpenSSL 3 EVP). */
#ifndef JWT_SIG_H
#define JWT_SIG_H
#include <stddef.h>
#include "jwt_keys.h"

/* 1 if sig is a valid signature of msg under k for alg, 0 if not (also
 * when the key does not fit the algorithm or the signature has the wrong
 * size). ES* signatures are the raw r||s of RFC 7518 §3.4. */
int jwt_sig_verify(const jwt_key *k, int alg, const unsigned char *msg, size_t msg_len,
                   const unsigned char *sig, size_t sig_len);

/* Prepares k->tmpl for every algorithm k fits (on a set not yet shared). */
void jwt_sig_prepare(jwt_key *k);
#endif
