/*
 * authorization "kubernetesSubjectAccessReview": asks the Kubernetes API
 * server whether `user` (and/or the groups) may perform the request - as a
 * resource request when resourceAttributes is given, else as a
 * non-resource request for the request's path and lower-cased method - and
 * grants when status.allowed is true, as Authorino does.
 *
 * Every field is a value or a selector. `authorizationGroups` must resolve
 * to a list of strings; the deprecated `groups` is a static list and is
 * used only when authorizationGroups is absent. The evaluator-level
 * `cache` (successes only) answers hits on the I/O thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sar.h"

#define SAR_VOS "{\"type\":\"object\"}"

static const char sar_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"user\":" SAR_VOS ","
    "\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"authorizationGroups\":" SAR_VOS ","
    "\"resourceAttributes\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{\"namespace\":" SAR_VOS ",\"group\":" SAR_VOS ",\"resource\":" SAR_VOS
    ",\"name\":" SAR_VOS ",\"subresource\":" SAR_VOS ",\"verb\":" SAR_VOS "}},"
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":5000}}}";

static const char *const sar_attr_names[SAR_N_ATTRS] = {
    [SAR_NAMESPACE] = "namespace", [SAR_VERB] = "verb", [SAR_GROUP] = "group",
    [SAR_RESOURCE] = "resource", [SAR_SUBRESOURCE] = "subresource", [SAR_NAME] = "name"};

static void sar_destroy(void *p)
{
    sar_inst *in = p;
    if (!in)
        return;
    const pc_host *h = in->host;
    if (in->user)
        h->vos_free(in->user);
    if (in->groups)
        h->vos_free(in->groups);
    if (in->static_groups)
        h->value_release(in->static_groups);
    for (int i = 0; i < SAR_N_ATTRS; i++)
        if (in->attrs[i])
            h->vos_free(in->attrs[i]);
    free(in);
}

static pc_vos *sar_vos(const pc_host *h, pc_create_ctx *cc, const pc_value *spec,
                       const char *what, char *err, size_t errlen)
{
    char verr[256] = "";
    pc_vos *v = h->vos_compile(cc, spec, verr, sizeof verr);
    if (!v)
        snprintf(err, errlen, "%s: %s", what, verr[0] ? verr : "expected {value} or {selector}");
    return v;
}

static void *sar_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                        char *err, size_t errlen)
{
    sar_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = h;
    const pc_value *user = h->value_get(cfg, "user");
    const pc_value *groups = h->value_get(cfg, "groups");
    const pc_value *agroups = h->value_get(cfg, "authorizationGroups");
    const pc_value *ra = h->value_get(cfg, "resourceAttributes");
    const pc_value *t = h->value_get(cfg, "timeout");
    in->timeout_ms = h->value_type(t) == PC_TYPE_INT ? h->value_int(t) : SAR_DEFAULT_TIMEOUT_MS;
    if (!user && !groups && !agroups) {
        snprintf(err, errlen, "give user, authorizationGroups or groups");
        goto fail;
    }
    if (groups && !h->value_length(groups)) {
        snprintf(err, errlen, "groups must not be empty");
        goto fail;
    }
    if (user && !(in->user = sar_vos(h, cc, user, "user", err, errlen)))
        goto fail;
    if (agroups) {
        if (!(in->groups = sar_vos(h, cc, agroups, "authorizationGroups", err, errlen)))
            goto fail;
    } else if (groups) {
        char *json = h->value_to_json(groups);
        in->static_groups = json ? h->value_keep_json(json, strlen(json)) : NULL;
        if (json)
            h->free(json);
        if (!in->static_groups) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (ra) {
        in->resource = 1;
        for (int i = 0; i < SAR_N_ATTRS; i++) {
            const pc_value *a = h->value_get(ra, sar_attr_names[i]);
            char what[64];
            snprintf(what, sizeof what, "resourceAttributes.%s", sar_attr_names[i]);
            if (a && !(in->attrs[i] = sar_vos(h, cc, a, what, err, errlen)))
                goto fail;
        }
    }
    return in;
fail:
    sar_destroy(in);
    return NULL;
}

static pc_status sar_evaluate(void *p, pc_eval *ev)
{
    return sar_review(p, ev);
}

static const pc_evaluator_type sar_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "kubernetesSubjectAccessReview",
    .config_schema = sar_schema,
    .create = sar_create,
    .destroy = sar_destroy,
    .evaluate = sar_evaluate,
};

static const pc_evaluator_type *const sar_types[] = {&sar_type, NULL};

PC_PLUGIN_DEFINE("kubernetes_sar", "1.0.0",
                 "Kubernetes SubjectAccessReview authorization (RBAC for the request)",
                 sar_types, NULL)
