/*
 * response "plain": one value, static or selected, as a string.
 *
 * Authorino formats a plain header with Go's %v. Here strings are written
 * raw and everything else as compact JSON (gjson's String()), which reads
 * the same for numbers and booleans and is parseable for objects and lists
 * where %v would print Go syntax (map[k:v]). A missing value gives "" where
 * %v would print "<nil>".
 */
#include <stdio.h>
#include <stdlib.h>

#include <portcullis/plugin.h>

static const char rplain_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{"
    "\"value\":{},"
    "\"selector\":{\"type\":\"string\"},"
    "\"expression\":{\"type\":\"string\"}}}";

typedef struct rplain_inst {
    const pc_host *host;
    pc_vos *vos;
} rplain_inst;

static void *rplain_create(const pc_host *host, pc_create_ctx *cc,
                           const pc_value *config, char *err, size_t errlen)
{
    rplain_inst *in;

    in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    in->vos = host->vos_compile(cc, config, err, errlen);
    if (!in->vos) {
        free(in);
        return NULL;
    }
    return in;
}

static void rplain_destroy(void *instance)
{
    rplain_inst *in = instance;

    if (!in)
        return;
    in->host->vos_free(in->vos);
    free(in);
}

static pc_status rplain_evaluate(void *instance, pc_eval *ev)
{
    const rplain_inst *in = instance;
    const pc_host *h = in->host;
    const pc_value *v = h->vos_resolve(ev, in->vos);
    const char *text = "";
    size_t len = 0;
    pc_value *out;

    if (v) {
        text = h->value_text(v, &len);
        if (!text) {
            h->eval_set_reason(ev, "could not format the value");
            return PC_ERROR;
        }
    }
    out = h->value_new_string(ev, text, len);
    if (!out) {
        h->eval_set_reason(ev, "out of memory");
        return PC_ERROR;
    }
    h->eval_set_output(ev, out);
    return PC_OK;
}

static const pc_evaluator_type rplain_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_RESPONSE,
    .name = "plain",
    .config_schema = rplain_schema,
    .challenge = NULL,
    .create = rplain_create,
    .destroy = rplain_destroy,
    .evaluate = rplain_evaluate,
};

static const pc_evaluator_type *const rplain_types[] = {&rplain_type, NULL};

PC_PLUGIN_DEFINE("response_plain", PC_BUILTIN_VERSION,
                 "A static or selected value, as a string",
                 rplain_types, NULL)
