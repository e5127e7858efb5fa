/*
 * fuzz_service.c - the envoy_ext_authz frontend's service logic (service.c):
 * the gRPC header checks, both deadline rules, the raw /check route,
 * path_prefix stripping, verdict -> HTTP status and the metric label names,
 * driven from one input and checked against what the connection code
 * relies on.
 *
 * Input: 13 bytes of numbers (now_ns: 8, default_ms: 4, a verdict byte),
 * then newline-separated fields: :method, :path, content-type,
 * grpc-encoding, grpc-timeout, x-envoy-expected-rq-timeout-ms,
 * path_prefix, request target. Missing fields are empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define FZ_FIELDS 8

static uint64_t fz_u64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int fz_eq(pc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

static void fz_check_deadline(int64_t d, int64_t now, int64_t cap_ms)
{
    if (d == 0)
        return;
    if (d < 1 || d > SVC_DEADLINE_MAX_NS)
        abort();
    if (now >= 0 && d <= now && d != SVC_DEADLINE_MAX_NS)
        abort(); /* a deadline is never before the request */
    /* A default caps whatever the client asked for. */
    if (cap_ms > 0 && now >= 0 && now < SVC_DEADLINE_MAX_NS / 2 &&
        cap_ms < INT64_C(1000000000) && d > now + cap_ms * 1000000)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 13)
        return 0;
    int64_t now = (int64_t)fz_u64(data, 8);
    int64_t def_ms = (int64_t)(int32_t)fz_u64(data + 8, 4);
    uint8_t vb = data[12];
    data += 13;
    size -= 13;

    /* Fields copied out, so reads past them are caught. */
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    copy[size] = '\0';
    pc_str f[FZ_FIELDS];
    memset(f, 0, sizeof(f));
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= size && k < FZ_FIELDS; i++) {
        if (i == size || copy[i] == '\n') {
            f[k].ptr = copy + start;
            f[k].len = i - start;
            k++;
            start = i + 1;
        }
    }

    /* gRPC header checks */
    svc_grpc_head h = {f[0], f[1], f[2], f[3]};
    svc_answer a;
    char msg[300];
    memset(&a, 0, sizeof(a));
    const svc_method *m = svc_grpc_accept(&h, &a, msg, sizeof(msg));
    if (m) {
        if (!fz_eq(h.method, "POST") || !svc_grpc_content_type(h.content_type) ||
            !fz_eq(h.path, m->path) || svc_grpc_method(h.path) != m ||
            (h.grpc_encoding.len && !fz_eq(h.grpc_encoding, "identity")))
            abort();
    } else {
        if (!a.text || (a.http_status != 0) == (a.grpc_status != 0))
            abort();
        if (a.http_status && a.http_status != 405 && a.http_status != 415)
            abort();
        if (a.grpc_status && a.grpc_status != PC_GRPC_UNIMPLEMENTED)
            abort();
        if (a.text == msg && strlen(msg) >= sizeof(msg))
            abort();
    }

    /* deadlines */
    fz_check_deadline(svc_grpc_deadline(f[4], def_ms, now), now, def_ms);
    fz_check_deadline(svc_http_deadline(f[5], def_ms, now), now, def_ms);
    if (def_ms <= 0 && f[4].len == 0 && svc_grpc_deadline(f[4], def_ms, now) != 0)
        abort();

    /* raw /check and path_prefix */
    if (svc_http_is_raw_check(f[0], f[7]) &&
        !(fz_eq(f[0], "GET") || fz_eq(f[0], "POST")))
        abort();
    char *prefix = malloc(f[6].len + 1);
    if (prefix) {
        if (f[6].len)
            memcpy(prefix, f[6].ptr, f[6].len);
        prefix[f[6].len] = '\0';
        srv_arena scratch = {0};
        pc_str r = svc_http_strip_prefix(f[7], prefix, &scratch);
        if (r.len > f[7].len + 1)
            abort();
        const char *t = f[7].ptr, *t_end = f[7].ptr + f[7].len;
        if (r.ptr >= t && r.ptr <= t_end && r.ptr != t) {
            /* a tail of the target, starting with '/' */
            if (r.ptr + r.len != t_end || r.len == 0 || r.ptr[0] != '/')
                abort();
        } else if (r.ptr != t) {
            /* "/" in front of the tail ("" or "?q") */
            if (r.len == 0 || r.ptr[0] != '/' ||
                (r.len > 1 && (r.ptr[1] != '?' ||
                               memcmp(r.ptr + 1, t_end - (r.len - 1), r.len - 1) != 0)))
                abort();
        }
        srv_arena_free(&scratch);
        free(prefix);
    }

    /* verdict -> status, names */
    pc_verdict v;
    memset(&v, 0, sizeof(v));
    v.allowed = vb & 1;
    v.http_status = (int)(def_ms % 1000);
    int st = svc_http_status(&v);
    if (v.allowed ? st != 200 : (st < 300 || st > 599 || st == 304))
        abort();
    char buf[16];
    const char *name = svc_http_status_name(v.http_status, buf);
    if (!name || !*name)
        abort();
    if (!*svc_grpc_code_name((int)(int8_t)vb))
        abort();
    int mi = svc_http_method_index(f[0]);
    if (mi < 0 || mi >= SVC_HTTP_METHODS)
        abort();
    const char *label = svc_http_method_label(mi);
    if (strcmp(label, "unknown") != 0 && f[0].len != strlen(label))
        abort();
    svc_answer fa = svc_fail_answer((svc_fail)(vb % (SVC_FAIL_COUNT_ + 1)), vb & 2);
    if (!fa.text || (fa.http_status != 0) == (fa.grpc_status != 0))
        abort();
    free(copy);
    return 0;
}
