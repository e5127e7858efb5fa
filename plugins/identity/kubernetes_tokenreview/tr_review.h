/* tr_review.h - one TokenReview round trip and its verdict. */
#ifndef TR_REVIEW_H
#define TR_REVIEW_H
#include <portcullis/plugin.h>

#define TR_NOT_AUTHENTICATED "Not authenticated"

typedef struct tr_inst {
    const pc_host *host;
    char **auds;            /* configured audiences; none = request host */
    size_t n_auds;
    int64_t timeout_ms;
    int64_t ttl_ms, deny_ttl_ms;
    pc_cache *cache;        /* NULL when both TTLs are 0 */
} tr_inst;

/* What one review asks: the token and the audiences to request. */
typedef struct tr_ask {
    const tr_inst *in;
    const char *token;
    size_t token_len;
    const char *const *auds;
    size_t n_auds;
} tr_ask;

/* A pc_cache_fill_fn (arg = tr_ask *): PC_OK with the TokenReview status
 * as *out and *ttl_ms bounded by the token's exp; PC_DENY with NULL (the
 * reason is always TR_NOT_AUTHENTICATED); PC_ERROR with a reason set on
 * ev that never contains the token or the response body. */
pc_status tr_review_fill(void *arg, pc_eval *ev, pc_value **out, int64_t *ttl_ms);
#endif
