/*
 * x509_source.c - the certificate's text out of the Authorization JSON.
 *
 * Every source yields URL-decoded PEM (DER from RFC 9440 is re-armoured),
 * bounded by X509T_MAX_PEM before anything is decoded.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x509_source.h"
#include "x509_trust.h"
#include "util/str.h"

long x509src_unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = str_hexval((unsigned char)s[i + 1]);
            lo = str_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

int x509src_unescape_dup(const char *s, size_t n, char **pem, size_t *len,
                         char *why, size_t whylen)
{
    long got;

    if (n > 3 * (size_t)X509T_MAX_PEM) {
        snprintf(why, whylen, "invalid client certificate");
        return -1;
    }
    if (!(*pem = malloc(n + 1)))
        return -2;
    got = x509src_unescape(s, n, *pem);
    if (got < 0) {
        free(*pem);
        *pem = NULL;
        snprintf(why, whylen, "invalid client certificate");
        return -1;
    }
    (*pem)[got] = '\0';
    *len = (size_t)got;
    return 0;
}

/* RFC 9440: ":<base64 DER>:" -> PEM text. */
static int xs_rfc9440(const pc_host *h, const char *s, size_t n, char **pem,
                      size_t *len, char *why, size_t whylen)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *der;
    size_t dlen = 0, cap, o = 0;

    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n < 3 || s[0] != ':' || s[n - 1] != ':' || n > X509T_MAX_PEM) {
        snprintf(why, whylen, "failed to extract certificate from Client-Cert "
                              "header: invalid Client-Cert header format");
        return -1;
    }
    der = h->base64_decode(s + 1, n - 2, 0, &dlen);
    if (!der || !dlen) {
        if (der)
            h->free(der);
        snprintf(why, whylen, "failed to extract certificate from Client-Cert "
                              "header: failed to base64 decode certificate");
        return -1;
    }
    cap = 64 + (dlen + 2) / 3 * 4 + (dlen / 48 + 1) + 64;
    if (!(*pem = malloc(cap))) {
        h->free(der);
        return -2;
    }
    o += (size_t)snprintf(*pem, cap, "-----BEGIN CERTIFICATE-----\n");
    for (size_t i = 0; i < dlen; i += 3) {
        unsigned v = (unsigned)der[i] << 16;
        size_t left = dlen - i;
        if (left > 1)
            v |= (unsigned)der[i + 1] << 8;
        if (left > 2)
            v |= der[i + 2];
        (*pem)[o++] = b64[v >> 18 & 63];
        (*pem)[o++] = b64[v >> 12 & 63];
        (*pem)[o++] = left > 1 ? b64[v >> 6 & 63] : '=';
        (*pem)[o++] = left > 2 ? b64[v & 63] : '=';
        if ((i / 3 + 1) % 16 == 0)
            (*pem)[o++] = '\n';
    }
    h->free(der);
    o += (size_t)snprintf(*pem + o, cap - o, "\n-----END CERTIFICATE-----\n");
    *len = o;
    return 0;
}

/* The Cert="..." (else Chain="...") value of the first XFCC element.
 * Values may be quoted; quoted values may hold , ; = which do not split. */
static int xs_xfcc(const char *s, size_t n, const char **val, size_t *vlen)
{
    const char *chain = NULL;
    size_t chain_len = 0;
    size_t i = 0;

    while (i < n) {
        size_t ks, ke, vs, ve;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        ks = i;
        while (i < n && s[i] != '=' && s[i] != ';' && s[i] != ',')
            i++;
        ke = i;
        if (i >= n || s[i] != '=')
            return -1;
        i++;
        if (i < n && s[i] == '"') {
            vs = ++i;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                i++;
            }
            if (i >= n)
                return -1;
            ve = i++;
        } else {
            vs = i;
            while (i < n && s[i] != ';' && s[i] != ',')
                i++;
            ve = i;
        }
        if (str_ieq(s + ks, ke - ks, "cert", 4)) {
            *val = s + vs;
            *vlen = ve - vs;
            return 0;
        }
        if (str_ieq(s + ks, ke - ks, "chain", 5)) {
            chain = s + vs;
            chain_len = ve - vs;
        }
        if (i < n && s[i] == ',')
            break; /* only the first element counts, as in Authorino */
        if (i < n && s[i] == ';')
            i++;
        else if (i < n)
            return -1;
    }
    if (!chain)
        return 1;
    *val = chain;
    *vlen = chain_len;
    return 0;
}

static const pc_value *xs_get(const pc_host *h, const pc_value *v,
                              const char *const *path)
{
    for (; v && *path; path++)
        v = h->value_get(v, *path);
    return v;
}

int x509src_pem(const pc_host *h, pc_eval *ev, const x509src *src, char **pem,
                size_t *len, char *why, size_t whylen)
{
    static const char *const peer_path[] = {"source", "certificate", NULL};
    static const char *const hdr_path[] = {"request", "headers", NULL};
    const pc_value *root = h->eval_root(ev);
    const char *s;
    size_t n = 0;

    *pem = NULL;
    *len = 0;
    if (src->kind == X509SRC_PEER) {
        s = h->value_string(xs_get(h, root, peer_path), &n);
        if (!s || !n) {
            snprintf(why, whylen, "client certificate is missing");
            return 1;
        }
        return x509src_unescape_dup(s, n, pem, len, why, whylen);
    }
    s = h->value_string(h->value_get(xs_get(h, root, hdr_path), src->header), &n);
    if (!s) {
        snprintf(why, whylen, "header %s not found in request", src->shown);
        return 1;
    }
    if (src->kind == X509SRC_XFCC) {
        const char *v = NULL;
        size_t vl = 0;
        int rc = xs_xfcc(s, n, &v, &vl);
        if (rc != 0 || !vl) {
            snprintf(why, whylen, rc < 0 ? "failed to extract XFCC header: "
                                           "malformed header"
                                         : "failed to extract certificate from "
                                           "XFCC: client certificate not found "
                                           "in XFCC header");
            return rc < 0 ? -1 : 1;
        }
        return x509src_unescape_dup(v, vl, pem, len, why, whylen);
    }
    /* Client-Cert: RFC 9440's byte sequence; a URL-encoded PEM (what some
     * proxies put in such headers) is taken too. */
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n && *s == ':')
        return xs_rfc9440(h, s, n, pem, len, why, whylen);
    return x509src_unescape_dup(s, n, pem, len, why, whylen);
}
