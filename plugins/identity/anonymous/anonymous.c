/*
 * identity "anonymous": lets every request through the identity phase.
 *
 * The identity object is {"anonymous":true}, the JSON Authorino produces
 * for its anonymous access, so selectors such as auth.identity.anonymous
 * behave the same in both servers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <portcullis/plugin.h>

static const char anon_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false}";

typedef struct anon_inst {
    const pc_host *host;
} anon_inst;

static void *anon_create(const pc_host *host, pc_create_ctx *cc,
                         const pc_value *config, char *err, size_t errlen)
{
    anon_inst *in;

    (void)cc;
    (void)config;
    in = calloc(1, sizeof(*in));
    if (!in) {
        if (errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    return in;
}

static void anon_destroy(void *instance)
{
    free(instance);
}

static pc_status anon_evaluate(void *instance, pc_eval *ev)
{
    const pc_host *h = ((const anon_inst *)instance)->host;
    pc_value *obj, *flag;

    obj = h->value_new_object(ev);
    flag = h->value_new_bool(ev, 1);
    if (!obj || !flag || h->value_set(obj, "anonymous", flag) != PC_OK) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    h->eval_set_output(ev, obj);
    return PC_OK;
}

static const pc_evaluator_type anon_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_IDENTITY,
    .name = "anonymous",
    .config_schema = anon_schema,
    .challenge = NULL,
    .create = anon_create,
    .destroy = anon_destroy,
    .evaluate = anon_evaluate,
};

static const pc_evaluator_type *const anon_types[] = {&anon_type, NULL};

PC_PLUGIN_DEFINE("identity_anonymous", PC_BUILTIN_VERSION,
                 "Anonymous access: every request gets {\"anonymous\":true}",
                 anon_types, NULL)
