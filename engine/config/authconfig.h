/* authconfig.h - the compiled form of one Authorino AuthConfig
 * (authorino.kuadrant.io/v1beta3 or v1beta2): every selector, pattern and
 * regex compiled and every evaluator instance created, ready to run. */
#ifndef PC_CONFIG_AUTHCONFIG_H
#define PC_CONFIG_AUTHCONFIG_H
#include <stdatomic.h>
#include <json-c/json.h>
#include <portcullis/plugin.h>
#include "plugin/loader.h"

struct cfgerr;
struct resset;

typedef enum {
    CRED_AUTH_HEADER = 0, /* Authorization: <prefix> <credential> */
    CRED_CUSTOM_HEADER,
    CRED_QUERY,
    CRED_COOKIE
} cred_kind;

typedef struct ac_prop {
    char *name;
    pc_vos *vos;
} ac_prop;

/* One evaluator of a phase. */
typedef struct ac_eval {
    char *name;              /* the map key in the AuthConfig */
    uint32_t name_hash;      /* doc_hash of name: its key under auth.<phase> */
    char *path;              /* "spec.authentication.<name>" for messages */
    pc_phase phase;
    const loader_type *type; /* plugin type providing the method */
    void *inst;              /* plugin instance */
    int priority;
    int metrics;
    struct metrics_evseries *series; /* when metrics: true */
    pc_cond *when;           /* NULL: always */
    pc_vos *cache_key;       /* NULL: no cache */
    int64_t cache_ttl_ms;
    pc_cache *cache;
    /* identity */
    cred_kind cred;
    char *cred_name;         /* prefix, header, query or cookie name, as configured */
    char *challenge;         /* WWW-Authenticate value */
    ac_prop *defaults, *overrides;
    size_t n_defaults, n_overrides;
    /* response */
    char *key;               /* header name or metadata key */
    int dynmeta;             /* 1: success.dynamicMetadata, 0: success.headers */
} ac_eval;

/* A custom denial (spec.response.unauthenticated / unauthorized). */
typedef struct ac_deny {
    int set;
    int code;                /* HTTP status override, 0 = default */
    pc_vos *message, *body;
    ac_prop *headers;
    size_t n_headers;
} ac_deny;

typedef struct ac_config {
    char *name, *ns;
    char *id;                /* "namespace/name" */
    char *file;
    int line;
    char **hosts;
    size_t n_hosts;
    pc_cond *when;
    ac_eval **evs[PC_PHASE_COUNT_]; /* each sorted by priority, stable */
    size_t n_evs[PC_PHASE_COUNT_];
    ac_deny unauthenticated, unauthorized;
    int may_block;           /* some evaluator may block: run on workers */
    int needs_context;       /* build the Authorization JSON's `context` */
    int blocks_at_once;      /* some blocking evaluator cannot try first */
    int try_inline;          /* every blocking evaluator can try first
                                without blocking: start on the I/O thread */
    atomic_int refs;         /* snapshots holding it: consecutive snapshots
                                share the AuthConfigs a change left alone */
} ac_config;

/* Compiles one AuthConfig document, creating its evaluator instances with
 * host as their services table. Every problem is reported through ce
 * (file:line: path: message); returns NULL if there was any error. */
ac_config *ac_compile(const pc_host *host, struct json_object *doc, struct resset *res,
                      struct cfgerr *ce);
/* A new reference; ac_free drops one and frees with the last. */
ac_config *ac_ref(ac_config *c);
void ac_free(ac_config *c);
/* Is this document an AuthConfig (by apiVersion group and kind)? */
int ac_is_authconfig(struct json_object *doc);
#endif
