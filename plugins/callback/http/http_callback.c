/*
 * callback "http": tells an HTTP service about the decision once it is
 * made (Authorino's `callbacks: {NAME: {http: {...}}}`). The call has the
 * fields of the `http` metadata evaluator (url with {placeholders}, method,
 * body or bodyParameters, contentType, headers, sharedSecretRef, oauth2,
 * credentials, timeout) and is built from the same Authorization JSON,
 * which by now holds auth.identity, auth.metadata, auth.authorization and
 * auth.response.
 *
 * Fire and forget: evaluate only builds the call and queues it for the
 * instance's sender threads (cb_queue.c), so neither the verdict nor its
 * latency depend on the service. Failures (transport, timeout, a status
 * outside 2xx) and calls dropped from a full queue are logged and counted
 * (portcullis_callback_http_{sent,failed,dropped}_total).
 *
 * `queueLimit` (not an Authorino field) bounds the calls waiting per
 * callback; default CB_DEFAULT_QUEUE_LIMIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cb.h"

static const char cb_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    HC_SCHEMA_PROPS ","
    "\"queueLimit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65536,\"default\":1024}}}";

typedef struct cb_inst {
    hc_inst call;
    cb_queue queue;
    cb_counters counters;
} cb_inst;

static void cb_destroy(void *p)
{
    cb_inst *in = p;
    if (!in)
        return;
    cb_queue_stop(&in->queue);
    hc_unconfigure(&in->call);
    free(in->call.name);
    free(in);
}

static void *cb_create(const pc_host *h, pc_create_ctx *cc, const pc_value *cfg,
                       char *err, size_t errlen)
{
    cb_inst *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->call.host = h;
    in->call.what = "http callback";
    in->call.name = hc_strdup(h->cc_evaluator_name(cc));
    if (!PC_HOST_HAS(h, http_fetch)) {
        snprintf(err, errlen, "the host has no http_fetch (ABI 1.3 or later needed)");
        goto fail;
    }
    if (hc_configure(&in->call, cc, cfg, err, errlen) < 0)
        goto fail;
    /* The sender thread bounds every call; Authorino's 0 (no timeout)
     * would let one stuck service hold the queue forever. */
    if (in->call.timeout_ms <= 0)
        in->call.timeout_ms = HC_DEFAULT_TIMEOUT_MS;
    const pc_value *ql = h->value_get(cfg, "queueLimit");
    size_t limit = h->value_type(ql) == PC_TYPE_INT ? (size_t)h->value_int(ql)
                                                    : CB_DEFAULT_QUEUE_LIMIT;
    in->counters.sent = h->counter_new("callback_http_sent_total",
                                       "http callbacks answered with a 2xx status");
    in->counters.failed = h->counter_new("callback_http_failed_total",
                                         "http callbacks that failed (transport, timeout, "
                                         "non-2xx status)");
    in->counters.dropped = h->counter_new("callback_http_dropped_total",
                                          "http callbacks dropped from a full queue or "
                                          "on reload");
    if (cb_queue_start(&in->queue, h, in->call.name ? in->call.name : "http callback",
                       &in->counters, limit) < 0) {
        snprintf(err, errlen, "cannot set up the callback queue");
        goto fail;
    }
    return in;
fail:
    cb_destroy(in);
    return NULL;
}

static pc_status cb_evaluate(void *p, pc_eval *ev)
{
    cb_inst *in = p;
    const pc_host *h = in->call.host;
    /* Only an OAuth2 token may have to be fetched; everything else is
     * built from memory, so on an I/O thread the callback costs no hop. */
    if (in->call.oauth2 && PC_HOST_HAS(h, eval_can_block) && !h->eval_can_block(ev))
        return PC_AGAIN;
    cb_job *job = malloc(sizeof *job);
    if (!job) {
        h->counter_add(in->counters.dropped, 1);
        h->eval_set_reason(ev, "http callback: out of memory");
        return PC_ERROR;
    }
    if (hc_build(&in->call, ev, &job->msg) != PC_OK) {
        free(job);
        h->counter_add(in->counters.failed, 1);
        h->log(PC_LOG_WARN, in->queue.name, "http callback not sent: the call could not be "
               "built");
        return PC_ERROR;
    }
    cb_queue_push(&in->queue, job);
    return PC_OK;
}

static const pc_evaluator_type cb_type = {
    .struct_size = sizeof(pc_evaluator_type),
    .flags = PC_EVAL_MAY_BLOCK | PC_EVAL_TRY_NONBLOCKING,
    .phase = PC_PHASE_CALLBACK,
    .name = "http",
    .config_schema = cb_schema,
    .create = cb_create,
    .destroy = cb_destroy,
    .evaluate = cb_evaluate,
};

static const pc_evaluator_type *const cb_types[] = {&cb_type, NULL};

PC_PLUGIN_DEFINE("callback_http", "1.0.0",
                 "Tells an HTTP service about each decision, after it is made",
                 cb_types, NULL)
