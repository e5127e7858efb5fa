/*
 * x509_trust.c - CA bundles in, verdicts out.
 *
 * The store is filled at create and only read afterwards: OpenSSL locks
 * its lookups, so workers verify against it concurrently.
 *
 * A trusted certificate need not be self-signed: like Go's x509 roots (and
 * so like Authorino), an intermediate placed in a CA Secret is a trust
 * anchor of its own (X509_V_FLAG_PARTIAL_CHAIN).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "x509_trust.h"

int x509t_add_pem(X509_STORE *store, const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    int n = 0;

    if (!b)
        return -1;
    for (;;) {
        X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!c)
            break;
        /* A duplicate (the same CA in two Secrets) is not an error. */
        if (X509_STORE_add_cert(store, c) == 1)
            n++;
        X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return n;
}

X509 *x509t_parse_client(const char *pem, size_t len, STACK_OF(X509) **chain)
{
    BIO *b;
    X509 *leaf;

    *chain = NULL;
    if (len > X509T_MAX_PEM)
        return NULL;
    b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return NULL;
    leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    for (int i = 0; leaf && i < X509T_MAX_CHAIN - 1; i++) {
        X509 *c = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!c)
            break;
        if (!*chain && !(*chain = sk_X509_new_null())) {
            X509_free(c);
            break;
        }
        if (!sk_X509_push(*chain, c))
            X509_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return leaf;
}

/* RFC 3339 in UTC, as Go prints time.Time in its validity error. */
static void x509t_asn1_rfc3339(const ASN1_TIME *t, char *out, size_t n)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, n, "?");
        return;
    }
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void x509t_time_rfc3339(int64_t now, char *out, size_t n)
{
    time_t t = (time_t)now;
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        snprintf(out, n, "?");
        return;
    }
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void x509t_reason(X509_STORE_CTX *ctx, int err, int64_t now, char *why,
                         size_t whylen)
{
    X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
    char tnow[40], tcert[40];

    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: {
        int exp = err == X509_V_ERR_CERT_HAS_EXPIRED;
        x509t_time_rfc3339(now, tnow, sizeof tnow);
        x509t_asn1_rfc3339(bad ? (exp ? X509_get0_notAfter(bad)
                                      : X509_get0_notBefore(bad)) : NULL,
                           tcert, sizeof tcert);
        snprintf(why, whylen,
                 "x509: certificate has expired or is not yet valid: current "
                 "time %s is %s %s", tnow, exp ? "after" : "before", tcert);
        return;
    }
    case X509_V_ERR_INVALID_PURPOSE:
        snprintf(why, whylen,
                 "x509: certificate specifies an incompatible key usage");
        return;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_INVALID_CA:
        /* Go tries every candidate issuer and reports that none fits. */
        snprintf(why, whylen, "x509: certificate signed by unknown authority");
        return;
    default:
        snprintf(why, whylen, "x509: %s", X509_verify_cert_error_string(err));
        return;
    }
}

/* The earliest notAfter of the chain: how long a success may be reused. */
static int64_t x509t_chain_end(X509_STORE_CTX *ctx)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int64_t end = INT64_MAX;

    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(chain, i)), &tm) != 1)
            return 0;
        int64_t t = (int64_t)timegm(&tm);
        if (t < end)
            end = t;
    }
    return end;
}

int x509t_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain,
                 int64_t now, int64_t *not_after, char *why, size_t whylen)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_VERIFY_PARAM *param;
    int rc;

    if (!ctx || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
        X509_STORE_CTX_free(ctx);
        return -2;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    /* Authorino asks Go for ExtKeyUsageClientAuth: a certificate with an
     * extendedKeyUsage must allow clientAuth; one without any passes. */
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(ctx) == 1) {
        rc = 0;
        if (not_after)
            *not_after = x509t_chain_end(ctx);
    } else {
        x509t_reason(ctx, X509_STORE_CTX_get_error(ctx), now, why, whylen);
        rc = -1;
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    return rc;
}
