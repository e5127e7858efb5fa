/* trace_endpoint.c - --tracing-service-endpoint, read as Authorino reads
 * it: the scheme picks the protocol (http: OTLP/HTTP; rpc: OTLP/gRPC,
 * which this server does not speak), TLS is used unless
 * --tracing-service-insecure, a path replaces /v1/traces, and
 * user:password@ becomes an Authorization header (Basic, or Bearer for
 * a password alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "util/base64.h"
#include "util/str.h"

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated); -1 on a
 * bad escape or when it does not fit. */
static int unescape(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n ? str_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? str_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *len = o;
    return 0;
}

static int auth_header(const char *ui, size_t n, char *auth, size_t authcap, char *err,
                       size_t errlen)
{
    const char *colon = memchr(ui, ':', n);
    char user[256], pass[512];
    size_t ul = 0, pl = 0;
    if (!colon) {
        snprintf(err, errlen, "--tracing-service-endpoint: credentials need a password "
                              "(user:password@ or :token@)");
        return -1;
    }
    if (unescape(ui, (size_t)(colon - ui), user, sizeof user, &ul) < 0 ||
        unescape(colon + 1, n - (size_t)(colon - ui) - 1, pass, sizeof pass, &pl) < 0) {
        snprintf(err, errlen, "--tracing-service-endpoint: bad or too long credentials");
        return -1;
    }
    if (!ul) {
        if ((size_t)snprintf(auth, authcap, "Bearer %s", pass) >= authcap)
            goto toolong;
        return 0;
    }
    char pair[800];
    snprintf(pair, sizeof pair, "%s:%s", user, pass);
    size_t bl = 0;
    char *b = b64_encode(pair, strlen(pair), &bl);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int over = (size_t)snprintf(auth, authcap, "Basic %s", b) >= authcap;
    free(b);
    if (!over)
        return 0;
toolong:
    snprintf(err, errlen, "--tracing-service-endpoint: credentials too long");
    return -1;
}

int trace_endpoint_parse(const char *endpoint, int insecure, char *url, size_t urlcap,
                         char *auth, size_t authcap, char *err, size_t errlen)
{
    auth[0] = '\0';
    const char *sep = endpoint ? strstr(endpoint, "://") : NULL;
    if (!sep) {
        snprintf(err, errlen, "--tracing-service-endpoint \"%s\": want http://HOST:PORT "
                              "(OTLP/HTTP)", endpoint ? endpoint : "");
        return -1;
    }
    size_t sl = (size_t)(sep - endpoint);
    if ((sl == 3 && strncmp(endpoint, "rpc", 3) == 0) ||
        (sl == 4 && strncmp(endpoint, "grpc", 4) == 0)) {
        snprintf(err, errlen, "--tracing-service-endpoint: OTLP/gRPC (%.*s://) is not "
                              "supported; give the collector's OTLP/HTTP endpoint, "
                              "http://HOST:4318", (int)sl, endpoint);
        return -1;
    }
    if (!(sl == 4 && strncmp(endpoint, "http", 4) == 0) &&
        !(sl == 5 && strncmp(endpoint, "https", 5) == 0)) {
        snprintf(err, errlen, "--tracing-service-endpoint: unsupported scheme \"%.*s\" "
                              "(want http)", (int)sl, endpoint);
        return -1;
    }
    const char *auth_start = sep + 3;
    const char *slash = strchr(auth_start, '/');
    const char *auth_end = slash ? slash : auth_start + strlen(auth_start);
    if (memchr(auth_start, '?', (size_t)(auth_end - auth_start)) ||
        memchr(auth_start, '#', (size_t)(auth_end - auth_start)) ||
        (slash && strpbrk(slash, "?# \t\r\n"))) {
        snprintf(err, errlen, "--tracing-service-endpoint: no query or fragment, please");
        return -1;
    }
    const char *host = auth_start;
    for (const char *p = auth_end; p > auth_start; p--)
        if (p[-1] == '@') {
            host = p;
            break;
        }
    if (host > auth_start &&
        auth_header(auth_start, (size_t)(host - auth_start - 1), auth, authcap, err,
                    errlen) < 0)
        return -1;
    size_t hl = (size_t)(auth_end - host);
    int blank = 0;
    for (size_t i = 0; i < hl; i++)
        blank |= host[i] == ' ' || host[i] == '\t' || host[i] == '\r' || host[i] == '\n';
    if (hl == 0 || host[0] == ':' || blank) {
        snprintf(err, errlen, "--tracing-service-endpoint: no host in \"%s\"", endpoint);
        return -1;
    }
    const char *path = slash && slash[1] ? slash : "/v1/traces";
    if ((size_t)snprintf(url, urlcap, "%s://%.*s%s", insecure ? "http" : "https", (int)hl,
                         host, path) >= urlcap) {
        snprintf(err, errlen, "--tracing-service-endpoint: too long");
        return -1;
    }
    return 0;
}
