/* metrics_evtype.c - Authorino's evaluator_type label values, so existing
 * dashboards select the same series (pkg/evaluators: IDENTITY_APIKEY,
 * AUTHORIZATION_JSON, ...). Methods Authorino does not have are named the
 * same way: the phase, then the method in capitals. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "metrics.h"
#include "util/str.h"

static const struct {
    pc_phase phase;
    const char *method, *type;
} known[] = {
    {PC_PHASE_IDENTITY, "apiKey", "IDENTITY_APIKEY"},
    {PC_PHASE_IDENTITY, "jwt", "IDENTITY_JWT"},
    {PC_PHASE_IDENTITY, "oauth2Introspection", "IDENTITY_OAUTH2"},
    {PC_PHASE_IDENTITY, "kubernetesTokenReview", "IDENTITY_KUBERNETES"},
    {PC_PHASE_IDENTITY, "x509", "IDENTITY_MTLS"},
    {PC_PHASE_IDENTITY, "hmac", "IDENTITY_HMAC"},
    {PC_PHASE_IDENTITY, "plain", "IDENTITY_PLAIN"},
    {PC_PHASE_IDENTITY, "anonymous", "IDENTITY_NOOP"},
    {PC_PHASE_METADATA, "http", "METADATA_GENERIC_HTTP"},
    {PC_PHASE_METADATA, "userInfo", "METADATA_USERINFO"},
    {PC_PHASE_METADATA, "uma", "METADATA_UMA"},
    {PC_PHASE_AUTHORIZATION, "patternMatching", "AUTHORIZATION_JSON"},
    {PC_PHASE_AUTHORIZATION, "opa", "AUTHORIZATION_OPA"},
    {PC_PHASE_AUTHORIZATION, "kubernetesSubjectAccessReview", "AUTHORIZATION_KUBERNETES"},
    {PC_PHASE_AUTHORIZATION, "spicedb", "AUTHORIZATION_AUTHZED"},
    {PC_PHASE_RESPONSE, "wristband", "RESPONSE_WRISTBAND"},
    {PC_PHASE_RESPONSE, "json", "RESPONSE_JSON"},
    {PC_PHASE_RESPONSE, "plain", "RESPONSE_PLAIN"},
    {PC_PHASE_CALLBACK, "http", "CALLBACK_HTTP"},
};

const char *metrics_evaluator_type(pc_phase phase, const char *method, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].phase == phase && strcmp(known[i].method, method) == 0)
            return known[i].type;
    static const char *const prefix[] = {"IDENTITY", "METADATA", "AUTHORIZATION",
                                         "RESPONSE", "CALLBACK"};
    int len = snprintf(out, n, "%s_", phase >= 0 && phase < PC_PHASE_COUNT_
                                          ? prefix[phase] : "EVALUATOR");
    for (const char *m = method; len >= 0 && (size_t)len + 1 < n && *m; m++)
        out[len++] = isalnum((unsigned char)*m) ? str_upper_c(*m) : '_';
    if (len >= 0 && (size_t)len < n)
        out[len] = '\0';
    return out;
}
