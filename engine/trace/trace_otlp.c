/* trace_otlp.c - a batch of finished traces as one OTLP
 * ExportTraceServiceRequest (protobuf, opentelemetry-proto v1 field
 * numbers). Runs on the exporter thread only. */
#include <stdlib.h>
#include <string.h>
#include "metrics/metrics.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "plugin/loader.h"
#include "trace_int.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;

/* Attributes of one span, at most: see span_request and span_eval. */
#define MAX_ATTRS 8

typedef struct attrs {
    pb_kv kv[MAX_ATTRS];
    pb_any val[MAX_ATTRS];
    pb_kv *ptr[MAX_ATTRS];
    size_t n;
} attrs;

static pb_any *attr_new(attrs *a, const char *key)
{
    size_t i = a->n++;
    opentelemetry__proto__common__v1__key_value__init(&a->kv[i]);
    opentelemetry__proto__common__v1__any_value__init(&a->val[i]);
    a->kv[i].key = (char *)key;
    a->kv[i].value = &a->val[i];
    a->ptr[i] = &a->kv[i];
    return &a->val[i];
}

static void attr_str(attrs *a, const char *key, const char *v)
{
    pb_any *x = attr_new(a, key);
    x->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    x->string_value = (char *)v;
}

static void attr_int(attrs *a, const char *key, int64_t v)
{
    pb_any *x = attr_new(a, key);
    x->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    x->int_value = v;
}

static void attr_bool(attrs *a, const char *key, int v)
{
    pb_any *x = attr_new(a, key);
    x->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    x->bool_value = v != 0;
}

/* What one span needs besides the Span itself, in one block per span. */
typedef struct span_mem {
    attrs a;
    pb_status status;
    char ns[128];       /* the AuthConfig's namespace */
    char evtype[64];    /* Authorino's evaluator_type */
} span_mem;

static void bin(ProtobufCBinaryData *d, const uint8_t *p, size_t n)
{
    d->data = (uint8_t *)p;
    d->len = n;
}

static void authconfig_attrs(const trace_req *t, span_mem *m)
{
    const char *slash = strchr(t->authconfig, '/');
    if (!t->authconfig[0])
        return;
    size_t nl = slash ? (size_t)(slash - t->authconfig) : 0;
    memcpy(m->ns, t->authconfig, nl);
    m->ns[nl] = '\0';
    attr_str(&m->a, "portcullis.authconfig.namespace", m->ns);
    attr_str(&m->a, "portcullis.authconfig.name", slash ? slash + 1 : t->authconfig);
}

static int server_error(int code)
{
    /* Denials are answers, not errors; these are the server failing. */
    return code == PC_GRPC_INVALID_ARGUMENT || code == PC_GRPC_UNAVAILABLE ||
           code == PC_GRPC_UNKNOWN || code == PC_GRPC_DEADLINE_EXCEEDED ||
           code == PC_GRPC_INTERNAL;
}

static void span_request(const trace_req *t, pb_span *s, span_mem *m)
{
    opentelemetry__proto__trace__v1__span__init(s);
    bin(&s->trace_id, t->ctx.trace_id, 16);
    bin(&s->span_id, t->ctx.span_id, 8);
    if (t->has_parent)
        bin(&s->parent_span_id, t->parent, 8);
    s->trace_state = (char *)t->tracestate;
    /* W3C flags; the parent, when there is one, is remote. */
    s->flags = t->ctx.flags | 0x100u | (t->has_parent ? 0x200u : 0);
    s->name = "Check";
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s->start_time_unix_nano = (uint64_t)t->start_ns;
    s->end_time_unix_nano = (uint64_t)t->end_ns;
    attrs *a = &m->a;
    a->n = 0;
    attr_str(a, "authorino.request_id", t->request_id);
    if (t->x_request_id[0])
        attr_str(a, "guid:x-request-id", t->x_request_id);
    attr_str(a, "portcullis.host", t->host);
    authconfig_attrs(t, m);
    attr_bool(a, "portcullis.authorized", t->allowed);
    attr_str(a, "portcullis.response", metrics_code_name(t->grpc_code));
    attr_int(a, "http.response.status_code", t->http_status);
    s->n_attributes = a->n;
    s->attributes = a->ptr;
    opentelemetry__proto__trace__v1__status__init(&m->status);
    if (server_error(t->grpc_code)) {
        m->status.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        m->status.message = (char *)metrics_code_name(t->grpc_code);
    }
    s->status = &m->status;
}

static void span_eval(const trace_req *t, const trace_span *e, pb_span *s, span_mem *m)
{
    opentelemetry__proto__trace__v1__span__init(s);
    bin(&s->trace_id, t->ctx.trace_id, 16);
    bin(&s->span_id, e->span_id, 8);
    bin(&s->parent_span_id, t->ctx.span_id, 8);
    s->trace_state = (char *)t->tracestate;
    s->flags = t->ctx.flags | 0x100u; /* the parent is local */
    s->name = (char *)e->path;
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
    s->start_time_unix_nano = (uint64_t)e->start_ns;
    /* A slot whose evaluator never returned (the request was cut short)
     * ends with the request. */
    s->end_time_unix_nano = (uint64_t)(e->end_ns ? e->end_ns : t->end_ns);
    attrs *a = &m->a;
    a->n = 0;
    attr_str(a, "portcullis.evaluator.type",
             metrics_evaluator_type((pc_phase)e->phase, e->method, m->evtype, sizeof m->evtype));
    attr_str(a, "portcullis.evaluator.name", e->name);
    attr_str(a, "portcullis.evaluator.phase", loader_phase_name((pc_phase)e->phase));
    attr_str(a, "portcullis.evaluator.outcome", e->outcome[0] ? e->outcome : "unfinished");
    authconfig_attrs(t, m);
    s->n_attributes = a->n;
    s->attributes = a->ptr;
    opentelemetry__proto__trace__v1__status__init(&m->status);
    if (strcmp(e->outcome, "ok") && strcmp(e->outcome, "skipped")) {
        m->status.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        m->status.message = (char *)e->why;
    }
    s->status = &m->status;
}

long trace_otlp_encode(const trace_req *list, const trace_resource *res, buf *out)
{
    size_t n = 0;
    for (const trace_req *t = list; t; t = t->next)
        n += 1 + t->n_spans;
    pb_span *spans = calloc(n ? n : 1, sizeof *spans);
    pb_span **sp = calloc(n ? n : 1, sizeof *sp);
    span_mem *mem = calloc(n ? n : 1, sizeof *mem);
    pb_kv *rkv = calloc(res->n ? res->n : 1, sizeof *rkv);
    pb_any *rany = calloc(res->n ? res->n : 1, sizeof *rany);
    pb_kv **rptr = calloc(res->n ? res->n : 1, sizeof *rptr);
    long rc = -1;
    if (!spans || !sp || !mem || !rkv || !rany || !rptr)
        goto done;
    size_t i = 0;
    for (const trace_req *t = list; t; t = t->next) {
        span_request(t, &spans[i], &mem[i]);
        sp[i] = &spans[i];
        i++;
        for (size_t k = 0; k < t->n_spans; k++, i++) {
            span_eval(t, &t->spans[k], &spans[i], &mem[i]);
            sp[i] = &spans[i];
        }
    }
    for (size_t k = 0; k < res->n; k++) {
        opentelemetry__proto__common__v1__key_value__init(&rkv[k]);
        opentelemetry__proto__common__v1__any_value__init(&rany[k]);
        rkv[k].key = (char *)res->keys[k];
        rany[k].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        rany[k].string_value = (char *)res->values[k];
        rkv[k].value = &rany[k];
        rptr[k] = &rkv[k];
    }
    Opentelemetry__Proto__Resource__V1__Resource resource;
    opentelemetry__proto__resource__v1__resource__init(&resource);
    resource.n_attributes = res->n;
    resource.attributes = rptr;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
    opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
    scope.name = "portcullis";
    scope.version = PORTCULLIS_VERSION;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    ss.scope = &scope;
    ss.n_spans = n;
    ss.spans = sp;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    rs.resource = &resource;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    buf_reset(out);
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        goto done;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, data);
    if (buf_append(out, data, len) == 0)
        rc = (long)n;
    free(data);
done:
    free(spans);
    free(sp);
    free(mem);
    free(rkv);
    free(rany);
    free(rptr);
    return rc;
}
