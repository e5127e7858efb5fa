/* hm_request.c - one call to the metadata service: the URL with its
 * placeholders resolved, the credential where `credentials` puts it, the
 * configured headers and body, and the answer as the metadata object (the
 * body as JSON when it parses, else the text). A transport error or a
 * status outside 2xx is an error: nothing is published. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "hm.h"

/* Bounds of what one request may carry; resolved values come from the
 * request being authorized, so they are capped rather than trusted. */
#define HM_MAX_HEADER_LINE (16 * 1024)
#define HM_MAX_BODY (1024 * 1024)

/* Authorino's StringifyJSON: strings as they are, anything else as JSON. */
static const char *vos_text(const pc_host *h, pc_eval *ev, const pc_vos *v, size_t *len)
{
    const pc_value *r = h->vos_resolve(ev, v);
    *len = 0;
    if (!r)
        return "";
    const char *s = h->value_text(r, len);
    return s ? s : "";
}

/* The URL: the template resolved, checked the way Authorino's ValidateURL
 * does (scheme, length, no control characters), plus no spaces, which
 * would otherwise split the request line. */
static int build_url(const hm_inst *in, pc_eval *ev, hm_buf *url)
{
    const pc_host *h = in->host;
    if (in->url_tpl) {
        const pc_value *v = h->selector_resolve(ev, in->url_tpl);
        size_t n = 0;
        const char *s = v ? h->value_text(v, &n) : NULL;
        hm_buf_put(url, s ? s : "", s ? n : 0);
    } else {
        hm_buf_puts(url, in->url);
    }
    if (url->failed || !url->p) {
        h->eval_set_reason(ev, "http metadata: the url is longer than %d characters", HM_MAX_URL);
        return -1;
    }
    if (strncmp(url->p, "http://", 7) && strncmp(url->p, "https://", 8)) {
        h->eval_set_reason(ev, "http metadata: the url is not http:// or https://");
        return -1;
    }
    for (size_t i = 0; i < url->len; i++)
        if ((unsigned char)url->p[i] <= ' ' || url->p[i] == 0x7f) {
            h->eval_set_reason(ev, "http metadata: the url holds a space or control character");
            return -1;
        }
    return 0;
}

static void build_body(const hm_inst *in, pc_eval *ev, hm_buf *b)
{
    const pc_host *h = in->host;
    size_t n;
    if (in->body) {
        const char *s = vos_text(h, ev, in->body, &n);
        hm_buf_put(b, s, n);
        return;
    }
    if (in->json_params) {
        pc_value *o = h->value_new_object(ev);
        for (size_t i = 0; o && i < in->n_params; i++) {
            const pc_value *r = h->vos_resolve(ev, in->params[i].vos);
            if (h->value_set(o, in->params[i].name, r ? h->value_copy(ev, r) : NULL) != PC_OK)
                o = NULL;
        }
        char *j = o ? h->value_to_json(o) : NULL;
        if (!j) {
            b->failed = 1;
            return;
        }
        hm_buf_puts(b, j);
        h->free(j);
        return;
    }
    for (size_t i = 0; i < in->n_params; i++) {
        const char *s = vos_text(h, ev, in->params[i].vos, &n);
        if (i)
            hm_buf_put(b, "&", 1);
        hm_buf_form(b, in->params[i].name, strlen(in->params[i].name));
        hm_buf_put(b, "=", 1);
        hm_buf_form(b, s, n);
    }
    if (!b->p)
        hm_buf_put(b, "", 0);
}

/* "Name: value" into lines[*n] (a copy owned by the buffer set). */
static int add_line(const pc_host *h, pc_eval *ev, hm_buf *lines, size_t *n,
                    const char *name, const char *value, size_t vlen)
{
    if (*n >= HM_MAX_HEADERS + 3) {
        h->eval_set_reason(ev, "http metadata: too many headers");
        return -1;
    }
    if (!hm_header_safe(value, vlen)) {
        h->eval_set_reason(ev, "http metadata: the value of header %s holds a line break", name);
        return -1;
    }
    hm_buf *l = &lines[(*n)++];
    hm_buf_init(l, HM_MAX_HEADER_LINE);
    hm_buf_puts(l, name);
    hm_buf_put(l, ": ", 2);
    hm_buf_put(l, value, vlen);
    if (l->failed) {
        h->eval_set_reason(ev, "http metadata: header %s is too long", name);
        return -1;
    }
    return 0;
}

/* 1 if the config sets header `name` itself: set after the credential in
 * Authorino, such a header replaces it. */
static int configured(const hm_inst *in, const char *name)
{
    for (size_t i = 0; i < in->n_headers; i++)
        if (!strcasecmp(in->headers[i].name, name))
            return 1;
    return 0;
}

/* The answer as the metadata object. */
static pc_status take_answer(const hm_inst *in, pc_eval *ev, const pc_http_response *r,
                             pc_value **out)
{
    const pc_host *h = in->host;
    if (r->status < 200 || r->status > 299) {
        h->eval_set_reason(ev, "http metadata: the service answered HTTP %ld", r->status);
        return PC_ERROR;
    }
    pc_value *v = r->body_len ? h->value_parse(ev, r->body, r->body_len) : NULL;
    if (!v)
        v = h->value_new_string(ev, r->body ? r->body : "", r->body_len);
    if (!v) {
        h->eval_set_reason(ev, "http metadata: out of memory");
        return PC_ERROR;
    }
    *out = v;
    return PC_OK;
}

pc_status hm_call(const hm_inst *in, pc_eval *ev, pc_value **out)
{
    const pc_host *h = in->host;
    hm_buf url, body, lines[HM_MAX_HEADERS + 3];
    const char *ptrs[HM_MAX_HEADERS + 5];
    size_t nl = 0;
    pc_status st = PC_ERROR;
    *out = NULL;
    hm_buf_init(&url, HM_MAX_URL + 1);
    hm_buf_init(&body, HM_MAX_BODY);

    const char *cred = in->secret;
    if (in->oauth2 && hm_oauth2_token(in, ev, &cred) != PC_OK)
        goto done;
    if (build_url(in, ev, &url) < 0)
        goto done;
    if (cred && in->cred_at == HM_CRED_QUERY) {
        hm_buf_put(&url, strchr(url.p, '?') ? "&" : "?", 1);
        hm_buf_form(&url, in->cred_name, strlen(in->cred_name));
        hm_buf_put(&url, "=", 1);
        hm_buf_form(&url, cred, strlen(cred));
        if (url.failed) {
            h->eval_set_reason(ev, "http metadata: the url is longer than %d characters",
                               HM_MAX_URL);
            goto done;
        }
    }
    for (size_t i = 0; i < in->n_headers; i++) {
        size_t n;
        if (!strcasecmp(in->headers[i].name, "Content-Type"))
            continue;
        const char *s = vos_text(h, ev, in->headers[i].vos, &n);
        if (add_line(h, ev, lines, &nl, in->headers[i].name, s, n) < 0)
            goto done;
    }
    if (cred && in->cred_at != HM_CRED_QUERY) {
        hm_buf v;
        hm_buf_init(&v, HM_MAX_HEADER_LINE);
        const char *name = in->cred_at == HM_CRED_CUSTOM_HEADER ? in->cred_name
                           : in->cred_at == HM_CRED_COOKIE      ? "Cookie"
                                                                : "Authorization";
        if (in->cred_at != HM_CRED_CUSTOM_HEADER) {
            hm_buf_puts(&v, in->cred_name);
            hm_buf_puts(&v, in->cred_at == HM_CRED_COOKIE ? "=" : " ");
        }
        hm_buf_puts(&v, cred);
        int too_long = v.failed;
        int rc = too_long || configured(in, name) ? 0
                 : add_line(h, ev, lines, &nl, name, v.p, v.len);
        hm_buf_free(&v);
        if (too_long)
            h->eval_set_reason(ev, "http metadata: the credential is too long");
        if (too_long || rc < 0)
            goto done;
    }
    if (in->has_body_method) {
        build_body(in, ev, &body);
        if (body.failed) {
            h->eval_set_reason(ev, "http metadata: the body is larger than %d bytes", HM_MAX_BODY);
            goto done;
        }
    }
    /* Authorino labels a GET text/plain; the configured headers come first,
     * so a Content-Type header of the config still loses, as there. */
    const char *ct = in->has_body_method ? in->content_type : "text/plain";
    if (add_line(h, ev, lines, &nl, "Content-Type", ct, strlen(ct)) < 0)
        goto done;
    for (size_t i = 0; i < nl; i++)
        ptrs[i] = lines[i].p;
    /* No "Expect: 100-continue" round trip before larger bodies. */
    ptrs[nl] = "Expect:";
    ptrs[nl + 1] = NULL;
    pc_http_request req = {
        .struct_size = sizeof req,
        .method = in->method,
        .url = url.p,
        .headers = ptrs,
        .body = in->has_body_method ? body.p : NULL,
        .body_len = in->has_body_method ? body.len : 0,
        .timeout_ms = in->timeout_ms,
        .ca_file = NULL,
    };
    pc_http_response resp = {0};
    char err[256] = "";
    if (h->http_do(ev, &req, &resp, err, sizeof err) != PC_OK) {
        h->eval_set_reason(ev, "http metadata: %s", err[0] ? err : "request failed");
        goto done;
    }
    st = take_answer(in, ev, &resp, out);
done:
    for (size_t i = 0; i < nl; i++)
        hm_buf_free(&lines[i]);
    hm_buf_free(&url);
    hm_buf_free(&body);
    return st;
}
