/* lua_bridge.h - JSON values (pc_value) to Lua and back. Objects and arrays
 * of the Authorization JSON appear as read-only userdata views that read
 * the document on access; nothing is converted up front. */
#ifndef PC_LUA_BRIDGE_H
#define PC_LUA_BRIDGE_H

#include <lua.h>
#include <portcullis/plugin.h>

/* Deepest nesting converted either way. */
#define LB_MAX_DEPTH 64

/* Registers the view metatable (once per state). */
void lb_open(lua_State *L);
/* Pushes v: null -> nil, scalars as Lua values, containers as views
 * valid for the current evaluation only. */
void lb_push_view(lua_State *L, const pc_host *h, const pc_value *v);
/* Pushes a view the state keeps: a request global showing root member
 * key (a static string; "" for the root itself), resolved on its first
 * use in each evaluation, so unused globals cost nothing. */
void lb_push_root(lua_State *L, const char *key);
/* Pushes v converted in full to plain Lua tables (json.decode), null as
 * json.null (a light userdata NULL, which lb_to_value turns back). Raises
 * a Lua error past LB_MAX_DEPTH. */
void lb_push_plain(lua_State *L, const pc_host *h, const pc_value *v);
/* Converts the Lua value at idx into a new value of ev: tables with keys
 * 1..n become arrays, other tables objects (string keys only), views are
 * copied. Returns 0, or -1 with a reason in err. *out NULL means null. */
int lb_to_value(lua_State *L, int idx, const pc_host *h, pc_eval *ev,
                pc_value **out, char *err, size_t errlen);
/* The value behind a view at idx, or NULL if idx is no (live) view. */
int lb_is_view(lua_State *L, int idx);

#endif
