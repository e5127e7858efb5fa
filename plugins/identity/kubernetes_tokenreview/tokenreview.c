/*
 * identity "kubernetesTokenReview": the credential is valid when the
 * Kubernetes API server's TokenReview says so for the requested audiences
 * (the configured ones, else the request's host exactly as sent, port
 * included, as Authorino does). The identity is the whole TokenReview
 * status, so auth.identity.user.username and friends resolve.
 *
 * Verdicts are cached per (token, audiences): successes for `ttl` seconds
 * but never past the token's own exp, denials for `denyTTL` seconds, errors
 * never. The host's cache keys are HMACs, so no token is stored, and its
 * single-flight turns a burst of identical checks into one TokenReview.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#include "tr_review.h"

#define TR_DEFAULT_TIMEOUT_MS 5000
#define TR_DEFAULT_TTL_S 60
#define TR_DEFAULT_DENY_TTL_S 5

static const char tr_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"audiences\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"default\":5000},"
    "\"ttl\":{\"type\":\"integer\",\"minimum\":0,\"default\":60},"
    "\"denyTTL\":{\"type\":\"integer\",\"minimum\":0,\"default\":5}}}";

static void tr_destroy(void *p)
{
    tr_inst *in = p;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_auds; i++)
        free(in->auds[i]);
    free(in->auds);
    if (in->cache)
        in->host->cache_free(in->cache);
    free(in);
}

static int64_t tr_int(const pc_host *h, const pc_value *cfg, const char *key, int64_t dflt)
{
    const pc_value *v = h->value_get(cfg, key);
    return h->value_type(v) == PC_TYPE_INT ? h->value_int(v) : dflt;
}

static void *tr_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       char *err, size_t errlen)
{
    (void)cc;
    /* Cached verdicts must not outlive the token's exp, read with
     * base64_decode (plugin ABI 1.2). */
    if (!PC_HOST_HAS(h, base64_decode)) {
        snprintf(err, errlen, "this host lacks base64_decode (plugin ABI 1.2 or "
                              "later needed)");
        return NULL;
    }
    tr_inst *in = calloc(1, sizeof *in);
    if (!in)
        goto oom;
    in->host = h;
    in->timeout_ms = tr_int(h, cfg, "timeout", TR_DEFAULT_TIMEOUT_MS);
    in->ttl_ms = tr_int(h, cfg, "ttl", TR_DEFAULT_TTL_S) * 1000;
    in->deny_ttl_ms = tr_int(h, cfg, "denyTTL", TR_DEFAULT_DENY_TTL_S) * 1000;
    if (in->timeout_ms <= 0 || in->ttl_ms < 0 || in->deny_ttl_ms < 0) {
        snprintf(err, errlen, "timeout must be positive and ttl, denyTTL not negative");
        tr_destroy(in);
        return NULL;
    }
    const pc_value *auds = h->value_get(cfg, "audiences");
    size_t n = h->value_type(auds) == PC_TYPE_ARRAY ? h->value_length(auds) : 0;
    if (n && !(in->auds = calloc(n, sizeof *in->auds)))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const char *s = h->value_string(h->value_at(auds, i), NULL);
        if (!s || !*s) {
            snprintf(err, errlen, "audiences[%zu] must be a non-empty string", i);
            tr_destroy(in);
            return NULL;
        }
        if (!(in->auds[in->n_auds++] = strdup(s)))
            goto oom;
    }
    if (in->ttl_ms || in->deny_ttl_ms) {
        pc_cache_opts o = {.struct_size = sizeof o, .name = "tokenreview",
                           .ok_ttl_ms = in->ttl_ms, .deny_ttl_ms = in->deny_ttl_ms};
        if (!(in->cache = h->cache_new(&o))) {
            snprintf(err, errlen, "cannot create the TokenReview cache");
            tr_destroy(in);
            return NULL;
        }
    }
    return in;
oom:
    snprintf(err, errlen, "out of memory");
    tr_destroy(in);
    return NULL;
}

/* token "\n" aud1 "\n" aud2 ...: '\n' cannot occur in a bearer token, so
 * distinct (token, audiences) pairs give distinct keys. */
static char *tr_cache_key(const tr_ask *a, size_t *len)
{
    size_t n = a->token_len;
    for (size_t i = 0; i < a->n_auds; i++)
        n += 1 + strlen(a->auds[i]);
    char *k = malloc(n + 1);
    if (!k)
        return NULL;
    memcpy(k, a->token, a->token_len);
    size_t o = a->token_len;
    for (size_t i = 0; i < a->n_auds; i++) {
        size_t l = strlen(a->auds[i]);
        k[o++] = '\n';
        memcpy(k + o, a->auds[i], l);
        o += l;
    }
    k[o] = '\0';
    *len = o;
    return k;
}

static pc_status tr_evaluate(void *p, pc_eval *ev)
{
    tr_inst *in = p;
    const pc_host *h = in->host;
    size_t tlen = 0;
    const char *tok = h->eval_credential(ev, &tlen);
    if (!tok || !tlen) {
        h->eval_set_reason(ev, TR_NOT_AUTHENTICATED);
        return PC_DENY;
    }
    const char *host_aud[1];
    tr_ask a = {.in = in, .token = tok, .token_len = tlen,
                .auds = (const char *const *)in->auds, .n_auds = in->n_auds};
    if (!a.n_auds) {
        const pc_value *req = h->value_get(h->eval_root(ev), "request");
        host_aud[0] = h->value_string(h->value_get(req, "host"), NULL);
        if (!host_aud[0] || !*host_aud[0]) {
            h->eval_set_reason(ev, "TokenReview failed: no audience "
                                   "(none configured and the request has no host)");
            return PC_ERROR;
        }
        a.auds = host_aud;
        a.n_auds = 1;
    }
    pc_value *id = NULL;
    pc_status st;
    /* A host without eval_can_block (before ABI 1.3) ignores
     * PC_EVAL_TRY_NONBLOCKING and only calls evaluate where it may block. */
    const int can_block = PC_HOST_HAS(h, eval_can_block) ? h->eval_can_block(ev) : 1;
    if (!in->cache && !can_block)
        return PC_AGAIN;
    if (in->cache) {
        size_t klen = 0;
        char *key = tr_cache_key(&a, &klen);
        if (!key) {
            h->eval_set_reason(ev, "TokenReview failed: out of memory");
            return PC_ERROR;
        }
        const pc_value *got = NULL;
        /* On an I/O thread only a cached verdict can answer. */
        st = h->cache_lookup(in->cache, ev, key, klen,
                             can_block ? tr_review_fill : NULL, &a, &got);
        memset(key, 0, klen);
        free(key);
        if (st == PC_AGAIN)
            return PC_AGAIN;
        /* The cache hands each request its own value: publish it as is. */
        if (st == PC_OK)
            id = (pc_value *)got;
    } else {
        int64_t ttl = -1;
        st = tr_review_fill(&a, ev, &id, &ttl);
    }
    if (st == PC_OK) {
        if (!id) {
            h->eval_set_reason(ev, "TokenReview failed: empty result");
            return PC_ERROR;
        }
        h->eval_set_output(ev, id);
        return PC_OK;
    }
    if (st == PC_DENY) {
        /* Cached denials carry no reason of their own. */
        h->eval_set_reason(ev, TR_NOT_AUTHENTICATED);
        return PC_DENY;
    }
    return PC_ERROR;
}

static const pc_evaluator_type tr_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK | PC_EVAL_NEEDS_CREDENTIAL | PC_EVAL_TRY_NONBLOCKING,
    .phase = PC_PHASE_IDENTITY,
    .name = "kubernetesTokenReview",
    .config_schema = tr_schema,
    .create = tr_create,
    .destroy = tr_destroy,
    .evaluate = tr_evaluate,
};

static const pc_evaluator_type *const tr_types[] = {&tr_type, NULL};

PC_PLUGIN_DEFINE("kubernetes_tokenreview", "1.0.0",
                 "Kubernetes TokenReview identity (service account and user tokens)",
                 tr_types, NULL)
