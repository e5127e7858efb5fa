/* trace_flags.c - parsing and checking serve's --tracing-* flags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "trace_flags.h"
#include "util/log.h"

void trace_flags_init(trace_flags *f)
{
    trace_settings_default(&f->s);
    f->s.tags = f->tags;
    f->tags_from_env = 0;
}

int trace_flags_env(trace_flags *f)
{
    static const struct { const char *env; int code; } vars[] = {
        {"PORTCULLIS_TRACING_SERVICE_ENDPOINT", TF_ENDPOINT},
        {"PORTCULLIS_TRACING_MAX_QUEUE_SIZE", TF_QUEUE},
        {"PORTCULLIS_TRACING_MAX_EXPORT_BATCH_SIZE", TF_BATCH},
        {"PORTCULLIS_TRACING_BATCH_DELAY", TF_DELAY},
        {"PORTCULLIS_TRACING_EXPORT_TIMEOUT", TF_TIMEOUT},
        {"PORTCULLIS_TRACING_SAMPLING_RATIO", TF_RATIO}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].env);
        if (v && trace_flags_set(f, vars[i].code, v) < 0) {
            plog(PC_LOG_ERROR, "portcullis", "(from %s)", vars[i].env);
            return -1;
        }
    }
    const char *v = getenv("PORTCULLIS_TRACING_SERVICE_INSECURE");
    if (v)
        f->s.insecure = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    v = getenv("PORTCULLIS_TRACING_SERVICE_TAGS");
    if (v && *v) {
        if (strlen(v) >= sizeof f->env_tags) {
            plog(PC_LOG_ERROR, "portcullis", "PORTCULLIS_TRACING_SERVICE_TAGS: longer than "
                 "%zu bytes", sizeof f->env_tags - 1);
            return -1;
        }
        strcpy(f->env_tags, v);
        char *save = NULL;
        for (char *tok = strtok_r(f->env_tags, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save))
            if (trace_flags_set(f, TF_TAG, tok) < 0)
                return -1;
        f->tags_from_env = 1;
    }
    return 0;
}

static int bad(const char *flag, const char *want, const char *got)
{
    plog(PC_LOG_ERROR, "portcullis", "--%s: %s, got \"%s\"", flag, want, got);
    return -1;
}

int trace_flags_set(trace_flags *f, int code, const char *arg)
{
    long long n = 0;
    switch (code) {
    case TF_ENDPOINT:
        f->s.endpoint = arg;
        return 0;
    case TF_TAG:
        if (f->tags_from_env) {
            f->tags_from_env = 0;
            f->s.n_tags = 0;
        }
        if (f->s.n_tags == TRACE_FLAGS_MAX_TAGS)
            return bad("tracing-service-tag", "at most 64 tags", arg);
        f->tags[f->s.n_tags++] = arg;
        return 0;
    case TF_INSECURE:
        f->s.insecure = 1;
        return 0;
    case TF_QUEUE:
        if (cli_number(arg, 1, 1000000, &n) < 0)
            return bad("tracing-max-queue-size", "want 1..1000000 spans", arg);
        f->s.max_queue_spans = (size_t)n;
        return 0;
    case TF_BATCH:
        if (cli_number(arg, 1, 1000000, &n) < 0)
            return bad("tracing-max-export-batch-size", "want 1..1000000 spans", arg);
        f->s.max_batch_spans = (size_t)n;
        return 0;
    case TF_DELAY:
        if (cli_number(arg, 1, 3600000, &n) < 0)
            return bad("tracing-batch-delay", "want 1..3600000 ms", arg);
        f->s.batch_delay_ms = n;
        return 0;
    case TF_TIMEOUT:
        if (cli_number(arg, 1, 3600000, &n) < 0)
            return bad("tracing-export-timeout", "want 1..3600000 ms", arg);
        f->s.export_timeout_ms = n;
        return 0;
    case TF_RATIO: {
        char *end = NULL;
        errno = 0;
        double r = strtod(arg, &end);
        if (errno || end == arg || *end || !(r >= 0.0 && r <= 1.0))
            return bad("tracing-sampling-ratio", "want a number 0..1", arg);
        f->s.sampling_ratio = r;
        return 0;
    }
    default:
        return -1;
    }
}

int trace_flags_start(trace_flags *f)
{
    if (!f->s.endpoint || !*f->s.endpoint) {
        if (f->s.n_tags || f->s.insecure) {
            plog(PC_LOG_ERROR, "portcullis", "--tracing-service-tag and "
                 "--tracing-service-insecure need --tracing-service-endpoint");
            return -1;
        }
        return 0;
    }
    char err[512];
    if (trace_start(&f->s, err, sizeof err) < 0) {
        plog(PC_LOG_ERROR, "portcullis", "%s", err);
        return -1;
    }
    return 0;
}
