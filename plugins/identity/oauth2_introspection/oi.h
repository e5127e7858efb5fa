/* oi.h - the oauth2Introspection identity: its instance and one
 * introspection (RFC 7662) round trip. */
#ifndef OI_H
#define OI_H
#include <portcullis/plugin.h>

#define OI_NOT_ACTIVE "token is not active"

typedef struct oi_inst {
    const pc_host *host;
    char *endpoint;
    char *hint_form;         /* "&token_type_hint=<urlencoded>" */
    char *auth_header;       /* "Authorization: Basic ..." (secret: wiped on destroy) */
    int64_t timeout_ms;
    int64_t ttl_ms, deny_ttl_ms;
    pc_cache *cache;         /* NULL when both TTLs are 0 */
} oi_inst;

typedef struct oi_ask {
    const oi_inst *in;
    const char *token;
    size_t token_len;
} oi_ask;

/* A pc_cache_fill_fn (arg = oi_ask *): PC_OK with the introspection
 * response as *out and *ttl_ms bounded by its exp; PC_DENY when the token
 * is not active; PC_ERROR with a reason on ev for transport errors,
 * non-200 answers and malformed responses. No reason or log line holds
 * the token or the client secret. */
pc_status oi_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms);

/* application/x-www-form-urlencoded escaping of s into a new string. */
char *oi_form_escape(const char *s, size_t len);

/* Reads clientID and clientSecret from the Secret `name` in `ns` among
 * the resources beside the AuthConfig and builds in->auth_header; -1 with
 * err when the Secret or either entry is missing. */
int oi_client_credentials(oi_inst *in, pc_create_ctx *cc, const char *name, char *err,
                          size_t errlen);
#endif
