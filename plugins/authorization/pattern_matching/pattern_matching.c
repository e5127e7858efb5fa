/*
 * authorization "patternMatching": grants when every pattern holds.
 *
 * The host compiles the patterns (operators, all/any, patternRef, regexes
 * once) and evaluates them; this plugin only maps the outcome to Authorino's
 * results: granted -> auth.authorization.<name> = true, not matching ->
 * deny with "Unauthorized", an evaluation error -> fail closed (an error,
 * never a "no match" that a surrounding `any` or `neq` could turn around).
 */
#include <stdio.h>
#include <stdlib.h>

#include <portcullis/plugin.h>

#define PM_DENY_REASON "Unauthorized"

static const char pm_schema[] =
    "{\"type\":\"object\",\"required\":[\"patterns\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"patterns\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}";

typedef struct pm_inst {
    const pc_host *host;
    pc_cond *cond;  /* NULL: no patterns, always granted (as Authorino) */
} pm_inst;

static void *pm_create(const pc_host *host, pc_create_ctx *cc,
                       const pc_value *config, char *err, size_t errlen)
{
    const pc_value *patterns = host->value_get(config, "patterns");
    pm_inst *in;

    if (patterns && host->value_type(patterns) != PC_TYPE_ARRAY) {
        snprintf(err, errlen, "patterns: must be a list");
        return NULL;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    if (patterns && host->value_length(patterns) > 0) {
        in->cond = host->cond_compile(cc, patterns, err, errlen);
        if (!in->cond) {
            free(in);
            return NULL;
        }
    }
    return in;
}

static void pm_destroy(void *instance)
{
    pm_inst *in = instance;

    if (!in)
        return;
    if (in->cond)
        in->host->cond_free(in->cond);
    free(in);
}

static pc_status pm_evaluate(void *instance, pc_eval *ev)
{
    const pm_inst *in = instance;
    const pc_host *h = in->host;
    int r = in->cond ? h->cond_eval(ev, in->cond) : 1;
    pc_value *granted;

    if (r == 0) {
        h->eval_set_reason(ev, PM_DENY_REASON);
        return PC_DENY;
    }
    if (r != 1) {
        /* An operator that could not be evaluated (a value that is not
         * UTF-8 under `matches`, a regex limit, a list under `eq`...): the
         * host has set the reason, which names the selector. */
        return PC_ERROR;
    }
    granted = h->value_new_bool(ev, 1);
    if (!granted) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    h->eval_set_output(ev, granted);
    return PC_OK;
}

static const pc_evaluator_type pm_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_AUTHORIZATION,
    .name = "patternMatching",
    .config_schema = pm_schema,
    .challenge = NULL,
    .create = pm_create,
    .destroy = pm_destroy,
    .evaluate = pm_evaluate,
};

static const pc_evaluator_type *const pm_types[] = {&pm_type, NULL};

PC_PLUGIN_DEFINE("authorization_pattern_matching", PC_BUILTIN_VERSION,
                 "Grants when every pattern on the Authorization JSON holds",
                 pm_types, NULL)
