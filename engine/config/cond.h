/* cond.h - Authorino pattern expressions: compiled once, evaluated per
 * request against the Authorization JSON. Implements pc_cond. */
#ifndef PC_CONFIG_COND_H
#define PC_CONFIG_COND_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct arena;
struct cfgerr;
struct doc;

typedef enum { COND_PATTERN, COND_ALL, COND_ANY, COND_CEL } cond_kind;
typedef enum { COND_EQ, COND_NEQ, COND_INCL, COND_EXCL, COND_MATCHES } cond_op;

/* Bounds on one `matches` evaluation (PCRE2 match, depth and heap limits;
 * JIT-compiled patterns also stop at PCRE2's 32 KiB JIT stack). Reaching
 * one is an evaluation error, so the condition denies. */
#define COND_REGEX_MATCH_LIMIT 1000000u
#define COND_REGEX_DEPTH_LIMIT 10000u
#define COND_REGEX_HEAP_LIMIT_KIB 4096u

/* Named patterns of one AuthConfig (spec.patterns), for patternRef. */
typedef struct cond_named {
    struct json_object *patterns; /* the spec.patterns object, borrowed */
    const char *path;             /* its document path, "spec.patterns" */
} cond_named;

/* Compiles a list of PatternExpressionOrRef or CEL `predicate` items (ANDed). Errors are reported
 * through cfgerr with the node's path under `path`. NULL on error. An empty
 * or missing list compiles to an always-true condition. */
pc_cond *cond_compile(struct json_object *list, const char *path,
                      const cond_named *named, struct cfgerr *ce);
void cond_free(pc_cond *c);
/* 1 = holds, 0 = does not, -1 = error (reason written to why). Errors:
 * the selector cannot be resolved; `matches` on a value that is not valid
 * UTF-8 or that reaches a regex limit; incl/excl on an object; out of
 * memory or a past its limit (texts and values the selectors build go into
 * a, the request's arena, and stay until it is released). A list or an
 * object compares by its JSON text with eq/neq/matches. A missing value (or JSON
 * null) is not an error: it reads as "" for eq/neq/matches and as an empty
 * list for incl/excl, as in Authorino. A CEL predicate that cannot be
 * evaluated (a missing key, a type mismatch, a cost limit) or whose value is
 * not a bool is an error (Authorino skips it instead). all/any stop at the first term that
 * decides them, and an error in a term that is reached is the result. */
int cond_eval(const pc_cond *c, const struct doc *root, struct arena *a, char *why,
                  size_t whylen);

#endif
