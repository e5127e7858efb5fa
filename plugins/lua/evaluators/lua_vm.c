/*
 * lua_vm.c - per-thread Lua states and one evaluation's run.
 *
 * Each thread that evaluates gets its own lua_State (Lua states are not
 * thread-safe), made on first use and reused for every request after. A
 * script's bytecode is loaded into a thread's state once and kept in a
 * cache keyed by the instance's id. Every evaluation gets a fresh global
 * table whose __index is the request and the read-only library, and the
 * chunk's top level runs again in it, so nothing a script assigns (global
 * or upvalue of the chunk) survives into the next request.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_bridge.h"
#include "lua_lib.h"
#include "lua_vm.h"

/* Bytes a thread's state may hold between evaluations (library, cached
 * chunks); an evaluation may add its instance's maxMemory on top. */
#define LV_STATE_MAX ((size_t)64 << 20)
/* Loaded chunks kept per thread; past it the cache starts over (instances
 * of older config snapshots go with it). */
#define LV_MAX_CHUNKS 256
/* Instructions between two calls of the budget hook. */
#define LV_HOOK_STEP 1000

/* Registry slots of a thread's state. */
#define LV_REG_CHUNKS "portcullis.chunks"
#define LV_REG_ENVMT "portcullis.envmt"
#define LV_REG_ROOTS "portcullis.roots"
#define LV_REG_INPUT "portcullis.input"

/* The request globals: views re-pointed at each evaluation's document. */
static const char *const lv_roots[] = {"request", "source", "destination",
                                       "metadata", "auth", "context", NULL};

static pthread_key_t lv_key;
static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static _Thread_local lv_thread *lv_tls;

static void *lv_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lv_thread *t = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        t->used -= old;
        free(ptr);
        return NULL;
    }
    if (nsize > old && nsize - old > t->limit - t->used) {
        t->mem_exceeded = 1;
        return NULL;
    }
    p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    t->used = t->used - old + nsize;
    return p;
}

static void lv_hook(lua_State *L, lua_Debug *ar)
{
    lv_thread *t = lv_tls;
    (void)ar;
    if (!t)
        return;
    t->budget -= LV_HOOK_STEP;
    if (t->budget < 0 || t->budget_exceeded) {
        /* From now on every instruction raises, so a pcall in the script
         * cannot swallow the error and carry on. */
        t->budget_exceeded = 1;
        lua_sethook(L, lv_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction budget exceeded");
    }
}

static void lv_thread_free(void *p)
{
    lv_thread *t = p;
    if (!t)
        return;
    if (t->L)
        lua_close(t->L);
    ll_re_cache_free(t->re_cache);
    free(t);
    if (lv_tls == t)
        lv_tls = NULL;
}

static void lv_key_init(void)
{
    (void)pthread_key_create(&lv_key, lv_thread_free);
}

/* Builds the state's fixed parts; runs unprotected calls only where they
 * cannot fail, the rest inside lua_pcall (lv_setup_protected). */
static int lv_setup_protected(lua_State *L)
{
    lb_open(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LV_REG_CHUNKS);

    /* roots: a table of views, its own __index the library. */
    lua_newtable(L);                       /* roots, re-pointed per evaluation */
    for (int i = 0; lv_roots[i]; i++) {
        lb_push_root(L, lv_roots[i]);
        lua_setfield(L, -2, lv_roots[i]);
    }
    lb_push_root(L, "");                   /* the argument of the function */
    lua_setfield(L, LUA_REGISTRYINDEX, LV_REG_INPUT);
    lua_newtable(L);                       /* roots' metatable */
    ll_push_library(L);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, LV_REG_ROOTS);

    /* The metatable of every evaluation's globals. */
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LV_REG_ROOTS);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, LV_REG_ENVMT);
    return 0;
}

lv_thread *lv_thread_current(void)
{
    return lv_tls;
}

lv_thread *lv_thread_get(void)
{
    lv_thread *t = lv_tls;
    if (t)
        return t;
    (void)pthread_once(&lv_once, lv_key_init);
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->limit = LV_STATE_MAX;
    t->L = lua_newstate(lv_alloc, t);
    if (!t->L) {
        free(t);
        return NULL;
    }
    lv_tls = t;
    /* Generational GC: each evaluation leaves short-lived garbage only. */
    lua_gc(t->L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(t->L, lv_setup_protected);
    if (lua_pcall(t->L, 0, 0, 0) != LUA_OK) {
        lv_tls = NULL;
        lua_close(t->L);
        free(t);
        return NULL;
    }
    (void)pthread_setspecific(lv_key, t);
    return t;
}

/* ---- compiling ---- */

static int lv_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    lv_chunk *c = ud;
    char *n;
    (void)L;
    n = realloc(c->code, c->len + sz);
    if (!n)
        return 1;
    memcpy(n + c->len, p, sz);
    c->code = n;
    c->len += sz;
    return 0;
}

static atomic_uint_fast64_t lv_next_id = 1;

int lv_compile(lv_chunk *c, const char *name, const char *src, size_t len,
               char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    int rc = -1;

    memset(c, 0, sizeof *c);
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->name = malloc(strlen(name) + 2);
    if (!c->name) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->name[0] = '=';
    strcpy(c->name + 1, name);
    /* Text only: bytecode can break the VM's invariants. */
    if (luaL_loadbufferx(L, src, len, c->name, "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        goto out;
    }
    if (lua_dump(L, lv_writer, c, 0) != 0 || !c->code) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->id = atomic_fetch_add(&lv_next_id, 1);
    rc = 0;
out:
    lua_close(L);
    if (rc)
        lv_chunk_free(c);
    return rc;
}

void lv_chunk_free(lv_chunk *c)
{
    free(c->name);
    free(c->code);
    memset(c, 0, sizeof *c);
}

/* ---- running ---- */

typedef struct lv_call {
    const lv_chunk *chunk;
    const char *fname;
} lv_call;

/* Pushes the instance's main function, loading it on the first use. */
static void lv_push_chunk(lua_State *L, lv_thread *t, const lv_chunk *c)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LV_REG_CHUNKS);
    if (lua_rawgeti(L, -1, (lua_Integer)c->id) == LUA_TFUNCTION) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    if (t->n_chunks >= LV_MAX_CHUNKS) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, LV_REG_CHUNKS);
        t->n_chunks = 0;
    }
    /* Our own dump of a text chunk, made at create. */
    if (luaL_loadbufferx(L, c->code, c->len, c->name, "b") != LUA_OK)
        lua_error(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, (lua_Integer)c->id);
    t->n_chunks++;
    lua_remove(L, -2);
}

/* Protected body of one evaluation: returns the function's two results. */
static int lv_body(lua_State *L)
{
    lv_call *call = lua_touserdata(L, 1);
    lv_thread *t = lv_tls;

    lua_settop(L, 0);
    lua_pushnil(L);                                              /* 1 */
    lv_push_chunk(L, t, call->chunk);                            /* 2 */
    lua_createtable(L, 0, 4);                                    /* 3: env */
    lua_getfield(L, LUA_REGISTRYINDEX, LV_REG_ENVMT);
    lua_setmetatable(L, 3);
    lua_pushvalue(L, 3);
    if (!lua_setupvalue(L, 2, 1))
        lua_pop(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 0, 0);
    if (lua_getfield(L, 3, call->fname) != LUA_TFUNCTION)
        return luaL_error(L, "the script defines no function '%s'", call->fname);
    lua_getfield(L, LUA_REGISTRYINDEX, LV_REG_INPUT);
    lua_call(L, 1, 2);
    return 2;
}

int lv_run(lv_thread *t, const lv_chunk *c, const char *fname,
           const lv_limits *lim, const lv_eval *e, char *err, size_t errlen)
{
    lua_State *L = t->L;
    lv_call call = {c, fname};
    int64_t step = lim->max_instructions < LV_HOOK_STEP ? lim->max_instructions
                                                        : LV_HOOK_STEP;
    int rc;

    lua_settop(L, 0);
    t->gen++;
    t->cur = *e;
    t->mem_exceeded = 0;
    t->budget_exceeded = 0;
    t->budget = lim->max_instructions - (LV_HOOK_STEP - step);
    t->limit = t->used + lim->max_memory;
    lua_sethook(L, lv_hook, LUA_MASKCOUNT, (int)step);
    lua_pushcfunction(L, lv_body);
    lua_pushlightuserdata(L, &call);
    rc = lua_pcall(L, 1, 2, 0);
    lua_sethook(L, NULL, 0, 0);
    if (t->budget_exceeded) {
        snprintf(err, errlen, "instruction budget exceeded (maxInstructions %lld)",
                 (long long)lim->max_instructions);
        return -1;
    }
    if (t->mem_exceeded) {
        snprintf(err, errlen, "memory limit exceeded (maxMemory %zu bytes)",
                 lim->max_memory);
        return -1;
    }
    if (rc != LUA_OK) {
        const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (m)
            snprintf(err, errlen, "%s", m);
        else
            snprintf(err, errlen, "error object is a %s value", luaL_typename(L, -1));
        return -1;
    }
    return 0;
}

void lv_end(lv_thread *t)
{
    lua_settop(t->L, 0);
    t->limit = LV_STATE_MAX > t->used ? LV_STATE_MAX : t->used;
    t->cur.ev = NULL;
    t->gen++;
}
