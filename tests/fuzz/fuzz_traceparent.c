/* libFuzzer harness for the W3C trace context parsers. Input: a
 * traceparent value up to the first newline, then a tracestate value up to
 * the next, then the rest as a --tracing-service-endpoint. A traceparent
 * that parses must write back to the same fields; a request carrying both
 * headers must give a trace (or none for an unsampled parent) whose
 * outgoing traceparent parses again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "trace/trace_int.h"

static void take(const uint8_t **p, size_t *n, const char **s, size_t *len)
{
    const uint8_t *nl = memchr(*p, '\n', *n);
    *s = (const char *)*p;
    *len = nl ? (size_t)(nl - *p) : *n;
    *p += *len + (nl ? 1 : 0);
    *n -= *len + (nl ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tp, *ts;
    size_t tpn, tsn;
    take(&data, &size, &tp, &tpn);
    take(&data, &size, &ts, &tsn);

    trace_ctx c;
    if (trace_parse_traceparent(tp, tpn, &c) == 0) {
        char out[TRACE_PARENT_LEN + 1];
        trace_ctx again;
        trace_format_traceparent(&c, out);
        if (trace_parse_traceparent(out, TRACE_PARENT_LEN, &again) != 0 ||
            memcmp(&c, &again, sizeof c) != 0)
            abort();
    }
    int state_ok = trace_check_tracestate(ts, tsn) == 0;

    pc_kv h[2] = {{{tp, tpn}, {tp, tpn}}, {{ts, tsn}, {ts, tsn}}};
    h[0].key = (pc_str){"traceparent", 11};
    h[1].key = (pc_str){"tracestate", 10};
    pc_request_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.host = (pc_str){tp, tpn};
    v.id = (pc_str){ts, tsn};
    v.headers = h;
    v.n_headers = 2;
    trace_req *t = trace_begin(&v, NULL);
    if (t) {
        char out[TRACE_PARENT_LEN + 1];
        const char *state;
        trace_ctx back;
        trace_outgoing(t, out, &state);
        if (trace_parse_traceparent(out, strlen(out), &back) != 0)
            abort();
        if (*state && (!state_ok || strlen(state) != tsn))
            abort();
        free(t);
    }

    char *endpoint = malloc(size + 1);
    if (endpoint) {
        memcpy(endpoint, data, size);
        endpoint[size] = '\0';
        char url[512], auth[512], err[256];
        if (trace_endpoint_parse(endpoint, (int)(size & 1), url, sizeof url, auth,
                                 sizeof auth, err, sizeof err) == 0 &&
            strncmp(url, "http", 4) != 0)
            abort();
        free(endpoint);
    }
    return 0;
}
