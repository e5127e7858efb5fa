/* jwt_token.h - one compact JWS checked against the instance's keys and
 * claim rules; the verified claims become the identity. */
#ifndef JWT_TOKEN_H
#define JWT_TOKEN_H
#include <portcullis/plugin.h>
#include "jwt_refresh.h"

/* Clock skew allowed on exp, nbf and iat, in seconds. */
#define JWT_LEEWAY_S 30
/* Longer tokens are refused unread. */
#define JWT_MAX_TOKEN 16384

typedef struct jwt_inst {
    const pc_host *host;
    char *issuer;            /* issuerUrl: iss must equal it; NULL for jwksUrl */
    int64_t timeout_ms;      /* per HTTP request of a key fetch */
    int64_t cache_ttl_ms;    /* upper bound of a verified token's cache entry */
    pc_cache *cache;
    jwt_refresh *rf;
} jwt_inst;

typedef struct jwt_ask {
    const jwt_inst *in;
    const char *token;
    size_t token_len;
} jwt_ask;

/* A pc_cache_fill_fn (arg = jwt_ask *): PC_OK with the claims object and
 * *ttl_ms bounded by exp; PC_DENY with the reason as a string value (so
 * requests sharing the flight get it too); PC_ERROR with a reason on ev
 * when no key set is available. Reasons never contain the token. */
pc_status jwt_token_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms);
#endif
