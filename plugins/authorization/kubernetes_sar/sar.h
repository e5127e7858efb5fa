/* sar.h - the kubernetesSubjectAccessReview authorization: its instance
 * and one review round trip. */
#ifndef SAR_H
#define SAR_H
#include <portcullis/plugin.h>

#define SAR_DEFAULT_TIMEOUT_MS 5000

/* resourceAttributes, in the order of authorization/v1 ResourceAttributes. */
enum { SAR_NAMESPACE, SAR_VERB, SAR_GROUP, SAR_RESOURCE, SAR_SUBRESOURCE, SAR_NAME, SAR_N_ATTRS };

typedef struct sar_inst {
    const pc_host *host;
    pc_vos *user;                 /* NULL: no user (groups only) */
    pc_vos *groups;               /* authorizationGroups; NULL if none */
    pc_value *static_groups;      /* the deprecated `groups` list, kept */
    int resource;                 /* resourceAttributes given */
    pc_vos *attrs[SAR_N_ATTRS];   /* each NULL when left out */
    int64_t timeout_ms;
} sar_inst;

/* Builds the SubjectAccessReview for this request, creates it through the
 * Kubernetes client and judges status.allowed. PC_OK (allowed), PC_DENY
 * with "not authorized: <reason>", PC_ERROR with a reason (API errors,
 * malformed answers, attributes that cannot be resolved). */
pc_status sar_review(const sar_inst *in, pc_eval *ev);
#endif
