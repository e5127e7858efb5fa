#include "h1_response.h"

#include "server_hdr.h"

const char *h1_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int h1_response_write(srv_buf *out, int status, const pc_header *hdrs,
                      size_t n_hdrs, const char *content_type,
                      const void *body, size_t body_len, int keep_alive)
{
    if (status < 100 || status > 999)
        status = 500;
    int rc = 0;
    rc |= srv_buf_append_str(out, "HTTP/1.1 ");
    rc |= srv_buf_append_u64(out, (uint64_t)status);
    rc |= srv_buf_append(out, " ", 1);
    rc |= srv_buf_append_str(out, h1_reason(status));
    rc |= srv_buf_append(out, "\r\n", 2);
    for (size_t i = 0; i < n_hdrs; i++) {
        const pc_header *h = &hdrs[i];
        if (!h->name.ptr || !h->value.ptr ||
            !srv_hdr_allowed(h->name.ptr, h->name.len, h->value.ptr,
                             h->value.len))
            continue;
        if (content_type && srv_hdr_is(h->name.ptr, h->name.len,
                                       "content-type"))
            continue;
        rc |= srv_buf_append(out, h->name.ptr, h->name.len);
        rc |= srv_buf_append(out, ": ", 2);
        rc |= srv_buf_append(out, h->value.ptr, h->value.len);
        rc |= srv_buf_append(out, "\r\n", 2);
    }
    if (content_type) {
        rc |= srv_buf_append_str(out, "content-type: ");
        rc |= srv_buf_append_str(out, content_type);
        rc |= srv_buf_append(out, "\r\n", 2);
    }
    rc |= srv_buf_append_str(out, "content-length: ");
    rc |= srv_buf_append_u64(out, body_len);
    rc |= srv_buf_append(out, "\r\n", 2);
    if (!keep_alive)
        rc |= srv_buf_append_str(out, "connection: close\r\n");
    rc |= srv_buf_append(out, "\r\n", 2);
    rc |= srv_buf_append(out, body, body_len);
    return rc ? -1 : 0;
}

int h1_response_continue(srv_buf *out)
{
    return srv_buf_append_str(out, "HTTP/1.1 100 Continue\r\n\r\n");
}
