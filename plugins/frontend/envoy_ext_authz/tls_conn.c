/* One TLS connection over memory BIOs: the loop reads the socket and feeds
 * ciphertext in; whatever OpenSSL wants to send lands in the output buffer. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "tls_conn.h"
#include "tls_internal.h"

tls_conn *tls_conn_new(tls_server *s, int grpc_only)
{
    tls_conn *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->grpc_only = grpc_only;
    t->ssl = SSL_new(s->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    /* An empty read BIO means "want more", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_free(tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

static int tls_drain(tls_conn *t, srv_buf *out)
{
    size_t pend;
    while ((pend = BIO_ctrl_pending(t->wbio)) > 0) {
        if (srv_buf_reserve(out, pend) != 0)
            return -1;
        int r = BIO_read(t->wbio, out->data + out->len, (int)pend);
        if (r <= 0)
            return -1;
        out->len += (size_t)r;
    }
    return 0;
}

int tls_conn_feed(tls_conn *t, const uint8_t *in, size_t n, srv_buf *out,
                  const tls_events *ev, void *arg)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        int w = BIO_write(t->rbio, in, chunk);
        if (w <= 0)
            return -1;
        in += w;
        n -= (size_t)w;
    }
    if (!t->handshake_done) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (tls_drain(t, out) != 0)
            return -1;
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            ERR_clear_error();
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0
                                                                         : -1;
        }
        t->handshake_done = 1;
        if (ev->on_handshake(arg, t) != 0)
            return -1;
    }
    unsigned char buf[16384];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(t->ssl, buf, sizeof(buf));
        if (r > 0) {
            if (ev->on_plain(arg, buf, (size_t)r) != 0)
                return -1;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        ERR_clear_error();
        if (tls_drain(t, out) != 0)
            return -1;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        return -1; /* close_notify, a bad record or a protocol error */
    }
}

int tls_conn_write(tls_conn *t, const void *data, size_t n, srv_buf *out)
{
    const unsigned char *p = data;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        ERR_clear_error();
        int r = SSL_write(t->ssl, p, chunk);
        if (r <= 0) {
            ERR_clear_error();
            return -1;
        }
        p += r;
        n -= (size_t)r;
        if (tls_drain(t, out) != 0)
            return -1;
    }
    return 0;
}

const char *tls_conn_alpn(const tls_conn *t)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &len);
    if (!p || len == 0)
        return NULL;
    if (len == 2 && memcmp(p, "h2", 2) == 0)
        return "h2";
    if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
        return "http/1.1";
    return NULL;
}

/* Percent-encodes all but RFC 3986 unreserved bytes, as Envoy does for
 * x-forwarded-client-cert and the ext_authz certificate field. */
static char *tls_urlencode(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = malloc(n * 3 + 1), *q = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            *q++ = (char)c;
        } else {
            *q++ = '%';
            *q++ = hex[c >> 4];
            *q++ = hex[c & 15];
        }
    }
    *q = '\0';
    return o;
}

static char *tls_bio_string(BIO *b)
{
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    if (len < 0 || !p)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return NULL;
    memcpy(s, p, (size_t)len);
    s[len] = '\0';
    return s;
}

static char *tls_principal(X509 *cert)
{
    char *res = NULL;
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
                                           NULL);
    if (sans) {
        int types[2] = {GEN_URI, GEN_DNS};
        for (int k = 0; k < 2 && !res; k++) {
            for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
                if (g->type != types[k])
                    continue;
                const ASN1_IA5STRING *v = g->d.ia5;
                res = malloc((size_t)v->length + 1);
                if (res) {
                    memcpy(res, v->data, (size_t)v->length);
                    res[v->length] = '\0';
                }
                break;
            }
        }
        GENERAL_NAMES_free(sans);
    }
    if (res)
        return res;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
                           XN_FLAG_RFC2253) >= 0)
        res = tls_bio_string(b);
    BIO_free(b);
    return res;
}

void tls_conn_peer(const tls_conn *t, char **cert_urlenc, char **principal,
                   char **sni)
{
    *cert_urlenc = *principal = *sni = NULL;
    const char *name = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    if (name)
        *sni = strdup(name);
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert)
        return;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && PEM_write_bio_X509(b, cert) == 1) {
        char *p = NULL;
        long len = BIO_get_mem_data(b, &p);
        if (len > 0 && p)
            *cert_urlenc = tls_urlencode(p, (size_t)len);
    }
    BIO_free(b);
    *principal = tls_principal(cert);
}
