/* The introspection client's credentials, from a Kubernetes Secret in the
 * AuthConfig's namespace (credentialsRef), sent as HTTP basic auth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "oi.h"

typedef struct oi_find {
    const pc_host *h;
    const char *name, *ns;
    const pc_value *found;
} oi_find;

static int oi_match(void *arg, const pc_value *res)
{
    oi_find *f = arg;
    const pc_host *h = f->h;
    const pc_value *meta = h->value_get(res, "metadata");
    const char *name = h->value_string(h->value_get(meta, "name"), NULL);
    const char *ns = h->value_string(h->value_get(meta, "namespace"), NULL);
    if (!name || strcmp(name, f->name) != 0 || strcmp(ns && *ns ? ns : "default", f->ns) != 0)
        return 0;
    f->found = res;
    return 1;
}

/* stringData wins over data (base64), as the API server merges them.
 * A new NUL-terminated buffer (free it), or NULL when absent or empty. */
static char *oi_entry(const pc_host *h, const pc_value *secret, const char *key)
{
    size_t len = 0;
    const char *s = h->value_string(h->value_get(h->value_get(secret, "stringData"), key), &len);
    if (s)
        return len ? strndup(s, len) : NULL;
    s = h->value_string(h->value_get(h->value_get(secret, "data"), key), &len);
    if (!s || !len)
        return NULL;
    size_t n = 0;
    unsigned char *d = h->base64_decode(s, len, 0, &n);
    char *out = d && n && !memchr(d, '\0', n) ? strndup((const char *)d, n) : NULL;
    if (d) {
        memset(d, 0, n);
        h->free(d);
    }
    return out;
}

static void oi_wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

int oi_client_credentials(oi_inst *in, pc_create_ctx *cc, const char *name, char *err,
                          size_t errlen)
{
    const pc_host *h = in->host;
    const char *ns = h->cc_authconfig_namespace(cc);
    oi_find f = {h, name, ns && *ns ? ns : "default", NULL};
    h->cc_foreach_resource(cc, "Secret", oi_match, &f);
    if (!f.found) {
        snprintf(err, errlen, "credentialsRef: Secret %s/%s not found", f.ns, name);
        return -1;
    }
    char *id = oi_entry(h, f.found, "clientID"), *secret = oi_entry(h, f.found, "clientSecret");
    int rc = -1;
    if (!id || !secret) {
        snprintf(err, errlen, "credentialsRef: Secret %s/%s needs clientID and clientSecret",
                 f.ns, name);
        goto out;
    }
    /* Basic credentials as Authorino's Go client sends them (the id and
     * secret of the URL's userinfo, unescaped). */
    size_t il = strlen(id), sl = strlen(secret), pl = il + 1 + sl;
    char *pair = malloc(pl + 1);
    size_t b64cap = 4 * ((pl + 2) / 3) + 1;
    char *hdr = malloc(sizeof "Authorization: Basic " + b64cap);
    if (!pair || !hdr) {
        free(pair);
        free(hdr);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(pair, id, il);
    pair[il] = ':';
    memcpy(pair + il + 1, secret, sl + 1);
    size_t off = strlen("Authorization: Basic ");
    memcpy(hdr, "Authorization: Basic ", off);
    EVP_EncodeBlock((unsigned char *)hdr + off, (const unsigned char *)pair, (int)pl);
    memset(pair, 0, pl);
    free(pair);
    in->auth_header = hdr;
    rc = 0;
out:
    oi_wipe_free(id);
    oi_wipe_free(secret);
    return rc;
}
