/* hc_oauth2.c - the OAuth2 client-credentials grant (RFC 6749 §4.4) for
 * calls to the metadata service. The token lives in a one-entry cache of
 * the instance: every request shares it until shortly before expires_in
 * runs out, and concurrent misses make a single token request (the host
 * cache's single flight). Client credentials go in HTTP Basic (§2.3.1);
 * a server that refuses them (400/401) is asked once more with them in the
 * form, as golang.org/x/oauth2 does when it probes the auth style. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"

#define HC_TOKEN_KEY "access_token"

static void form_body(const hc_oauth2 *a, int creds_in_body, buf *b)
{
    buf_puts(b, "grant_type=client_credentials");
    if (a->scopes) {
        buf_puts(b, "&scope=");
        hc_buf_form(b, a->scopes, strlen(a->scopes));
    }
    if (a->extra && *a->extra) {
        buf_append(b, "&", 1);
        buf_puts(b, a->extra);
    }
    if (creds_in_body) {
        buf_puts(b, "&client_id=");
        hc_buf_form(b, a->client_id, strlen(a->client_id));
        buf_puts(b, "&client_secret=");
        hc_buf_form(b, a->client_secret, strlen(a->client_secret));
    }
}

static pc_status token_request(const hc_inst *in, pc_eval *ev, int creds_in_body,
                               pc_http_response *resp, char *err, size_t errlen)
{
    const pc_host *h = in->host;
    const hc_oauth2 *a = in->oauth2;
    buf body, basic, user;
    buf_init_max(&body, 128 * 1024);
    buf_init_max(&basic, 64 * 1024);
    buf_init_max(&user, 64 * 1024);
    form_body(a, creds_in_body, &body);
    const char *hdrs[4] = {"Content-Type: application/x-www-form-urlencoded",
                           "Accept: application/json", NULL, NULL};
    if (!creds_in_body) {
        /* RFC 6749 §2.3.1: both parts form-encoded before base64. */
        hc_buf_form(&user, a->client_id, strlen(a->client_id));
        buf_append(&user, ":", 1);
        hc_buf_form(&user, a->client_secret, strlen(a->client_secret));
        buf_puts(&basic, "Authorization: Basic ");
        if (user.data)
            hc_buf_base64(&basic, (const unsigned char *)user.data, user.len);
        hdrs[2] = basic.data;
    }
    pc_status st = PC_ERROR;
    if (body.failed || user.failed || basic.failed) {
        snprintf(err, errlen, "the token request is too large");
    } else {
        pc_http_request req = {.struct_size = sizeof req, .method = "POST",
                               .url = a->token_url, .headers = hdrs, .body = body.data,
                               .body_len = body.len, .timeout_ms = a->timeout_ms};
        st = h->http_do(ev, &req, resp, err, errlen);
    }
    buf_wipe(&body);
    buf_wipe(&basic);
    buf_wipe(&user);
    return st;
}

/* A pc_cache_fill_fn: the token as {"access_token": "..."} with the TTL
 * of its expires_in. */
static pc_status fetch_token(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const hc_inst *in = arg;
    const pc_host *h = in->host;
    pc_http_response r = {0};
    char err[256] = "";
    *out = NULL;
    pc_status st = token_request(in, ev, 0, &r, err, sizeof err);
    if (st == PC_OK && (r.status == 400 || r.status == 401))
        st = token_request(in, ev, 1, &r, err, sizeof err);
    if (st != PC_OK) {
        h->eval_set_reason(ev, "%s: token request failed: %s", in->what, err);
        return PC_ERROR;
    }
    if (r.status != 200) {
        /* The body may echo the credentials: only the status is told. */
        h->eval_set_reason(ev, "%s: the token endpoint answered HTTP %ld", in->what, r.status);
        return PC_ERROR;
    }
    const pc_value *v = h->value_parse(ev, r.body, r.body_len);
    size_t tlen = 0;
    const char *tok = h->value_string(h->value_get(v, "access_token"), &tlen);
    if (!tok || !tlen || !hc_header_safe(tok, tlen)) {
        h->eval_set_reason(ev, "%s: the token endpoint gave no usable access_token", in->what);
        return PC_ERROR;
    }
    const pc_value *exp = h->value_get(v, "expires_in");
    int64_t ttl = HC_TOKEN_DEFAULT_TTL_MS;
    double secs = -1;
    if (h->value_type(exp) == PC_TYPE_INT)
        secs = (double)h->value_int(exp);
    else if (h->value_type(exp) == PC_TYPE_DOUBLE)
        secs = h->value_double(exp);
    else if (h->value_type(exp) == PC_TYPE_STRING)
        secs = atof(h->value_string(exp, NULL)); /* some servers quote it */
    if (secs > 0)
        ttl = (int64_t)(secs * 1000) - HC_TOKEN_EARLY_MS;
    else if (exp)
        ttl = 0; /* already expired: use it for this request only */
    if (ttl < 0)
        ttl = 0;
    *ttl_ms = ttl;
    pc_value *o = h->value_new_object(ev);
    if (!o || h->value_set(o, HC_TOKEN_KEY, h->value_new_string(ev, tok, tlen)) != PC_OK) {
        h->eval_set_reason(ev, "%s: out of memory", in->what);
        return PC_ERROR;
    }
    *out = o;
    return PC_OK;
}

pc_status hc_oauth2_token(const hc_inst *in, pc_eval *ev, const char **tok)
{
    const pc_host *h = in->host;
    const pc_value *got = NULL;
    pc_value *fresh = NULL;
    pc_status st;
    *tok = NULL;
    if (in->oauth2->cache) {
        st = h->cache_lookup(in->oauth2->cache, ev, HC_TOKEN_KEY, sizeof HC_TOKEN_KEY - 1,
                             fetch_token, (void *)in, &got);
    } else {
        int64_t ttl = 0;
        st = fetch_token((void *)in, ev, &fresh, &ttl);
        got = fresh;
    }
    if (st != PC_OK)
        return PC_ERROR;
    *tok = h->value_string(h->value_get(got, HC_TOKEN_KEY), NULL);
    if (!*tok) {
        h->eval_set_reason(ev, "%s: no access token", in->what);
        return PC_ERROR;
    }
    return PC_OK;
}
