/* lua_lib.h - the library scripts see: the safe parts of Lua's own
 * (base without load/dofile/rawset..., string without dump, table, math,
 * utf8) and json, base64, sha256, hmac, log, re (PCRE2) and time. */
#ifndef PC_LUA_LIB_H
#define PC_LUA_LIB_H

#include <lua.h>

/* Match limit and depth limit of re.* (PCRE2 match context), and the
 * longest pattern and the number of compiled patterns kept per thread. */
#define LL_RE_MATCH_LIMIT 100000u
#define LL_RE_DEPTH_LIMIT 1000u
#define LL_RE_MAX_PATTERN 1024u
#define LL_RE_CACHE 64u

/* Pushes the sandboxed library table (every module read-only). */
void ll_push_library(lua_State *L);
/* Frees the thread's compiled patterns. */
void ll_re_cache_free(void *cache);

#endif
