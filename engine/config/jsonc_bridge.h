/* jsonc_bridge.h - json-c bridge: removed when every caller speaks doc.
 *
 * The json-c entry points of cond and vos copy their root into a request
 * document in the calling thread's scratch arena, evaluate on it with the
 * doc entry points, and release the copy before they return (bridges do
 * not nest: the doc entry points never call one). */
#ifndef PC_CONFIG_JSONC_BRIDGE_H
#define PC_CONFIG_JSONC_BRIDGE_H
#include "doc/doc.h"

struct json_object;

/* The scratch arena (no limit: what it holds was already parsed by
 * json-c under the request's own limits). */
struct arena *jsonc_bridge_arena(void);
/* root copied into the scratch arena; -1 when the copy failed. */
int jsonc_bridge_root(struct json_object *root, const doc **out);
/* Releases what the bridge call put into the scratch arena. */
void jsonc_bridge_done(void);
#endif
