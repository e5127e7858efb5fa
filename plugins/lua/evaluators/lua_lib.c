/*
 * lua_lib.c - the library a script sees, and nothing else.
 *
 * Left out on purpose: io, os, package/require, debug, coroutine, load,
 * loadstring, dofile, loadfile, string.dump, collectgarbage, rawset (it
 * would write past the read-only guards into tables shared by every
 * evaluation of the thread) and print. Every module table is a read-only
 * proxy, and setmetatable refuses __gc, whose finalizer would run during
 * some later evaluation.
 */
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_bridge.h"
#include "lua_lib.h"
#include "lua_vm.h"

#define LL_LOG_MAX 512

static const lv_eval *ll_eval(lua_State *L)
{
    lv_thread *t = lv_thread_current();
    if (!t || !t->cur.host || !t->cur.ev)
        luaL_error(L, "called outside an evaluation");
    t->impure = 1;   /* a top level that calls it is run every time */
    return &t->cur;
}

/* math.random, marking the evaluation as one whose top level may give
 * another result next time. */
static int ll_random(lua_State *L)
{
    lv_thread *t = lv_thread_current();
    int n = lua_gettop(L);
    if (t)
        t->impure = 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int ll_readonly_set(lua_State *L)
{
    return luaL_error(L, "the library is read-only");
}

/* Replaces the table on top with an empty proxy that reads it. */
static void ll_readonly(lua_State *L)
{
    lua_newtable(L);                 /* proxy */
    lua_createtable(L, 0, 3);        /* its metatable */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ll_readonly_set);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

/* ---- base ---- */

static int ll_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_type(L, 2) == LUA_TTABLE &&
        lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc is not allowed");
    lua_settop(L, 2);
    luaL_argexpected(L, lua_isnoneornil(L, 2) || lua_istable(L, 2), 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- json ---- */

static int ll_json_encode(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    pc_value *v = NULL;
    char err[160];
    char *s;

    luaL_checkany(L, 1);
    if (lb_to_value(L, 1, e->host, e->ev, &v, err, sizeof err) < 0)
        return luaL_error(L, "json.encode: %s", err);
    if (!v) {
        lua_pushliteral(L, "null");
        return 1;
    }
    s = e->host->value_to_json(v);
    if (!s)
        return luaL_error(L, "json.encode: out of memory");
    lua_pushstring(L, s);
    e->host->free(s);
    return 1;
}

static int ll_json_decode(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    pc_value *v = e->host->value_parse(e->ev, s, n);

    if (!v && n > 0) {
        /* A bare number at the very end of the text ("92") is not known
         * to be complete by a streaming parser: retry with a space. */
        luaL_Buffer b;
        char *p = luaL_buffinitsize(L, &b, n + 1);
        memcpy(p, s, n);
        p[n] = ' ';
        luaL_pushresultsize(&b, n + 1);
        v = e->host->value_parse(e->ev, lua_tostring(L, -1), n + 1);
        lua_pop(L, 1);
    }
    if (!v) {
        /* "null" parses to a NULL value too: tell it from an error. */
        const char *p = s;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (strncmp(p, "null", 4) == 0) {
            lua_pushnil(L);
            return 1;
        }
        lua_pushnil(L);
        lua_pushliteral(L, "invalid JSON");
        return 2;
    }
    lb_push_plain(L, e->host, v);
    return 1;
}

/* ---- base64 ---- */

static int ll_b64_encode(lua_State *L)
{
    static const char std[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n, i;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    int is_url = lua_toboolean(L, 2);
    const char *al = is_url ? url : std;
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {al[s[i] >> 2], al[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     al[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)], al[s[i + 2] & 63]};
        luaL_addlstring(&b, q, 4);
    }
    if (n - i == 1) {
        char q[4] = {al[s[i] >> 2], al[(s[i] & 3) << 4], '=', '='};
        luaL_addlstring(&b, q, is_url ? 2 : 4);
    } else if (n - i == 2) {
        char q[4] = {al[s[i] >> 2], al[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
                     al[(s[i + 1] & 15) << 2], '='};
        luaL_addlstring(&b, q, is_url ? 3 : 4);
    }
    luaL_pushresult(&b);
    return 1;
}

static int ll_b64_decode(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    size_t n, out_len = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char *d;

    if (!PC_HOST_HAS(e->host, base64_decode))
        return luaL_error(L, "base64.decode: the host has no base64 service");
    d = e->host->base64_decode(s, n, lua_toboolean(L, 2), &out_len);
    if (!d) {
        lua_pushnil(L);
        lua_pushliteral(L, "invalid base64");
        return 2;
    }
    lua_pushlstring(L, (const char *)d, out_len);
    e->host->free(d);
    return 1;
}

/* ---- sha256 / hmac ---- */

static void ll_push_hex(lua_State *L, const uint8_t *d, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char buf[64];
    for (size_t i = 0; i < n && i < 32; i++) {
        buf[2 * i] = hx[d[i] >> 4];
        buf[2 * i + 1] = hx[d[i] & 15];
    }
    lua_pushlstring(L, buf, 2 * n);
}

static int ll_sha256(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    uint8_t out[32];
    e->host->sha256(s, n, out);
    ll_push_hex(L, out, 32);
    return 1;
}

static int ll_hmac(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    size_t kn, n;
    const char *k = luaL_checklstring(L, 1, &kn);
    const char *s = luaL_checklstring(L, 2, &n);
    uint8_t out[32];
    e->host->hmac_sha256(k, kn, s, n, out);
    ll_push_hex(L, out, 32);
    return 1;
}

/* ---- log ---- */

static int ll_log_at(lua_State *L, pc_log_level lvl)
{
    const lv_eval *e = ll_eval(L);
    size_t n;
    const char *m;
    if (!e->host->log_enabled(lvl))
        return 0;
    m = luaL_tolstring(L, 1, &n);
    e->host->log(lvl, e->who, "%.*s%s", (int)(n > LL_LOG_MAX ? LL_LOG_MAX : n), m,
                 n > LL_LOG_MAX ? "..." : "");
    return 0;
}

static int ll_log_debug(lua_State *L) { return ll_log_at(L, PC_LOG_DEBUG); }
static int ll_log_info(lua_State *L) { return ll_log_at(L, PC_LOG_INFO); }
static int ll_log_warn(lua_State *L) { return ll_log_at(L, PC_LOG_WARN); }
static int ll_log_error(lua_State *L) { return ll_log_at(L, PC_LOG_ERROR); }

/* ---- time ---- */

static int ll_time_now(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    lua_pushnumber(L, (double)e->host->realtime_ns() / 1e9);
    return 1;
}

static int ll_time_utc(lua_State *L)
{
    const lv_eval *e = ll_eval(L);
    lua_Number t = lua_isnoneornil(L, 1)
                       ? (lua_Number)(e->host->realtime_ns() / 1000000000)
                       : luaL_checknumber(L, 1);
    time_t tt;
    struct tm tm;
    if (!(t > -1e12 && t < 1e12))
        return luaL_error(L, "time.utc: time out of range");
    tt = (time_t)t;
    if (!gmtime_r(&tt, &tm))
        return luaL_error(L, "time.utc: time out of range");
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, tm.tm_year + 1900); lua_setfield(L, -2, "year");
    lua_pushinteger(L, tm.tm_mon + 1); lua_setfield(L, -2, "month");
    lua_pushinteger(L, tm.tm_mday); lua_setfield(L, -2, "day");
    lua_pushinteger(L, tm.tm_hour); lua_setfield(L, -2, "hour");
    lua_pushinteger(L, tm.tm_min); lua_setfield(L, -2, "min");
    lua_pushinteger(L, tm.tm_sec); lua_setfield(L, -2, "sec");
    lua_pushinteger(L, tm.tm_wday == 0 ? 7 : tm.tm_wday); lua_setfield(L, -2, "wday");
    lua_pushinteger(L, tm.tm_yday + 1); lua_setfield(L, -2, "yday");
    return 1;
}

/* time.parse("2024-05-01T12:00:00Z") -> Unix seconds (an offset such as
 * +02:00 is applied; fractions of a second are dropped), or nil. */
static int ll_time_parse(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    struct tm tm;
    time_t t;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        lua_pushnil(L);
        return 1;
    }
    p = s + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
        strlen(p) == 6) {
        if (*p == '-') {
            oh = -oh;
            om = -om;
        }
    } else if (!((*p == 'Z' || *p == 'z') && p[1] == '\0')) {
        lua_pushnil(L);
        return 1;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    lua_pushinteger(L, (lua_Integer)t - oh * 3600 - om * 60);
    return 1;
}

/* ---- re (PCRE2) ---- */

typedef struct ll_re_entry {
    char *pat;
    size_t len;
    pcre2_code *code;
    pcre2_match_data *md;
} ll_re_entry;

typedef struct ll_re_cache {
    pcre2_match_context *mctx;
    ll_re_entry e[LL_RE_CACHE];
} ll_re_cache;

static void ll_re_entry_clear(ll_re_entry *en)
{
    free(en->pat);
    pcre2_match_data_free(en->md);
    pcre2_code_free(en->code);
    memset(en, 0, sizeof *en);
}

void ll_re_cache_free(void *cache)
{
    ll_re_cache *c = cache;
    if (!c)
        return;
    for (size_t i = 0; i < LL_RE_CACHE; i++)
        ll_re_entry_clear(&c->e[i]);
    pcre2_match_context_free(c->mctx);
    free(c);
}

/* The compiled pattern, from the thread's cache or compiled now (one
 * slot per hash: a collision recompiles, the cache never grows). */
static ll_re_entry *ll_re_get(lua_State *L, const char *pat, size_t len)
{
    lv_thread *t = lv_thread_current();
    ll_re_cache *c = t->re_cache;
    uint64_t hsh = 1469598103934665603ull;
    ll_re_entry *en;
    int ec;
    PCRE2_SIZE eo;

    if (len > LL_RE_MAX_PATTERN)
        luaL_error(L, "re: pattern longer than %d bytes", (int)LL_RE_MAX_PATTERN);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (c)
            c->mctx = pcre2_match_context_create(NULL);
        if (!c || !c->mctx) {
            free(c);
            return (ll_re_entry *)(luaL_error(L, "re: out of memory"), NULL);
        }
        pcre2_set_match_limit(c->mctx, LL_RE_MATCH_LIMIT);
        pcre2_set_depth_limit(c->mctx, LL_RE_DEPTH_LIMIT);
        t->re_cache = c;
    }
    for (size_t i = 0; i < len; i++)
        hsh = (hsh ^ (unsigned char)pat[i]) * 1099511628211ull;
    en = &c->e[hsh % LL_RE_CACHE];
    if (en->code && en->len == len && memcmp(en->pat, pat, len) == 0)
        return en;
    ll_re_entry_clear(en);
    en->code = pcre2_compile((PCRE2_SPTR)pat, len, 0, &ec, &eo, NULL);
    if (!en->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        luaL_error(L, "re: %s at offset %d", (const char *)msg, (int)eo);
    }
    en->md = pcre2_match_data_create_from_pattern(en->code, NULL);
    en->pat = malloc(len + 1);
    if (!en->md || !en->pat) {
        ll_re_entry_clear(en);
        luaL_error(L, "re: out of memory");
    }
    memcpy(en->pat, pat, len);
    en->pat[len] = '\0';
    en->len = len;
    return en;
}

/* Runs the match; returns the number of pairs in the ovector or 0. */
static int ll_re_exec(lua_State *L, ll_re_entry **out, const char **subj,
                      size_t *sn)
{
    size_t pn;
    const char *pat = luaL_checklstring(L, 1, &pn);
    const char *s = luaL_checklstring(L, 2, sn);
    ll_re_entry *en = ll_re_get(L, pat, pn);
    ll_re_cache *c = lv_thread_current()->re_cache;
    int rc = pcre2_match(en->code, (PCRE2_SPTR)s, *sn, 0, 0, en->md, c->mctx);

    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(rc, msg, sizeof msg);
        luaL_error(L, "re: %s", (const char *)msg);
    }
    *out = en;
    *subj = s;
    return rc == 0 ? (int)pcre2_get_ovector_count(en->md) : rc;
}

static int ll_re_test(lua_State *L)
{
    ll_re_entry *en;
    const char *s;
    size_t n;
    lua_pushboolean(L, ll_re_exec(L, &en, &s, &n) > 0);
    return 1;
}

/* re.match(pattern, s): the captures (or the whole match), else nil. */
static int ll_re_match(lua_State *L)
{
    ll_re_entry *en;
    const char *s;
    size_t n;
    int pairs = ll_re_exec(L, &en, &s, &n);
    PCRE2_SIZE *ov;
    int first;

    if (pairs == 0) {
        lua_pushnil(L);
        return 1;
    }
    ov = pcre2_get_ovector_pointer(en->md);
    first = pairs > 1 ? 1 : 0;
    luaL_checkstack(L, pairs, "re.match: too many captures");
    for (int i = first; i < pairs; i++) {
        if (ov[2 * i] == PCRE2_UNSET)
            lua_pushnil(L);
        else
            lua_pushlstring(L, s + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
    }
    return pairs - first;
}

/* ---- assembling ---- */

static void ll_module(lua_State *L, const char *name, const luaL_Reg *fns)
{
    lua_createtable(L, 0, 4);
    luaL_setfuncs(L, fns, 0);
    ll_readonly(L);
    lua_setfield(L, -2, name);
}

/* Copies the named fields of the table at src into the table on top. */
static void ll_copy(lua_State *L, int src, const char *const *names)
{
    for (; *names; names++) {
        lua_getfield(L, src, *names);
        lua_setfield(L, -2, *names);
    }
}

/* Opens a standard module, drops the listed fields, adds the proxy. */
static void ll_std(lua_State *L, const char *name, lua_CFunction open,
                   const char *const *drop)
{
    luaL_requiref(L, name, open, 0);
    for (; drop && *drop; drop++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *drop);
    }
    if (lua_getfield(L, -1, "random") == LUA_TFUNCTION) {
        lua_pushcclosure(L, ll_random, 1);
        lua_setfield(L, -2, "random");
    } else {
        lua_pop(L, 1);
    }
    ll_readonly(L);
    lua_setfield(L, -2, name);
}

void ll_push_library(lua_State *L)
{
    static const char *const base[] = {
        "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal",
        "rawget", "rawlen", "select", "tonumber", "tostring", "type",
        "xpcall", "getmetatable", "_VERSION", NULL};
    static const char *const no_string[] = {"dump", NULL};
    static const char *const no_math[] = {"randomseed", NULL};
    static const luaL_Reg json[] = {{"encode", ll_json_encode},
                                    {"decode", ll_json_decode}, {NULL, NULL}};
    static const luaL_Reg b64[] = {{"encode", ll_b64_encode},
                                   {"decode", ll_b64_decode}, {NULL, NULL}};
    static const luaL_Reg logf[] = {{"debug", ll_log_debug}, {"info", ll_log_info},
                                    {"warn", ll_log_warn}, {"error", ll_log_error},
                                    {NULL, NULL}};
    static const luaL_Reg tm[] = {{"now", ll_time_now}, {"utc", ll_time_utc},
                                  {"parse", ll_time_parse},
                                  {NULL, NULL}};
    static const luaL_Reg re[] = {{"match", ll_re_match}, {"test", ll_re_test},
                                  {NULL, NULL}};
    int g;

    luaL_requiref(L, "_G", luaopen_base, 0);
    g = lua_gettop(L);
    lua_createtable(L, 0, 32);
    ll_copy(L, g, base);
    lua_pushcfunction(L, ll_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    ll_std(L, LUA_STRLIBNAME, luaopen_string, no_string);
    ll_std(L, LUA_TABLIBNAME, luaopen_table, NULL);
    ll_std(L, LUA_MATHLIBNAME, luaopen_math, no_math);
    ll_std(L, LUA_UTF8LIBNAME, luaopen_utf8, NULL);
    lua_createtable(L, 0, 3);
    luaL_setfuncs(L, json, 0);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    ll_readonly(L);
    lua_setfield(L, -2, "json");
    ll_module(L, "base64", b64);
    ll_module(L, "log", logf);
    ll_module(L, "time", tm);
    ll_module(L, "re", re);
    lua_pushcfunction(L, ll_sha256);
    lua_setfield(L, -2, "sha256");
    lua_pushcfunction(L, ll_hmac);
    lua_setfield(L, -2, "hmac");
    lua_remove(L, g);

    /* ("x"):upper() keeps working, but getmetatable("") reveals nothing. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
