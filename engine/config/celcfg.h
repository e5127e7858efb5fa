/* celcfg.h - CEL in AuthConfigs: `predicate` and `expression` fields
 * compiled once at load and evaluated per request on the Authorization
 * JSON, each thread with its own arena. An evaluation error is an error
 * for the caller (a condition that errs denies). */
#ifndef PC_CONFIG_CELCFG_H
#define PC_CONFIG_CELCFG_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "cel/cel.h"

struct cfgerr;

/* The per-evaluation limits (0 = the interpreter's default): steps, and
 * bytes one evaluation may allocate. Set before requests are served. */
void celcfg_set_limits(uint64_t max_steps, size_t max_bytes);
/* The same from setting texts (NULL = the default): steps at least 100,
 * bytes at least 4096. -1 with a message in err when one is not. */
int celcfg_setting(const char *max_steps, const char *max_bytes, char *err, size_t errlen);

/* Compiles node (a string) found at path. On error reports
 * `file:line: path: CEL: message at column N` and returns NULL. */
cel_program *celcfg_compile(struct json_object *node, const char *path,
                            struct cfgerr *ce);

struct arena;
struct doc;

/* A predicate's verdict on root (the request document): 1, 0, or -1 (an
 * evaluation error or a value that is not a bool) with the reason, under
 * path, in why. */
int celcfg_predicate(const cel_program *p, const char *path, const struct doc *root,
                         char *why, size_t whylen);

/* An expression's value on root in *out (NULL for null): the document's
 * own nodes by reference, anything built in a (the request's arena). -1
 * with the reason in why (may be NULL) on an error, a past a's limit
 * included. */
int celcfg_value(const cel_program *p, const struct doc *root, struct arena *a,
                     const struct doc **out, char *why, size_t whylen);

/* Called with every predicate evaluated (path, source, and "true",
 * "false" or the error), for `eval --explain`. NULL (the default) turns
 * it off; the serving path never sets it. */
typedef void (*celcfg_observer)(void *arg, const char *path, const char *src,
                                const char *result);
void celcfg_observe(celcfg_observer fn, void *arg);
#endif
