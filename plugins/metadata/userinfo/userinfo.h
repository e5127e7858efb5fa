/* userinfo.h - the userInfo metadata instance, shared by its config and
 * its credential lookup. */
#ifndef UI_USERINFO_H
#define UI_USERINFO_H
#include <stdint.h>
#include <portcullis/plugin.h>

/* Where the identity takes its token (its `credentials`). */
typedef enum { UI_CRED_AUTH_HEADER, UI_CRED_CUSTOM_HEADER, UI_CRED_QUERY, UI_CRED_COOKIE } ui_cred_at;

typedef struct ui_inst {
    const pc_host *h;
    char *issuer;          /* identitySource's issuerUrl, or NULL with userInfoUrl */
    char *disc_url;        /* its /.well-known/openid-configuration */
    char *url;             /* userInfoUrl, or NULL */
    ui_cred_at cred;
    char *cred_name;       /* prefix, header (lowercase), query or cookie name */
    int64_t timeout_ms;
    pc_cache *disc;        /* the discovery document, per issuer */
} ui_inst;

/* The access token of the request (borrowed for the evaluation), or NULL. */
const char *ui_token(const ui_inst *in, pc_eval *ev);
#endif
