/* The frontend's config object: defaults, types and ranges. The host checks
 * it against the schema first; these checks keep create safe on its own. */
#include "server.h"
#include "codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV_DEFAULT_GRPC "0.0.0.0:50051"
#define SRV_DEFAULT_HTTP "0.0.0.0:5001"
#define SRV_DEFAULT_ADMIN "0.0.0.0:8080"

int srv_addr_parse(const char *text, srv_addr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text)
        return 0;
    if (strlen(text) >= sizeof(out->text)) {
        snprintf(err, errlen, "address too long: %.40s...", text);
        return -1;
    }
    snprintf(out->text, sizeof(out->text), "%s", text);
    char host[80];
    const char *port;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host)) {
            snprintf(err, errlen, "bad address \"%s\": want [IPV6]:PORT", text);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof(host) ||
            memchr(text, ':', (size_t)(colon - text))) {
            snprintf(err, errlen, "bad address \"%s\": want HOST:PORT", text);
            return -1;
        }
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long pn = strtol(port, &end, 10);
    if (!*port || *end || errno || pn < 0 || pn > 65535) {
        snprintf(err, errlen, "bad port in \"%s\"", text);
        return -1;
    }
    if (pn == 0)
        return 0; /* port 0 disables the listener */
    if (!*host)
        snprintf(host, sizeof(host), "0.0.0.0");
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)pn);
        out->len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)pn);
        out->len = sizeof(*s6);
    } else {
        snprintf(err, errlen, "bad address \"%s\": host must be an IP literal",
                 text);
        return -1;
    }
    out->enabled = 1;
    return 0;
}

/* Reads member key of obj as a string; *out stays when absent or null. */
static int cfg_string(const pc_host *h, const pc_value *obj, const char *key,
                      const char **out, char *err, size_t errlen)
{
    const pc_value *v = obj ? h->value_get(obj, key) : NULL;
    if (!v || h->value_type(v) == PC_TYPE_NULL)
        return 0;
    if (h->value_type(v) != PC_TYPE_STRING) {
        snprintf(err, errlen, "%s: must be a string", key);
        return -1;
    }
    *out = h->value_string(v, NULL);
    return 0;
}

static int cfg_int(const pc_host *h, const pc_value *obj, const char *key,
                   int64_t min, int64_t max, int64_t *out, char *err,
                   size_t errlen)
{
    const pc_value *v = obj ? h->value_get(obj, key) : NULL;
    if (!v || h->value_type(v) == PC_TYPE_NULL)
        return 0;
    int64_t i;
    if (h->value_type(v) == PC_TYPE_INT) {
        i = h->value_int(v);
    } else if (h->value_type(v) == PC_TYPE_DOUBLE) {
        double d = h->value_double(v);
        if (d != (double)(int64_t)d) {
            snprintf(err, errlen, "%s: must be an integer", key);
            return -1;
        }
        i = (int64_t)d;
    } else {
        snprintf(err, errlen, "%s: must be an integer", key);
        return -1;
    }
    if (i < min || i > max) {
        snprintf(err, errlen, "%s: %lld is out of range [%lld, %lld]", key,
                 (long long)i, (long long)min, (long long)max);
        return -1;
    }
    *out = i;
    return 0;
}

static char *cfg_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The HTTP/1.1 settings. Timeouts, as nginx's client_header_timeout and
 * client_body_timeout but for the whole head or body rather than between
 * two reads, so a client that drips one byte at a time is cut off too: a
 * head comes in one packet from Envoy, nginx or any real client, and the
 * body is at most max_http_body_bytes. */
static int cfg_h1(const pc_host *h, const pc_value *config, srv_h1_config *o,
                  char *err, size_t errlen)
{
    const int64_t big = INT64_C(1) << 40;
    const struct {
        const char *key;
        int64_t def, min, max;
        int64_t *out;
    } t[] = {
        {"http1_max_header_bytes", 64 * 1024, 256, INT32_MAX,
         &o->max_header_bytes},
        {"http1_max_headers", 256, 1, 65536, &o->max_headers},
        {"http1_max_line_bytes", 8192, 64, INT32_MAX, &o->max_line_bytes},
        {"http1_max_pipelined", 32, 1, 65536, &o->max_pipelined},
        {"http1_header_timeout_ms", 10000, 0, big, &o->header_timeout_ms},
        {"http1_body_timeout_ms", 30000, 0, big, &o->body_timeout_ms},
        {"admin_idle_timeout_ms", 60000, 0, big, &o->admin_idle_timeout_ms},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        *t[i].out = t[i].def;
        if (cfg_int(h, config, t[i].key, t[i].min, t[i].max, t[i].out, err,
                    errlen) != 0)
            return -1;
    }
    return 0;
}

int srv_config_parse(const pc_host *h, const pc_value *config,
                     srv_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (config && h->value_type(config) == PC_TYPE_NULL)
        config = NULL;
    if (config && h->value_type(config) != PC_TYPE_OBJECT) {
        snprintf(err, errlen, "config must be an object");
        return -1;
    }
    static const char *const keys[SRV_PORT_COUNT_] = {"grpc_addr", "http_addr",
                                                      "admin_addr", "health_addr"};
    static const char *const defs[SRV_PORT_COUNT_] = {
        SRV_DEFAULT_GRPC, SRV_DEFAULT_HTTP, SRV_DEFAULT_ADMIN, ""};
    char sub[200];
    for (int i = 0; i < SRV_PORT_COUNT_; i++) {
        const char *a = defs[i];
        if (cfg_string(h, config, keys[i], &a, err, errlen) != 0)
            return -1;
        if (srv_addr_parse(a, &cfg->addr[i], sub, sizeof(sub)) != 0) {
            snprintf(err, errlen, "%s: %s", keys[i], sub);
            return -1;
        }
    }
    /* Probes at the metrics address: one listener answers both (two
     * SO_REUSEPORT listeners there would split the connections). */
    const srv_addr *adm = &cfg->addr[SRV_PORT_ADMIN];
    srv_addr *hl = &cfg->addr[SRV_PORT_HEALTH];
    if (hl->enabled && adm->enabled && hl->len == adm->len &&
        memcmp(&hl->ss, &adm->ss, hl->len) == 0)
        hl->enabled = 0;

    unsigned ncpu = uv_available_parallelism();
    int64_t v = ncpu ? ncpu : 1;
    if (cfg_int(h, config, "io_threads", 1, 256, &v, err, errlen) != 0)
        return -1;
    cfg->io_threads = (int)v;

    v = 4 * 1024 * 1024;
    if (cfg_int(h, config, "max_message_bytes", 64, INT32_MAX, &v, err,
                errlen) != 0)
        return -1;
    cfg->max_message_bytes = (size_t)v;
    v = 8192;
    if (cfg_int(h, config, "max_http_body_bytes", 0, INT32_MAX, &v, err,
                errlen) != 0)
        return -1;
    cfg->max_http_body_bytes = (size_t)v;
    v = 3600000;
    if (cfg_int(h, config, "idle_timeout_ms", 0, INT64_C(1) << 40, &v, err,
                errlen) != 0)
        return -1;
    cfg->idle_timeout_ms = v;
    v = 1000;
    if (cfg_int(h, config, "max_concurrent_streams", 1, INT32_MAX, &v, err,
                errlen) != 0)
        return -1;
    cfg->max_concurrent_streams = (uint32_t)v;
    v = 0;
    if (cfg_int(h, config, "default_timeout_ms", 0, INT64_C(1) << 40, &v, err,
                errlen) != 0)
        return -1;
    cfg->default_timeout_ms = v;
    if (cfg_h1(h, config, &cfg->h1, err, errlen) != 0)
        return -1;

    /* CheckRequest decoding */
    v = CODEC_METADATA_DEPTH_DEFAULT;
    if (cfg_int(h, config, "max_metadata_depth", 1, CODEC_METADATA_DEPTH_MAX,
                &v, err, errlen) != 0)
        return -1;
    cfg->max_metadata_depth = (int)v;

    /* What clients may make the server hold, and for how long. */
    v = INT64_C(256) << 20;
    if (cfg_int(h, config, "memory_budget_bytes", 1 << 20, INT64_C(1) << 46,
                &v, err, errlen) != 0)
        return -1;
    cfg->memory_budget_bytes = (size_t)v;
    v = INT64_C(16) << 20;
    if (cfg_int(h, config, "max_connection_buffer_bytes", 4096,
                INT64_C(1) << 40, &v, err, errlen) != 0)
        return -1;
    /* One whole message must always fit. */
    if ((size_t)v < cfg->max_message_bytes)
        v = (int64_t)cfg->max_message_bytes;
    cfg->max_connection_buffer_bytes = (size_t)v;
    v = INT64_C(1) << 20;
    if (cfg_int(h, config, "max_connection_output_bytes", 65536,
                INT64_C(1) << 40, &v, err, errlen) != 0)
        return -1;
    cfg->max_connection_output_bytes = (size_t)v;
    v = 10000;
    if (cfg_int(h, config, "handshake_timeout_ms", 1, INT64_C(1) << 40, &v,
                err, errlen) != 0)
        return -1;
    cfg->handshake_timeout_ms = v;
    v = 300000;
    if (cfg_int(h, config, "stream_idle_timeout_ms", 0, INT64_C(1) << 40, &v,
                err, errlen) != 0)
        return -1;
    cfg->stream_idle_timeout_ms = v;
    v = 10000;
    if (cfg_int(h, config, "max_pipelines_in_flight", 1, INT32_MAX, &v, err,
                errlen) != 0)
        return -1;
    cfg->max_pipelines_in_flight = (long)v;

    const char *prefix = "";
    if (cfg_string(h, config, "http_path_prefix", &prefix, err, errlen) != 0)
        return -1;
    if (*prefix && prefix[0] != '/') {
        snprintf(err, errlen, "http_path_prefix: must start with '/'");
        return -1;
    }
    cfg->http_path_prefix = strdup(prefix);
    if (!cfg->http_path_prefix) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* A trailing '/' would eat the one the original path starts with. */
    size_t pl = strlen(cfg->http_path_prefix);
    while (pl > 0 && cfg->http_path_prefix[pl - 1] == '/')
        cfg->http_path_prefix[--pl] = '\0';

    const pc_value *tls = config ? h->value_get(config, "tls") : NULL;
    if (tls && h->value_type(tls) != PC_TYPE_NULL) {
        if (h->value_type(tls) != PC_TYPE_OBJECT) {
            snprintf(err, errlen, "tls: must be an object");
            goto fail;
        }
        const char *cert = NULL, *key = NULL, *ca = NULL, *minv = "1.2";
        if (cfg_string(h, tls, "cert", &cert, err, errlen) != 0 ||
            cfg_string(h, tls, "key", &key, err, errlen) != 0 ||
            cfg_string(h, tls, "client_ca", &ca, err, errlen) != 0 ||
            cfg_string(h, tls, "min_version", &minv, err, errlen) != 0)
            goto fail;
        if (strcmp(minv, "1.2") != 0 && strcmp(minv, "1.3") != 0) {
            snprintf(err, errlen, "tls: min_version: want 1.2 or 1.3");
            goto fail;
        }
        cfg->tls_min_version = minv[2] == '3' ? 0x0304 : 0x0303;
        if ((cert && *cert) != (key && *key)) {
            snprintf(err, errlen, "tls: cert and key must be set together");
            goto fail;
        }
        if (ca && *ca && !(cert && *cert)) {
            snprintf(err, errlen, "tls: client_ca needs cert and key");
            goto fail;
        }
        if (cert && *cert) {
            cfg->tls_cert = cfg_dup(cert);
            cfg->tls_key = cfg_dup(key);
            cfg->tls_client_ca = ca && *ca ? cfg_dup(ca) : NULL;
        }
    }
    return 0;
fail:
    srv_config_free(cfg);
    return -1;
}

void srv_config_free(srv_config *cfg)
{
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_client_ca);
    free(cfg->http_path_prefix);
    cfg->tls_cert = cfg->tls_key = cfg->tls_client_ca = NULL;
    cfg->http_path_prefix = NULL;
}
