/* The admin ports: liveness and readiness probes (Authorino's paths) and
 * Prometheus metrics. The probe port answers only the probes; the admin
 * (metrics) port answers everything, so one address can serve both. */
#include "admin_http.h"

#include <stdlib.h>
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

/* "verbose" among the query's parameters (?verbose, ?verbose=1). */
static int adm_verbose(pc_str q)
{
    const char *p = q.ptr, *end = q.ptr + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        size_t n = (size_t)(stop - p);
        if ((n == 7 || (n > 7 && p[7] == '=')) && memcmp(p, "verbose", 7) == 0)
            return 1;
        p = stop + 1;
    }
    return 0;
}

static int adm_authconfigs(const pc_host *host, pc_str query, srv_buf *out,
                           int head, int keep_alive)
{
    const char *plain = "text/plain; charset=utf-8";
    if (!host->ready || !host->ready())
        return adm_text(out, 503, plain, "not ready", 9, head, keep_alive);
    if (!PC_HOST_HAS(host, readiness_render))
        return adm_text(out, 200, plain, "ok", 2, head, keep_alive);
    int all = 0;
    size_t len = 0;
    char *body = host->readiness_render(adm_verbose(query), &all, &len);
    if (!body)
        return adm_text(out, 503, plain, "out of memory", 13, head, keep_alive);
    /* controller-runtime answers a failed named check with 500. */
    int rc = adm_text(out, all ? 200 : 500, plain, body, len, head, keep_alive);
    host->free(body);
    return rc;
}

/* The host's exposition with the frontend's families after it. */
static int adm_metrics(const srv_fe *fe, srv_buf *out, int head, int keep_alive)
{
    const pc_host *host = fe->host;
    srv_buf body = {0};
    size_t len = 0;
    char *m = host->metrics_render ? host->metrics_render(&len) : NULL;
    int rc = m ? srv_buf_append(&body, m, len) : 0;
    if (m)
        host->free(m);
    const srv_stats *small[16];
    const srv_stats **st = fe->n_loops <= 16 ? small
                                             : malloc((size_t)fe->n_loops * sizeof(*st));
    if (!st)
        rc = -1;
    for (int i = 0; st && i < fe->n_loops; i++)
        st[i] = &fe->loops[i].stats;
    if (rc == 0)
        rc = srv_stats_render(st, fe->n_loops, &body);
    if (st != small)
        free(st);
    if (rc == 0)
        rc = adm_text(out, 200, "text/plain; version=0.0.4; charset=utf-8",
                      (const char *)body.data, body.len, head, keep_alive);
    else
        rc = adm_text(out, 503, "text/plain", "out of memory", 13, head, keep_alive);
    srv_buf_free(&body);
    return rc;
}

int adm_handle(const srv_fe *fe, int routes, const h1_request *req,
               srv_buf *out, int keep_alive)
{
    const pc_host *host = fe->host;
    int head = adm_is(req->method, "HEAD");
    if (!head && !adm_is(req->method, "GET"))
        return adm_text(out, 405, "text/plain", "method not allowed\n", 19,
                        0, keep_alive);
    const char *plain = "text/plain; charset=utf-8";
    pc_str path = req->path, query = req->query;
    if (adm_is(path, "/healthz"))
        return adm_text(out, 200, plain, "ok", 2, head, keep_alive);
    if (adm_is(path, "/readyz")) {
        if (host->ready && host->ready())
            return adm_text(out, 200, plain, "ok", 2, head, keep_alive);
        return adm_text(out, 503, plain, "not ready", 9, head, keep_alive);
    }
    if (adm_is(path, "/readyz/authconfigs") || adm_is(path, "/readyz/authconfigs/"))
        return adm_authconfigs(host, query, out, head, keep_alive);
    if (routes == ADM_ALL && (adm_is(path, "/metrics") || adm_is(path, "/server-metrics")))
        return adm_metrics(fe, out, head, keep_alive);
    return adm_text(out, 404, plain, "not found\n", 10, head, keep_alive);
}
