/* A test plugin whose behaviour its config chooses, with one "probe" type
 * per phase (blocking, with a non-blocking try) and an authorization type
 * "probeBlocking" (blocking, no try), for tests of the request path
 * (tests/unit/test_submit.c):
 *   {counter: NAME, again: bool, result: ok|deny|error|bogus|again,
 *    sleep_ms: N, output: TEXT}
 * Every evaluate call counts under NAME: the tries on an I/O thread
 * (eval_can_block 0) and the calls where blocking is allowed separately.
 * With `again`, a try on an I/O thread answers PC_AGAIN; `result` is what
 * a call that may block answers ("bogus" is a status no plugin may return,
 * "again" is PC_AGAIN where it is not allowed). The test reads the counts
 * with probe_count(), found by dlsym on the same shared object. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <portcullis/plugin.h>

#define PROBE_COUNTERS 32

typedef struct probe_counter {
    char name[32];
    atomic_int tries, calls;
} probe_counter;

static probe_counter g_counters[PROBE_COUNTERS];
static atomic_int g_n;

typedef enum { R_OK, R_DENY, R_ERROR, R_BOGUS, R_AGAIN } probe_result;

typedef struct probe_inst {
    const pc_host *host;
    probe_counter *counter;
    int again;
    probe_result result;
    int64_t sleep_ms;
    char output[64];
} probe_inst;

static const char probe_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"counter\"],"
    "\"properties\":{\"counter\":{\"type\":\"string\"},\"again\":{\"type\":\"boolean\"},"
    "\"result\":{\"enum\":[\"ok\",\"deny\",\"error\",\"bogus\",\"again\"]},"
    "\"sleep_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10000},"
    "\"output\":{\"type\":\"string\"}}}";

/* Control thread only (create), so finding or adding needs no lock. */
static probe_counter *counter_for(const char *name)
{
    int n = atomic_load(&g_n);
    for (int i = 0; i < n; i++)
        if (strcmp(g_counters[i].name, name) == 0)
            return &g_counters[i];
    if (n == PROBE_COUNTERS || strlen(name) >= sizeof g_counters[0].name)
        return NULL;
    strcpy(g_counters[n].name, name);
    atomic_store(&g_n, n + 1);
    return &g_counters[n];
}

/* The counts for name: tries on an I/O thread, calls that may block. */
PC_EXPORT void probe_count(const char *name, int *tries, int *calls);
void probe_count(const char *name, int *tries, int *calls)
{
    *tries = *calls = 0;
    int n = atomic_load(&g_n);
    for (int i = 0; i < n; i++)
        if (strcmp(g_counters[i].name, name) == 0) {
            *tries = atomic_load(&g_counters[i].tries);
            *calls = atomic_load(&g_counters[i].calls);
        }
}

/* Zeroes every count (between test cases). */
PC_EXPORT void probe_reset(void);
void probe_reset(void)
{
    int n = atomic_load(&g_n);
    for (int i = 0; i < n; i++) {
        atomic_store(&g_counters[i].tries, 0);
        atomic_store(&g_counters[i].calls, 0);
    }
}

static void *probe_create(const pc_host *host, pc_create_ctx *cc,
                          const pc_value *config, char *err, size_t errlen)
{
    (void)cc;
    probe_inst *in = calloc(1, sizeof *in);
    if (!in) {
        strncpy(err, "out of memory", errlen);
        return NULL;
    }
    in->host = host;
    const pc_value *v = host->value_get(config, "counter");
    in->counter = counter_for(host->value_string(v, NULL));
    if (!in->counter) {
        strncpy(err, "too many counters or a long name", errlen);
        free(in);
        return NULL;
    }
    v = host->value_get(config, "again");
    in->again = v && host->value_bool(v);
    v = host->value_get(config, "sleep_ms");
    in->sleep_ms = v ? host->value_int(v) : 0;
    v = host->value_get(config, "result");
    const char *r = v ? host->value_string(v, NULL) : "ok";
    in->result = strcmp(r, "deny") == 0    ? R_DENY
                 : strcmp(r, "error") == 0 ? R_ERROR
                 : strcmp(r, "bogus") == 0 ? R_BOGUS
                 : strcmp(r, "again") == 0 ? R_AGAIN
                                           : R_OK;
    v = host->value_get(config, "output");
    const char *o = v ? host->value_string(v, NULL) : NULL;
    strncpy(in->output, o ? o : in->counter->name, sizeof in->output - 1);
    return in;
}

static void probe_destroy(void *instance)
{
    free(instance);
}

static pc_status probe_evaluate(void *instance, pc_eval *ev)
{
    const probe_inst *in = instance;
    const pc_host *h = in->host;
    const int can_block = PC_HOST_HAS(h, eval_can_block) ? h->eval_can_block(ev) : 1;
    if (!can_block) {
        atomic_fetch_add(&in->counter->tries, 1);
        if (in->again)
            return PC_AGAIN;
    } else {
        atomic_fetch_add(&in->counter->calls, 1);
        if (in->sleep_ms) {
            struct timespec ts = {(time_t)(in->sleep_ms / 1000),
                                  (long)(in->sleep_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    switch (in->result) {
    case R_DENY:
        h->eval_set_reason(ev, "%s said no", in->counter->name);
        return PC_DENY;
    case R_ERROR:
        h->eval_set_reason(ev, "%s failed", in->counter->name);
        return PC_ERROR;
    case R_BOGUS:
        return (pc_status)42;
    case R_AGAIN:
        return PC_AGAIN;
    case R_OK:
        break;
    }
    h->eval_set_output(ev, h->value_new_string(ev, in->output, strlen(in->output)));
    return PC_OK;
}

#define PROBE_TYPE(var, ph, name_, flags_)                                     \
    static const pc_evaluator_type var = {                                    \
        .struct_size = sizeof(pc_evaluator_type),                             \
        .flags = flags_,                                                      \
        .phase = ph,                                                          \
        .name = name_,                                                        \
        .config_schema = probe_schema,                                        \
        .create = probe_create,                                               \
        .destroy = probe_destroy,                                             \
        .evaluate = probe_evaluate,                                           \
    }
#define TRY (PC_EVAL_MAY_BLOCK | PC_EVAL_TRY_NONBLOCKING)
PROBE_TYPE(probe_identity, PC_PHASE_IDENTITY, "probe", TRY);
PROBE_TYPE(probe_metadata, PC_PHASE_METADATA, "probe", TRY);
PROBE_TYPE(probe_authorization, PC_PHASE_AUTHORIZATION, "probe", TRY);
PROBE_TYPE(probe_response, PC_PHASE_RESPONSE, "probe", TRY);
PROBE_TYPE(probe_callback, PC_PHASE_CALLBACK, "probe", TRY);
/* Blocks without a non-blocking try: never called on an I/O thread. */
PROBE_TYPE(probe_blocking, PC_PHASE_AUTHORIZATION, "probeBlocking", PC_EVAL_MAY_BLOCK);

static const pc_evaluator_type *const probe_types[] = {
    &probe_identity, &probe_metadata, &probe_authorization, &probe_response,
    &probe_callback, &probe_blocking, NULL};
PC_PLUGIN_DEFINE("probe", "1.0.0", "configurable evaluator for request-path tests",
                 probe_types, NULL)
