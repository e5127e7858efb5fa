/* cond.h - Authorino pattern expressions: compiled once, evaluated per
 * request against the Authorization JSON. Implements pc_cond. */
#ifndef PC_CONFIG_COND_H
#define PC_CONFIG_COND_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct cfgerr;

typedef enum { COND_PATTERN, COND_ALL, COND_ANY } cond_kind;
typedef enum { COND_EQ, COND_NEQ, COND_INCL, COND_EXCL, COND_MATCHES } cond_op;

/* Named patterns of one AuthConfig (spec.patterns), for patternRef. */
typedef struct cond_named {
    struct json_object *patterns; /* the spec.patterns object, borrowed */
    const char *path;             /* its document path, "spec.patterns" */
} cond_named;

/* Compiles a list of PatternExpressionOrRef (ANDed). Errors are reported
 * through cfgerr with the node's path under `path`. NULL on error. An empty
 * or missing list compiles to an always-true condition. */
pc_cond *cond_compile(struct json_object *list, const char *path,
                      const cond_named *named, struct cfgerr *ce);
void cond_free(pc_cond *c);
/* 1 = holds, 0 = does not, -1 = error (reason written to why). */
int cond_eval(const pc_cond *c, struct json_object *root, char *why,
              size_t whylen);
#endif
