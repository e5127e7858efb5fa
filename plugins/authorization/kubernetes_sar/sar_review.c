/* sar_review.c - one SubjectAccessReview: the spec from the request, the
 * POST through the host's Kubernetes client, the verdict from status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sar.h"
#include "util/str.h"

#define SAR_PATH "/apis/authorization.k8s.io/v1/subjectaccessreviews"
#define SAR_FAILED "SubjectAccessReview failed: "

static const char *const attr_keys[SAR_N_ATTRS] = {
    [SAR_NAMESPACE] = "namespace", [SAR_VERB] = "verb", [SAR_GROUP] = "group",
    [SAR_RESOURCE] = "resource", [SAR_SUBRESOURCE] = "subresource", [SAR_NAME] = "name"};

/* Sets obj[key] to the text of v (Authorino's StringifyJSON), leaving
 * empty strings out as Go's omitempty does. */
static int set_text(const pc_host *h, pc_eval *ev, pc_value *obj, const char *key,
                    const char *s, size_t n)
{
    if (!n)
        return 0;
    return h->value_set(obj, key, h->value_new_string(ev, s, n)) == PC_OK ? 0 : -1;
}

static int set_vos(const pc_host *h, pc_eval *ev, pc_value *obj, const char *key,
                   const pc_vos *v)
{
    if (!v)
        return 0;
    size_t n = 0;
    const pc_value *r = h->vos_resolve(ev, v);
    const char *s = r ? h->value_text(r, &n) : NULL;
    return set_text(h, ev, obj, key, s ? s : "", s ? n : 0);
}

/* spec.groups: a list of strings, or a string holding one as JSON (what
 * Authorino's round trip through text accepts). 0, 1 (no groups) or -1. */
static int set_groups(const sar_inst *in, pc_eval *ev, pc_value *spec)
{
    const pc_host *h = in->host;
    const pc_value *g = in->static_groups;
    if (in->groups) {
        g = h->vos_resolve(ev, in->groups);
        if (h->value_type(g) == PC_TYPE_STRING) {
            size_t n = 0;
            const char *s = h->value_string(g, &n);
            g = h->value_parse(ev, s, n);
            if (!g) {
                h->eval_set_reason(ev, SAR_FAILED "authorizationGroups is not a list of strings");
                return -1;
            }
        }
        if (!g)
            return 1;
    }
    if (!g)
        return 1;
    if (h->value_type(g) != PC_TYPE_ARRAY) {
        h->eval_set_reason(ev, SAR_FAILED "authorizationGroups is not a list of strings");
        return -1;
    }
    pc_value *arr = h->value_new_array(ev);
    size_t n = h->value_length(g);
    for (size_t i = 0; arr && i < n; i++) {
        size_t l = 0;
        const char *s = h->value_string(h->value_at(g, i), &l);
        if (!s) {
            h->eval_set_reason(ev, SAR_FAILED "authorizationGroups is not a list of strings");
            return -1;
        }
        if (h->value_append(arr, h->value_new_string(ev, s, l)) != PC_OK)
            arr = NULL;
    }
    if (!arr || (n && h->value_set(spec, "groups", arr) != PC_OK)) {
        h->eval_set_reason(ev, SAR_FAILED "out of memory");
        return -1;
    }
    return 0;
}

/* The review as *out: 0, or -1 with the reason set. */
static int request_body(const sar_inst *in, pc_eval *ev, pc_value **out)
{
    const pc_host *h = in->host;
    pc_value *root = h->value_new_object(ev), *spec = h->value_new_object(ev);
    pc_value *attrs = h->value_new_object(ev);
    *out = NULL;
    if (!root || !spec || !attrs)
        goto oom;
    if (h->value_set(root, "apiVersion",
                     h->value_new_string(ev, "authorization.k8s.io/v1", 23)) != PC_OK ||
        h->value_set(root, "kind", h->value_new_string(ev, "SubjectAccessReview", 19)) != PC_OK)
        goto oom;
    if (in->resource) {
        for (int i = 0; i < SAR_N_ATTRS; i++)
            if (set_vos(h, ev, attrs, attr_keys[i], in->attrs[i]) < 0)
                goto oom;
        if (h->value_set(spec, "resourceAttributes", attrs) != PC_OK)
            goto oom;
    } else {
        /* Authorino's non-resource check: the request's path as Envoy sent
         * it (query included) and the method in lower case. */
        const pc_value *req = h->value_get(h->eval_root(ev), "request");
        size_t pl = 0, ml = 0;
        const char *path = h->value_string(h->value_get(req, "path"), &pl);
        const char *method = h->value_string(h->value_get(req, "method"), &ml);
        char verb[32];
        if (!method || ml >= sizeof verb)
            ml = 0;
        str_lower(verb, method, ml);
        if (set_text(h, ev, attrs, "path", path ? path : "", path ? pl : 0) < 0 ||
            set_text(h, ev, attrs, "verb", verb, ml) < 0 ||
            h->value_set(spec, "nonResourceAttributes", attrs) != PC_OK)
            goto oom;
    }
    if (set_vos(h, ev, spec, "user", in->user) < 0)
        goto oom;
    if (set_groups(in, ev, spec) < 0)
        return -1;
    if (h->value_set(root, "spec", spec) != PC_OK)
        goto oom;
    *out = root;
    return 0;
oom:
    h->eval_set_reason(ev, SAR_FAILED "out of memory");
    return -1;
}

/* The status code and the Status object's one-word reason (Forbidden,
 * Invalid...), never the body, which echoes the review. */
static void fail_http(const pc_host *h, pc_eval *ev, const pc_http_response *r)
{
    const pc_value *b = r->body ? h->value_parse(ev, r->body, r->body_len) : NULL;
    const char *why = b ? h->value_string(h->value_get(b, "reason"), NULL) : NULL;
    size_t wl = 0;
    if (why) {
        while (wl < 40 && ((why[wl] >= 'A' && why[wl] <= 'Z') || (why[wl] >= 'a' && why[wl] <= 'z')))
            wl++;
        if (why[wl])
            wl = 0;
    }
    if (wl)
        h->eval_set_reason(ev, SAR_FAILED "HTTP %ld %.*s", r->status, (int)wl, why);
    else
        h->eval_set_reason(ev, SAR_FAILED "HTTP %ld", r->status);
}

pc_status sar_review(const sar_inst *in, pc_eval *ev)
{
    const pc_host *h = in->host;
    pc_value *req = NULL;
    if (request_body(in, ev, &req) < 0)
        return PC_ERROR;
    char *json = h->value_to_json(req);
    if (!json) {
        h->eval_set_reason(ev, SAR_FAILED "out of memory");
        return PC_ERROR;
    }
    pc_http_response resp = {0};
    char err[256] = "";
    pc_status st = h->kube_do(ev, "POST", SAR_PATH, json, strlen(json), in->timeout_ms,
                              &resp, err, sizeof err);
    h->free(json);
    if (st != PC_OK) {
        h->eval_set_reason(ev, SAR_FAILED "%s", err[0] ? err : "request error");
        return PC_ERROR;
    }
    if (resp.status != 201 && resp.status != 200) {
        fail_http(h, ev, &resp);
        return PC_ERROR;
    }
    const pc_value *body = resp.body ? h->value_parse(ev, resp.body, resp.body_len) : NULL;
    const pc_value *status = body ? h->value_get(body, "status") : NULL;
    const pc_value *allowed = h->value_get(status, "allowed");
    if (h->value_type(status) != PC_TYPE_OBJECT || h->value_type(allowed) != PC_TYPE_BOOL) {
        h->eval_set_reason(ev, SAR_FAILED "malformed response");
        return PC_ERROR;
    }
    if (h->value_bool(allowed)) {
        h->eval_set_output(ev, h->value_new_bool(ev, 1));
        return PC_OK;
    }
    size_t rl = 0;
    const char *reason = h->value_string(h->value_get(status, "reason"), &rl);
    if (!reason || !rl) {
        reason = "unknown reason";
        rl = 14;
    }
    /* Reasons are the authorizers' own words (no secrets), but bounded:
     * they end up in a response header. */
    if (rl > 200)
        rl = 200;
    h->eval_set_reason(ev, "not authorized: %.*s", (int)rl, reason);
    return PC_DENY;
}
