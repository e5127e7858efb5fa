/* jsonc_bridge.c - json-c bridge: removed when every caller speaks doc. */
#include "jsonc_bridge.h"
#include "util/thread_exit.h"

static _Thread_local struct arena t_arena;
static _Thread_local int t_ready;

static void free_arena(void *a)
{
    arena_free(a);
}

struct arena *jsonc_bridge_arena(void)
{
    if (!t_ready) {
        arena_init(&t_arena, 0);
        t_ready = 1;
        if (thread_at_exit(free_arena, &t_arena) < 0)
            t_ready = 2; /* stays reachable; freed with the process */
    }
    return &t_arena;
}

int jsonc_bridge_root(struct json_object *root, const doc **out)
{
    int err = 0;
    *out = doc_from_jsonc(jsonc_bridge_arena(), root, NULL, &err);
    return err ? -1 : 0;
}

void jsonc_bridge_done(void)
{
    arena_reset(jsonc_bridge_arena());
}
