/*
 * metadata "http": fetches extra facts about the request from an HTTP
 * service (Authorino's generic HTTP metadata). The answer, parsed as JSON
 * when it is JSON and kept as a string otherwise, becomes
 * auth.metadata.<name>.
 *
 * The call is built from the config: `url` with {selector} placeholders,
 * `method`, `body` or `bodyParameters` (form or JSON), `headers`, and a
 * credential - a Secret's key (`sharedSecretRef`) or an OAuth2 access
 * token (`oauth2`, client credentials) - put where `credentials` says.
 * Errors (transport, timeout, a status outside 2xx) publish nothing; the
 * evaluator-level `cache` stores successes only, so an outage is retried
 * on the next request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hc.h"

static const char hm_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    HC_SCHEMA_PROPS "}}";

static void hm_destroy(void *p)
{
    hc_inst *in = p;
    if (!in)
        return;
    hc_unconfigure(in);
    free(in->name);
    free(in);
}

static void *hm_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       char *err, size_t errlen)
{
    hc_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->host = h;
    in->what = "http metadata";
    in->name = hc_strdup(h->cc_evaluator_name(cc));
    if (hc_configure(in, cc, cfg, err, errlen) < 0) {
        hm_destroy(in);
        return NULL;
    }
    return in;
}

static pc_status hm_evaluate(void *p, pc_eval *ev)
{
    const hc_inst *in = p;
    pc_value *out = NULL;
    pc_status st = hc_call(in, ev, &out);
    if (st != PC_OK)
        return PC_ERROR;
    in->host->eval_set_output(ev, out);
    return PC_OK;
}

static const pc_evaluator_type hm_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK,
    .phase = PC_PHASE_METADATA,
    .name = "http",
    .config_schema = hm_schema,
    .create = hm_create,
    .destroy = hm_destroy,
    .evaluate = hm_evaluate,
};

static const pc_evaluator_type *const hm_types[] = {&hm_type, NULL};

PC_PLUGIN_DEFINE("metadata_http", "1.0.0",
                 "External metadata from an HTTP service (shared secret or OAuth2 "
                 "client credentials)",
                 hm_types, NULL)
