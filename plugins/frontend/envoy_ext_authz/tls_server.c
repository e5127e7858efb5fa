/* The server's SSL_CTX: certificate, key, optional client CA, ALPN. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_conn.h"
#include "tls_internal.h"

static void tls_err(char *err, size_t errlen, const char *what,
                    const char *file)
{
    unsigned long e = ERR_peek_last_error();
    char detail[200] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    snprintf(err, errlen, "tls: %s %s: %s", what, file,
             *detail ? detail : "failed");
}

/* Prefers h2; http/1.1 only where the connection allows it. With no match
 * the handshake goes on without ALPN: gRPC clients that send none still get
 * HTTP/2. */
static int tls_alpn_select(SSL *ssl, const unsigned char **out,
                           unsigned char *outlen, const unsigned char *in,
                           unsigned int inlen, void *arg)
{
    tls_conn *t = SSL_get_app_data(ssl);
    const unsigned char *h11 = NULL;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int l = in[i];
        if (i + 1 + l > inlen)
            break;
        const unsigned char *p = in + i + 1;
        if (l == 2 && memcmp(p, "h2", 2) == 0) {
            *out = p;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        if (l == 8 && memcmp(p, "http/1.1", 8) == 0)
            h11 = p;
        i += 1 + l;
    }
    if (h11 && t && !t->grpc_only) {
        *out = h11;
        *outlen = 8;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* OpenSSL says "system lib" for a missing file: say which and why. */
static int tls_readable(const char *what, const char *file, char *err,
                        size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        snprintf(err, errlen, "tls: cannot read %s %s: %s", what, file,
                 strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

tls_server *tls_server_new(const char *cert, const char *key,
                           const char *client_ca, int min_version, char *err,
                           size_t errlen)
{
    if (tls_readable("certificate", cert, err, errlen) != 0 ||
        tls_readable("key", key, err, errlen) != 0 ||
        (client_ca && tls_readable("client CA", client_ca, err, errlen) != 0))
        return NULL;
    tls_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    ERR_clear_error();
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ctx) {
        tls_err(err, errlen, "cannot create context", "");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(s->ctx, min_version == TLS1_3_VERSION
                                              ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(s->ctx, SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections keep no 34 KiB of record buffers each. */
    SSL_CTX_set_mode(s->ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1) {
        tls_err(err, errlen, "cannot load certificate", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1) {
        tls_err(err, errlen, "cannot load key", key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(s->ctx) != 1) {
        tls_err(err, errlen, "key does not match certificate", cert);
        goto fail;
    }
    if (client_ca) {
        if (SSL_CTX_load_verify_locations(s->ctx, client_ca, NULL) != 1) {
            tls_err(err, errlen, "cannot load client CA", client_ca);
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (names)
            SSL_CTX_set_client_CA_list(s->ctx, names);
        /* Asked for and verified when sent; a request without one reaches
         * the pipeline with no principal, which decides. */
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(s->ctx, 8);
        static const unsigned char sid[] = "portcullis-extauthz";
        SSL_CTX_set_session_id_context(s->ctx, sid, sizeof(sid) - 1);
    }
    SSL_CTX_set_alpn_select_cb(s->ctx, tls_alpn_select, NULL);
    return s;
fail:
    tls_server_free(s);
    return NULL;
}

void tls_server_free(tls_server *s)
{
    if (!s)
        return;
    SSL_CTX_free(s->ctx);
    free(s);
}
