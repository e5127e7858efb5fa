/*
 * secret_view.c - key extraction and the stripped identity rendering.
 */
#include <stdlib.h>
#include <string.h>

#include "secret_view.h"

#define SVIEW_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

int sview_api_key(const pc_host *host, const pc_value *secret,
                  unsigned char **out, size_t *out_len)
{
    const pc_value *sd = host->value_get(secret, "stringData");
    const pc_value *d = host->value_get(secret, "data");
    const char *s;
    size_t len = 0, n = 0;
    unsigned char *decoded;

    *out = NULL;
    *out_len = 0;
    s = sd ? host->value_string(host->value_get(sd, SVIEW_KEY_NAME), &len)
           : NULL;
    if (s) {
        if (len == 0)
            return 1;
        *out = malloc(len);
        if (!*out)
            return -1;
        memcpy(*out, s, len);
        *out_len = len;
        return 0;
    }
    s = d ? host->value_string(host->value_get(d, SVIEW_KEY_NAME), &len) : NULL;
    if (!s || len == 0)
        return 1;
    decoded = host->base64_decode(s, len, 0, &n);
    if (!decoded)
        return -1;
    if (n == 0) {
        host->free(decoded);
        return 1;
    }
    /* The key moves into a buffer of ours so the caller frees it as usual;
     * the host's copy is wiped first. */
    *out = malloc(n);
    if (*out)
        memcpy(*out, decoded, n);
    explicit_bzero(decoded, n);
    host->free(decoded);
    if (!*out)
        return -1;
    *out_len = n;
    return 0;
}

/* ---- rendering ---- */

typedef struct sview_buf {
    char *p;
    size_t len, cap;
    int failed;
} sview_buf;

static void sview_put(sview_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sview_put_key(sview_buf *b, const char *key)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *k = (const unsigned char *)key;

    sview_put(b, "\"", 1);
    for (; *k; k++) {
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};

        if (*k == '"' || *k == '\\') {
            esc[1] = (char)*k;
            sview_put(b, esc, 2);
        } else if (*k < 0x20) {
            esc[4] = hex[*k >> 4];
            esc[5] = hex[*k & 15];
            sview_put(b, esc, 6);
        } else {
            sview_put(b, (const char *)k, 1);
        }
    }
    sview_put(b, "\":", 2);
}

/* Which object of the Secret is being written: the filters differ. */
enum { SVIEW_AT_SECRET, SVIEW_AT_METADATA, SVIEW_AT_ANNOTATIONS };

typedef struct sview_obj {
    const pc_host *host;
    sview_buf *buf;
    int level;
    int first;
} sview_obj;

static void sview_object(const pc_host *host, sview_buf *b,
                         const pc_value *obj, int level);

static int sview_member(void *arg, const char *key, const pc_value *val)
{
    sview_obj *o = arg;
    const pc_host *h = o->host;
    int nested = -1;

    switch (o->level) {
    case SVIEW_AT_SECRET:
        if (strcmp(key, "data") == 0 || strcmp(key, "stringData") == 0)
            return 0;
        if (strcmp(key, "metadata") == 0)
            nested = SVIEW_AT_METADATA;
        break;
    case SVIEW_AT_METADATA:
        if (strcmp(key, "annotations") == 0)
            nested = SVIEW_AT_ANNOTATIONS;
        break;
    default:
        if (strcmp(key, SVIEW_LAST_APPLIED) == 0)
            return 0;
        break;
    }
    if (!o->first)
        sview_put(o->buf, ",", 1);
    o->first = 0;
    sview_put_key(o->buf, key);
    if (nested >= 0 && h->value_type(val) == PC_TYPE_OBJECT) {
        sview_object(h, o->buf, val, nested);
    } else {
        char *json = h->value_to_json(val);

        if (!json) {
            o->buf->failed = 1;
            return 1;
        }
        sview_put(o->buf, json, strlen(json));
        h->free(json);
    }
    return o->buf->failed;
}

static void sview_object(const pc_host *host, sview_buf *b,
                         const pc_value *obj, int level)
{
    sview_obj o = {host, b, level, 1};

    sview_put(b, "{", 1);
    host->value_foreach(obj, sview_member, &o);
    sview_put(b, "}", 1);
}

char *sview_render(const pc_host *host, const pc_value *secret, size_t *len)
{
    sview_buf b = {NULL, 0, 0, 0};

    sview_object(host, &b, secret, SVIEW_AT_SECRET);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
