/*
 * x509_trust.h - the trusted CAs of one x509 identity and the check of a
 * client certificate chain against them (OpenSSL 3).
 */
#ifndef PC_X509_TRUST_H
#define PC_X509_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* A client certificate with its chain is at most this many PEM blocks, and
 * its text at most this many bytes: anything longer is refused unparsed. */
#define X509T_MAX_CHAIN 8
#define X509T_MAX_PEM (64 * 1024)

/** Adds every CERTIFICATE block of `pem` to `store`.
 *  @return the number of certificates added, -1 on out of memory. */
int x509t_add_pem(X509_STORE *store, const char *pem, size_t len);

/** Parses a PEM text: the first certificate is the client's, the others go
 *  into *chain (untrusted intermediates, may stay NULL).
 *  @return the leaf, or NULL when `pem` holds no valid certificate. */
X509 *x509t_parse_client(const char *pem, size_t len, STACK_OF(X509) **chain);

/**
 * Verifies `leaf` (with `chain`) against `store` at time `now` (seconds
 * since the epoch), for TLS client use.
 * On success *not_after (if not NULL) is the earliest notAfter of the
 * verified chain, in seconds since the epoch.
 * @return 0 verified; else -1 with a reason in Go's crypto/x509 words
 *         (what Authorino reports), e.g. "x509: certificate signed by
 *         unknown authority"; -2 out of memory.
 */
int x509t_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain,
                 int64_t now, int64_t *not_after, char *why, size_t whylen);

#endif
