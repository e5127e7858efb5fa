/* hc_request.c - one call to the service: the URL with its
 * placeholders resolved, the credential where `credentials` puts it, the
 * configured headers and body, and the answer as the metadata object (the
 * body as JSON when it parses, else the text). A transport error or a
 * status outside 2xx is an error: nothing is published. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"
#include "util/str.h"


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
static int build_url(const hc_inst *in, pc_eval *ev, buf *url)
{
    const pc_host *h = in->host;
    if (in->url_expr) {
        const pc_value *v = h->vos_resolve(ev, in->url_expr);
        size_t n = 0;
        const char *s = v ? h->value_text(v, &n) : NULL;
        if (!s) {
            h->eval_set_reason(ev, "%s: urlExpression could not be evaluated", in->what);
            return -1;
        }
        buf_append(url, s, n);
    } else if (in->url_tpl) {
        const pc_value *v = h->selector_resolve(ev, in->url_tpl);
        size_t n = 0;
        const char *s = v ? h->value_text(v, &n) : NULL;
        buf_append(url, s ? s : "", s ? n : 0);
    } else {
        buf_puts(url, in->url);
    }
    if (url->failed || !url->data) {
        h->eval_set_reason(ev, "%s: the url is longer than %d characters", in->what, HC_MAX_URL);
        return -1;
    }
    if (strncmp(url->data, "http://", 7) && strncmp(url->data, "https://", 8)) {
        h->eval_set_reason(ev, "%s: the url is not http:// or https://", in->what);
        return -1;
    }
    for (size_t i = 0; i < url->len; i++)
        if ((unsigned char)url->data[i] <= ' ' || url->data[i] == 0x7f) {
            h->eval_set_reason(ev, "%s: the url holds a space or control character", in->what);
            return -1;
        }
    return 0;
}

static void build_body(const hc_inst *in, pc_eval *ev, buf *b)
{
    const pc_host *h = in->host;
    size_t n;
    if (in->body) {
        const char *s = vos_text(h, ev, in->body, &n);
        buf_append(b, s, n);
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
        buf_puts(b, j);
        h->free(j);
        return;
    }
    for (size_t i = 0; i < in->n_params; i++) {
        const char *s = vos_text(h, ev, in->params[i].vos, &n);
        if (i)
            buf_append(b, "&", 1);
        hc_buf_form(b, in->params[i].name, strlen(in->params[i].name));
        buf_append(b, "=", 1);
        hc_buf_form(b, s, n);
    }
    if (!b->data)
        buf_append(b, "", 0);
}

/* "Name: value" into lines[*n] (a copy owned by the buffer set). */
static int add_line(const hc_inst *in, pc_eval *ev, buf *lines, size_t *n,
                    const char *name, const char *value, size_t vlen)
{
    const pc_host *h = in->host;
    if (*n >= HC_MAX_HEADERS + 3) {
        h->eval_set_reason(ev, "%s: too many headers", in->what);
        return -1;
    }
    if (!hc_header_safe(value, vlen)) {
        h->eval_set_reason(ev, "%s: the value of header %s holds a line break", in->what, name);
        return -1;
    }
    buf *l = &lines[(*n)++];
    buf_init_max(l, HC_MAX_HEADER_LINE);
    buf_puts(l, name);
    buf_append(l, ": ", 2);
    buf_append(l, value, vlen);
    if (l->failed) {
        h->eval_set_reason(ev, "%s: header %s is too long", in->what, name);
        return -1;
    }
    return 0;
}

/* 1 if the config sets header `name` itself: set after the credential in
 * Authorino, such a header replaces it. */
static int configured(const hc_inst *in, const char *name)
{
    for (size_t i = 0; i < in->n_headers; i++)
        if (!str_icmp(in->headers[i].name, name))
            return 1;
    return 0;
}

/* The answer as the metadata object. */
static pc_status take_answer(const hc_inst *in, pc_eval *ev, const pc_http_response *r,
                             pc_value **out)
{
    const pc_host *h = in->host;
    if (r->status < 200 || r->status > 299) {
        h->eval_set_reason(ev, "%s: the service answered HTTP %ld", in->what, r->status);
        return PC_ERROR;
    }
    pc_value *v = r->body_len ? h->value_parse(ev, r->body, r->body_len) : NULL;
    if (!v)
        v = h->value_new_string(ev, r->body ? r->body : "", r->body_len);
    if (!v) {
        h->eval_set_reason(ev, "%s: out of memory", in->what);
        return PC_ERROR;
    }
    *out = v;
    return PC_OK;
}

void hc_msg_free(hc_msg *m)
{
    for (size_t i = 0; i < m->n_lines; i++)
        buf_wipe(&m->lines[i]);
    m->n_lines = 0;
    buf_wipe(&m->url);
    buf_wipe(&m->body);
}

pc_status hc_build(const hc_inst *in, pc_eval *ev, hc_msg *m)
{
    const pc_host *h = in->host;
    memset(m, 0, sizeof *m);
    buf_init_max(&m->url, HC_MAX_URL);
    buf_init_max(&m->body, HC_MAX_BODY);

    const char *cred = in->secret;
    if (in->oauth2 && hc_oauth2_token(in, ev, &cred) != PC_OK)
        goto fail;
    if (build_url(in, ev, &m->url) < 0)
        goto fail;
    if (cred && in->cred_at == HC_CRED_QUERY) {
        buf_append(&m->url, strchr(m->url.data, '?') ? "&" : "?", 1);
        hc_buf_form(&m->url, in->cred_name, strlen(in->cred_name));
        buf_append(&m->url, "=", 1);
        hc_buf_form(&m->url, cred, strlen(cred));
        if (m->url.failed) {
            h->eval_set_reason(ev, "%s: the url is longer than %d characters", in->what,
                               HC_MAX_URL);
            goto fail;
        }
    }
    for (size_t i = 0; i < in->n_headers; i++) {
        size_t n;
        if (!str_icmp(in->headers[i].name, "Content-Type"))
            continue;
        const char *s = vos_text(h, ev, in->headers[i].vos, &n);
        if (add_line(in, ev, m->lines, &m->n_lines, in->headers[i].name, s, n) < 0)
            goto fail;
    }
    if (cred && in->cred_at != HC_CRED_QUERY) {
        buf v;
        buf_init_max(&v, HC_MAX_HEADER_LINE);
        const char *name = in->cred_at == HC_CRED_CUSTOM_HEADER ? in->cred_name
                           : in->cred_at == HC_CRED_COOKIE      ? "Cookie"
                                                                : "Authorization";
        if (in->cred_at != HC_CRED_CUSTOM_HEADER) {
            buf_puts(&v, in->cred_name);
            buf_puts(&v, in->cred_at == HC_CRED_COOKIE ? "=" : " ");
        }
        buf_puts(&v, cred);
        int too_long = v.failed;
        int rc = too_long || configured(in, name) ? 0
                 : add_line(in, ev, m->lines, &m->n_lines, name, v.data, v.len);
        buf_wipe(&v);
        if (too_long)
            h->eval_set_reason(ev, "%s: the credential is too long", in->what);
        if (too_long || rc < 0)
            goto fail;
    }
    if (in->has_body_method) {
        build_body(in, ev, &m->body);
        if (m->body.failed) {
            h->eval_set_reason(ev, "%s: the body is larger than %d bytes", in->what,
                               HC_MAX_BODY);
            goto fail;
        }
    }
    /* Authorino labels a GET text/plain; the configured headers come first,
     * so a Content-Type header of the config still loses, as there. */
    const char *ct = in->has_body_method ? in->content_type : "text/plain";
    if (add_line(in, ev, m->lines, &m->n_lines, "Content-Type", ct, strlen(ct)) < 0)
        goto fail;
    for (size_t i = 0; i < m->n_lines; i++)
        m->ptrs[i] = m->lines[i].data;
    /* No "Expect: 100-continue" round trip before larger bodies. */
    m->ptrs[m->n_lines] = "Expect:";
    m->ptrs[m->n_lines + 1] = NULL;
    m->req = (pc_http_request){
        .struct_size = sizeof m->req,
        .method = in->method,
        .url = m->url.data,
        .headers = m->ptrs,
        .body = in->has_body_method ? m->body.data : NULL,
        .body_len = in->has_body_method ? m->body.len : 0,
        .timeout_ms = in->timeout_ms,
        .ca_file = NULL,
    };
    return PC_OK;
fail:
    hc_msg_free(m);
    return PC_ERROR;
}

pc_status hc_call(const hc_inst *in, pc_eval *ev, pc_value **out)
{
    const pc_host *h = in->host;
    hc_msg m;
    *out = NULL;
    if (hc_build(in, ev, &m) != PC_OK)
        return PC_ERROR;
    pc_http_response resp = {0};
    char err[256] = "";
    pc_status st = PC_ERROR;
    if (h->http_do(ev, &m.req, &resp, err, sizeof err) != PC_OK)
        h->eval_set_reason(ev, "%s: %s", in->what, err[0] ? err : "request failed");
    else
        st = take_answer(in, ev, &resp, out);
    hc_msg_free(&m);
    return st;
}
