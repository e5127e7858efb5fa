/*
 * identity "plain": the identity object is whatever a selector (or a CEL
 * expression, through the host's value-or-selector service) finds in the
 * Authorization JSON, typically a JWT another Envoy filter already verified
 * (metadata.filter_metadata...). Nothing is checked here: the value is
 * trusted because the proxy put it there.
 *
 * A missing or null value denies with Authorino's message, so users see the
 * same reason in X-Ext-Auth-Reason.
 */
#include <stdio.h>
#include <stdlib.h>

#include <portcullis/plugin.h>

#define PLAIN_DENY_REASON "could not retrieve identity object or null"

static const char plain_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{"
    "\"selector\":{\"type\":\"string\"},"
    "\"expression\":{\"type\":\"string\"}}}";

typedef struct plain_inst {
    const pc_host *host;
    pc_selector *sel;
    pc_vos *expr; /* {expression}, instead of sel */
} plain_inst;

static void *plain_create(const pc_host *host, pc_create_ctx *cc,
                          const pc_value *config, char *err, size_t errlen)
{
    const pc_value *sel_v = host->value_get(config, "selector");
    const pc_value *expr_v = host->value_get(config, "expression");
    const char *text;
    size_t len = 0;
    plain_inst *in;

    if (expr_v) {
        if (sel_v) {
            snprintf(err, errlen, "set either selector or expression");
            return NULL;
        }
        in = calloc(1, sizeof(*in));
        if (!in) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        in->host = host;
        in->expr = host->vos_compile(cc, config, err, errlen);
        if (!in->expr) {
            free(in);
            return NULL;
        }
        return in;
    }
    text = sel_v ? host->value_string(sel_v, &len) : NULL;
    if (!text || len == 0) {
        snprintf(err, errlen, "selector: a non-empty string is required");
        return NULL;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    in->sel = host->selector_compile(text, err, errlen);
    if (!in->sel) {
        free(in);
        return NULL;
    }
    return in;
}

static void plain_destroy(void *instance)
{
    plain_inst *in = instance;

    if (!in)
        return;
    if (in->sel)
        in->host->selector_free(in->sel);
    if (in->expr)
        in->host->vos_free(in->expr);
    free(in);
}

static pc_status plain_evaluate(void *instance, pc_eval *ev)
{
    const plain_inst *in = instance;
    const pc_host *h = in->host;
    const pc_value *found = in->expr ? h->vos_resolve(ev, in->expr)
                                     : h->selector_resolve(ev, in->sel);
    pc_value *copy;

    /* A JSON null is a NULL pointer too, so both cases land here. */
    if (!found || h->value_type(found) == PC_TYPE_NULL) {
        h->eval_set_reason(ev, PLAIN_DENY_REASON);
        return PC_DENY;
    }
    /* The found value lives in the Authorization JSON, which the identity
     * output is about to join: publish a copy, never the borrowed node. */
    copy = h->value_copy(ev, found);
    if (!copy) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    h->eval_set_output(ev, copy);
    return PC_OK;
}

static const pc_evaluator_type plain_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_IDENTITY,
    .name = "plain",
    .config_schema = plain_schema,
    .challenge = NULL,
    .create = plain_create,
    .destroy = plain_destroy,
    .evaluate = plain_evaluate,
};

static const pc_evaluator_type *const plain_types[] = {&plain_type, NULL};

PC_PLUGIN_DEFINE("identity_plain", PC_BUILTIN_VERSION,
                 "Plain identity: the value a selector finds in the request",
                 plain_types, NULL)
