/*
 * Lua 5.4 evaluators: `lua` in authentication, metadata, authorization and
 * response; and the `lua` config hook (on_load, at the end of this file). The script is compiled once at create (a syntax error is a
 * config error); each evaluation calls its function (default `evaluate`)
 * with the Authorization JSON, which is also there as the globals
 * request, source, destination, metadata, auth and context.
 *
 * Results by phase:
 *   authorization   true / false, or {allowed = bool, reason = string}
 *   authentication  the identity (a table or value), or nil / false
 *   metadata        the metadata object
 *   response        the header or dynamic-metadata value
 * A second return value that is a string is the reason of a denial. Any
 * script error, the instruction budget and the memory cap fail closed:
 * the Lua message (with its line) is logged, the client only sees a
 * generic reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_bridge.h"
#include "lua_vm.h"

#define LP_DEFAULT_INSTRUCTIONS 1000000
#define LP_DEFAULT_MEMORY (4 << 20)
/* Longest script file read at create. */
#define LP_MAX_FILE (1 << 20)

#define LP_SCHEMA                                                               \
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"    \
    "\"script\":{\"type\":\"string\"},"                                        \
    "\"file\":{\"type\":\"string\"},"                                          \
    "\"function\":{\"type\":\"string\",\"default\":\"evaluate\","            \
    "\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"                               \
    "\"maxInstructions\":{\"type\":\"integer\",\"minimum\":100,"               \
    "\"maximum\":1000000000,\"default\":1000000},"                             \
    "\"maxMemory\":{\"type\":\"integer\",\"minimum\":65536,"                   \
    "\"maximum\":1073741824,\"default\":4194304}}}"

typedef struct lp_inst {
    const pc_host *host;
    pc_phase phase;
    lv_chunk chunk;
    char fname[64];
    lv_limits lim;
    char who[256];
} lp_inst;

static char *lp_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        /* The create context does not tell the AuthConfig's own file, so
         * a relative path is taken from the server's working directory. */
        snprintf(err, errlen, "file: cannot open %s%s: %s", path,
                 path[0] == '/' ? "" : " (relative to the working directory)",
                 strerror(errno));
        return NULL;
    }
    buf = malloc(LP_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n = fread(buf, 1, LP_MAX_FILE + 1, f);
    if (ferror(f) || n > LP_MAX_FILE) {
        snprintf(err, errlen, ferror(f) ? "file: cannot read %s"
                                        : "file: %s is larger than 1 MiB", path);
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The settings evaluators and hooks share: function (dflt when left out,
 * which the schema's default makes rare) and the limits. */
static void lp_settings(const pc_host *h, const pc_value *cfg, const char *dflt,
                        char *fname, size_t fnlen, lv_limits *lim)
{
    const pc_value *fn = h->value_get(cfg, "function");
    const pc_value *mi = h->value_get(cfg, "maxInstructions");
    const pc_value *mm = h->value_get(cfg, "maxMemory");
    snprintf(fname, fnlen, "%s", fn ? h->value_string(fn, NULL) : dflt);
    lim->max_instructions = mi ? h->value_int(mi) : LP_DEFAULT_INSTRUCTIONS;
    lim->max_memory = (size_t)(mm ? h->value_int(mm) : LP_DEFAULT_MEMORY);
}

static void *lp_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       pc_phase phase, char *err, size_t errlen)
{
    const pc_value *script = h->value_get(cfg, "script");
    const pc_value *file = h->value_get(cfg, "file");
    char name[300], *src = NULL;
    const char *text;
    size_t len = 0;
    lp_inst *in;

    if (!script == !file) {
        snprintf(err, errlen, "exactly one of script and file must be set");
        return NULL;
    }
    in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = h;
    in->phase = phase;
    lp_settings(h, cfg, "evaluate", in->fname, sizeof in->fname, &in->lim);
    snprintf(in->who, sizeof in->who, "lua %s/%s/%s",
             h->cc_authconfig_namespace(cc), h->cc_authconfig_name(cc),
             h->cc_evaluator_name(cc));
    if (file) {
        const char *path = h->value_string(file, NULL);
        src = lp_read_file(path, &len, err, errlen);
        if (!src) {
            free(in);
            return NULL;
        }
        text = src;
        snprintf(name, sizeof name, "%s", path);
    } else {
        text = h->value_string(script, &len);
        snprintf(name, sizeof name, "%s/%s", h->cc_authconfig_name(cc),
                 h->cc_evaluator_name(cc));
    }
    if (lv_compile(&in->chunk, name, text, len, err, errlen) < 0) {
        free(src);
        free(in);
        return NULL;
    }
    free(src);
    return in;
}

#define LP_CREATE(fn_, phase_)                                                  \
    static void *fn_(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg, \
                     char *err, size_t errlen)                                 \
    {                                                                          \
        return lp_create(h, cc, cfg, phase_, err, errlen);                     \
    }
LP_CREATE(lp_create_identity, PC_PHASE_IDENTITY)
LP_CREATE(lp_create_metadata, PC_PHASE_METADATA)
LP_CREATE(lp_create_authorization, PC_PHASE_AUTHORIZATION)
LP_CREATE(lp_create_response, PC_PHASE_RESPONSE)

static void lp_destroy(void *instance)
{
    lp_inst *in = instance;
    if (!in)
        return;
    /* Threads' caches keep the loaded chunk under its id until they fill
     * up; the id is never reused, so nothing runs it again. */
    lv_chunk_free(&in->chunk);
    free(in);
}

/* The reason of a denial: the second result if it is a string. */
static void lp_deny_reason(const lp_inst *in, pc_eval *ev, lua_State *L,
                           int idx, const char *dflt)
{
    size_t n;
    const char *r = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
    if (r)
        in->host->eval_set_reason(ev, "%.*s", (int)(n > 256 ? 256 : n), r);
    else
        in->host->eval_set_reason(ev, "%s", dflt);
}

static pc_status lp_fail(const lp_inst *in, pc_eval *ev, const char *what)
{
    in->host->log(PC_LOG_WARN, in->who, "%s", what);
    in->host->eval_set_reason(ev, "lua evaluation failed");
    return PC_ERROR;
}

static pc_status lp_authorization(const lp_inst *in, pc_eval *ev, lua_State *L)
{
    const pc_host *h = in->host;
    int allowed;

    if (lua_type(L, 1) == LUA_TBOOLEAN) {
        allowed = lua_toboolean(L, 1);
        if (!allowed) {
            lp_deny_reason(in, ev, L, 2, "Unauthorized");
            return PC_DENY;
        }
    } else if (lua_type(L, 1) == LUA_TTABLE) {
        /* Raw reads: a metamethod would run outside the sandbox's limits. */
        lua_pushliteral(L, "allowed");
        lua_rawget(L, 1);
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            return lp_fail(in, ev, "result: `allowed` must be a boolean");
        allowed = lua_toboolean(L, -1);
        lua_pushliteral(L, "reason");
        lua_rawget(L, 1);
        if (!allowed) {
            lp_deny_reason(in, ev, L, lua_gettop(L), "Unauthorized");
            return PC_DENY;
        }
    } else {
        char m[96];
        snprintf(m, sizeof m, "result: want a boolean or a table, got a %s",
                 luaL_typename(L, 1));
        return lp_fail(in, ev, m);
    }
    pc_value *v = h->value_new_bool(ev, 1);
    if (!v)
        return lp_fail(in, ev, "out of memory");
    h->eval_set_output(ev, v);
    return PC_OK;
}

static pc_status lp_evaluate(void *instance, pc_eval *ev)
{
    const lp_inst *in = instance;
    const pc_host *h = in->host;
    lv_thread *t = lv_thread_get();
    lv_eval e = {h, ev, in->who};
    char err[512];
    pc_status st;

    if (!t) {
        h->eval_set_reason(ev, "lua: out of memory");
        return PC_ERROR;
    }
    if (lv_run(t, &in->chunk, in->fname, &in->lim, &e, err, sizeof err) < 0) {
        lv_end(t);
        return lp_fail(in, ev, err);
    }
    lua_State *L = t->L;
    if (in->phase == PC_PHASE_AUTHORIZATION) {
        st = lp_authorization(in, ev, L);
    } else if (in->phase == PC_PHASE_IDENTITY &&
               (lua_isnil(L, 1) || (lua_type(L, 1) == LUA_TBOOLEAN && !lua_toboolean(L, 1)))) {
        lp_deny_reason(in, ev, L, 2, "identity not found");
        st = PC_DENY;
    } else {
        pc_value *v = NULL;
        if (lb_to_value(L, 1, h, ev, &v, err, sizeof err) < 0) {
            char m[600];
            snprintf(m, sizeof m, "result: %s", err);
            st = lp_fail(in, ev, m);
        } else {
            h->eval_set_output(ev, v);
            st = PC_OK;
        }
    }
    lv_end(t);
    return st;
}

/* ---- the config hook: on_load(authconfig) ---- */

#define LH_SCHEMA                                                               \
    "{\"type\":\"object\",\"additionalProperties\":false,"                    \
    "\"required\":[\"file\"],\"properties\":{"                                 \
    "\"file\":{\"type\":\"string\",\"minLength\":1},"                          \
    "\"function\":{\"type\":\"string\",\"default\":\"on_load\","             \
    "\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]*$\"},"                               \
    "\"maxInstructions\":{\"type\":\"integer\",\"minimum\":100,"               \
    "\"maximum\":1000000000,\"default\":1000000},"                             \
    "\"maxMemory\":{\"type\":\"integer\",\"minimum\":65536,"                   \
    "\"maximum\":1073741824,\"default\":4194304}}}"

typedef struct lh_hook {
    const pc_host *host;
    lv_chunk chunk;
    char fname[64];
    lv_limits lim;
    char who[300];
} lh_hook;

static void *lh_create(const pc_host *h, const pc_value *cfg, char *err, size_t errlen)
{
    const char *path = h->value_string(h->value_get(cfg, "file"), NULL);
    size_t len = 0;
    char *src;
    lh_hook *k = calloc(1, sizeof *k);

    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->host = h;
    lp_settings(h, cfg, "on_load", k->fname, sizeof k->fname, &k->lim);
    snprintf(k->who, sizeof k->who, "lua config hook %s", path);
    src = lp_read_file(path, &len, err, errlen);
    if (!src) {
        free(k);
        return NULL;
    }
    if (lv_compile(&k->chunk, path, src, len, err, errlen) < 0) {
        free(src);
        free(k);
        return NULL;
    }
    free(src);
    k->chunk.hook = 1;
    return k;
}

static void lh_destroy(void *hook)
{
    lh_hook *k = hook;
    if (!k)
        return;
    lv_chunk_free(&k->chunk);
    free(k);
}

/* Results: a table is the rewritten AuthConfig; nothing (or true) keeps
 * it; nil or false with a reason, or false alone, rejects it. */
static pc_status lh_on_load(void *hook, pc_eval *ev)
{
    const lh_hook *k = hook;
    const pc_host *h = k->host;
    lv_thread *t = lv_thread_get();
    lv_eval e = {h, ev, k->who};
    char err[512];
    pc_status st = PC_OK;

    if (!t) {
        h->eval_set_reason(ev, "lua: out of memory");
        return PC_ERROR;
    }
    if (lv_run(t, &k->chunk, k->fname, &k->lim, &e, err, sizeof err) < 0) {
        lv_end(t);
        h->eval_set_reason(ev, "%s", err);
        return PC_ERROR;
    }
    lua_State *L = t->L;
    int ty = lua_type(L, 1);
    if (ty == LUA_TTABLE) {
        pc_value *v = NULL;
        if (lb_to_value(L, 1, h, ev, &v, err, sizeof err) < 0) {
            h->eval_set_reason(ev, "result: %s", err);
            st = PC_ERROR;
        } else {
            h->eval_set_output(ev, v);
        }
    } else if ((ty == LUA_TNIL && lua_type(L, 2) == LUA_TSTRING) ||
               (ty == LUA_TBOOLEAN && !lua_toboolean(L, 1))) {
        size_t n = 0;
        const char *r = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &n) : NULL;
        if (r)
            h->eval_set_reason(ev, "%.*s", (int)(n > 400 ? 400 : n), r);
        else
            h->eval_set_reason(ev, "%s returned false", k->fname);
        st = PC_DENY;
    } else if (ty != LUA_TNIL && !(ty == LUA_TBOOLEAN && lua_toboolean(L, 1))) {
        h->eval_set_reason(ev, "result: want the AuthConfig (a table), nothing, or "
                               "nil and a reason; got a %s", luaL_typename(L, 1));
        st = PC_ERROR;
    }
    lv_end(t);
    return st;
}

static const pc_config_hook_type lh_type = {
    .struct_size = sizeof(pc_config_hook_type),
    .name = "lua",
    .config_schema = LH_SCHEMA,
    .create = lh_create,
    .destroy = lh_destroy,
    .on_load = lh_on_load,
};

static const pc_config_hook_type *const lh_types[] = {&lh_type, NULL};

#define LP_TYPE(var_, phase_, create_)                                          \
    static const pc_evaluator_type var_ = {                                    \
        .struct_size = sizeof(pc_evaluator_type),                              \
        .flags = 0,                                                            \
        .phase = phase_,                                                       \
        .name = "lua",                                                         \
        .config_schema = LP_SCHEMA,                                            \
        .create = create_,                                                     \
        .destroy = lp_destroy,                                                 \
        .evaluate = lp_evaluate,                                               \
    };
LP_TYPE(lp_identity, PC_PHASE_IDENTITY, lp_create_identity)
LP_TYPE(lp_metadata, PC_PHASE_METADATA, lp_create_metadata)
LP_TYPE(lp_authz, PC_PHASE_AUTHORIZATION, lp_create_authorization)
LP_TYPE(lp_response, PC_PHASE_RESPONSE, lp_create_response)

static const pc_evaluator_type *const lp_types[] = {
    &lp_identity, &lp_metadata, &lp_authz, &lp_response, NULL};

PC_PLUGIN_DEFINE_HOOKS("lua_evaluators", PC_BUILTIN_VERSION,
                       "Lua 5.4 policies: authentication, metadata, authorization "
                       "and response evaluators, and the config hook on_load",
                       lp_types, NULL, lh_types)
