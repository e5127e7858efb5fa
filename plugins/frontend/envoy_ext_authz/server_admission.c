/* Kubernetes admission webhooks on the raw /check endpoint, as Authorino's
 * validating-webhook guide uses them: a POSTed admission.k8s.io/v1
 * AdmissionReview is authorized like any /check call (the review is
 * request.body) and answered with an AdmissionReview carrying the request's
 * uid, `allowed`, and on a denial `status.code` (the HTTP status of the
 * gRPC code, Authorino's mapping) and `status.message` (the deny's
 * X-Ext-Auth-Reason). The answer is always HTTP 200: the API server reads
 * the decision from the body. */
#include "server.h"

#include <json-c/json.h>
#include <string.h>

/* Authorino's statusCodeMapping; other codes leave status.code out. */
static int adm_http_code(int grpc)
{
    switch (grpc) {
    case PC_GRPC_OK: return 200;
    case PC_GRPC_INVALID_ARGUMENT: return 400;
    case PC_GRPC_FAILED_PRECONDITION: return 400;
    case PC_GRPC_NOT_FOUND: return 404;
    case PC_GRPC_UNAUTHENTICATED: return 401;
    case PC_GRPC_PERMISSION_DENIED: return 403;
    case PC_GRPC_UNAVAILABLE: return 503;
    default: return 0;
    }
}

static const char *adm_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int srv_admission_detect(srv_req *r, pc_str body)
{
    /* Cheap test first: most /check bodies are not reviews. */
    if (body.len < 2 || body.ptr[0] != '{' || !memmem(body.ptr, body.len, "AdmissionReview", 15))
        return 0;
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return -1;
    struct json_object *doc = json_tokener_parse_ex(tok, body.ptr, (int)body.len);
    int complete = json_tokener_get_error(tok) == json_tokener_success &&
                   json_tokener_get_parse_end(tok) == body.len;
    json_tokener_free(tok);
    int rc = 0;
    struct json_object *req;
    const char *kind = adm_str(doc, "kind"), *api = adm_str(doc, "apiVersion");
    /* As Authorino: kind, apiVersion and a request object make a review. */
    if (complete && kind && api && !strcmp(kind, "AdmissionReview") &&
        !strcmp(api, "admission.k8s.io/v1") && json_object_object_get_ex(doc, "request", &req) &&
        json_object_is_type(req, json_type_object)) {
        const char *uid = adm_str(req, "uid");
        size_t n = uid ? strlen(uid) : 0;
        char *keep = srv_arena_alloc(&r->reply.arena, n + 1);
        if (!keep) {
            rc = -1;
        } else {
            memcpy(keep, uid ? uid : "", n);
            keep[n] = '\0';
            r->admission_uid = keep;
            rc = 1;
        }
    }
    json_object_put(doc);
    return rc;
}

int srv_admission_render(srv_req *r, const pc_verdict *v)
{
    struct json_object *out = json_object_new_object(), *resp = json_object_new_object();
    int rc = -1;
    if (!out || !resp)
        goto done;
    /* Field order as Go's encoding/json writes the k8s types. */
    json_object_object_add(out, "kind", json_object_new_string("AdmissionReview"));
    json_object_object_add(out, "apiVersion", json_object_new_string("admission.k8s.io/v1"));
    json_object_object_add(resp, "uid", json_object_new_string(r->admission_uid));
    json_object_object_add(resp, "allowed", json_object_new_boolean(v->allowed ? 1 : 0));
    if (!v->allowed) {
        struct json_object *st = json_object_new_object();
        if (!st)
            goto done;
        json_object_object_add(st, "metadata", json_object_new_object());
        for (size_t i = 0; i < v->n_headers; i++) {
            const pc_header *h = &v->headers[i];
            if (h->name.len == 17 && !strncasecmp(h->name.ptr, "x-ext-auth-reason", 17) &&
                h->value.len) {
                json_object_object_add(st, "message", json_object_new_string_len(
                                                          h->value.ptr, (int)h->value.len));
                break;
            }
        }
        int code = adm_http_code(v->grpc_code);
        if (code)
            json_object_object_add(st, "code", json_object_new_int(code));
        json_object_object_add(resp, "status", st);
    }
    json_object_object_add(out, "response", resp);
    resp = NULL;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    srv_reply *rp = &r->reply;
    rp->status = 200;
    rp->content_type = "application/json";
    rc = text && srv_reply_body(rp, text, len) == 0 ? 0 : -1;
done:
    json_object_put(resp);
    json_object_put(out);
    return rc;
}
