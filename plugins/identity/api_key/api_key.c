/*
 * identity "apiKey": the credential must be the `api_key` of a Kubernetes
 * Secret picked by a label selector.
 *
 * Scope. Without allNamespaces only Secrets in the AuthConfig's namespace
 * count. A manifest with no metadata.namespace (a file meant for
 * `kubectl apply`) and an AuthConfig with none are both taken to be in
 * "default", where kubectl would put them without -n.
 *
 * Keys. All keys are read once, at create, into a table keyed by their
 * SHA-256; the raw keys are dropped. A request's credential is hashed and
 * looked up, and the slot confirmed with a constant-time comparison of the
 * digests, so lookups cost the same for 1 or 100000 keys and leak nothing
 * through timing. When two Secrets carry the same key the first one found
 * wins and a warning names both.
 *
 * Identity. Authorino hands out the whole Secret, base64 key included, so a
 * `json` response of auth.identity would leak it into upstream headers.
 * Here the identity is the Secret without data, stringData and kubectl's
 * last-applied-configuration annotation (which repeats them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

#include "key_table.h"
#include "label_selector.h"
#include "secret_view.h"

#define APIKEY_INVALID "the API Key provided is invalid"
#define APIKEY_DEFAULT_NS "default"

static const char apikey_schema[] =
    "{\"type\":\"object\",\"required\":[\"selector\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"selector\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{"
    "\"matchLabels\":{\"type\":\"object\","
    "\"additionalProperties\":{\"type\":\"string\"}},"
    "\"matchExpressions\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"required\":[\"key\",\"operator\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"key\":{\"type\":\"string\"},"
    "\"operator\":{\"type\":\"string\","
    "\"enum\":[\"In\",\"NotIn\",\"Exists\",\"DoesNotExist\"]},"
    "\"values\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}},"
    "\"allNamespaces\":{\"type\":\"boolean\",\"default\":false}}}";

/* One accepted Secret: its identity JSON while loading, then a kept
 * value that each success copies into the evaluation. */
typedef struct apikey_entry {
    char *json;
    size_t json_len;
    pc_value *identity; /* kept by the host; copied per success */
    char *ns_name;      /* "namespace/name", for logs */
} apikey_entry;

typedef struct apikey_inst {
    const pc_host *host;
    ktab table;
    apikey_entry *entries;
    size_t n_entries;
} apikey_inst;

/* Create-time scratch: Secrets accepted so far, with their key digests. */
typedef struct apikey_load {
    const pc_host *host;
    const char *who;
    const lsel *sel;
    const char *ns;         /* NULL = every namespace */
    apikey_entry *entries;
    uint8_t (*digests)[KTAB_DIGEST_LEN];
    size_t n, cap;
    size_t seen, skipped;
    int oom;
} apikey_load;

static const char *apikey_str_or(const pc_host *h, const pc_value *v,
                                 const char *fallback)
{
    size_t len = 0;
    const char *s = v ? h->value_string(v, &len) : NULL;

    return s && len ? s : fallback;
}

static int apikey_grow(apikey_load *ld)
{
    size_t cap = ld->cap ? ld->cap * 2 : 16;
    apikey_entry *e;
    uint8_t (*d)[KTAB_DIGEST_LEN];

    e = realloc(ld->entries, cap * sizeof(*e));
    if (!e)
        return -1;
    ld->entries = e;
    d = realloc(ld->digests, cap * sizeof(*d));
    if (!d)
        return -1;
    ld->digests = d;
    ld->cap = cap;
    return 0;
}

static int apikey_take_secret(void *arg, const pc_value *res)
{
    apikey_load *ld = arg;
    const pc_host *h = ld->host;
    const pc_value *meta, *kind;
    const char *ns, *name;
    unsigned char *key = NULL;
    size_t key_len = 0, nn;
    apikey_entry *e;
    int rc;

    if (!res || h->value_type(res) != PC_TYPE_OBJECT)
        return 0;
    meta = h->value_get(res, "metadata");
    kind = h->value_get(res, "kind");
    ns = apikey_str_or(h, h->value_get(meta, "namespace"), APIKEY_DEFAULT_NS);
    name = apikey_str_or(h, h->value_get(meta, "name"), "");
    if (kind && strcmp(apikey_str_or(h, kind, ""), "Secret") != 0)
        return 0;
    ld->seen++;
    if (ld->ns && strcmp(ns, ld->ns) != 0)
        return 0;
    if (!lsel_match(h, ld->sel, h->value_get(meta, "labels")))
        return 0;

    rc = sview_api_key(h, res, &key, &key_len);
    if (rc == 1) {
        h->log(PC_LOG_DEBUG, ld->who, "secret %s/%s matches but has no %s",
               ns, name, SVIEW_KEY_NAME);
        return 0;
    }
    if (rc != 0) {
        h->log(PC_LOG_WARN, ld->who,
               "secret %s/%s: data.%s is not valid base64; skipped",
               ns, name, SVIEW_KEY_NAME);
        ld->skipped++;
        return 0;
    }
    if (ld->n == ld->cap && apikey_grow(ld) != 0)
        goto oom;
    e = &ld->entries[ld->n];
    memset(e, 0, sizeof(*e));
    h->sha256(key, key_len, ld->digests[ld->n]);
    /* The raw key is not needed past its digest. */
    explicit_bzero(key, key_len);
    free(key);
    key = NULL;

    e->json = sview_render(h, res, &e->json_len);
    nn = strlen(ns) + strlen(name) + 2;
    e->ns_name = malloc(nn);
    if (!e->json || !e->ns_name) {
        free(e->json);
        free(e->ns_name);
        goto oom;
    }
    snprintf(e->ns_name, nn, "%s/%s", ns, name);
    ld->n++;
    return 0;
oom:
    if (key) {
        explicit_bzero(key, key_len);
        free(key);
    }
    ld->oom = 1;
    return 1;
}

static void apikey_free_entries(const pc_host *h, apikey_entry *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(e[i].json);
        if (e[i].identity)
            h->value_release(e[i].identity);
        free(e[i].ns_name);
    }
    free(e);
}

static void apikey_destroy(void *instance)
{
    apikey_inst *in = instance;

    if (!in)
        return;
    ktab_free(&in->table);
    apikey_free_entries(in->host, in->entries, in->n_entries);
    free(in);
}

/* Moves the loaded Secrets into the instance's table; duplicates (the same
 * key in two Secrets) keep the first Secret and free the later one. */
static int apikey_index(apikey_inst *in, apikey_load *ld, const char *who)
{
    const pc_host *h = in->host;
    size_t i;

    if (ktab_init(&in->table, ld->n) != 0)
        return -1;
    in->entries = calloc(ld->n ? ld->n : 1, sizeof(*in->entries));
    if (!in->entries)
        return -1;
    for (i = 0; i < ld->n; i++) {
        uint32_t first = 0;
        int rc = ktab_insert(&in->table, ld->digests[i],
                             (uint32_t)in->n_entries, &first);

        if (rc < 0)
            return -1;
        if (rc == 1) {
            h->log(PC_LOG_WARN, who,
                   "secrets %s and %s hold the same API key; %s is ignored",
                   in->entries[first].ns_name, ld->entries[i].ns_name,
                   ld->entries[i].ns_name);
            free(ld->entries[i].json);
            free(ld->entries[i].ns_name);
        } else {
            in->entries[in->n_entries++] = ld->entries[i];
        }
        ld->entries[i].json = NULL;
        ld->entries[i].ns_name = NULL;
    }
    return 0;
}

static void *apikey_create(const pc_host *host, pc_create_ctx *cc,
                           const pc_value *config, char *err, size_t errlen)
{
    const pc_value *all = host->value_get(config, "allNamespaces");
    const char *who = host->cc_evaluator_name(cc);
    const char *ns = host->cc_authconfig_namespace(cc);
    apikey_load ld;
    apikey_inst *in = NULL;
    lsel *sel;

    if (!who)
        who = "apiKey";
    /* Services of plugin ABI 1.1 and 1.2: keeping identities and decoding
     * Secret data. */
    if (!PC_HOST_HAS(host, value_keep_json) || !PC_HOST_HAS(host, value_release) ||
        !PC_HOST_HAS(host, base64_decode)) {
        snprintf(err, errlen, "this host lacks value_keep_json or base64_decode "
                              "(plugin ABI 1.2 or later needed)");
        return NULL;
    }
    sel = lsel_compile(host, host->value_get(config, "selector"), err, errlen);
    if (!sel)
        return NULL;
    memset(&ld, 0, sizeof(ld));
    ld.host = host;
    ld.who = who;
    ld.sel = sel;
    if (!(all && host->value_type(all) == PC_TYPE_BOOL && host->value_bool(all)))
        ld.ns = ns && *ns ? ns : APIKEY_DEFAULT_NS;

    /* One namespace: through the host's index when it has one (1.4). */
    if (ld.ns && PC_HOST_HAS(host, cc_foreach_resource_in))
        host->cc_foreach_resource_in(cc, "Secret", ld.ns, apikey_take_secret, &ld);
    else
        host->cc_foreach_resource(cc, "Secret", apikey_take_secret, &ld);
    lsel_free(sel);
    if (ld.oom)
        goto oom;

    in = calloc(1, sizeof(*in));
    if (!in)
        goto oom;
    in->host = host;
    if (apikey_index(in, &ld, who) != 0)
        goto oom;
    apikey_free_entries(host, ld.entries, ld.n); /* only emptied shells remain */
    free(ld.digests);
    for (size_t i = 0; i < in->n_entries; i++) {
        apikey_entry *e = &in->entries[i];
        e->identity = host->value_keep_json(e->json, e->json_len);
        if (!e->identity)
            goto oom_after_index;
        free(e->json);
        e->json = NULL;
    }

    if (in->n_entries == 0)
        host->log(PC_LOG_WARN, who,
                  "no Secret with an %s matches the selector%s%s (%zu Secrets "
                  "seen); every request will be denied until one does",
                  SVIEW_KEY_NAME, ld.ns ? " in namespace " : "",
                  ld.ns ? ld.ns : "", ld.seen);
    else
        host->log(PC_LOG_INFO, who, "loaded %zu API keys", in->n_entries);
    return in;
oom:
    apikey_free_entries(host, ld.entries, ld.n);
    free(ld.digests);
oom_after_index:
    apikey_destroy(in);
    snprintf(err, errlen, "out of memory while loading API key Secrets");
    return NULL;
}

static pc_status apikey_evaluate(void *instance, pc_eval *ev)
{
    const apikey_inst *in = instance;
    const pc_host *h = in->host;
    uint8_t digest[KTAB_DIGEST_LEN];
    const char *cred;
    size_t len = 0;
    int64_t idx;
    pc_value *identity;

    cred = h->eval_credential(ev, &len);
    if (!cred) {
        h->eval_set_reason(ev, "credential not found");
        return PC_DENY;
    }
    h->sha256(cred, len, digest);
    idx = ktab_find(&in->table, h, digest);
    if (idx < 0 || (size_t)idx >= in->n_entries) {
        h->eval_set_reason(ev, APIKEY_INVALID);
        return PC_DENY;
    }
    identity = h->value_copy(ev, in->entries[idx].identity);
    if (!identity) {
        h->eval_set_reason(ev, "could not build the identity object");
        return PC_ERROR;
    }
    h->eval_set_output(ev, identity);
    return PC_OK;
}

static const pc_evaluator_type apikey_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_NEEDS_CREDENTIAL,
    .phase = PC_PHASE_IDENTITY,
    .name = "apiKey",
    .config_schema = apikey_schema,
    .challenge = NULL,
    .create = apikey_create,
    .destroy = apikey_destroy,
    .evaluate = apikey_evaluate,
};

static const pc_evaluator_type *const apikey_types[] = {&apikey_type, NULL};

PC_PLUGIN_DEFINE("identity_api_key", PC_BUILTIN_VERSION,
                 "API keys held in Kubernetes Secrets picked by labels",
                 apikey_types, NULL)
