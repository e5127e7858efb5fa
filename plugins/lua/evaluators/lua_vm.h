/* lua_vm.h - the per-thread Lua states of the Lua evaluators: a sandboxed
 * library, a counting allocator (the memory cap), an instruction hook (the
 * budget) and a cache of loaded chunks keyed by instance. */
#ifndef PC_LUA_VM_H
#define PC_LUA_VM_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include <portcullis/plugin.h>

/* What the running evaluation needs from the host; the library functions
 * (json, log...) and the request view read it from the thread's state. */
typedef struct lv_eval {
    const pc_host *host;
    pc_eval *ev;
    const char *who;    /* log attribution: "lua <ns>/<authconfig>/<name>" */
} lv_eval;

/* One Lua state per thread, created on first use and closed when the
 * thread exits. Never shared: evaluate runs on many threads at once. */
typedef struct lv_thread {
    lua_State *L;
    size_t used;           /* bytes the state holds now */
    size_t limit;          /* the allocator refuses to grow past this */
    int mem_exceeded;      /* set when the allocator refused */
    int64_t budget;        /* instructions left in this evaluation */
    int budget_exceeded;
    uint32_t gen;          /* bumped per evaluation; views of older ones fail */
    lv_eval cur;           /* the evaluation running on this thread */
    int n_chunks;          /* entries in the chunk cache */
    /* Registry references of the state's fixed parts (lua_vm.c). */
    int ref_chunks, ref_input, ref_envmt, ref_hookmt, ref_cur;
    uint64_t cur_id;       /* the chunk of the environment at ref_cur */
    int impure;            /* the evaluation read the request, the clock... */
    void *re_cache;        /* lua_lib.c's compiled PCRE2 patterns */
#define LV_FL_CLASSES 8
    void *fl[LV_FL_CLASSES]; /* free lists of small blocks (lua_vm.c) */
    int fl_n[LV_FL_CLASSES];
} lv_thread;

/* A compiled script: Lua bytecode made once at create (syntax errors are
 * config errors), loaded into each thread's state on its first use. */
typedef struct lv_chunk {
    uint64_t id;           /* unique per instance, never reused */
    char *name;            /* chunk name for messages ("=...") */
    char *code;
    size_t len;
    /* A config hook: the function gets a plain copy of the document (a
     * table it may change and return) and the environment has only the
     * library, no request globals. Set by the caller after lv_compile. */
    int hook;
} lv_chunk;

/* Compiles source into c (bytecode, debug info kept for line numbers).
 * Returns 0, or -1 with the Lua message in err. */
int lv_compile(lv_chunk *c, const char *name, const char *src, size_t len,
               char *err, size_t errlen);
void lv_chunk_free(lv_chunk *c);

/* The calling thread's state (created lazily); NULL if out of memory. */
lv_thread *lv_thread_get(void);
/* The calling thread's state if it exists (library functions). */
lv_thread *lv_thread_current(void);

/* Per-evaluation limits of one instance. */
typedef struct lv_limits {
    int64_t max_instructions;
    size_t max_memory;
} lv_limits;

/* Runs one evaluation: the chunk's top level, then fname(root), in the
 * chunk's environment (empty at the start of every evaluation) over the
 * sandboxed library and the request globals. On 0 the
 * results (up to two) are on the stack at indices 1 and 2 and the caller
 * converts them before lv_end; on -1 err holds the reason (for the log). */
int lv_run(lv_thread *t, const lv_chunk *c, const char *fname,
           const lv_limits *lim, const lv_eval *e, char *err, size_t errlen);
/* Ends an evaluation: lifts the limits and empties the stack. */
void lv_end(lv_thread *t);

#endif
