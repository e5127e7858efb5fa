/*
 * response "json": an object whose properties are static or selected
 * values. A selector that finds nothing gives null, as in Authorino, so the
 * object always has every configured property.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portcullis/plugin.h>

static const char rjson_schema[] =
    "{\"type\":\"object\",\"required\":[\"properties\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"properties\":{\"type\":\"object\",\"additionalProperties\":{"
    "\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"value\":{},"
    "\"selector\":{\"type\":\"string\"},"
    "\"expression\":{\"type\":\"string\"}}}}}}";

typedef struct rjson_prop {
    char *name;
    pc_vos *vos;
} rjson_prop;

typedef struct rjson_inst {
    const pc_host *host;
    rjson_prop *props;
    size_t n;
} rjson_inst;

typedef struct rjson_build {
    rjson_inst *in;
    pc_create_ctx *cc;
    size_t cap;
    char *err;
    size_t errlen;
} rjson_build;

static void rjson_destroy(void *instance)
{
    rjson_inst *in = instance;
    size_t i;

    if (!in)
        return;
    for (i = 0; i < in->n; i++) {
        in->host->vos_free(in->props[i].vos);
        free(in->props[i].name);
    }
    free(in->props);
    free(in);
}

static int rjson_add(void *arg, const char *key, const pc_value *spec)
{
    rjson_build *b = arg;
    rjson_inst *in = b->in;
    const pc_host *h = in->host;
    size_t klen = strlen(key);
    char sub[256];
    rjson_prop *p;

    if (in->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;

        p = realloc(in->props, cap * sizeof(*p));
        if (!p)
            goto oom;
        in->props = p;
        b->cap = cap;
    }
    p = &in->props[in->n];
    p->name = malloc(klen + 1);
    if (!p->name)
        goto oom;
    memcpy(p->name, key, klen + 1);
    p->vos = h->vos_compile(b->cc, spec, sub, sizeof(sub));
    if (!p->vos) {
        free(p->name);
        snprintf(b->err, b->errlen, "properties.%s: %s", key, sub);
        return 1;
    }
    in->n++;
    return 0;
oom:
    snprintf(b->err, b->errlen, "out of memory");
    return 1;
}

static void *rjson_create(const pc_host *host, pc_create_ctx *cc,
                          const pc_value *config, char *err, size_t errlen)
{
    const pc_value *props = host->value_get(config, "properties");
    rjson_build b;
    rjson_inst *in;

    if (!props || host->value_type(props) != PC_TYPE_OBJECT) {
        snprintf(err, errlen, "properties: a map is required");
        return NULL;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = host;
    b.in = in;
    b.cc = cc;
    b.cap = 0;
    b.err = err;
    b.errlen = errlen;
    if (host->value_foreach(props, rjson_add, &b) != 0) {
        rjson_destroy(in);
        return NULL;
    }
    return in;
}

static pc_status rjson_evaluate(void *instance, pc_eval *ev)
{
    const rjson_inst *in = instance;
    const pc_host *h = in->host;
    pc_value *obj = h->value_new_object(ev);
    size_t i;

    if (!obj)
        goto oom;
    for (i = 0; i < in->n; i++) {
        /* Resolved values belong to this request and nothing changes them
         * later, so the object may share them instead of copying. */
        pc_value *v = (pc_value *)h->vos_resolve(ev, in->props[i].vos);

        if (v && h->value_type(v) == PC_TYPE_NULL)
            v = NULL;
        if (h->value_set(obj, in->props[i].name, v) != PC_OK)
            goto oom;
    }
    h->eval_set_output(ev, obj);
    return PC_OK;
oom:
    h->eval_set_reason(ev, "out of memory");
    return PC_ERROR;
}

static const pc_evaluator_type rjson_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = 0,
    .phase = PC_PHASE_RESPONSE,
    .name = "json",
    .config_schema = rjson_schema,
    .challenge = NULL,
    .create = rjson_create,
    .destroy = rjson_destroy,
    .evaluate = rjson_evaluate,
};

static const pc_evaluator_type *const rjson_types[] = {&rjson_type, NULL};

PC_PLUGIN_DEFINE("response_json", PC_BUILTIN_VERSION,
                 "A JSON object of static or selected values",
                 rjson_types, NULL)
