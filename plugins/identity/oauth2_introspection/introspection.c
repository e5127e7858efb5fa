/*
 * identity "oauth2Introspection": the credential is an OAuth 2.0 token
 * the authorization server says is active (RFC 7662 token introspection,
 * authenticated with the client credentials of `credentialsRef`). The
 * identity is the introspection response, so auth.identity.sub,
 * auth.identity.scope and the server's own members resolve.
 *
 * Answers are cached per token (HMAC'd keys: no token is stored):
 * active ones for `ttl` seconds but never past the response's exp,
 * inactive ones for `denyTTL` seconds, errors never. Concurrent checks of
 * one new token share one introspection; cache hits are answered on the
 * I/O thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#include "oi.h"

#define OI_DEFAULT_TIMEOUT_MS 5000
#define OI_MAX_TIMEOUT_MS 60000
#define OI_DEFAULT_TTL_S 60
#define OI_DEFAULT_DENY_TTL_S 5

static const char oi_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"endpoint\",\"credentialsRef\"],\"properties\":{"
    "\"endpoint\":{\"type\":\"string\",\"pattern\":\"^https?://[^/?#]+\"},"
    "\"tokenTypeHint\":{\"type\":\"string\"},"
    "\"credentialsRef\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\","
    "\"pattern\":\"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$\"}}},"
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0},"
    "\"ttl\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":86400},"
    "\"denyTTL\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":3600}}}";

static const char *const oi_fields[] = {"endpoint", "tokenTypeHint", "credentialsRef",
                                        "timeout", "ttl", "denyTTL", NULL};

static void oi_destroy(void *p)
{
    oi_inst *in = p;
    if (!in)
        return;
    if (in->cache)
        in->host->cache_free(in->cache);
    if (in->auth_header) {
        memset(in->auth_header, 0, strlen(in->auth_header));
        free(in->auth_header);
    }
    free(in->endpoint);
    free(in->hint_form);
    free(in);
}

static int64_t oi_int(const pc_host *h, const pc_value *cfg, const char *key, int64_t dflt)
{
    const pc_value *v = h->value_get(cfg, key);
    return h->value_type(v) == PC_TYPE_INT ? h->value_int(v) : dflt;
}

typedef struct oi_fieldcheck {
    const char *bad;
} oi_fieldcheck;

static int oi_field_cb(void *arg, const char *key, const pc_value *val)
{
    (void)val;
    for (const char *const *k = oi_fields; *k; k++)
        if (strcmp(*k, key) == 0)
            return 0;
    ((oi_fieldcheck *)arg)->bad = key;
    return 1;
}

static void *oi_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       char *err, size_t errlen)
{
    /* The host only warns about unknown fields; a misspelt one here would
     * silently change what is checked. */
    oi_fieldcheck fc = {NULL};
    h->value_foreach(cfg, oi_field_cb, &fc);
    if (fc.bad) {
        snprintf(err, errlen, "unknown field \"%.64s\"", fc.bad);
        return NULL;
    }
    oi_inst *in = calloc(1, sizeof *in);
    if (!in)
        goto oom;
    in->host = h;
    in->timeout_ms = oi_int(h, cfg, "timeout", OI_DEFAULT_TIMEOUT_MS);
    if (in->timeout_ms <= 0 || in->timeout_ms > OI_MAX_TIMEOUT_MS)
        in->timeout_ms = OI_MAX_TIMEOUT_MS; /* 0: Authorino's "no timeout", bounded */
    in->ttl_ms = oi_int(h, cfg, "ttl", OI_DEFAULT_TTL_S) * 1000;
    in->deny_ttl_ms = oi_int(h, cfg, "denyTTL", OI_DEFAULT_DENY_TTL_S) * 1000;
    const char *ep = h->value_string(h->value_get(cfg, "endpoint"), NULL);
    const char *hint = h->value_string(h->value_get(cfg, "tokenTypeHint"), NULL);
    const char *ref = h->value_string(h->value_get(h->value_get(cfg, "credentialsRef"), "name"),
                                      NULL);
    if (!ep || !ref) {
        snprintf(err, errlen, "endpoint and credentialsRef.name are required");
        oi_destroy(in);
        return NULL;
    }
    if (!hint || !*hint)
        hint = "access_token";
    char *esc = oi_form_escape(hint, strlen(hint));
    if (!(in->endpoint = strdup(ep)) || !esc ||
        !(in->hint_form = malloc(strlen(esc) + sizeof "&token_type_hint="))) {
        free(esc);
        goto oom;
    }
    sprintf(in->hint_form, "&token_type_hint=%s", esc);
    free(esc);
    if (oi_client_credentials(in, cc, ref, err, errlen) != 0) {
        oi_destroy(in);
        return NULL;
    }
    if (in->ttl_ms || in->deny_ttl_ms) {
        pc_cache_opts o = {.struct_size = sizeof o, .name = "oauth2_introspection",
                           .ok_ttl_ms = in->ttl_ms, .deny_ttl_ms = in->deny_ttl_ms};
        if (!(in->cache = h->cache_new(&o))) {
            snprintf(err, errlen, "cannot create the introspection cache");
            oi_destroy(in);
            return NULL;
        }
    }
    return in;
oom:
    snprintf(err, errlen, "out of memory");
    oi_destroy(in);
    return NULL;
}

static pc_status oi_evaluate(void *p, pc_eval *ev)
{
    oi_inst *in = p;
    const pc_host *h = in->host;
    size_t tlen = 0;
    const char *tok = h->eval_credential(ev, &tlen);
    if (!tok || !tlen) {
        h->eval_set_reason(ev, "credential not found");
        return PC_DENY;
    }
    oi_ask a = {.in = in, .token = tok, .token_len = tlen};
    const int can_block = h->eval_can_block(ev);
    pc_value *id = NULL;
    pc_status st;
    if (!in->cache) {
        if (!can_block)
            return PC_AGAIN;
        int64_t ttl = -1;
        st = oi_fill(&a, ev, &id, &ttl);
    } else {
        const pc_value *got = NULL;
        /* On an I/O thread only a cached answer can do. */
        st = h->cache_lookup(in->cache, ev, tok, tlen, can_block ? oi_fill : NULL, &a, &got);
        if (st == PC_AGAIN)
            return PC_AGAIN;
        id = (pc_value *)got; /* each request gets its own copy */
    }
    if (st == PC_OK) {
        if (!id) {
            h->eval_set_reason(ev, "token introspection failed: empty result");
            return PC_ERROR;
        }
        h->eval_set_output(ev, id);
        return PC_OK;
    }
    if (st == PC_DENY) {
        /* The only denial; cached ones carry no reason of their own. */
        h->eval_set_reason(ev, OI_NOT_ACTIVE);
        return PC_DENY;
    }
    return PC_ERROR;
}

static const pc_evaluator_type oi_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK | PC_EVAL_NEEDS_CREDENTIAL | PC_EVAL_TRY_NONBLOCKING,
    .phase = PC_PHASE_IDENTITY,
    .name = "oauth2Introspection",
    .config_schema = oi_schema,
    .create = oi_create,
    .destroy = oi_destroy,
    .evaluate = oi_evaluate,
};

static const pc_evaluator_type *const oi_types[] = {&oi_type, NULL};

PC_PLUGIN_DEFINE("oauth2_introspection", "1.0.0",
                 "OAuth 2.0 token introspection identity (RFC 7662)", oi_types, NULL)
