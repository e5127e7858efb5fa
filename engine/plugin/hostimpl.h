/* hostimpl.h - the engine's side of pc_host. */
#ifndef PC_PLUGIN_HOSTIMPL_H
#define PC_PLUGIN_HOSTIMPL_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct cfgerr;
struct resset;
struct cond_named;

/* Where an evaluator instance is being created. */
struct pc_create_ctx {
    const char *evname, *acname, *acns;
    const char *path;              /* document path of the method config */
    struct json_object *config;    /* the method config node */
    struct json_object *spec;      /* the AuthConfig's spec, or NULL */
    const struct resset *res;
    const struct cond_named *named;
    struct cfgerr *ce;
};

/* Frontend hooks the server installs (submit, ready, metrics). */
typedef struct host_frontend_ops {
    void (*submit)(const pc_request_view *view, pc_verdict_fn done, void *arg);
    void (*request_release)(pc_submission *sub);
    int (*ready)(void);
    char *(*metrics_render)(size_t *len);
    void (*metrics_request)(const pc_verdict *v, int64_t duration_ns);
} host_frontend_ops;

/* Kubernetes client hook (set by the kube module when configured). */
typedef pc_status (*host_kube_fn)(pc_eval *ev, const char *method,
                                  const char *path, const char *body,
                                  size_t body_len, int64_t timeout_ms,
                                  pc_http_response *resp, char *err,
                                  size_t errlen);

/* The table handed to plugins. */
const pc_host *host_table(void);
void host_set_frontend_ops(const host_frontend_ops *ops);
void host_set_kube(host_kube_fn fn);
/* Finds the document path of node below cc->config (for error messages). */
void host_node_path(pc_create_ctx *cc, const struct json_object *node,
                    char *out, size_t outlen);
#endif
