/*
 * identity "x509": the client certificate must chain up to a CA held in a
 * Kubernetes Secret picked by a label selector, be within its validity
 * dates at the request's time and allow TLS client use. The identity is
 * the certificate's subject, shaped as Authorino shapes it
 * (x509_subject.h), so auth.identity.CommonName and
 * auth.identity.Organization resolve.
 *
 * CAs. Every certificate in a matching Secret's tls.crt (or ca.crt, as
 * Authorino also reads), base64 in data or plain in stringData, is
 * trusted; they are read once, at create, into one OpenSSL store. Without
 * allNamespaces only Secrets in the AuthConfig's namespace count
 * ("default" for a manifest without one, as for apiKey).
 *
 * Certificate. From Envoy's source.certificate by default, or as
 * `source` says: xfccHeader (x-forwarded-client-cert), clientCertHeader
 * (RFC 9440), or expression (whatever the host's value-or-selector
 * compiler accepts). PEM blocks after the first are untrusted
 * intermediates.
 *
 * Cost. Parsing and verifying a chain with OpenSSL 3 takes a few hundred
 * microseconds, so verified certificates are cached by their text (a
 * client sends the same one on every request) and a miss is verified on a
 * worker thread, never on an I/O thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>
#include <portcullis/plugin.h>

#include "../api_key/label_selector.h"
#include "x509_source.h"
#include "x509_subject.h"
#include "x509_trust.h"
#include "util/str.h"

#define X509_DEFAULT_NS "default"

#define X509_SELECTOR_SCHEMA                                                  \
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"    \
    "\"matchLabels\":{\"type\":\"object\","                                   \
    "\"additionalProperties\":{\"type\":\"string\"}},"                        \
    "\"matchExpressions\":{\"type\":\"array\",\"items\":{"                    \
    "\"type\":\"object\",\"required\":[\"key\",\"operator\"],"                \
    "\"additionalProperties\":false,\"properties\":{"                         \
    "\"key\":{\"type\":\"string\"},"                                          \
    "\"operator\":{\"type\":\"string\","                                      \
    "\"enum\":[\"In\",\"NotIn\",\"Exists\",\"DoesNotExist\"]},"               \
    "\"values\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}"

static const char x509_schema[] =
    "{\"type\":\"object\",\"required\":[\"selector\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"selector\":" X509_SELECTOR_SCHEMA ","
    "\"allNamespaces\":{\"type\":\"boolean\",\"default\":false},"
    "\"source\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{\"xfccHeader\":{\"type\":\"string\"},"
    "\"clientCertHeader\":{\"type\":\"string\"},"
    "\"expression\":{\"type\":\"string\"}}}}}";

/* Verified certificates are reused for at most this long, never past the
 * chain's earliest notAfter; denials are not kept (a cached one could hide
 * a CA added on reload, and they are cheap to repeat next to a success). */
#define X509_CACHE_TTL_MS (300 * 1000)
#define X509_CACHE_ENTRIES 10000

typedef struct x509_inst {
    const pc_host *host;
    pc_cache *cache;
    X509_STORE *store;
    x509src src;
    pc_vos *expr; /* source.expression, compiled by the host */
    size_t n_cas;
} x509_inst;

typedef struct x509_load {
    const pc_host *host;
    const char *who;
    const lsel *sel;
    const char *ns; /* NULL = every namespace */
    X509_STORE *store;
    size_t seen, secrets, cas;
    int oom;
} x509_load;

static const char *x509_str_or(const pc_host *h, const pc_value *v, const char *dflt)
{
    size_t len = 0;
    const char *s = v ? h->value_string(v, &len) : NULL;
    return s && len ? s : dflt;
}

/* The PEM text of one entry of a Secret (stringData wins, as the API
 * server merges it over data on write). *pem_free is host->free'd after. */
static const char *x509_secret_entry(const pc_host *h, const pc_value *secret,
                                     const char *key, size_t *len, void **pem_free)
{
    const pc_value *sd = h->value_get(secret, "stringData");
    const char *s = sd ? h->value_string(h->value_get(sd, key), len) : NULL;
    const pc_value *d;

    *pem_free = NULL;
    if (s && *len)
        return s;
    d = h->value_get(secret, "data");
    s = d ? h->value_string(h->value_get(d, key), len) : NULL;
    if (!s || !*len)
        return NULL;
    unsigned char *raw = h->base64_decode(s, *len, 0, len);
    *pem_free = raw;
    return (const char *)raw;
}

static int x509_take_secret(void *arg, const pc_value *res)
{
    x509_load *ld = arg;
    const pc_host *h = ld->host;
    const pc_value *meta, *kind;
    const char *ns, *name, *pem;
    void *owned = NULL;
    size_t len = 0;
    int n;

    if (!res || h->value_type(res) != PC_TYPE_OBJECT)
        return 0;
    meta = h->value_get(res, "metadata");
    kind = h->value_get(res, "kind");
    if (kind && strcmp(x509_str_or(h, kind, ""), "Secret") != 0)
        return 0;
    ns = x509_str_or(h, h->value_get(meta, "namespace"), X509_DEFAULT_NS);
    name = x509_str_or(h, h->value_get(meta, "name"), "");
    ld->seen++;
    if (ld->ns && strcmp(ns, ld->ns) != 0)
        return 0;
    if (!lsel_match(h, ld->sel, h->value_get(meta, "labels")))
        return 0;
    pem = x509_secret_entry(h, res, "tls.crt", &len, &owned);
    if (!pem && !owned)
        pem = x509_secret_entry(h, res, "ca.crt", &len, &owned);
    if (!pem) {
        h->log(PC_LOG_WARN, ld->who, "secret %s/%s matches but has no readable "
               "tls.crt or ca.crt; skipped", ns, name);
        if (owned)
            h->free(owned);
        return 0;
    }
    n = x509t_add_pem(ld->store, pem, len);
    if (owned)
        h->free(owned);
    if (n < 0) {
        ld->oom = 1;
        return 1;
    }
    if (n == 0)
        h->log(PC_LOG_WARN, ld->who, "secret %s/%s: no certificate in its "
               "tls.crt; skipped", ns, name);
    ld->secrets += n > 0;
    ld->cas += (size_t)n;
    return 0;
}

static void x509_destroy(void *p)
{
    x509_inst *in = p;
    if (!in)
        return;
    X509_STORE_free(in->store);
    if (in->cache)
        in->host->cache_free(in->cache);
    if (in->expr)
        in->host->vos_free(in->expr);
    free(in);
}

static int x509_header_name(x509src *src, x509src_kind kind, const char *name,
                            char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (!n || n >= sizeof src->header) {
        snprintf(err, errlen, "source: the header name must be 1 to %zu "
                 "characters", sizeof src->header - 1);
        return -1;
    }
    str_lower(src->header, name, n + 1);
    memcpy(src->shown, name, n + 1);
    src->kind = kind;
    return 0;
}

static int x509_source(x509_inst *in, pc_create_ctx *cc, const pc_value *src,
                       char *err, size_t errlen)
{
    const pc_host *h = in->host;
    const char *xfcc, *cch;
    int set;

    if (!src)
        return 0;
    xfcc = h->value_string(h->value_get(src, "xfccHeader"), NULL);
    cch = h->value_string(h->value_get(src, "clientCertHeader"), NULL);
    set = !!xfcc + !!cch + !!h->value_get(src, "expression");
    if (set > 1) {
        snprintf(err, errlen, "source: use one of xfccHeader, clientCertHeader, "
                              "expression");
        return -1;
    }
    if (xfcc)
        return x509_header_name(&in->src, X509SRC_XFCC, xfcc, err, errlen);
    if (cch)
        return x509_header_name(&in->src, X509SRC_CLIENT_CERT, cch, err, errlen);
    if (set) {
        char why[256] = "";
        /* {expression: ...} is a value-or-selector spec: the host decides
         * whether it evaluates CEL. */
        in->expr = h->vos_compile(cc, src, why, sizeof why);
        if (!in->expr) {
            snprintf(err, errlen, "source.expression is not supported yet by "
                     "this host%s%s", *why ? ": " : "", why);
            return -1;
        }
    }
    return 0;
}

static void *x509_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                         char *err, size_t errlen)
{
    const pc_value *all = h->value_get(cfg, "allNamespaces");
    const char *ns = h->cc_authconfig_namespace(cc);
    const char *who = h->cc_evaluator_name(cc);
    x509_load ld;
    x509_inst *in;

    if (!PC_HOST_HAS(h, base64_decode)) {
        snprintf(err, errlen, "this host lacks base64_decode (plugin ABI 1.2 "
                              "or later needed)");
        return NULL;
    }
    if (!(in = calloc(1, sizeof *in)) || !(in->store = X509_STORE_new())) {
        snprintf(err, errlen, "out of memory");
        x509_destroy(in);
        return NULL;
    }
    in->host = h;
    pc_cache_opts co = {.struct_size = sizeof co, .name = "x509",
                        .ok_ttl_ms = X509_CACHE_TTL_MS, .deny_ttl_ms = 0,
                        .max_entries = X509_CACHE_ENTRIES};
    if (!(in->cache = h->cache_new(&co))) {
        snprintf(err, errlen, "cannot create the certificate cache");
        x509_destroy(in);
        return NULL;
    }
    if (x509_source(in, cc, h->value_get(cfg, "source"), err, errlen) != 0) {
        x509_destroy(in);
        return NULL;
    }
    memset(&ld, 0, sizeof ld);
    ld.host = h;
    ld.who = who ? who : "x509";
    ld.store = in->store;
    if (!(all && h->value_type(all) == PC_TYPE_BOOL && h->value_bool(all)))
        ld.ns = ns && *ns ? ns : X509_DEFAULT_NS;
    lsel *sel = lsel_compile(h, h->value_get(cfg, "selector"), err, errlen);
    if (!sel) {
        x509_destroy(in);
        return NULL;
    }
    ld.sel = sel;
    h->cc_foreach_resource(cc, "Secret", x509_take_secret, &ld);
    lsel_free(sel);
    if (ld.oom) {
        snprintf(err, errlen, "out of memory while loading CA Secrets");
        x509_destroy(in);
        return NULL;
    }
    in->n_cas = ld.cas;
    if (!ld.cas)
        h->log(PC_LOG_WARN, ld.who, "no Secret with a CA certificate matches the "
               "selector%s%s (%zu Secrets seen); every certificate will be "
               "denied until one does", ld.ns ? " in namespace " : "",
               ld.ns ? ld.ns : "", ld.seen);
    else
        h->log(PC_LOG_INFO, ld.who, "trusting %zu CA certificates from %zu "
               "Secrets", ld.cas, ld.secrets);
    return in;
}

/* The request's time (request.time.seconds), else the clock: certificates
 * are judged at the moment the proxy saw the request. */
static int64_t x509_now(const pc_host *h, pc_eval *ev)
{
    const pc_value *t = h->value_get(h->value_get(h->eval_root(ev), "request"), "time");
    const pc_value *s = h->value_get(t, "seconds");
    if (s && h->value_type(s) == PC_TYPE_INT && h->value_int(s) > 0)
        return h->value_int(s);
    return h->realtime_ns() / 1000000000;
}

/* The certificate text named by source.expression: URL-encoded PEM, as
 * source.certificate holds it. */
static int x509_expr_pem(const x509_inst *in, pc_eval *ev, char **pem, size_t *len,
                         char *why, size_t whylen)
{
    const pc_host *h = in->host;
    size_t n = 0;
    const char *s = h->value_string(h->vos_resolve(ev, in->expr), &n);

    *pem = NULL;
    if (!s || !n) {
        snprintf(why, whylen, "invalid client certificate");
        return 1;
    }
    return x509src_unescape_dup(s, n, pem, len, why, whylen);
}

typedef struct x509_ask {
    const x509_inst *in;
    const char *pem;
    size_t len;
} x509_ask;

static pc_status x509_deny(const pc_host *h, pc_eval *ev, pc_value **out, const char *why)
{
    *out = h->value_new_string(ev, why, strlen(why));
    return *out ? PC_DENY : PC_ERROR;
}

/* A cache miss: parse, verify at the request's time, render the subject. */
static pc_status x509_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms)
{
    const x509_ask *a = arg;
    const pc_host *h = a->in->host;
    STACK_OF(X509) *chain = NULL;
    char why[256] = "";
    int64_t now = x509_now(h, ev), end = 0;
    X509 *leaf = x509t_parse_client(a->pem, a->len, &chain);
    int rc;

    if (!leaf)
        return x509_deny(h, ev, out, "invalid client certificate");
    rc = x509t_verify(a->in->store, leaf, chain, now, &end, why, sizeof why);
    *out = rc == 0 ? x509s_identity(h, ev, leaf) : NULL;
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    if (rc == -1)
        return x509_deny(h, ev, out, why);
    if (rc != 0 || !*out)
        return PC_ERROR;
    /* Reused until the chain expires by the clock (a request may carry an
     * earlier time), to the millisecond. */
    int64_t clock_ms = h->realtime_ns() / 1000000;
    int64_t ttl = *ttl_ms < 0 ? X509_CACHE_TTL_MS : *ttl_ms; /* -1: not set */
    int64_t left = end > INT64_MAX / 1000 ? ttl : end * 1000 - clock_ms;
    *ttl_ms = left <= 0 ? 0 : left < ttl ? left : ttl;
    return PC_OK;
}

static pc_status x509_evaluate(void *p, pc_eval *ev)
{
    const x509_inst *in = p;
    const pc_host *h = in->host;
    char why[256] = "";
    char *pem = NULL;
    size_t len = 0;
    int rc;

    rc = in->expr ? x509_expr_pem(in, ev, &pem, &len, why, sizeof why)
                  : x509src_pem(h, ev, &in->src, &pem, &len, why, sizeof why);
    if (rc == -2) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    if (rc != 0) {
        h->eval_set_reason(ev, "%s", why);
        return PC_DENY;
    }
    /* Keyed by the certificate text (the host HMACs keys). On an I/O
     * thread only a cached verification answers; a miss runs on a worker. */
    x509_ask a = {.in = in, .pem = pem, .len = len};
    const pc_value *got = NULL;
    pc_status st = h->cache_lookup(in->cache, ev, pem, len,
                                   h->eval_can_block(ev) ? x509_fill : NULL, &a, &got);
    free(pem);
    switch (st) {
    case PC_AGAIN:
        return PC_AGAIN;
    case PC_OK:
        if (h->value_type(got) != PC_TYPE_OBJECT) {
            h->eval_set_reason(ev, "could not build the identity object");
            return PC_ERROR;
        }
        /* The cache hands each request its own value: publish it as is. */
        h->eval_set_output(ev, (pc_value *)got);
        return PC_OK;
    case PC_DENY: {
        const char *r = h->value_string(got, NULL);
        h->eval_set_reason(ev, "%s", r ? r : "invalid client certificate");
        return PC_DENY;
    }
    default:
        if (!h->eval_cancelled(ev))
            h->eval_set_reason(ev, "could not verify the client certificate");
        return PC_ERROR;
    }
}

static const pc_evaluator_type x509_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK | PC_EVAL_TRY_NONBLOCKING,
    .phase = PC_PHASE_IDENTITY,
    .name = "x509",
    .config_schema = x509_schema,
    .challenge = "Certificate",
    .create = x509_create,
    .destroy = x509_destroy,
    .evaluate = x509_evaluate,
};

static const pc_evaluator_type *const x509_types[] = {&x509_type, NULL};

PC_PLUGIN_DEFINE("identity_x509", PC_BUILTIN_VERSION,
                 "X.509 client certificates verified against CAs in Kubernetes "
                 "Secrets", x509_types, NULL)
