/* authconfig.c - AuthConfig documents (v1beta3, v1beta2) into ac_config.
 *
 * Every problem is reported with file, line and document path, and the
 * compiler keeps going so one run lists them all. Evaluator method configs
 * are checked against the plugin's schema before its create() sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "authconfig.h"
#include "cache/cache.h"
#include "cfgerr.h"
#include "cond.h"
#include "metrics/metrics.h"
#include "createctx.h"
#include "plugin/confhook.h"
#include "plugin/schema.h"
#include "resset.h"
#include "vos.h"
#include "ydoc/ydoc.h"
#include "doc/doc.h"
#include "eval/evalctx.h"

#define GROUP "authorino.kuadrant.io/"

typedef struct compile_ctx {
    const pc_host *host;     /* handed to every plugin create */
    cfgerr *ce;
    resset *res;
    cond_named named;
    ac_config *cfg;
    struct json_object *spec;  /* handed to create (cc_authconfig_spec) */
    int v1beta2;
} compile_ctx;

static const char *str_of(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int ac_is_authconfig(struct json_object *ydoc)
{
    const char *av = str_of(ydoc, "apiVersion"), *kind = str_of(ydoc, "kind");
    return av && kind && strncmp(av, GROUP, strlen(GROUP)) == 0 &&
           strcmp(kind, "AuthConfig") == 0;
}

static void eval_free(ac_eval *e)
{
    if (!e)
        return;
    if (e->inst && e->type && e->type->t.destroy)
        e->type->t.destroy(e->inst);
    free(e->name);
    free(e->path);
    cond_free(e->when);
    vos_free(e->cache_key);
    cache_free(e->cache);
    free(e->cred_name);
    free(e->challenge);
    for (size_t i = 0; i < e->n_defaults; i++) {
        free(e->defaults[i].name);
        vos_free(e->defaults[i].vos);
    }
    free(e->defaults);
    for (size_t i = 0; i < e->n_overrides; i++) {
        free(e->overrides[i].name);
        vos_free(e->overrides[i].vos);
    }
    free(e->overrides);
    free(e->key);
    free(e);
}

static void deny_free(ac_deny *d)
{
    vos_free(d->message);
    vos_free(d->body);
    for (size_t i = 0; i < d->n_headers; i++) {
        free(d->headers[i].name);
        vos_free(d->headers[i].vos);
    }
    free(d->headers);
}

ac_config *ac_ref(ac_config *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void ac_free(ac_config *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (int p = 0; p < PC_PHASE_COUNT_; p++) {
        for (size_t i = 0; i < c->n_evs[p]; i++)
            eval_free(c->evs[p][i]);
        free(c->evs[p]);
    }
    for (size_t i = 0; i < c->n_hosts; i++)
        free(c->hosts[i]);
    free(c->hosts);
    cond_free(c->when);
    deny_free(&c->unauthenticated);
    deny_free(&c->unauthorized);
    free(c->name);
    free(c->ns);
    free(c->id);
    free(c->file);
    free(c);
}

static int add_eval(ac_config *c, ac_eval *e)
{
    ac_eval **a = realloc(c->evs[e->phase], (c->n_evs[e->phase] + 1) * sizeof *a);
    if (!a)
        return -1;
    c->evs[e->phase] = a;
    a[c->n_evs[e->phase]++] = e;
    return 0;
}

/* Stable sort by priority: groups run in ascending order. */
static void sort_phase(ac_config *c, int p)
{
    ac_eval **a = c->evs[p];
    for (size_t i = 1; i < c->n_evs[p]; i++) {
        ac_eval *x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1]->priority > x->priority) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* {name: VoS} maps: defaults, overrides, deny headers. */
static int compile_props(compile_ctx *cx, struct json_object *o,
                         const char *path, ac_prop **out, size_t *n)
{
    if (!json_object_is_type(o, json_type_object)) {
        cfgerr_error(cx->ce, o, path, "expected a map of names to {value|selector}");
        return -1;
    }
    int rc = 0;
    json_object_object_foreach(o, k, v) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, k);
        pc_vos *vos = vos_compile(v, p, cx->ce);
        if (!vos) {
            rc = -1;
            continue;
        }
        ac_prop *a = realloc(*out, (*n + 1) * sizeof *a);
        if (!a) {
            vos_free(vos);
            return -1;
        }
        *out = a;
        a[*n].name = strdup(k);
        a[*n].vos = vos;
        (*n)++;
    }
    return rc;
}

static int compile_credentials(compile_ctx *cx, ac_eval *e,
                               struct json_object *o, const char *path)
{
    e->cred = CRED_AUTH_HEADER;
    e->cred_name = strdup("Bearer");
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object) ||
        json_object_object_length(o) > 1) {
        cfgerr_error(cx->ce, o, path,
                     "expected one of authorizationHeader, customHeader, "
                     "queryString, cookie");
        return -1;
    }
    json_object_object_foreach(o, k, v) {
        char p[512];
        cred_kind kind;
        const char *field = "name";
        if (strcmp(k, "authorizationHeader") == 0) {
            kind = CRED_AUTH_HEADER;
            field = "prefix";
        } else if (strcmp(k, "customHeader") == 0) {
            kind = CRED_CUSTOM_HEADER;
        } else if (strcmp(k, "queryString") == 0) {
            kind = CRED_QUERY;
        } else if (strcmp(k, "cookie") == 0) {
            kind = CRED_COOKIE;
        } else {
            snprintf(p, sizeof p, "%s.%s", path, k);
            cfgerr_error(cx->ce, v, p,
                         "expected one of authorizationHeader, customHeader, "
                         "queryString, cookie");
            return -1;
        }
        if (json_object_is_type(v, json_type_object)) {
            int bad = 0;
            json_object_object_foreach(v, ik, iv) {
                (void)iv;
                if (strcmp(ik, field) != 0) {
                    snprintf(p, sizeof p, "%s.%s.%s", path, k, ik);
                    cfgerr_unknown(cx->ce, v, ik, p);
                    bad = 1;
                }
            }
            if (bad)
                return -1;
        }
        const char *val = json_object_is_type(v, json_type_object) ? str_of(v, field)
                                                                   : NULL;
        if (!val && kind == CRED_AUTH_HEADER &&
            (v == NULL || json_object_is_type(v, json_type_object)))
            val = "Bearer";
        if (!val || (!*val && kind != CRED_AUTH_HEADER)) {
            snprintf(p, sizeof p, "%s.%s.%s", path, k, field);
            cfgerr_error(cx->ce, v, p, "expected a non-empty string");
            return -1;
        }
        e->cred = kind;
        free(e->cred_name);
        /* As configured: the challenge names it so (X-API-Key realm=...);
         * the header lookup ignores case. */
        e->cred_name = strdup(val);
    }
    return 0;
}

/* Authorino's WWW-Authenticate identifier: the credential prefix or name,
 * or what the method declares (e.g. "Certificate"). */
static void make_challenge(ac_eval *e)
{
    const char *id = e->type->t.challenge ? e->type->t.challenge : e->cred_name;
    if (!(e->type->t.flags & PC_EVAL_NEEDS_CREDENTIAL) && !e->type->t.challenge)
        return;
    size_t n = strlen(id) + strlen(e->name) + 16;
    e->challenge = malloc(n);
    if (e->challenge)
        snprintf(e->challenge, n, "%s realm=\"%s\"", id, e->name);
}

static const char *const common_keys[] = {"priority", "metrics", "when", "cache", NULL};
static const char *const identity_keys[] = {"credentials", "defaults", "overrides", NULL};

static int in_list(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0)
            return 1;
    return 0;
}

struct schema_report {
    compile_ctx *cx;
    const char *path;
};

static void on_schema(void *arg, const char *sub, const struct json_object *node,
                      const char *msg, int unknown)
{
    struct schema_report *sr = arg;
    cfgerr_schema(sr->cx->ce, sr->path, sub, node, msg, unknown);
}

/* The method's own config: checked against the plugin's schema, completed
 * with the schema's defaults (on a copy, so the document stays as written),
 * then handed to the plugin's create. 0, or -1 with the problem reported. */
static int create_instance(compile_ctx *cx, ac_eval *e, struct json_object *mconf,
                           const char *mpath)
{
    int errors0 = cx->ce->errors;
    const schema *sc = e->type->schema;
    struct json_object *conf = NULL;
    if (sc) {
        struct schema_report sr = {cx, mpath};
        schema_validate(sc, mconf, on_schema, &sr);
        if (cx->ce->errors > errors0)
            return -1;
        if (ydoc_copy(mconf, &conf) != 0 ||
            (conf && schema_apply_defaults(sc, conf) != 0)) {
            json_object_put(conf);
            cfgerr_error(cx->ce, mconf, mpath, "out of memory");
            return -1;
        }
    }
    if (!e->type->t.create) {
        json_object_put(conf);
        return 0;
    }
    struct json_object *use = sc ? conf : mconf;
    /* The plugin reads its config as doc values, converted for this create
     * and freed after it; the map leads vos and pattern compilation back
     * to the config's nodes and lines. */
    struct arena mem;
    arena_init(&mem, 0);
    doc_srcmap *map = doc_srcmap_new();
    int cerr = !map;
    const doc *dconf = cerr ? NULL : doc_from_jsonc(&mem, use, map, &cerr);
    if (cerr) {
        doc_srcmap_free(map);
        arena_free(&mem);
        json_object_put(conf);
        cfgerr_error(cx->ce, mconf, mpath, "out of memory");
        return -1;
    }
    struct pc_create_ctx cc = {
        .evname = e->name, .acname = cx->cfg->name, .acns = cx->cfg->ns,
        .path = mpath, .config = use, .spec = cx->spec, .mem = &mem, .srcmap = map,
        .res = cx->res, .named = &cx->named, .ce = cx->ce};
    char err[512] = "";
    struct arena *was = evalctx_enter(&mem);
    e->inst = e->type->t.create(cx->host, &cc, (const pc_value *)dconf, err, sizeof err);
    evalctx_enter(was);
    doc_srcmap_free(map);
    arena_free(&mem);
    json_object_put(conf);
    if (!e->inst) {
        /* Problems the host already reported (bad patterns...) are not
         * repeated. */
        if (cx->ce->errors == errors0)
            cfgerr_error(cx->ce, mconf, mpath, "%s",
                         err[0] ? err : "the plugin refused this config");
        return -1;
    }
    return 0;
}

static ac_eval *compile_eval(compile_ctx *cx, pc_phase phase, const char *name,
                             struct json_object *o, const char *path)
{
    char p[512];
    if (!json_object_is_type(o, json_type_object)) {
        cfgerr_error(cx->ce, o, path, "expected an evaluator object");
        return NULL;
    }
    ac_eval *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->name = strdup(name);
    e->name_hash = doc_hash(name, strlen(name));
    e->path = strdup(path);
    e->phase = phase;
    int errors0 = cx->ce->errors;
    const char *method = NULL;
    struct json_object *mconf = NULL;
    struct json_object *v;

    /* The method is the key a loaded plugin provides; other unknown keys
     * are typos and errors. With no provided key, a lone unknown key is
     * the method, so the error says which plugin is missing. */
    const char *unknown = NULL;
    struct json_object *unknown_v = NULL;
    int n_unknown = 0;
    json_object_object_foreach(o, k, val) {
        if (in_list(k, common_keys) ||
            (phase == PC_PHASE_IDENTITY && in_list(k, identity_keys)) ||
            (phase == PC_PHASE_RESPONSE && strcmp(k, "key") == 0))
            continue;
        if (!loader_find(phase, k)) {
            if (!n_unknown++) {
                unknown = k;
                unknown_v = val;
            }
            continue;
        }
        if (method) {
            snprintf(p, sizeof p, "%s.%s", path, k);
            cfgerr_error(cx->ce, val, p,
                         "only one method per evaluator (already has %s)", method);
            continue;
        }
        method = k;
        mconf = val;
    }
    if (!method && n_unknown == 1) {
        method = unknown;
        mconf = unknown_v;
    } else if (n_unknown) {
        json_object_object_foreach(o, k2, val2) {
            if (in_list(k2, common_keys) ||
                (phase == PC_PHASE_IDENTITY && in_list(k2, identity_keys)) ||
                (phase == PC_PHASE_RESPONSE && strcmp(k2, "key") == 0) ||
                loader_find(phase, k2))
                continue;
            snprintf(p, sizeof p, "%s.%s", path, k2);
            if (method)
                cfgerr_unknown(cx->ce, o, k2, p);
            else
                cfgerr_error(cx->ce, val2, p,
                             "no loaded plugin provides the %s method \"%s\"",
                             loader_phase_name(phase), k2);
        }
        if (!method)
            goto fail;
    }
    if (!method) {
        cfgerr_error(cx->ce, o, path, "no %s method given",
                     loader_phase_name(phase));
        goto fail;
    }
    snprintf(p, sizeof p, "%s.%s", path, method);
    e->type = loader_find(phase, method);
    if (!e->type) {
        cfgerr_error(cx->ce, mconf, p,
                     "no loaded plugin provides the %s method \"%s\"",
                     loader_phase_name(phase), method);
        goto fail;
    }
    char mpath[512];
    snprintf(mpath, sizeof mpath, "%s", p);

    if (json_object_object_get_ex(o, "priority", &v)) {
        snprintf(p, sizeof p, "%s.priority", path);
        if (!json_object_is_type(v, json_type_int))
            cfgerr_error(cx->ce, v, p, "expected an integer");
        else
            e->priority = json_object_get_int(v);
    }
    if (json_object_object_get_ex(o, "metrics", &v)) {
        snprintf(p, sizeof p, "%s.metrics", path);
        if (!json_object_is_type(v, json_type_boolean))
            cfgerr_error(cx->ce, v, p, "expected true or false");
        else
            e->metrics = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(o, "when", &v)) {
        snprintf(p, sizeof p, "%s.when", path);
        e->when = cond_compile(v, p, &cx->named, cx->ce);
    }
    if (json_object_object_get_ex(o, "cache", &v)) {
        snprintf(p, sizeof p, "%s.cache", path);
        struct json_object *key, *ttl;
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, "key", &key)) {
            cfgerr_error(cx->ce, v, p, "expected {key: {value|selector}, ttl: seconds}");
        } else {
            char kp[512];
            static const char *const cache_keys[] = {"key", "ttl", NULL};
            json_object_object_foreach(v, ck, cv) {
                (void)cv;
                if (!in_list(ck, cache_keys)) {
                    snprintf(kp, sizeof kp, "%s.%s", p, ck);
                    cfgerr_unknown(cx->ce, v, ck, kp);
                }
            }
            snprintf(kp, sizeof kp, "%s.key", p);
            e->cache_key = vos_compile(key, kp, cx->ce);
            e->cache_ttl_ms = 60000;
            if (json_object_object_get_ex(v, "ttl", &ttl)) {
                snprintf(kp, sizeof kp, "%s.ttl", p);
                if (!json_object_is_type(ttl, json_type_int) ||
                    json_object_get_int64(ttl) <= 0)
                    cfgerr_error(cx->ce, ttl, kp, "expected a positive number of seconds");
                else
                    e->cache_ttl_ms = json_object_get_int64(ttl) * 1000;
            }
            pc_cache_opts co = {sizeof co, name, e->cache_ttl_ms, 0, 0};
            e->cache = cache_new(&co);
        }
    }
    if (phase == PC_PHASE_IDENTITY) {
        json_object_object_get_ex(o, "credentials", &v);
        snprintf(p, sizeof p, "%s.credentials", path);
        if (!json_object_object_get_ex(o, "credentials", NULL))
            v = NULL;
        compile_credentials(cx, e, v, p);
        if (json_object_object_get_ex(o, "defaults", &v)) {
            snprintf(p, sizeof p, "%s.defaults", path);
            compile_props(cx, v, p, &e->defaults, &e->n_defaults);
        }
        if (json_object_object_get_ex(o, "overrides", &v)) {
            snprintf(p, sizeof p, "%s.overrides", path);
            compile_props(cx, v, p, &e->overrides, &e->n_overrides);
        }
        make_challenge(e);
    }
    if (phase == PC_PHASE_RESPONSE) {
        const char *key = str_of(o, "key");
        e->key = strdup(key && *key ? key : name);
    }
    if (e->metrics || metrics_deep())
        e->series = metrics_evaluator_series(cx->cfg->ns, cx->cfg->name, phase, method, name);
    if (e->type->t.flags & PC_EVAL_MAY_BLOCK) {
        cx->cfg->may_block = 1;
        /* An engine-level cache answers hits without the plugin. */
        if (!(e->type->t.flags & PC_EVAL_TRY_NONBLOCKING) && !e->cache)
            cx->cfg->blocks_at_once = 1;
    }
    if (e->type->t.flags & PC_EVAL_NEEDS_CONTEXT)
        cx->cfg->needs_context = 1;

    if (cx->ce->errors > errors0 || create_instance(cx, e, mconf, mpath) < 0)
        goto fail;
    return e;
fail:
    eval_free(e);
    return NULL;
}

static void compile_section(compile_ctx *cx, pc_phase phase,
                            struct json_object *sec, const char *path,
                            int dynmeta)
{
    if (!sec)
        return;
    if (!json_object_is_type(sec, json_type_object)) {
        cfgerr_error(cx->ce, sec, path, "expected a map of evaluator names to evaluators");
        return;
    }
    json_object_object_foreach(sec, name, o) {
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, name);
        ac_eval *e = compile_eval(cx, phase, name, o, p);
        if (!e)
            continue;
        e->dynmeta = dynmeta;
        if (add_eval(cx->cfg, e) < 0)
            eval_free(e);
    }
}

static void compile_deny(compile_ctx *cx, struct json_object *o,
                         const char *path, ac_deny *d)
{
    char p[512];
    if (!json_object_is_type(o, json_type_object)) {
        cfgerr_error(cx->ce, o, path, "expected {code, message, headers, body}");
        return;
    }
    d->set = 1;
    json_object_object_foreach(o, k, val) {
        snprintf(p, sizeof p, "%s.%s", path, k);
        if (strcmp(k, "code") == 0) {
            if (!json_object_is_type(val, json_type_int) ||
                json_object_get_int(val) < 300 || json_object_get_int(val) > 599)
                cfgerr_error(cx->ce, val, p, "expected an HTTP status from 300 to 599");
            else
                d->code = json_object_get_int(val);
        } else if (strcmp(k, "message") == 0) {
            d->message = vos_compile(val, p, cx->ce);
        } else if (strcmp(k, "body") == 0) {
            d->body = vos_compile(val, p, cx->ce);
        } else if (strcmp(k, "headers") == 0) {
            compile_props(cx, val, p, &d->headers, &d->n_headers);
        } else {
            cfgerr_unknown(cx->ce, o, k, p);
        }
    }
}

static void compile_response(compile_ctx *cx, struct json_object *resp)
{
    if (!json_object_is_type(resp, json_type_object)) {
        cfgerr_error(cx->ce, resp, "spec.response", "expected an object");
        return;
    }
    json_object_object_foreach(resp, k, v) {
        char p[512];
        snprintf(p, sizeof p, "spec.response.%s", k);
        if (strcmp(k, "success") == 0) {
            if (!json_object_is_type(v, json_type_object)) {
                cfgerr_error(cx->ce, v, p, "expected {headers, dynamicMetadata}");
                continue;
            }
            json_object_object_foreach(v, sk, sv) {
                char sp[512];
                snprintf(sp, sizeof sp, "%s.%s", p, sk);
                if (strcmp(sk, "headers") == 0)
                    compile_section(cx, PC_PHASE_RESPONSE, sv, sp, 0);
                else if (strcmp(sk, "dynamicMetadata") == 0)
                    compile_section(cx, PC_PHASE_RESPONSE, sv, sp, 1);
                else
                    cfgerr_unknown(cx->ce, v, sk, sp);
            }
        } else if (strcmp(k, "unauthenticated") == 0) {
            compile_deny(cx, v, p, &cx->cfg->unauthenticated);
        } else if (strcmp(k, "unauthorized") == 0) {
            compile_deny(cx, v, p, &cx->cfg->unauthorized);
        } else {
            cfgerr_unknown(cx->ce, resp, k, p);
        }
    }
}

static void compile_hosts(compile_ctx *cx, struct json_object *hosts)
{
    if (!hosts || !json_object_is_type(hosts, json_type_array) ||
        json_object_array_length(hosts) == 0) {
        cfgerr_error(cx->ce, hosts, "spec.hosts", "expected a non-empty list of strings");
        return;
    }
    size_t n = json_object_array_length(hosts);
    cx->cfg->hosts = calloc(n, sizeof *cx->cfg->hosts);
    for (size_t i = 0; cx->cfg->hosts && i < n; i++) {
        struct json_object *h = json_object_array_get_idx(hosts, i);
        if (!json_object_is_type(h, json_type_string) ||
            json_object_get_string_len(h) == 0) {
            char p[64];
            snprintf(p, sizeof p, "spec.hosts[%zu]", i);
            cfgerr_error(cx->ce, h ? h : hosts, p, "expected a host name");
            continue;
        }
        cx->cfg->hosts[cx->cfg->n_hosts++] = strdup(json_object_get_string(h));
    }
}

/* Authorino injects an anonymous identity when none is configured. Only
 * when this document compiled so far: a config with errors is refused
 * anyway, and the count is this document's own (see ac_compile). */
static void implicit_anonymous(compile_ctx *cx, struct json_object *spec,
                               int errors0)
{
    if (cx->cfg->n_evs[PC_PHASE_IDENTITY] || cx->ce->errors > errors0)
        return;
    const loader_type *t = loader_find(PC_PHASE_IDENTITY, "anonymous");
    if (!t) {
        cfgerr_error(cx->ce, spec, "spec.authentication",
                     "no authentication configured and no plugin provides the "
                     "\"anonymous\" method to stand in");
        return;
    }
    ac_eval *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->name = strdup("anonymous");
    e->path = strdup("spec.authentication");
    e->phase = PC_PHASE_IDENTITY;
    e->type = t;
    e->cred_name = strdup("Bearer");
    /* The same path as a written `anonymous: {}`: schema, defaults, create. */
    struct json_object *empty = json_object_new_object();
    int rc = empty ? create_instance(cx, e, empty, "spec.authentication") : -1;
    json_object_put(empty);
    if (rc == 0 && !e->type->t.create)
        e->inst = e; /* a stateless method: any non-NULL instance */
    if (rc < 0 || add_eval(cx->cfg, e) < 0) {
        if (rc == 0 || !empty)
            cfgerr_error(cx->ce, spec, "spec.authentication", "out of memory");
        if (e->inst == e)
            e->inst = NULL;
        eval_free(e);
    }
}

/* Does any string in the spec mention `context`? Selectors and templates
 * are strings, so this finds every use of the subtree without knowing
 * which fields hold selectors; a false positive only costs a little time. */
static int mentions_context(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_string:
        return strstr(json_object_get_string(o), "context") != NULL;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (mentions_context(json_object_array_get_idx(o, i)))
                return 1;
        return 0;
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (mentions_context(v))
                return 1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

static const char *const spec_keys[] = {"hosts", "patterns", "when", "authentication",
                                        "metadata", "authorization", "response",
                                        "callbacks", NULL};
/* A resource as the API server returns it may carry status; every other
 * top-level field is a typo, as under kubectl's strict field validation. */
static const char *const doc_keys[] = {"apiVersion", "kind", "metadata", "spec",
                                       "status", NULL};
/* Kubernetes ObjectMeta. */
static const char *const meta_keys[] = {
    "name", "namespace", "labels", "annotations", "uid", "resourceVersion",
    "generation", "generateName", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "finalizers", "ownerReferences", "managedFields",
    "selfLink", NULL};

static void check_keys(cfgerr *ce, struct json_object *o, const char *prefix,
                       const char *const *keys)
{
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, k, v) {
        (void)v;
        if (!in_list(k, keys)) {
            char p[256];
            snprintf(p, sizeof p, "%s%s", prefix, k);
            cfgerr_unknown(ce, o, k, p);
        }
    }
}

static ac_config *compile_doc(const pc_host *host, struct json_object *ydoc, resset *res,
                              cfgerr *ce);

/* Each document compiles against a fresh error count, so nothing a broken
 * document before it left behind (errors, warnings) can change what this
 * one compiles to; the counts are added to the caller's afterwards. */
ac_config *ac_compile(const pc_host *host, struct json_object *ydoc, resset *res, cfgerr *ce)
{
    cfgerr own = *ce;
    own.errors = own.warnings = 0;
    own.doc = ydoc;
    ac_config *c = NULL;
    if (confhook_count() && ac_is_authconfig(ydoc)) {
        /* The hooks see the document as written; what they return is
         * compiled as if it had been written so. */
        struct json_object *use = NULL;
        char why[1024];
        if (confhook_apply(ydoc, &use, why, sizeof why) < 0)
            cfgerr_error(&own, ydoc, NULL, "%s", why);
        else {
            own.doc = use;
            c = compile_doc(host, use, res, &own);
        }
        json_object_put(use);
    } else {
        c = compile_doc(host, ydoc, res, &own);
    }
    ce->errors += own.errors;
    ce->warnings += own.warnings;
    return c;
}

static ac_config *compile_doc(const pc_host *host, struct json_object *ydoc, resset *res,
                              cfgerr *ce)
{
    compile_ctx cx = {.host = host, .ce = ce, .res = res};
    int errors0 = ce->errors;
    const char *av = str_of(ydoc, "apiVersion");
    if (!av || (strcmp(av, GROUP "v1beta3") && strcmp(av, GROUP "v1beta2"))) {
        struct json_object *n = NULL;
        json_object_object_get_ex(ydoc, "apiVersion", &n);
        if (av && strcmp(av, GROUP "v1beta1") == 0)
            cfgerr_error(ce, n, "apiVersion",
                         "v1beta1 AuthConfigs are not supported yet: use v1beta3");
        else
            cfgerr_error(ce, n, "apiVersion",
                         "expected authorino.kuadrant.io/v1beta3 or v1beta2");
        return NULL;
    }
    cx.v1beta2 = strcmp(av, GROUP "v1beta2") == 0;
    ac_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    cx.cfg = c;
    c->file = strdup(ce->file ? ce->file : "-");
    c->line = ce->doc_line;
    struct json_object *meta = NULL, *spec = NULL, *v;
    check_keys(ce, ydoc, "", doc_keys);
    json_object_object_get_ex(ydoc, "metadata", &meta);
    if (meta && !json_object_is_type(meta, json_type_object))
        cfgerr_error(ce, meta, "metadata", "expected an object");
    check_keys(ce, meta, "metadata.", meta_keys);
    const char *name = meta ? str_of(meta, "name") : NULL;
    const char *ns = meta ? str_of(meta, "namespace") : NULL;
    if (!name || !*name)
        cfgerr_error(ce, meta, "metadata.name", "expected a name");
    c->name = strdup(name ? name : "");
    c->ns = strdup(ns && *ns ? ns : "default");
    size_t idl = strlen(c->name) + strlen(c->ns) + 2;
    c->id = malloc(idl);
    snprintf(c->id, idl, "%s/%s", c->ns, c->name);

    if (!json_object_object_get_ex(ydoc, "spec", &spec) ||
        !json_object_is_type(spec, json_type_object)) {
        cfgerr_error(ce, spec, "spec", "expected an object");
        ac_free(c);
        return NULL;
    }
    check_keys(ce, spec, "spec.", spec_keys);
    cx.spec = spec;
    json_object_object_get_ex(spec, "hosts", &v);
    compile_hosts(&cx, v);
    if (json_object_object_get_ex(spec, "patterns", &v)) {
        if (!json_object_is_type(v, json_type_object))
            cfgerr_error(ce, v, "spec.patterns", "expected a map of names to pattern lists");
        else
            cx.named.patterns = v;
    }
    cx.named.path = "spec.patterns";
    if (json_object_object_get_ex(spec, "when", &v))
        c->when = cond_compile(v, "spec.when", &cx.named, ce);
    json_object_object_get_ex(spec, "authentication", &v);
    compile_section(&cx, PC_PHASE_IDENTITY,
                    json_object_object_get_ex(spec, "authentication", &v) ? v : NULL,
                    "spec.authentication", 0);
    compile_section(&cx, PC_PHASE_METADATA,
                    json_object_object_get_ex(spec, "metadata", &v) ? v : NULL,
                    "spec.metadata", 0);
    compile_section(&cx, PC_PHASE_AUTHORIZATION,
                    json_object_object_get_ex(spec, "authorization", &v) ? v : NULL,
                    "spec.authorization", 0);
    if (json_object_object_get_ex(spec, "response", &v))
        compile_response(&cx, v);
    compile_section(&cx, PC_PHASE_CALLBACK,
                    json_object_object_get_ex(spec, "callbacks", &v) ? v : NULL,
                    "spec.callbacks", 0);
    implicit_anonymous(&cx, spec, errors0);
    if (mentions_context(spec))
        c->needs_context = 1;
    c->try_inline = c->may_block && !c->blocks_at_once;
    if (ce->errors > errors0) {
        ac_free(c);
        return NULL;
    }
    for (int p = 0; p < PC_PHASE_COUNT_; p++)
        sort_phase(c, p);
    return c;
}
