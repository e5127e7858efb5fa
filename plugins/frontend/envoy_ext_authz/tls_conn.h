/*
 * tls_conn.h - server-side TLS with OpenSSL 3 over memory BIOs, so the event
 * loop owns the socket and nothing ever blocks.
 */
#ifndef PC_EXTAUTHZ_TLS_H
#define PC_EXTAUTHZ_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "server_buf.h"

typedef struct tls_server tls_server;
typedef struct tls_conn tls_conn;

/**
 * Loads the certificate chain and key (PEM files) and, when client_ca is
 * set, requests and verifies client certificates against it. ALPN prefers
 * "h2"; with allow_h1 it also accepts "http/1.1".
 * min_version: TLS1_3_VERSION for TLS 1.3 only, else TLS 1.2 and up.
 * @return NULL with a one-line reason in err.
 */
tls_server *tls_server_new(const char *cert, const char *key,
                           const char *client_ca, int min_version, char *err,
                           size_t errlen);
void tls_server_free(tls_server *s);

/** A connection in the server role; grpc_only refuses "http/1.1" in ALPN. */
tls_conn *tls_conn_new(tls_server *s, int grpc_only);
void tls_conn_free(tls_conn *t);

typedef struct tls_events {
    /** Once, when the handshake finished; -1 aborts. */
    int (*on_handshake)(void *arg, tls_conn *t);
    /** Decrypted bytes; -1 aborts. */
    int (*on_plain)(void *arg, const uint8_t *data, size_t len);
} tls_events;

/**
 * Feeds ciphertext from the peer. Handshake records and anything else TLS
 * must send are appended to out.
 * @return 0, or -1 when the connection must close (bad record, failed
 *         handshake, callback abort, peer's close_notify).
 */
int tls_conn_feed(tls_conn *t, const uint8_t *in, size_t n, srv_buf *out,
                  const tls_events *ev, void *arg);
/** Encrypts plaintext into out (after the handshake); -1 on failure. */
int tls_conn_write(tls_conn *t, const void *data, size_t n, srv_buf *out);
/** The ALPN protocol selected, or NULL when the client sent none. */
const char *tls_conn_alpn(const tls_conn *t);

/**
 * The client certificate as Envoy reports it: the URL-encoded PEM and the
 * principal (first URI SAN, else first DNS SAN, else the RFC 2253 subject).
 * Each out-string is malloc'd (free it) or NULL without a certificate.
 * sni is the requested server name or NULL.
 */
void tls_conn_peer(const tls_conn *t, char **cert_urlenc, char **principal,
                   char **sni);

#endif
