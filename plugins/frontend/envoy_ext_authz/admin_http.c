/* The admin port: liveness, readiness and Prometheus metrics. */
#include "admin_http.h"

#include <string.h>

#include "h1_response.h"

static int adm_is(pc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static int adm_text(srv_buf *out, int status, const char *ctype,
                    const char *body, size_t len, int head, int keep_alive)
{
    return h1_response_write(out, status, NULL, 0, ctype, head ? "" : body,
                             head ? 0 : len, keep_alive);
}

int adm_handle(const pc_host *host, const h1_request *req, srv_buf *out,
               int keep_alive)
{
    int head = adm_is(req->method, "HEAD");
    if (!head && !adm_is(req->method, "GET"))
        return adm_text(out, 405, "text/plain", "method not allowed\n", 19,
                        0, keep_alive);
    const char *plain = "text/plain; charset=utf-8";
    if (adm_is(req->path, "/healthz"))
        return adm_text(out, 200, plain, "ok", 2, head, keep_alive);
    if (adm_is(req->path, "/readyz")) {
        if (host->ready && host->ready())
            return adm_text(out, 200, plain, "ok", 2, head, keep_alive);
        return adm_text(out, 503, plain, "not ready", 9, head, keep_alive);
    }
    if (adm_is(req->path, "/metrics")) {
        size_t len = 0;
        char *m = host->metrics_render ? host->metrics_render(&len) : NULL;
        int rc = adm_text(out, 200, "text/plain; version=0.0.4; charset=utf-8",
                          m ? m : "", m ? len : 0, head, keep_alive);
        if (m)
            host->free(m);
        return rc;
    }
    return adm_text(out, 404, plain, "not found\n", 10, head, keep_alive);
}
