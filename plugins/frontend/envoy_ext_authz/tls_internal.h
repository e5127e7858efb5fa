/* tls_internal.h - what tls_server.c and tls_conn.c share. */
#ifndef PC_EXTAUTHZ_TLS_INTERNAL_H
#define PC_EXTAUTHZ_TLS_INTERNAL_H

#include <openssl/ssl.h>

struct tls_server {
    SSL_CTX *ctx;
};

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    int grpc_only;
    int handshake_done;
};

#endif
