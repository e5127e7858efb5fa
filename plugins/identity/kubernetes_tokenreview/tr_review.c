/* Sends the TokenReview and judges the answer. Success needs both
 * status.authenticated and one requested audience echoed back in
 * status.audiences: Kubernetes advises clients that set spec.audiences to
 * check this, since an authenticator that ignores audiences would
 * otherwise let through tokens meant for another service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tr_jwt.h"
#include "tr_review.h"

static pc_value *tr_request_body(const pc_host *h, pc_eval *ev, const tr_ask *a)
{
    pc_value *root = h->value_new_object(ev), *spec = h->value_new_object(ev),
             *auds = h->value_new_array(ev);
    if (!root || !spec || !auds)
        return NULL;
    for (size_t i = 0; i < a->n_auds; i++)
        if (h->value_append(auds, h->value_new_string(ev, a->auds[i], strlen(a->auds[i]))) != PC_OK)
            return NULL;
    if (h->value_set(root, "apiVersion",
                     h->value_new_string(ev, "authentication.k8s.io/v1", 24)) != PC_OK ||
        h->value_set(root, "kind", h->value_new_string(ev, "TokenReview", 11)) != PC_OK ||
        h->value_set(spec, "token", h->value_new_string(ev, a->token, a->token_len)) != PC_OK ||
        h->value_set(spec, "audiences", auds) != PC_OK ||
        h->value_set(root, "spec", spec) != PC_OK)
        return NULL;
    return root;
}

/* A short, secret-free description of a failed call: the status code and
 * the Status object's one-word reason (e.g. Forbidden), never its message
 * or the body, which can echo the token. */
static void tr_fail_http(const pc_host *h, pc_eval *ev, const pc_http_response *r)
{
    const pc_value *b = r->body ? h->value_parse(ev, r->body, r->body_len) : NULL;
    const char *why = b ? h->value_string(h->value_get(b, "reason"), NULL) : NULL;
    size_t wl = 0;
    if (why) {
        for (; wl < 40 && why[wl]; wl++)
            if (!((why[wl] >= 'A' && why[wl] <= 'Z') || (why[wl] >= 'a' && why[wl] <= 'z')))
                break;
        if (why[wl])
            wl = 0;
    }
    if (wl)
        h->eval_set_reason(ev, "TokenReview failed: HTTP %ld %.*s", r->status, (int)wl, why);
    else
        h->eval_set_reason(ev, "TokenReview failed: HTTP %ld", r->status);
}

static int tr_audience_ok(const pc_host *h, const pc_value *status, const tr_ask *a)
{
    const pc_value *got = h->value_get(status, "audiences");
    size_t n = h->value_type(got) == PC_TYPE_ARRAY ? h->value_length(got) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = h->value_string(h->value_at(got, i), NULL);
        for (size_t j = 0; s && j < a->n_auds; j++)
            if (strcmp(s, a->auds[j]) == 0)
                return 1;
    }
    return 0;
}

/* The token's own expiry bounds the cache: a verdict must not outlive it. */
static void tr_bound_ttl(const pc_host *h, pc_eval *ev, const tr_ask *a, int64_t *ttl_ms)
{
    size_t plen = 0;
    char *payload = tr_jwt_payload(h, a->token, a->token_len, &plen);
    if (!payload)
        return;
    const pc_value *claims = h->value_parse(ev, payload, plen);
    h->free(payload);
    const pc_value *exp = claims ? h->value_get(claims, "exp") : NULL;
    double e;
    switch (h->value_type(exp)) {
    case PC_TYPE_INT: e = (double)h->value_int(exp); break;
    case PC_TYPE_DOUBLE: e = h->value_double(exp); break;
    default: return;
    }
    double left_ms = (e - (double)h->realtime_ns() / 1e9) * 1000.0;
    int64_t base = a->in->ttl_ms;
    if (left_ms <= 0)
        *ttl_ms = 0;
    else if (left_ms < (double)base)
        *ttl_ms = (int64_t)left_ms;
    else
        *ttl_ms = base;
}

pc_status tr_review_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const tr_ask *a = arg;
    const pc_host *h = a->in->host;
    *out = NULL;
    pc_value *req = tr_request_body(h, ev, a);
    char *json = req ? h->value_to_json(req) : NULL;
    if (!json) {
        h->eval_set_reason(ev, "TokenReview failed: out of memory");
        return PC_ERROR;
    }
    size_t jlen = strlen(json);
    pc_http_response resp = {0};
    char err[256] = "";
    pc_status st = h->kube_do(ev, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                              json, jlen, a->in->timeout_ms, &resp, err, sizeof err);
    memset(json, 0, jlen);
    h->free(json);
    if (st != PC_OK) {
        h->eval_set_reason(ev, "TokenReview failed: %s", err[0] ? err : "request error");
        return PC_ERROR;
    }
    if (resp.status != 201) {
        tr_fail_http(h, ev, &resp);
        return PC_ERROR;
    }
    const pc_value *body = resp.body ? h->value_parse(ev, resp.body, resp.body_len) : NULL;
    const pc_value *status = body ? h->value_get(body, "status") : NULL;
    if (h->value_type(status) != PC_TYPE_OBJECT) {
        h->eval_set_reason(ev, "TokenReview failed: malformed response");
        return PC_ERROR;
    }
    const pc_value *authd = h->value_get(status, "authenticated");
    if (h->value_type(authd) != PC_TYPE_BOOL || !h->value_bool(authd) ||
        !tr_audience_ok(h, status, a)) {
        h->eval_set_reason(ev, TR_NOT_AUTHENTICATED);
        return PC_DENY;
    }
    pc_value *id = h->value_copy(ev, status);
    if (!id) {
        h->eval_set_reason(ev, "TokenReview failed: out of memory");
        return PC_ERROR;
    }
    tr_bound_ttl(h, ev, a, ttl_ms);
    *out = id;
    return PC_OK;
}
