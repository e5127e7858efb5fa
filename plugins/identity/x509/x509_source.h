/*
 * x509_source.h - where an x509 identity finds the client certificate:
 * Envoy's source.certificate (the default), an x-forwarded-client-cert
 * style header, or an RFC 9440 Client-Cert header.
 */
#ifndef PC_X509_SOURCE_H
#define PC_X509_SOURCE_H

#include <stddef.h>

#include <portcullis/host.h>

typedef enum x509src_kind {
    X509SRC_PEER = 0,   /* source.certificate: URL-encoded PEM */
    X509SRC_XFCC,       /* Cert="<URL-encoded PEM>" of the first element */
    X509SRC_CLIENT_CERT /* :base64 DER: (RFC 9440), or URL-encoded PEM */
} x509src_kind;

typedef struct x509src {
    x509src_kind kind;
    char header[128]; /* lowercased header name for the header kinds */
    char shown[128];  /* the name as configured, for deny reasons */
} x509src;

/**
 * Finds the certificate of this request.
 * @return 0 with *pem (malloc'd, NUL-terminated PEM text, free() it) and
 *         *len set; 1 no certificate (reason in why); -1 one that cannot
 *         be decoded (reason in why); -2 out of memory.
 */
int x509src_pem(const pc_host *h, pc_eval *ev, const x509src *src, char **pem,
                size_t *len, char *why, size_t whylen);

/** Decodes %XX escapes and '+' (as Go's url.QueryUnescape, which Authorino
 *  uses); exported for tests. @return the new length, or -1 when a %
 *  escape is malformed. `out` must hold n bytes. */
long x509src_unescape(const char *s, size_t n, char *out);

/** x509src_unescape into a new NUL-terminated buffer (*pem, free() it).
 *  @return 0, -1 malformed or longer than a certificate can be (reason in
 *  why), -2 out of memory. */
int x509src_unescape_dup(const char *s, size_t n, char **pem, size_t *len,
                         char *why, size_t whylen);

#endif
