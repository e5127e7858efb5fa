/* confhook.c - config hooks: each AuthConfig goes through them before it
 * compiles.
 *
 * A hook sees the document through a host-internal evaluation (no request:
 * eval_root is the document), so a plugin builds its rewrite with the same
 * value services as an evaluator's output. A rewrite is then aligned with
 * the original: where a subtree is unchanged, the original node is used,
 * which keeps its source lines for error messages, and every object keeps
 * the original's key order (evaluators of one priority run in document
 * order, and a hook's language may not keep it). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "confhook.h"
#include "loader.h"
#include "schema.h"
#include "ydoc/ydoc.h"
#include "doc/doc.h"
#include "eval/evalctx.h"

typedef struct confhook {
    const loader_hook *type;
    void *inst;
    char label[160];          /* "lua (hooks.lua)" for messages */
} confhook;

static confhook g_hooks[CONFHOOK_MAX];
static size_t g_n;

size_t confhook_count(void)
{
    return g_n;
}

typedef struct first_problem {
    char *err;
    size_t len;
    int n;
} first_problem;

static void on_problem(void *arg, const char *sub, const struct json_object *node,
                       const char *msg, int unknown)
{
    first_problem *fp = arg;
    (void)node, (void)unknown;
    if (!fp->n++)
        snprintf(fp->err, fp->len, "%s%s%s", sub, *sub ? ": " : "", msg);
}

int confhook_add(const pc_host *host, const char *name, struct json_object *config, char *err,
                 size_t errlen)
{
    const loader_hook *t = loader_find_hook(name);
    if (!t) {
        snprintf(err, errlen, "no plugin provides the config hook \"%s\"", name);
        return -1;
    }
    if (g_n == CONFHOOK_MAX) {
        snprintf(err, errlen, "at most %d config hooks", CONFHOOK_MAX);
        return -1;
    }
    struct json_object *conf = NULL;
    if (ydoc_copy(config, &conf) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t->schema) {
        char why[400];
        first_problem fp = {why, sizeof why, 0};
        schema_validate(t->schema, conf, on_problem, &fp);
        if (fp.n) {
            snprintf(err, errlen, "config hook %s: %s", name, why);
            json_object_put(conf);
            return -1;
        }
        if (conf && schema_apply_defaults(t->schema, conf) != 0) {
            snprintf(err, errlen, "out of memory");
            json_object_put(conf);
            return -1;
        }
    }
    char why[512] = "";
    struct arena mem;
    arena_init(&mem, 0);
    int cerr = 0;
    const doc *dconf = doc_from_jsonc(&mem, conf, NULL, &cerr);
    void *inst = NULL;
    if (cerr) {
        snprintf(why, sizeof why, "out of memory");
    } else {
        struct arena *was = evalctx_enter(&mem);
        inst = t->t.create ? t->t.create(host, (const pc_value *)dconf, why, sizeof why)
                           : (void *)t;
        evalctx_enter(was);
    }
    arena_free(&mem);
    if (!inst) {
        snprintf(err, errlen, "config hook %s: %s", name,
                 why[0] ? why : "the plugin refused this config");
        json_object_put(conf);
        return -1;
    }
    confhook *h = &g_hooks[g_n++];
    h->type = t;
    h->inst = inst;
    struct json_object *file = NULL;
    if (json_object_is_type(conf, json_type_object) &&
        json_object_object_get_ex(conf, "file", &file) &&
        json_object_is_type(file, json_type_string))
        snprintf(h->label, sizeof h->label, "%s (%s)", name, json_object_get_string(file));
    else
        snprintf(h->label, sizeof h->label, "%s", name);
    json_object_put(conf);
    return 0;
}

int confhook_add_spec(const pc_host *host, const char *spec, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || colon - spec >= 64) {
        snprintf(err, errlen, "--config-hook \"%s\": want NAME:FILE, e.g. lua:hooks.lua",
                 spec);
        return -1;
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(colon - spec), spec);
    struct json_object *conf = json_object_new_object();
    if (!conf || json_object_object_add(conf, "file", json_object_new_string(colon + 1))) {
        json_object_put(conf);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = confhook_add(host, name, conf, err, errlen);
    json_object_put(conf);
    return rc;
}

/* ---- aligning a rewrite with the original ---- */

/* A new reference to the tree to use for `now`, where `was` stood in the
 * original (NULL: nothing did). NULL `now` is JSON null. */
static struct json_object *align(struct json_object *was, struct json_object *now,
                                 int depth)
{
    if (was && json_object_equal(was, now))
        return json_object_get(was);
    /* Lua has one empty table for [] and {}: an empty object where the
     * original had an empty list is that list. */
    if (json_object_is_type(was, json_type_array) && !json_object_array_length(was) &&
        json_object_is_type(now, json_type_object) && !json_object_object_length(now))
        return json_object_get(was);
    if (depth > 64 || !json_object_is_type(now, json_type_object) ||
        !json_object_is_type(was, json_type_object))
        return json_object_get(now);
    struct json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    struct json_object *v;
    /* The original's keys first, in its order; then the new ones. */
    json_object_object_foreach(was, k, wv) {
        if (!json_object_object_get_ex(now, k, &v))
            continue;
        struct json_object *a = align(wv, v, depth + 1);
        if ((v && !a) || json_object_object_add(o, k, a) != 0) {
            json_object_put(a);
            json_object_put(o);
            return NULL;
        }
    }
    json_object_object_foreach(now, k2, nv) {
        if (json_object_object_get_ex(was, k2, NULL))
            continue;
        if (json_object_object_add(o, k2, json_object_get(nv)) != 0) {
            json_object_put(o);
            return NULL;
        }
    }
    return o;
}

/* ---- running ---- */

static const char *meta_str(struct json_object *ac, const char *key)
{
    struct json_object *m = NULL, *v = NULL;
    if (!json_object_object_get_ex(ac, "metadata", &m) ||
        !json_object_object_get_ex(m, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

/* The AuthConfig a rewrite stands for is the one that was read: which one
 * it is (what keeps a previous version, what carries the status) must not
 * change under the hook. */
static int same_identity(struct json_object *a, struct json_object *b)
{
    struct json_object *ka = NULL, *kb = NULL;
    json_object_object_get_ex(a, "kind", &ka);
    json_object_object_get_ex(b, "kind", &kb);
    return json_object_equal(ka, kb) &&
           strcmp(meta_str(a, "name"), meta_str(b, "name")) == 0 &&
           strcmp(meta_str(a, "namespace"), meta_str(b, "namespace")) == 0;
}

static int run_one(const confhook *h, struct json_object **acp, char *reason,
                   size_t len)
{
    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    /* The hook reads the AuthConfig as a doc, and its rewrite comes back
     * to json-c, where the loader and the line numbers are. */
    int cerr = 0;
    doc *root = doc_from_jsonc(&rq.mem, *acp, NULL, &cerr);
    if (cerr) {
        snprintf(reason, len, "config hook %s: out of memory", h->label);
        reqctx_clear(&rq);
        return -1;
    }
    evalctx_init(&ev, &rq, root, NULL);
    struct arena *was = evalctx_enter(&rq.mem);
    pc_status st = h->type->t.on_load(h->inst, &ev);
    evalctx_enter(was);
    int rc = 0;
    struct json_object *output = NULL;
    if (st == PC_OK && ev.failed)
        st = PC_ERROR;
    if (st == PC_OK && ev.output && doc_to_jsonc(ev.output, &output) != 0) {
        snprintf(reason, len, "config hook %s: out of memory", h->label);
        rc = -1;
    } else if (st == PC_OK && ev.output) {
        static const char *const tname[] = {"null", "boolean", "int", "double",
                                            "string", "array", "object"};
        if (doc_type_of(ev.output) != DOC_OBJECT) {
            snprintf(reason, len, "config hook %s: the rewritten AuthConfig is a %s, "
                                  "not an object", h->label, tname[doc_type_of(ev.output)]);
            rc = -1;
        } else if (!same_identity(*acp, output)) {
            snprintf(reason, len, "config hook %s: a rewrite may not change "
                                  "kind, metadata.name or metadata.namespace", h->label);
            rc = -1;
        } else {
            struct json_object *a = align(*acp, output, 0);
            if (!a) {
                snprintf(reason, len, "config hook %s: out of memory", h->label);
                rc = -1;
            } else {
                json_object_put(*acp);
                *acp = a;
            }
        }
    } else if (st != PC_OK) {
        const char *why = ev.has_reason ? ev.reason
                          : st == PC_DENY ? "rejected" : "failed";
        snprintf(reason, len, "config hook %s %s: %s", h->label,
                 st == PC_DENY ? "rejected the AuthConfig" : "failed", why);
        rc = -1;
    }
    json_object_put(output);
    evalctx_done(&ev);
    reqctx_clear(&rq);
    return rc;
}

int confhook_apply(struct json_object *ac, struct json_object **out, char *reason,
                   size_t len)
{
    struct json_object *cur = json_object_get(ac);
    for (size_t i = 0; i < g_n; i++) {
        if (run_one(&g_hooks[i], &cur, reason, len) < 0) {
            json_object_put(cur);
            *out = NULL;
            return -1;
        }
    }
    *out = cur;
    return 0;
}

void confhook_reset(void)
{
    for (size_t i = 0; i < g_n; i++)
        if (g_hooks[i].type->t.create && g_hooks[i].type->t.destroy)
            g_hooks[i].type->t.destroy(g_hooks[i].inst);
    memset(g_hooks, 0, sizeof g_hooks);
    g_n = 0;
}
