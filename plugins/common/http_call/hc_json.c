/* hc_json.c - GETs that answer JSON, for the evaluators that talk to an
 * identity provider (userInfo, uma): one with a bearer token, and a
 * discovery document (OpenID Connect or UMA 2.0) kept in a cache of the
 * instance, fetched once for all concurrent requests (the cache's single
 * flight) and again after its TTL. Reasons name what failed and the HTTP
 * status, never a URL (it may carry user:password) nor a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"

pc_status hc_get_json(const pc_host *h, pc_eval *ev, const char *what, const char *label,
                      const char *url, const char *bearer, int64_t timeout_ms,
                      pc_value **out)
{
    buf auth;
    buf_init_max(&auth, HC_MAX_HEADER_LINE);
    const char *hdrs[4] = {"Accept: application/json", "Content-Type: application/json",
                           NULL, NULL};
    *out = NULL;
    if (bearer) {
        buf_puts(&auth, "Authorization: Bearer ");
        buf_puts(&auth, bearer);
        if (auth.failed || !hc_header_safe(bearer, strlen(bearer))) {
            buf_wipe(&auth);
            h->eval_set_reason(ev, "%s: the token cannot be sent in a header", what);
            return PC_ERROR;
        }
        hdrs[2] = auth.data;
    }
    pc_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url,
                           .headers = hdrs, .timeout_ms = timeout_ms};
    pc_http_response r = {0};
    char err[256] = "";
    pc_status st = h->http_do(ev, &req, &r, err, sizeof err);
    buf_wipe(&auth);
    if (st != PC_OK) {
        h->eval_set_reason(ev, "%s: %s: %s", what, label, err[0] ? err : "request failed");
        return PC_ERROR;
    }
    if (r.status < 200 || r.status > 299) {
        h->eval_set_reason(ev, "%s: %s answered HTTP %ld", what, label, r.status);
        return PC_ERROR;
    }
    pc_value *v = r.body_len ? h->value_parse(ev, r.body, r.body_len) : NULL;
    if (!v) {
        h->eval_set_reason(ev, "%s: %s answered something that is not JSON", what, label);
        return PC_ERROR;
    }
    *out = v;
    return PC_OK;
}

typedef struct disc_fill {
    const pc_host *h;
    const char *what, *url, *issuer;
    int64_t timeout_ms;
} disc_fill;

/* A pc_cache_fill_fn: the document, if it names the expected issuer. */
static pc_status fill_discovery(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const disc_fill *f = arg;
    const pc_host *h = f->h;
    (void)ttl_ms;
    pc_value *doc = NULL;
    if (hc_get_json(h, ev, f->what, "the discovery endpoint", f->url, NULL, f->timeout_ms,
                    &doc) != PC_OK)
        return PC_ERROR;
    const char *iss = h->value_string(h->value_get(doc, "issuer"), NULL);
    if (h->value_type(doc) != PC_TYPE_OBJECT || !iss || strcmp(iss, f->issuer) != 0) {
        /* OpenID Connect Discovery §4.3; Authorino checks the same for UMA. */
        h->eval_set_reason(ev, "%s: the issuer returned by the provider is not the "
                               "configured one", f->what);
        return PC_ERROR;
    }
    *out = doc;
    return PC_OK;
}

pc_status hc_discovery(const pc_host *h, pc_eval *ev, pc_cache *cache, const char *what,
                       const char *url, const char *issuer, int64_t timeout_ms,
                       const pc_value **doc)
{
    disc_fill f = {h, what, url, issuer, timeout_ms};
    *doc = NULL;
    if (h->cache_lookup(cache, ev, url, strlen(url), fill_discovery, &f, doc) != PC_OK ||
        !*doc) {
        return PC_ERROR;
    }
    return PC_OK;
}

const char *hc_endpoint_of(const pc_host *h, pc_eval *ev, const char *what,
                           const pc_value *doc, const char *field)
{
    const char *u = h->value_string(h->value_get(doc, field), NULL);
    if (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
        strlen(u) > HC_MAX_URL) {
        h->eval_set_reason(ev, "%s: the discovery document has no usable %s", what, field);
        return NULL;
    }
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            h->eval_set_reason(ev, "%s: the discovery document has no usable %s", what, field);
            return NULL;
        }
    return u;
}
