/* One RFC 7662 introspection: POST token and token_type_hint as a form,
 * with the client's basic credentials, and judge the answer as Authorino
 * does: a non-200 status or a response without a boolean "active" is an
 * error, "active": false a denial, and the response is the identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "oi.h"

char *oi_form_escape(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Go's http.Status text for the usual codes, so reasons read as
 * Authorino's ("token introspection request failed: 401 Unauthorized"). */
static const char *oi_status_text(long st)
{
    switch (st) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

/* The response's exp bounds the cache entry. */
static void oi_bound_ttl(const pc_host *h, const pc_value *resp, int64_t base, int64_t *ttl_ms)
{
    const pc_value *exp = h->value_get(resp, "exp");
    double e;
    switch (h->value_type(exp)) {
    case PC_TYPE_INT: e = (double)h->value_int(exp); break;
    case PC_TYPE_DOUBLE: e = h->value_double(exp); break;
    default: return;
    }
    double left_ms = (e - (double)h->realtime_ns() / 1e9) * 1000.0;
    *ttl_ms = left_ms <= 0 ? 0 : left_ms < (double)base ? (int64_t)left_ms : base;
}

pc_status oi_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const oi_ask *a = arg;
    const oi_inst *in = a->in;
    const pc_host *h = in->host;
    *out = NULL;
    char *tok = oi_form_escape(a->token, a->token_len);
    size_t tl = tok ? strlen(tok) : 0, hl = strlen(in->hint_form);
    char *body = tok ? malloc(6 + tl + hl + 1) : NULL;
    if (!body) {
        free(tok);
        h->eval_set_reason(ev, "token introspection failed: out of memory");
        return PC_ERROR;
    }
    memcpy(body, "token=", 6);
    memcpy(body + 6, tok, tl);
    memcpy(body + 6 + tl, in->hint_form, hl + 1);
    memset(tok, 0, tl);
    free(tok);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                          "Accept: application/json", in->auth_header, NULL};
    pc_http_request req = {.struct_size = sizeof req, .method = "POST", .url = in->endpoint,
                           .headers = hdrs, .body = body, .body_len = 6 + tl + hl,
                           .timeout_ms = in->timeout_ms};
    pc_http_response resp = {0};
    char err[256] = "";
    pc_status st = h->http_do(ev, &req, &resp, err, sizeof err);
    memset(body, 0, 6 + tl + hl);
    free(body);
    if (st != PC_OK) {
        h->eval_set_reason(ev, "token introspection request failed: %s",
                           err[0] ? err : "request error");
        return PC_ERROR;
    }
    if (resp.status != 200) {
        /* Only the status: the body may hold whatever the server echoes. */
        const char *txt = oi_status_text(resp.status);
        h->eval_set_reason(ev, "token introspection request failed: %ld%s%s", resp.status,
                           *txt ? " " : "", txt);
        return PC_ERROR;
    }
    pc_value *v = resp.body ? h->value_parse(ev, resp.body, resp.body_len) : NULL;
    const pc_value *active = h->value_get(v, "active");
    if (h->value_type(v) != PC_TYPE_OBJECT || h->value_type(active) != PC_TYPE_BOOL) {
        h->eval_set_reason(ev, "invalid token introspection response: missing or "
                               "non-boolean \"active\" field");
        return PC_ERROR;
    }
    if (!h->value_bool(active)) {
        h->eval_set_reason(ev, OI_NOT_ACTIVE);
        return PC_DENY;
    }
    oi_bound_ttl(h, v, in->ttl_ms, ttl_ms);
    *out = v;
    return PC_OK;
}
