/* hc_config.c - the `http` metadata config into an hc_inst: the URL or its
 * template, method, body, headers, and the credential from a Secret. The
 * schema has checked the shape; this checks what a schema cannot (header
 * names, a Secret that must exist, fields that exclude each other). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"

#define HC_DEFAULT_NS "default"

static const char *str_of(const pc_host *h, const pc_value *o, const char *k)
{
    return h->value_string(h->value_get(o, k), NULL);
}

/* ---- Secrets ---- */

typedef struct secret_find {
    const pc_host *h;
    const char *ns, *name, *key;
    int found;          /* the Secret exists */
    char *value;        /* its key, decoded */
    int bad;            /* data.<key> is not base64, or out of memory */
} secret_find;

static int take_secret(void *arg, const pc_value *res)
{
    secret_find *f = arg;
    const pc_host *h = f->h;
    const pc_value *meta = h->value_get(res, "metadata");
    const char *name = str_of(h, meta, "name");
    const char *ns = str_of(h, meta, "namespace");
    if (!name || strcmp(name, f->name) != 0 || strcmp(ns && *ns ? ns : HC_DEFAULT_NS, f->ns))
        return 0;
    f->found = 1;
    size_t len = 0;
    /* stringData wins over data, as the API server merges them on write. */
    const char *s = h->value_string(h->value_get(h->value_get(res, "stringData"), f->key), &len);
    if (s) {
        if (!(f->value = malloc(len + 1)))
            f->bad = 1;
        else {
            memcpy(f->value, s, len);
            f->value[len] = '\0';
        }
        return 1;
    }
    s = h->value_string(h->value_get(h->value_get(res, "data"), f->key), &len);
    if (s) {
        size_t n = 0;
        unsigned char *d = h->base64_decode(s, len, 0, &n);
        if (!d || memchr(d, '\0', n)) {
            f->bad = 1;
        } else if ((f->value = malloc(n + 1))) {
            memcpy(f->value, d, n + 1);
        } else {
            f->bad = 1;
        }
        if (d) {
            memset(d, 0, n);
            h->free(d);
        }
    }
    return 1;
}

char *hc_secret(const pc_host *h, pc_create_ctx *cc, const char *name, const char *key,
                const char *what, char *err, size_t errlen)
{
    const char *ns = h->cc_authconfig_namespace(cc);
    secret_find f = {h, ns && *ns ? ns : HC_DEFAULT_NS, name, key, 0, NULL, 0};
    if (!f.name || !*f.name || !f.key || !*f.key) {
        snprintf(err, errlen, "%s needs a name and a key", what);
        return NULL;
    }
    h->cc_foreach_resource(cc, "Secret", take_secret, &f);
    if (!f.found)
        snprintf(err, errlen, "%s: Secret %s/%s not found", what, f.ns, f.name);
    else if (f.bad)
        snprintf(err, errlen, "%s: data.%s of Secret %s/%s is not valid base64 text", what,
                 f.key, f.ns, f.name);
    else if (!f.value || !*f.value)
        snprintf(err, errlen, "%s: Secret %s/%s has no key %s", what, f.ns, f.name, f.key);
    else
        return f.value;
    free(f.value);
    return NULL;
}

static char *secret_value(const pc_host *h, pc_create_ctx *cc, const pc_value *ref,
                          const char *what, char *err, size_t errlen)
{
    return hc_secret(h, cc, str_of(h, ref, "name"), str_of(h, ref, "key"), what, err, errlen);
}

/* ---- named values ---- */

typedef struct named_load {
    const pc_host *h;
    pc_create_ctx *cc;
    hc_named *items;
    size_t n;
    int header;          /* names must be header tokens */
    char *err;
    size_t errlen;
    const char *what;
} named_load;

static int take_named(void *arg, const char *key, const pc_value *val)
{
    named_load *l = arg;
    if (l->header && !hc_token_name(key)) {
        snprintf(l->err, l->errlen, "%s: \"%s\" is not a valid header name", l->what, key);
        return 1;
    }
    char verr[256] = "";
    pc_vos *v = l->h->vos_compile(l->cc, val, verr, sizeof verr);
    if (!v) {
        snprintf(l->err, l->errlen, "%s.%s: %s", l->what, key,
                 verr[0] ? verr : "expected {value} or {selector}");
        return 1;
    }
    l->items[l->n].name = hc_strdup(key);
    l->items[l->n++].vos = v;
    if (!l->items[l->n - 1].name) {
        snprintf(l->err, l->errlen, "out of memory");
        return 1;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const hc_named *)a)->name, ((const hc_named *)b)->name);
}

static int load_named(const pc_host *h, pc_create_ctx *cc, const pc_value *map, int header,
                      const char *what, hc_named **out, size_t *n, char *err, size_t errlen)
{
    size_t cnt = h->value_length(map);
    *out = NULL;
    *n = 0;
    if (!map || !cnt)
        return 0;
    named_load l = {h, cc, calloc(cnt, sizeof(hc_named)), 0, header, err, errlen, what};
    if (!l.items) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = h->value_foreach(map, take_named, &l);
    *out = l.items;
    *n = l.n;
    if (rc)
        return -1;
    /* Go's maps give no order; sorted names make the request the same on
     * every run (form bodies are sorted by Go's url.Values too). */
    qsort(l.items, l.n, sizeof *l.items, by_name);
    return 0;
}

static void free_named(const pc_host *h, hc_named *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].name);
        h->vos_free(items[i].vos);
    }
    free(items);
}

/* ---- credentials and OAuth2 ---- */

static int load_credentials(hc_inst *in, const pc_value *c, char *err, size_t errlen)
{
    const pc_host *h = in->host;
    const char *name = NULL;
    in->cred_at = HC_CRED_AUTH_HEADER;
    if (c && h->value_length(c) > 1) {
        snprintf(err, errlen, "credentials: give one of authorizationHeader, customHeader, "
                              "queryString, cookie");
        return -1;
    }
    if (h->value_get(c, "customHeader")) {
        in->cred_at = HC_CRED_CUSTOM_HEADER;
        name = str_of(h, h->value_get(c, "customHeader"), "name");
    } else if (h->value_get(c, "queryString")) {
        in->cred_at = HC_CRED_QUERY;
        name = str_of(h, h->value_get(c, "queryString"), "name");
    } else if (h->value_get(c, "cookie")) {
        in->cred_at = HC_CRED_COOKIE;
        name = str_of(h, h->value_get(c, "cookie"), "name");
    } else {
        name = str_of(h, h->value_get(c, "authorizationHeader"), "prefix");
        if (!name || !*name)
            name = "Bearer";
    }
    if (!name || !*name) {
        snprintf(err, errlen, "credentials: the location needs a name");
        return -1;
    }
    if (in->cred_at == HC_CRED_CUSTOM_HEADER ? !hc_token_name(name)
                                             : !hc_header_safe(name, strlen(name))) {
        snprintf(err, errlen, "credentials: \"%s\" cannot be used there", name);
        return -1;
    }
    in->cred_name = hc_strdup(name);
    return in->cred_name ? 0 : -1;
}

typedef struct kv_list {
    const pc_host *h;
    const char **k, **v;
    size_t n;
} kv_list;

static int take_kv(void *arg, const char *key, const pc_value *val)
{
    kv_list *l = arg;
    l->k[l->n] = key;
    l->v[l->n++] = l->h->value_string(val, NULL);
    return 0;
}

/* extraParams as a form fragment "a=1&b=2", keys sorted as Go's
 * url.Values.Encode does. */
static char *form_params(const pc_host *h, const pc_value *map)
{
    size_t cnt = h->value_length(map);
    kv_list l = {h, calloc(cnt, sizeof(char *)), calloc(cnt, sizeof(char *)), 0};
    char *out = NULL;
    if (l.k && l.v) {
        h->value_foreach(map, take_kv, &l);
        for (size_t i = 1; i < l.n; i++)
            for (size_t j = i; j > 0 && strcmp(l.k[j - 1], l.k[j]) > 0; j--) {
                const char *tk = l.k[j], *tv = l.v[j];
                l.k[j] = l.k[j - 1], l.v[j] = l.v[j - 1];
                l.k[j - 1] = tk, l.v[j - 1] = tv;
            }
        buf b;
        buf_init_max(&b, 64 * 1024);
        for (size_t i = 0; i < l.n; i++) {
            const char *v = l.v[i] ? l.v[i] : "";
            if (i)
                buf_append(&b, "&", 1);
            hc_buf_form(&b, l.k[i], strlen(l.k[i]));
            buf_append(&b, "=", 1);
            hc_buf_form(&b, v, strlen(v));
        }
        if (!b.failed)
            out = hc_strdup(b.data ? b.data : "");
        buf_wipe(&b);
    }
    free(l.k);
    free(l.v);
    return out;
}

static int load_oauth2(hc_inst *in, pc_create_ctx *cc, const pc_value *o, char *err,
                       size_t errlen)
{
    const pc_host *h = in->host;
    hc_oauth2 *a = calloc(1, sizeof *a);
    if (!(in->oauth2 = a)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *url = str_of(h, o, "tokenUrl");
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        snprintf(err, errlen, "oauth2.tokenUrl must be an http:// or https:// URL");
        return -1;
    }
    a->token_url = hc_strdup(url);
    a->client_id = hc_strdup(str_of(h, o, "clientId"));
    if (!(a->client_secret = secret_value(h, cc, h->value_get(o, "clientSecretRef"),
                                          "oauth2.clientSecretRef", err, errlen)))
        return -1;
    buf b;
    const pc_value *scopes = h->value_get(o, "scopes");
    if (h->value_length(scopes)) {
        buf_init_max(&b, 64 * 1024);
        for (size_t i = 0; i < h->value_length(scopes); i++) {
            if (i)
                buf_append(&b, " ", 1);
            const char *sc = h->value_string(h->value_at(scopes, i), NULL);
            buf_puts(&b, sc ? sc : "");
        }
        a->scopes = b.failed ? NULL : hc_strdup(b.data);
        buf_wipe(&b);
    }
    const pc_value *extra = h->value_get(o, "extraParams");
    if (h->value_length(extra) && !(a->extra = form_params(h, extra))) {
        snprintf(err, errlen, "oauth2.extraParams: out of memory");
        return -1;
    }
    const pc_value *t = h->value_get(o, "timeout");
    a->timeout_ms = h->value_type(t) == PC_TYPE_INT ? h->value_int(t) : HC_DEFAULT_TIMEOUT_MS;
    const pc_value *cache = h->value_get(o, "cache");
    if (h->value_type(cache) != PC_TYPE_BOOL || h->value_bool(cache)) {
        pc_cache_opts co = {.struct_size = sizeof co, .name = "http-oauth2-token",
                            .ok_ttl_ms = HC_TOKEN_MAX_TTL_MS, .deny_ttl_ms = 0,
                            .max_entries = 1};
        if (!(a->cache = h->cache_new(&co))) {
            snprintf(err, errlen, "cannot create the token cache");
            return -1;
        }
    }
    if (!a->token_url || !a->client_id || !*a->client_id) {
        snprintf(err, errlen, "oauth2 needs tokenUrl and clientId");
        return -1;
    }
    return 0;
}

static const char *const hc_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};

/* urlExpression is CEL: compiled by the host's value-or-selector compiler
 * from {"expression": …}, built as a value this instance keeps (1.1). */
static int url_expression(hc_inst *in, pc_create_ctx *cc, const char *expr, char *err,
                          size_t errlen)
{
    const pc_host *h = in->host;
    if (!PC_HOST_HAS(h, value_keep_json) || !PC_HOST_HAS(h, value_release)) {
        snprintf(err, errlen, "urlExpression needs plugin ABI 1.1 (value_keep_json)");
        return -1;
    }
    buf spec;
    buf_init_max(&spec, 6 * strlen(expr) + 32);
    buf_puts(&spec, "{\"expression\":\"");
    for (const char *p = expr; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(&spec, e, 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            buf_puts(&spec, e);
        } else {
            buf_append(&spec, p, 1);
        }
    }
    buf_puts(&spec, "\"}");
    if (spec.failed || !spec.data) {
        buf_wipe(&spec);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pc_value *v = h->value_keep_json(spec.data, spec.len);
    buf_wipe(&spec);
    if (!v) {
        snprintf(err, errlen, "urlExpression: not a valid string");
        return -1;
    }
    char verr[256] = "";
    in->url_expr = h->vos_compile(cc, v, verr, sizeof verr);
    h->value_release(v);
    if (!in->url_expr) {
        snprintf(err, errlen, "urlExpression: %s", verr[0] ? verr : "invalid");
        return -1;
    }
    return 0;
}

int hc_configure(hc_inst *in, pc_create_ctx *cc, const pc_value *cfg, char *err,
                 size_t errlen)
{
    const pc_host *h = in->host;
    const char *url_expr = str_of(h, cfg, "urlExpression");
    if (url_expr) {
        if (str_of(h, cfg, "url")) {
            snprintf(err, errlen, "set url or urlExpression, not both");
            return -1;
        }
        return url_expression(in, cc, url_expr, err, errlen);
    }
    const char *url = str_of(h, cfg, "url");
    if (!url || !*url) {
        snprintf(err, errlen, "url is required");
        return -1;
    }
    if (strlen(url) > HC_MAX_URL) {
        snprintf(err, errlen, "url is longer than %d characters", HC_MAX_URL);
        return -1;
    }
    if (!(in->url = hc_strdup(url)))
        goto oom;
    if (strchr(url, '{')) {
        char serr[256] = "";
        if (!(in->url_tpl = h->selector_compile(url, serr, sizeof serr))) {
            snprintf(err, errlen, "url: %s", serr);
            return -1;
        }
    } else if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        snprintf(err, errlen, "url must be an http:// or https:// URL");
        return -1;
    }
    const char *m = str_of(h, cfg, "method");
    in->method = "GET";
    for (size_t i = 0; m && hc_methods[i]; i++)
        if (strcmp(m, hc_methods[i]) == 0)
            in->method = hc_methods[i];
    if (m && strcmp(m, in->method)) {
        snprintf(err, errlen, "method must be one of GET, POST, PUT, PATCH, DELETE");
        return -1;
    }
    in->has_body_method = !strcmp(in->method, "POST") || !strcmp(in->method, "PUT") ||
                          !strcmp(in->method, "PATCH");
    const pc_value *body = h->value_get(cfg, "body");
    const pc_value *params = h->value_get(cfg, "bodyParameters");
    if (body && params) {
        snprintf(err, errlen, "give body or bodyParameters, not both");
        return -1;
    }
    if ((body || params) && !in->has_body_method) {
        snprintf(err, errlen, "a %s request has no body: use method POST, PUT or PATCH "
                              "(or placeholders in the url)", in->method);
        return -1;
    }
    if (body) {
        char verr[256] = "";
        if (!(in->body = h->vos_compile(cc, body, verr, sizeof verr))) {
            snprintf(err, errlen, "body: %s", verr[0] ? verr : "expected {value} or {selector}");
            return -1;
        }
    }
    if (load_named(h, cc, params, 0, "bodyParameters", &in->params, &in->n_params, err,
                   errlen) < 0 ||
        load_named(h, cc, h->value_get(cfg, "headers"), 1, "headers", &in->headers,
                   &in->n_headers, err, errlen) < 0)
        return -1;
    if (in->n_headers > HC_MAX_HEADERS) {
        snprintf(err, errlen, "headers: at most %d", HC_MAX_HEADERS);
        return -1;
    }
    const char *ct = str_of(h, cfg, "contentType");
    in->content_type = hc_strdup(ct ? ct : "application/x-www-form-urlencoded");
    if (!in->content_type)
        goto oom;
    in->json_params = strcmp(in->content_type, "application/json") == 0;
    const pc_value *t = h->value_get(cfg, "timeout");
    in->timeout_ms = h->value_type(t) == PC_TYPE_INT ? h->value_int(t) : HC_DEFAULT_TIMEOUT_MS;

    const pc_value *oauth2 = h->value_get(cfg, "oauth2");
    const pc_value *ref = h->value_get(cfg, "sharedSecretRef");
    if (oauth2) {
        /* Authorino ignores sharedSecretRef next to oauth2; so do we, but
         * the Secret must still exist so a typo does not go unseen. */
        if (load_oauth2(in, cc, oauth2, err, errlen) < 0)
            return -1;
    }
    if (ref) {
        char *s = secret_value(h, cc, ref, "sharedSecretRef", err, errlen);
        if (!s)
            return -1;
        if (!hc_header_safe(s, strlen(s))) {
            memset(s, 0, strlen(s));
            free(s);
            snprintf(err, errlen, "sharedSecretRef: the secret holds a line break");
            return -1;
        }
        if (oauth2) {
            memset(s, 0, strlen(s));
            free(s);
        } else {
            in->secret = s;
        }
    }
    if (h->value_get(cfg, "credentials") && !oauth2 && !ref) {
        snprintf(err, errlen, "credentials needs sharedSecretRef or oauth2 (the credential "
                              "to send)");
        return -1;
    }
    return load_credentials(in, h->value_get(cfg, "credentials"), err, errlen);
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void wipe(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void hc_unconfigure(hc_inst *in)
{
    const pc_host *h = in->host;
    free(in->url);
    if (in->url_tpl)
        h->selector_free(in->url_tpl);
    if (in->url_expr)
        h->vos_free(in->url_expr);
    if (in->body)
        h->vos_free(in->body);
    free_named(h, in->params, in->n_params);
    free_named(h, in->headers, in->n_headers);
    free(in->content_type);
    wipe(in->secret);
    free(in->cred_name);
    if (in->oauth2) {
        hc_oauth2 *a = in->oauth2;
        free(a->token_url);
        free(a->client_id);
        wipe(a->client_secret);
        free(a->scopes);
        free(a->extra);
        if (a->cache)
            h->cache_free(a->cache);
        free(a);
    }
}
