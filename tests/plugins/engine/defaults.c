/* A response method whose schema declares defaults, at the top and in a
 * nested object. create refuses a config that lacks any of them, and each
 * request answers with what create saw ("<greeting> <ttl> <retries>"), so a
 * test can tell that the host applied the defaults before create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <portcullis/plugin.h>

static const char df_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"greeting\":{\"type\":\"string\",\"default\":\"hello\"},"
    "\"ttl\":{\"type\":\"integer\",\"minimum\":1,\"default\":60},"
    "\"retry\":{\"type\":\"object\",\"default\":{},\"additionalProperties\":false,"
    "\"properties\":{\"count\":{\"type\":\"integer\",\"default\":3}}}}}";

typedef struct df_inst {
    const pc_host *host;
    char text[160];
} df_inst;

static void *df_create(const pc_host *host, pc_create_ctx *cc,
                       const pc_value *config, char *err, size_t errlen)
{
    const pc_value *g = host->value_get(config, "greeting");
    const pc_value *t = host->value_get(config, "ttl");
    const pc_value *r = host->value_get(config, "retry");
    const pc_value *n = r ? host->value_get(r, "count") : NULL;
    (void)cc;
    if (!g || !t || !n || host->value_type(g) != PC_TYPE_STRING ||
        host->value_type(t) != PC_TYPE_INT || host->value_type(n) != PC_TYPE_INT) {
        snprintf(err, errlen, "create saw a config without its defaults");
        return NULL;
    }
    df_inst *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->host = host;
    snprintf(in->text, sizeof in->text, "%s %lld %lld", host->value_string(g, NULL),
             (long long)host->value_int(t), (long long)host->value_int(n));
    return in;
}

static void df_destroy(void *inst)
{
    free(inst);
}

static pc_status df_eval(void *inst, pc_eval *ev)
{
    const df_inst *in = inst;
    pc_value *v = in->host->value_new_string(ev, in->text, strlen(in->text));
    if (!v)
        return PC_ERROR;
    in->host->eval_set_output(ev, v);
    return PC_OK;
}

static const pc_evaluator_type df_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .phase = PC_PHASE_RESPONSE,
    .name = "abiDefaults",
    .config_schema = df_schema,
    .create = df_create,
    .destroy = df_destroy,
    .evaluate = df_eval,
};
static const pc_evaluator_type *const df_types[] = {&df_type, NULL};
PC_PLUGIN_DEFINE("engine_defaults", "1.0.0", "schema defaults reach create", df_types, NULL)
