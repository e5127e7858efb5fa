/* The ext_authz service logic without I/O (service.h). */
#include "service.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "envoy/type/v3/http_status.pb-c.h"

static int svc_is(pc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

/* ---- gRPC methods ---- */

static const svc_method svc_methods[SVC_METHOD_COUNT_] = {
    {SVC_CHECK_V3, "/envoy.service.auth.v3.Authorization/Check",
     "envoy.service.auth.v3.Authorization", "Check", 0},
    {SVC_CHECK_V2, "/envoy.service.auth.v2.Authorization/Check",
     "envoy.service.auth.v2.Authorization", "Check", 0},
    /* A HealthCheckRequest is a service name: 64 KiB is plenty. */
    {SVC_HEALTH_CHECK, "/grpc.health.v1.Health/Check", "grpc.health.v1.Health",
     "Check", 64 * 1024},
};

const svc_method *svc_grpc_method(pc_str path)
{
    for (int i = 0; i < SVC_METHOD_COUNT_; i++)
        if (svc_is(path, svc_methods[i].path))
            return &svc_methods[i];
    return NULL;
}

const svc_method *svc_grpc_method_at(svc_method_id id)
{
    return (unsigned)id < SVC_METHOD_COUNT_ ? &svc_methods[id] : NULL;
}

int svc_grpc_content_type(pc_str ct)
{
    static const char p[] = "application/grpc";
    size_t n = sizeof(p) - 1;
    if (ct.len < n || strncasecmp(ct.ptr, p, n) != 0)
        return 0;
    return ct.len == n || ct.ptr[n] == '+' || ct.ptr[n] == ';';
}

static const svc_method *svc_early(svc_answer *a, int http, int grpc,
                                   const char *text)
{
    a->http_status = http;
    a->grpc_status = grpc;
    a->text = text;
    return NULL;
}

const svc_method *svc_grpc_accept(const svc_grpc_head *h, svc_answer *early,
                                  char *msg, size_t msglen)
{
    const svc_method *m = svc_grpc_method(h->path);
    if (!svc_is(h->method, "POST"))
        return svc_early(early, 405, 0, "gRPC requires POST");
    if (!svc_grpc_content_type(h->content_type))
        return svc_early(early, 415, 0, "content-type must be application/grpc");
    if (!m) {
        size_t n = h->path.len > 200 ? 200 : h->path.len;
        snprintf(msg, msglen, "unknown method %.*s", (int)n,
                 h->path.ptr ? h->path.ptr : "");
        return svc_early(early, 0, PC_GRPC_UNIMPLEMENTED, msg);
    }
    if (h->grpc_encoding.len && !svc_is(h->grpc_encoding, "identity"))
        return svc_early(early, 0, PC_GRPC_UNIMPLEMENTED,
                         "grpc-encoding not supported: use identity");
    return m;
}

/* ---- deadlines ---- */

static int64_t svc_at(int64_t now_ns, int64_t ns)
{
    if (ns == 0)
        ns = 1; /* due at once, yet a deadline */
    return now_ns < 0 || ns > SVC_DEADLINE_MAX_NS - now_ns ? SVC_DEADLINE_MAX_NS
                                                           : now_ns + ns;
}

static int64_t svc_ms_to_ns(int64_t ms)
{
    return ms > SVC_DEADLINE_MAX_NS / 1000000 ? SVC_DEADLINE_MAX_NS
                                               : ms * 1000000;
}

int64_t svc_grpc_deadline(pc_str grpc_timeout, int64_t default_ms,
                          int64_t now_ns)
{
    int64_t ns = -1;
    if (grpc_timeout.len)
        ns = codec_grpc_timeout_parse(grpc_timeout.ptr, grpc_timeout.len);
    int64_t def = default_ms > 0 ? svc_ms_to_ns(default_ms) : -1;
    if (ns < 0 || (def > 0 && def < ns))
        ns = def;
    if (ns < 0)
        return 0;
    return svc_at(now_ns, ns);
}

/* Decimal milliseconds, at most 12 digits; -1 for anything else. */
static int64_t svc_parse_ms(pc_str s)
{
    if (s.len == 0 || s.len > 12)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return -1;
        v = v * 10 + (s.ptr[i] - '0');
    }
    return v;
}

int64_t svc_http_deadline(pc_str expected_rq_timeout_ms, int64_t default_ms,
                          int64_t now_ns)
{
    int64_t ms = default_ms > 0 ? default_ms : 0;
    /* Envoy tells the authorization server how long it will wait. */
    int64_t env = svc_parse_ms(expected_rq_timeout_ms);
    if (env > 0 && (ms == 0 || env < ms))
        ms = env;
    return ms > 0 ? svc_at(now_ns, svc_ms_to_ns(ms)) : 0;
}

/* ---- HTTP authorization ---- */

int svc_http_is_raw_check(pc_str method, pc_str path)
{
    return (svc_is(method, "GET") || svc_is(method, "POST")) &&
           (svc_is(path, "/check") || svc_is(path, "/check/"));
}

pc_str svc_http_strip_prefix(pc_str target, const char *prefix,
                             srv_arena *scratch)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    if (pl == 0 || target.len < pl || memcmp(target.ptr, prefix, pl) != 0)
        return target;
    if (target.len > pl && target.ptr[pl] != '/' && target.ptr[pl] != '?')
        return target;
    pc_str rest = {target.ptr + pl, target.len - pl};
    if (rest.len > 0 && rest.ptr[0] == '/')
        return rest;
    /* "" or "?q": the original path was "/" */
    char *s = srv_arena_alloc(scratch, rest.len + 2);
    if (!s)
        return target;
    s[0] = '/';
    if (rest.len)
        memcpy(s + 1, rest.ptr, rest.len);
    s[rest.len + 1] = '\0';
    pc_str r = {s, rest.len + 1};
    return r;
}

int svc_http_status(const pc_verdict *v)
{
    if (v->allowed)
        return 200;
    int st = v->http_status;
    /* 1xx, 204 and 304 cannot carry the deny body; 200 would allow. */
    if (st < 300 || st > 599 || st == 304)
        return 403;
    return st;
}

/* ---- answers to transport failures ---- */

static const struct {
    int http;
    const char *http_text;
    int grpc;
    const char *grpc_text;
} svc_fails[SVC_FAIL_COUNT_] = {
    [SVC_FAIL_TOO_BIG] = {413, "request body too large",
                          PC_GRPC_RESOURCE_EXHAUSTED, "request message too large"},
    [SVC_FAIL_OVER_BUDGET] = {503, "server over its memory budget",
                              PC_GRPC_RESOURCE_EXHAUSTED,
                              "server over its memory budget"},
    [SVC_FAIL_STREAM_IDLE] = {408, "stream idle timeout", PC_GRPC_DEADLINE_EXCEEDED,
                              "stream idle timeout"},
    [SVC_FAIL_TIMEOUT] = {504, "authorization timed out", PC_GRPC_DEADLINE_EXCEEDED,
                          "deadline exceeded"},
    [SVC_FAIL_INTERNAL] = {500, "internal error", PC_GRPC_INTERNAL,
                           "cannot encode the response"},
    [SVC_FAIL_NOMEM] = {503, "out of memory", PC_GRPC_RESOURCE_EXHAUSTED,
                        "out of memory"},
};

svc_answer svc_fail_answer(svc_fail f, int grpc)
{
    if ((unsigned)f >= SVC_FAIL_COUNT_)
        f = SVC_FAIL_INTERNAL;
    svc_answer a;
    a.http_status = grpc ? 0 : svc_fails[f].http;
    a.grpc_status = grpc ? svc_fails[f].grpc : 0;
    a.text = grpc ? svc_fails[f].grpc_text : svc_fails[f].http_text;
    return a;
}

/* ---- names for metrics ---- */

const char *svc_grpc_code_name(int code)
{
    /* google.golang.org/grpc/codes, Code.String() */
    static const char *const names[] = {
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
        "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
        "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
        "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
    if (code < 0 || code >= (int)(sizeof(names) / sizeof(names[0])))
        return "Unknown";
    return names[code];
}

const char *svc_http_status_name(int status, char buf[16])
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &envoy__type__v3__status_code__descriptor, status);
    if (v && status != 0)
        return v->name;
    snprintf(buf, 16, "%d", status);
    return buf;
}

static const char *const svc_methods_http[SVC_HTTP_METHODS] = {
    "get", "put", "head", "post", "delete", "connect", "options", "trace",
    "patch", "unknown"};

/* Methods are case-sensitive: "GET" or "get" as promhttp takes them, not
 * "Get". */
int svc_http_method_index(pc_str method)
{
    for (int i = 0; i < SVC_HTTP_METHODS - 1; i++) {
        const char *m = svc_methods_http[i];
        if (method.len != strlen(m))
            continue;
        int lower = 1, upper = 1;
        for (size_t k = 0; k < method.len; k++) {
            lower &= method.ptr[k] == m[k];
            upper &= method.ptr[k] == m[k] - 'a' + 'A';
        }
        if (lower || upper)
            return i;
    }
    return SVC_HTTP_METHODS - 1;
}

const char *svc_http_method_label(int index)
{
    if (index < 0 || index >= SVC_HTTP_METHODS)
        index = SVC_HTTP_METHODS - 1;
    return svc_methods_http[index];
}
