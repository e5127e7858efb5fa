/* celcfg.c - compile and evaluate the CEL fields of AuthConfigs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "celcfg.h"
#include "cfgerr.h"
#include "doc/doc.h"
#include "util/thread_exit.h"

static cel_limits g_limits;
static size_t g_max_bytes;
static celcfg_observer g_observer;
static void *g_observer_arg;

void celcfg_set_limits(uint64_t max_steps, size_t max_bytes)
{
    g_limits.max_steps = max_steps;
    g_max_bytes = max_bytes;
}

void celcfg_observe(celcfg_observer fn, void *arg)
{
    g_observer_arg = arg;
    g_observer = fn;
}

static void where(char *out, size_t len, const cel_error *err)
{
    if (err->line > 1)
        snprintf(out, len, " at line %d, column %d", err->line, err->column);
    else if (err->column > 0)
        snprintf(out, len, " at column %d", err->column);
    else
        out[0] = '\0';
}

cel_program *celcfg_compile(struct json_object *node, const char *path, cfgerr *ce)
{
    if (!json_object_is_type(node, json_type_string)) {
        cfgerr_error(ce, node, path, "expected a CEL expression (a string)");
        return NULL;
    }
    cel_error err = {0};
    cel_program *p = cel_compile(json_object_get_string(node),
                                 (size_t)json_object_get_string_len(node),
                                 cel_authorino_vars, &err);
    if (!p) {
        char at[64];
        where(at, sizeof at, &err);
        cfgerr_error(ce, node, path, "CEL: %s%s", err.msg, at);
    }
    return p;
}

/* One arena per thread, kept across evaluations (its largest chunk
 * stays, so steady evaluation does not allocate) and freed when the
 * thread ends. */
static _Thread_local cel_arena t_arena;
static _Thread_local int t_arena_ready;

static void free_arena(void *a)
{
    cel_arena_free(a);
}

static cel_arena *arena(void)
{
    if (!t_arena_ready) {
        cel_arena_init(&t_arena, g_max_bytes);
        t_arena_ready = 1;
        if (thread_at_exit(free_arena, &t_arena) < 0)
            t_arena_ready = 2; /* stays reachable; freed with the process */
    }
    t_arena.limit = g_max_bytes ? g_max_bytes : CEL_DEFAULT_MAX_BYTES;
    return &t_arena;
}

static void fail(char *why, size_t whylen, const char *path, const cel_error *err)
{
    if (!why || !whylen)
        return;
    char at[64];
    where(at, sizeof at, err);
    snprintf(why, whylen, "%s%sCEL: %s%s", path ? path : "", path ? ": " : "",
             err->msg, at);
}

static int predicate(const cel_program *p, const char *path, const cel_doc_ops *ops,
                     const void *root, char *why, size_t whylen)
{
    cel_error err = {0};
    cel_activation act = {ops, root, NULL};
    int r = cel_eval_predicate(p, &act, &g_limits, arena(), &err);
    if (r < 0)
        fail(why, whylen, path, &err);
    if (g_observer)
        g_observer(g_observer_arg, path, cel_program_source(p),
                   r > 0 ? "true" : r == 0 ? "false" : err.msg);
    return r;
}

int celcfg_predicate(const cel_program *p, const char *path, const doc *root, char *why,
                         size_t whylen)
{
    return predicate(p, path, &cel_doc_tree, root, why, whylen);
}

/* An expression's value as doc nodes in out_arena (dout) or as json-c (jout). */
static int value(const cel_program *p, const cel_doc_ops *ops, const void *root,
                 struct arena *out_arena, const doc **dout, struct json_object **jout,
                 char *why, size_t whylen)
{
    cel_error err = {0};
    cel_activation act = {ops, root, NULL};
    cel_arena *a = arena();
    cel_value v;
    int r = cel_eval(p, &act, &g_limits, a, &v, &err);
    if (r == 0)
        r = dout ? cel_value_to_doc(&v, ops, out_arena, dout, &err)
                 : cel_value_to_json(&v, ops, jout, &err);
    cel_arena_reset(a);
    if (r < 0)
        fail(why, whylen, NULL, &err);
    return r < 0 ? -1 : 0;
}

int celcfg_value(const cel_program *p, const doc *root, struct arena *a, const doc **out,
                     char *why, size_t whylen)
{
    *out = NULL;
    return value(p, &cel_doc_tree, root, a, out, NULL, why, whylen);
}

/* A whole number in [lo, hi], or -1. */
static int parse_count(const char *text, unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

int celcfg_setting(const char *max_steps, const char *max_bytes, char *err, size_t errlen)
{
    unsigned long long steps = 0, bytes = 0;
    if (max_steps && parse_count(max_steps, 100, UINT64_MAX, &steps) < 0) {
        snprintf(err, errlen, "--cel-max-steps must be a whole number, at least 100 "
                              "(got \"%s\")", max_steps);
        return -1;
    }
    if (max_bytes && parse_count(max_bytes, 4096, SIZE_MAX, &bytes) < 0) {
        snprintf(err, errlen, "--cel-max-bytes must be a number of bytes, at least 4096 "
                              "(got \"%s\")", max_bytes);
        return -1;
    }
    celcfg_set_limits(steps, (size_t)bytes);
    return 0;
}
