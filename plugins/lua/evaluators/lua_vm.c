/*
 * lua_vm.c - per-thread Lua states and one evaluation's run.
 *
 * Each thread that evaluates gets its own lua_State (Lua states are not
 * thread-safe), made on first use and reused for every request after. A
 * script's bytecode is loaded into a thread's state once and kept in a
 * cache keyed by the instance's id. The chunk's top level runs again in
 * every evaluation, in an environment that is emptied after each one, so
 * nothing a script assigns (global or upvalue of the chunk) survives into
 * the next request (see "running" below).
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
/* Free lists of small blocks: classes of LV_FL_STEP bytes up to
 * LV_FL_CLASSES * LV_FL_STEP, at most LV_FL_KEEP blocks each. */
#define LV_FL_STEP 16
#define LV_FL_KEEP 512
/* Instructions between two calls of the budget hook. */
#define LV_HOOK_STEP 1000

/* A chunk's environment holding more keys than this after an evaluation
 * is dropped with its cache entry rather than kept at that size. */
#define LV_ENV_MAX_KEYS 64

/* The request globals: views re-pointed at each evaluation's document. */
static const char *const lv_roots[] = {"request", "source", "destination",
                                       "metadata", "auth", "context", NULL};

/* Fields of a chunk's cache entry (a table in the chunk cache). */
enum { LV_ENT_MAIN = 1, LV_ENT_ENV = 2, LV_ENT_FN = 3 };

static pthread_key_t lv_key;
static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static _Thread_local lv_thread *lv_tls;

/* Small blocks (most of what an evaluation allocates: views, strings,
 * closures, small tables) are kept on per-thread free lists by size class
 * and handed out again without a trip through malloc; a block of class c
 * is always (c + 1) * LV_FL_STEP bytes, so any size of its class fits. The
 * lists hold at most LV_FL_KEEP blocks each (512 KiB a thread in all),
 * outside the memory accounting, which counts what Lua asked for. */
static size_t lv_fl_class(size_t n)
{
    return n - 1 < LV_FL_CLASSES * LV_FL_STEP ? (n - 1) / LV_FL_STEP : LV_FL_CLASSES;
}

static void lv_fl_release(lv_thread *t, void *p, size_t size)
{
    size_t c = lv_fl_class(size);
    if (c < LV_FL_CLASSES && t->fl_n[c] < LV_FL_KEEP) {
        *(void **)p = t->fl[c];
        t->fl[c] = p;
        t->fl_n[c]++;
    } else {
        free(p);
    }
}

static void *lv_fl_take(lv_thread *t, size_t size)
{
    size_t c = lv_fl_class(size);
    void *p;
    if (c >= LV_FL_CLASSES)
        return malloc(size);
    if ((p = t->fl[c])) {
        t->fl[c] = *(void **)p;
        t->fl_n[c]--;
        return p;
    }
    return malloc((c + 1) * LV_FL_STEP);
}

static void lv_fl_drain(lv_thread *t)
{
    for (size_t c = 0; c < LV_FL_CLASSES; c++) {
        while (t->fl[c]) {
            void *p = t->fl[c];
            t->fl[c] = *(void **)p;
            free(p);
        }
        t->fl_n[c] = 0;
    }
}

static void *lv_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lv_thread *t = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        t->used -= old;
        if (ptr)
            lv_fl_release(t, ptr, old);
        return NULL;
    }
    if (nsize > old && nsize - old > t->limit - t->used) {
        t->mem_exceeded = 1;
        return NULL;
    }
    if (!ptr) {
        p = lv_fl_take(t, nsize);
    } else if (lv_fl_class(old) == lv_fl_class(nsize) &&
               lv_fl_class(nsize) < LV_FL_CLASSES) {
        p = ptr;                          /* the block already fits */
    } else if (lv_fl_class(old) >= LV_FL_CLASSES &&
               lv_fl_class(nsize) >= LV_FL_CLASSES) {
        p = realloc(ptr, nsize);
    } else {
        p = lv_fl_take(t, nsize);
        if (p) {
            memcpy(p, ptr, old < nsize ? old : nsize);
            lv_fl_release(t, ptr, old);
        }
    }
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
    lv_fl_drain(t);
    ll_re_cache_free(t->re_cache);
    free(t);
    if (lv_tls == t)
        lv_tls = NULL;
}

static void lv_key_init(void)
{
    (void)pthread_key_create(&lv_key, lv_thread_free);
}

/* Pushes a metatable for environments: reads fall through to the table
 * on top (popped), the metatable itself is hidden from scripts. */
static void lv_push_envmt(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_insert(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
}

/* Builds the state's fixed parts inside lua_pcall; every slot is an
 * integer registry reference, so reaching one per evaluation neither
 * hashes a string nor allocates. */
static int lv_setup_protected(lua_State *L)
{
    lv_thread *t = lua_touserdata(L, 1);

    lb_open(L);
    lua_newtable(L);
    t->ref_chunks = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushboolean(L, 0);
    t->ref_cur = luaL_ref(L, LUA_REGISTRYINDEX);

    ll_push_library(L);                    /* the library, read-only */
    lua_pushvalue(L, -1);
    lv_push_envmt(L);                      /* config hooks: library only */
    t->ref_hookmt = luaL_ref(L, LUA_REGISTRYINDEX);

    /* roots: a table of views, its own __index the library. */
    lua_newtable(L);                       /* roots, re-pointed per evaluation */
    for (int i = 0; lv_roots[i]; i++) {
        lb_push_root(L, lv_roots[i]);
        lua_setfield(L, -2, lv_roots[i]);
    }
    lua_insert(L, -2);
    lv_push_envmt(L);
    lua_setmetatable(L, -2);
    lv_push_envmt(L);                      /* evaluators: roots, then library */
    t->ref_envmt = luaL_ref(L, LUA_REGISTRYINDEX);

    lb_push_root(L, "");                   /* the argument of the function */
    t->ref_input = luaL_ref(L, LUA_REGISTRYINDEX);
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
        lv_fl_drain(t);
        free(t);
        return NULL;
    }
    lv_tls = t;
    /* Generational GC: each evaluation leaves short-lived garbage only. */
    lua_gc(t->L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(t->L, lv_setup_protected);
    lua_pushlightuserdata(t->L, t);
    if (lua_pcall(t->L, 1, 0, 0) != LUA_OK) {
        lv_tls = NULL;
        lua_close(t->L);
        lv_fl_drain(t);
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

/* ---- running ----
 *
 * Each chunk has, per thread, one environment table E that its main
 * function sees as _ENV (set once, when the chunk is loaded). An
 * evaluation runs the main function again, so top-level locals (the
 * upvalues of the functions it defines) start afresh, then calls the
 * function; every global the script assigns lands in E, whose metatable
 * only reads through to the request and the library. lv_end empties E, so
 * the next evaluation starts from the same empty table: no environment is
 * made, given a metatable or collected per evaluation.
 *
 * Most scripts' top level only defines functions. When it provably makes
 * the same thing every time (lv_cacheable), its definitions are kept below
 * E (lv_promote) and later evaluations call the function at once; what a
 * script assigns still lands in E and is emptied, so it sees exactly what
 * a fresh run would. */

typedef struct lv_call {
    const lv_chunk *chunk;
    const char *fname;
} lv_call;

/* Loads the chunk into the thread's cache: {main, E}. Leaves the entry on
 * the stack. The chunk table is at index ct. */
static void lv_load_chunk(lua_State *L, lv_thread *t, const lv_chunk *c, int ct)
{
    if (t->n_chunks >= LV_MAX_CHUNKS) {
        lua_newtable(L);
        lua_replace(L, ct);
        lua_pushvalue(L, ct);
        lua_rawseti(L, LUA_REGISTRYINDEX, t->ref_chunks);
        t->n_chunks = 0;
    }
    lua_createtable(L, 2, 0);                                    /* entry */
    /* Our own dump of a text chunk, made at create. */
    if (luaL_loadbufferx(L, c->code, c->len, c->name, "b") != LUA_OK)
        lua_error(L);
    lua_newtable(L);                                             /* E */
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->hook ? t->ref_hookmt : t->ref_envmt);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    if (!lua_setupvalue(L, -3, 1))
        lua_pop(L, 1);
    lua_rawseti(L, -3, LV_ENT_ENV);
    lua_rawseti(L, -2, LV_ENT_MAIN);
    lua_pushvalue(L, -1);
    lua_rawseti(L, ct, (lua_Integer)c->id);
    t->n_chunks++;
}

/* 1 if what the top level left in E (at index e) makes the same
 * functions whenever it runs: it read neither the request nor anything
 * else of the evaluation (time, random numbers, the log), and E holds only
 * strings, numbers, booleans, C functions and Lua functions whose only
 * upvalue is E itself (no top-level local they could change, no table
 * they could fill). */
static int lv_cacheable(lua_State *L, lv_thread *t, int e)
{
    int ok = !t->impure;
    lua_pushnil(L);
    while (ok && lua_next(L, e)) {
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
        case LUA_TNUMBER:
        case LUA_TBOOLEAN:
            break;
        case LUA_TFUNCTION:
            if (lua_iscfunction(L, -1))
                break;
            for (int n = 1; ok && lua_getupvalue(L, -1, n); n++) {
                ok = lua_rawequal(L, -1, e);
                lua_pop(L, 1);
            }
            break;
        default:
            ok = 0;
        }
        lua_pop(L, 1);
    }
    if (!ok)
        lua_pop(L, 1);     /* the key lua_next left */
    return ok;
}

/* Keeps what the top level defined for the next evaluations: its globals
 * move to a table B that E reads through (E, B, request, library), E is
 * emptied as after every evaluation, and the function is remembered in the
 * entry (at index ent), so the top level does not run again. */
static void lv_promote(lua_State *L, lv_thread *t, int ent, int e, const char *fname)
{
    lua_newtable(L);                                             /* B */
    int b = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, e)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, b);
    }
    lua_pushnil(L);
    while (lua_next(L, b)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, e);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_envmt);
    lua_setmetatable(L, b);
    lua_getfield(L, b, fname);
    lua_rawseti(L, ent, LV_ENT_FN);
    lv_push_envmt(L);                                            /* pops B */
    lua_setmetatable(L, e);
}

/* Protected body of one evaluation: returns the function's two results. */
static int lv_body(lua_State *L)
{
    lv_call *call = lua_touserdata(L, 1);
    lv_thread *t = lv_tls;
    const lv_chunk *c = call->chunk;

    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_chunks);            /* 1 */
    if (lua_rawgeti(L, 1, (lua_Integer)c->id) != LUA_TTABLE) {   /* 2: entry */
        lua_pop(L, 1);
        lv_load_chunk(L, t, c, 1);
    }
    lua_rawgeti(L, 2, LV_ENT_ENV);                               /* 3: E */
    lua_pushvalue(L, 3);
    lua_rawseti(L, LUA_REGISTRYINDEX, t->ref_cur);
    t->cur_id = c->id;
    int fnt = lua_rawgeti(L, 2, LV_ENT_FN);      /* function, false: not kept, nil */
    if (fnt != LUA_TFUNCTION) {
        lua_pop(L, 1);
        t->impure = 0;
        lua_rawgeti(L, 2, LV_ENT_MAIN);
        lua_call(L, 0, 0);
        if (fnt == LUA_TNIL && !c->hook) {
            if (lv_cacheable(L, t, 3)) {
                lv_promote(L, t, 2, 3, call->fname);
            } else {
                lua_pushboolean(L, 0);
                lua_rawseti(L, 2, LV_ENT_FN);
            }
        }
        if (lua_getfield(L, 3, call->fname) != LUA_TFUNCTION)
            return luaL_error(L, "the script defines no function '%s'", call->fname);
    }
    if (c->hook) {
        lb_push_plain(L, t->cur.host, t->cur.host->eval_root(t->cur.ev));
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_input);
    }
    lua_call(L, 1, 2);
    return 2;
}

/* Empties the environment of the evaluation that ran last (unprotected:
 * removing existing keys neither allocates nor raises). */
static void lv_clear_env(lv_thread *t)
{
    lua_State *L = t->L;
    int n = 0;

    if (lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_cur) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
        n++;
    }
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    lua_rawseti(L, LUA_REGISTRYINDEX, t->ref_cur);
    if (n > LV_ENV_MAX_KEYS) {
        /* Keep no table at the size one script blew it up to: the chunk
         * loads again on its next use. */
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_chunks);
        lua_pushnil(L);
        lua_rawseti(L, -2, (lua_Integer)t->cur_id);
        lua_pop(L, 1);
    }
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
    lv_clear_env(t);
    t->limit = LV_STATE_MAX > t->used ? LV_STATE_MAX : t->used;
    t->cur.ev = NULL;
    t->gen++;
}
