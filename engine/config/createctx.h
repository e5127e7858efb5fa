/* createctx.h - where an evaluator instance is being created: what the
 * compiler hands a plugin's create as its pc_create_ctx, and what the
 * host's create-time services (host.c) read back. */
#ifndef PC_CONFIG_CREATECTX_H
#define PC_CONFIG_CREATECTX_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct arena;
struct cfgerr;
struct resset;
struct cond_named;
struct doc;
struct doc_srcmap;

struct pc_create_ctx {
    const char *evname, *acname, *acns;
    const char *path;              /* document path of the method config */
    struct json_object *config;    /* the method config node */
    struct json_object *spec;      /* the AuthConfig's spec, or NULL */
    struct arena *mem;             /* the create's values (freed after create) */
    struct doc_srcmap *srcmap;     /* doc node of the config -> its json-c node */
    const struct doc *spec_doc;    /* spec as a doc, made on first use */
    const struct resset *res;
    const struct cond_named *named;
    struct cfgerr *ce;
};
#endif
