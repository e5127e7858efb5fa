/*
 * lua_bridge.c - JSON values to Lua and back.
 *
 * A view is a small userdata {value, generation}: indexing it reads the
 * document with the host's accessors, so a script that looks at two
 * headers costs two lookups, not a conversion of the request. The
 * generation ties a view to one evaluation: the values are borrowed and
 * die with it, so a view that somehow survived reads as an error.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_bridge.h"
#include "lua_vm.h"

#define LB_VIEW_MT "portcullis.view"

typedef struct lb_view {
    const pc_value *v;
    uint32_t gen;
    /* Request globals only: the member of the root they show ("" for the
     * root itself), looked up on first use in each evaluation. */
    const char *root_key;
} lb_view;

/* Registry index of the view metatable (integer keys are the fast path). */
static _Thread_local int lb_mt_ref = LUA_NOREF;

static const pc_host *lb_host(lua_State *L)
{
    lv_thread *t = lv_thread_current();
    if (!t || !t->cur.host)
        luaL_error(L, "request view used outside an evaluation");
    return t->cur.host;
}

/* The metamethods are only reachable through the view metatable, which
 * scripts cannot read (__metatable is set), so argument 1 is a view. */
static const pc_value *lb_check(lua_State *L, int idx)
{
    lb_view *w = lua_touserdata(L, idx);
    lv_thread *t = lv_thread_current();
    if (!t)
        luaL_error(L, "request view used outside an evaluation");
    t->impure = 1;   /* a top level that reads the request runs every time */
    if (w->gen != t->gen) {
        const pc_value *root;
        pc_type ty;
        if (!w->root_key || !t->cur.ev)
            luaL_error(L, "request view used after its evaluation");
        root = t->cur.host->eval_root(t->cur.ev);
        if (*w->root_key)
            root = root ? t->cur.host->value_get(root, w->root_key) : NULL;
        ty = root ? t->cur.host->value_type(root) : PC_TYPE_NULL;
        w->v = ty == PC_TYPE_OBJECT || ty == PC_TYPE_ARRAY ? root : NULL;
        w->gen = t->gen;
    }
    return w->v;
}

static void lb_set_mt(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb_mt_ref);
    lua_setmetatable(L, -2);
}

void lb_push_view(lua_State *L, const pc_host *h, const pc_value *v)
{
    switch (v ? h->value_type(v) : PC_TYPE_NULL) {
    case PC_TYPE_NULL: lua_pushnil(L); return;
    case PC_TYPE_BOOL: lua_pushboolean(L, h->value_bool(v)); return;
    case PC_TYPE_INT: lua_pushinteger(L, (lua_Integer)h->value_int(v)); return;
    case PC_TYPE_DOUBLE: lua_pushnumber(L, h->value_double(v)); return;
    case PC_TYPE_STRING: {
        size_t n = 0;
        const char *s = h->value_string(v, &n);
        lua_pushlstring(L, s ? s : "", n);
        return;
    }
    default: {
        lb_view *w = lua_newuserdatauv(L, sizeof *w, 0);
        lv_thread *t = lv_thread_current();
        w->v = v;
        w->gen = t ? t->gen : 0;
        w->root_key = NULL;
        lb_set_mt(L);
        return;
    }
    }
}

void lb_push_root(lua_State *L, const char *key)
{
    lb_view *w = lua_newuserdatauv(L, sizeof *w, 0);
    w->v = NULL;
    w->gen = 0;
    w->root_key = key;
    lb_set_mt(L);
}

int lb_is_view(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, LB_VIEW_MT) != NULL;
}

static int lb_index(lua_State *L)
{
    const pc_value *v = lb_check(L, 1);
    const pc_host *h = lv_thread_current()->cur.host;  /* lb_check ensured it */
    const pc_value *r = NULL;

    if (v && h->value_type(v) == PC_TYPE_ARRAY) {
        lua_Integer i;
        int isint = 0;
        i = lua_tointegerx(L, 2, &isint);
        if (isint && i >= 1 && (lua_Unsigned)i <= h->value_length(v))
            r = h->value_at(v, (size_t)(i - 1));
    } else if (v && lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *k = lua_tolstring(L, 2, &n);
        /* value_get takes a C string: a key with a NUL cannot match. */
        if (strlen(k) == n)
            r = h->value_get(v, k);
    }
    lb_push_view(L, h, r);
    return 1;
}

static int lb_newindex(lua_State *L)
{
    return luaL_error(L, "the request is read-only");
}

static int lb_len(lua_State *L)
{
    const pc_value *v = lb_check(L, 1);
    const pc_host *h = lb_host(L);
    /* Objects have no sequence part, as an empty Lua table. */
    lua_pushinteger(L, v && h->value_type(v) == PC_TYPE_ARRAY
                           ? (lua_Integer)h->value_length(v) : 0);
    return 1;
}

/* pairs: arrays by index; objects through their keys, collected once per
 * loop (value_foreach is a callback, so the iterator keeps a key list). */
static int lb_collect(void *arg, const char *key, const pc_value *val)
{
    lua_State *L = arg;
    (void)val;
    lua_pushstring(L, key);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int lb_next(lua_State *L)
{
    const pc_value *v = lb_check(L, 1);
    const pc_host *h = lb_host(L);
    /* upvalue 1: key list (objects) or nil (arrays); upvalue 2: position. */
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(2)) + 1;
    lua_pushinteger(L, pos);
    lua_replace(L, lua_upvalueindex(2));
    if (lua_isnil(L, lua_upvalueindex(1))) {
        if ((lua_Unsigned)pos > h->value_length(v))
            return 0;
        lua_pushinteger(L, pos);
        lb_push_view(L, h, h->value_at(v, (size_t)(pos - 1)));
        return 2;
    }
    if (lua_rawgeti(L, lua_upvalueindex(1), pos) == LUA_TNIL)
        return 0;
    lb_push_view(L, h, h->value_get(v, lua_tostring(L, -1)));
    return 2;
}

static int lb_pairs(lua_State *L)
{
    const pc_value *v = lb_check(L, 1);
    const pc_host *h = lb_host(L);
    if (v && h->value_type(v) == PC_TYPE_OBJECT) {
        lua_createtable(L, (int)h->value_length(v), 0);
        h->value_foreach(v, lb_collect, L);
    } else {
        lua_pushnil(L);
    }
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, lb_next, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int lb_tostring(lua_State *L)
{
    const pc_value *v = lb_check(L, 1);
    const pc_host *h = lb_host(L);
    size_t n = 0;
    const char *s = v ? h->value_text(v, &n) : "null";
    lua_pushlstring(L, s ? s : "", v ? n : 4);
    return 1;
}

void lb_open(lua_State *L)
{
    static const luaL_Reg mt[] = {
        {"__index", lb_index}, {"__newindex", lb_newindex},
        {"__len", lb_len}, {"__pairs", lb_pairs},
        {"__tostring", lb_tostring}, {NULL, NULL}};
    luaL_newmetatable(L, LB_VIEW_MT);
    luaL_setfuncs(L, mt, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lb_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---- full conversion (json.decode) ---- */

typedef struct lb_plain_ctx {
    lua_State *L;
    const pc_host *h;
    int depth;
} lb_plain_ctx;

static void lb_plain(lb_plain_ctx *c, const pc_value *v);

static int lb_plain_member(void *arg, const char *key, const pc_value *val)
{
    lb_plain_ctx *c = arg;
    lb_plain(c, val);
    lua_setfield(c->L, -2, key);
    return 0;
}

static void lb_plain(lb_plain_ctx *c, const pc_value *v)
{
    lua_State *L = c->L;
    const pc_host *h = c->h;
    pc_type ty = v ? h->value_type(v) : PC_TYPE_NULL;

    if (ty == PC_TYPE_NULL) {
        /* json.null keeps array positions and object keys. */
        lua_pushlightuserdata(L, NULL);
        return;
    }
    if (ty != PC_TYPE_ARRAY && ty != PC_TYPE_OBJECT) {
        lb_push_view(L, h, v);
        return;
    }
    if (++c->depth > LB_MAX_DEPTH)
        luaL_error(L, "json: nested deeper than %d", LB_MAX_DEPTH);
    luaL_checkstack(L, 4, "json: too deep");
    if (ty == PC_TYPE_ARRAY) {
        size_t n = h->value_length(v);
        lua_createtable(L, n > 1024 ? 1024 : (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            lb_plain(c, h->value_at(v, i));
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    } else {
        lua_createtable(L, 0, 4);
        h->value_foreach(v, lb_plain_member, c);
    }
    c->depth--;
}

void lb_push_plain(lua_State *L, const pc_host *h, const pc_value *v)
{
    lb_plain_ctx c = {L, h, 0};
    if (!v || h->value_type(v) == PC_TYPE_NULL)
        lua_pushnil(L);   /* json.null marks nulls inside containers only */
    else
        lb_plain(&c, v);
}

/* ---- Lua to JSON ---- */

typedef struct lb_out_ctx {
    lua_State *L;
    const pc_host *h;
    pc_eval *ev;
    char *err;
    size_t errlen;
} lb_out_ctx;

static int lb_out(lb_out_ctx *c, int idx, int depth, pc_value **out);

/* 1 if the table at idx has exactly the keys 1..n with n > 0. */
static int lb_is_array(lua_State *L, int idx, size_t *n)
{
    size_t len = lua_rawlen(L, idx), count = 0;
    if (len == 0)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    *n = len;
    return count == len;
}

static int lb_out_table(lb_out_ctx *c, int idx, int depth, pc_value **out)
{
    lua_State *L = c->L;
    const pc_host *h = c->h;
    size_t n = 0;

    if (!lua_checkstack(L, 4)) {
        snprintf(c->err, c->errlen, "result nested too deep");
        return -1;
    }
    if (lb_is_array(L, idx, &n)) {
        pc_value *arr = h->value_new_array(c->ev);
        if (!arr)
            goto oom;
        for (size_t i = 1; i <= n; i++) {
            pc_value *e = NULL;
            lua_rawgeti(L, idx, (lua_Integer)i);
            int rc = lb_out(c, lua_gettop(L), depth + 1, &e);
            lua_pop(L, 1);
            if (rc < 0)
                return -1;
            if (h->value_append(arr, e) != PC_OK)
                goto oom;
        }
        *out = arr;
        return 0;
    }
    pc_value *obj = h->value_new_object(c->ev);
    if (!obj)
        goto oom;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        pc_value *e = NULL;
        size_t kl;
        const char *k;
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(c->err, c->errlen,
                     "a table with keys other than 1..n must have string keys only (got a %s)",
                     luaL_typename(L, -2));
            lua_pop(L, 2);
            return -1;
        }
        k = lua_tolstring(L, -2, &kl);
        if (strlen(k) != kl) {
            snprintf(c->err, c->errlen, "a key contains a NUL byte");
            lua_pop(L, 2);
            return -1;
        }
        if (lb_out(c, lua_gettop(L), depth + 1, &e) < 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
        if (h->value_set(obj, k, e) != PC_OK) {
            lua_pop(L, 1);
            goto oom;
        }
    }
    *out = obj;
    return 0;
oom:
    snprintf(c->err, c->errlen, "out of memory");
    return -1;
}

static int lb_out(lb_out_ctx *c, int idx, int depth, pc_value **out)
{
    lua_State *L = c->L;
    const pc_host *h = c->h;

    *out = NULL;
    if (depth > LB_MAX_DEPTH) {
        snprintf(c->err, c->errlen, "result nested deeper than %d (a cycle?)",
                 LB_MAX_DEPTH);
        return -1;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return 0;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return 0;   /* json.null */
        snprintf(c->err, c->errlen, "a light userdata cannot be converted to JSON");
        return -1;
    case LUA_TBOOLEAN:
        *out = h->value_new_bool(c->ev, lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *out = h->value_new_int(c->ev, (int64_t)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) {
                snprintf(c->err, c->errlen, "a number is not finite (nan or inf)");
                return -1;
            }
            *out = h->value_new_double(c->ev, d);
        }
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        *out = h->value_new_string(c->ev, s, n);
        break;
    }
    case LUA_TTABLE:
        return lb_out_table(c, idx, depth, out);
    case LUA_TUSERDATA:
        if (lb_is_view(L, idx)) {
            lb_view *w = lua_touserdata(L, idx);
            lv_thread *t = lv_thread_current();
            if (!t || (w->gen != t->gen && !w->root_key)) {
                snprintf(c->err, c->errlen, "a request view of another evaluation");
                return -1;
            }
            (void)lb_check(L, idx);   /* resolves a request global */
            if (!w->v)
                return 0;   /* a request global the document lacks */
            *out = h->value_copy(c->ev, w->v);
            break;
        }
        /* fall through */
    default:
        snprintf(c->err, c->errlen, "a %s cannot be converted to JSON",
                 luaL_typename(L, idx));
        return -1;
    }
    if (!*out) {
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }
    return 0;
}

int lb_to_value(lua_State *L, int idx, const pc_host *h, pc_eval *ev,
                pc_value **out, char *err, size_t errlen)
{
    lb_out_ctx c = {L, h, ev, err, errlen};
    return lb_out(&c, lua_absindex(L, idx), 0, out);
}
