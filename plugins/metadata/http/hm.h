/* hm.h - the `http` metadata evaluator: its instance and the pieces that
 * build one call (config, request, OAuth2 token, text helpers). */
#ifndef HM_H
#define HM_H
#include <stddef.h>
#include <stdint.h>
#include <portcullis/plugin.h>

#define HM_DEFAULT_TIMEOUT_MS 5000
/* Authorino refuses longer URLs (pkg/http ValidateURL). */
#define HM_MAX_URL 2048
/* Configured headers per call (the credential and Content-Type come on top). */
#define HM_MAX_HEADERS 64
/* A token without expires_in is reused for at most this long. */
#define HM_TOKEN_DEFAULT_TTL_MS (3600 * 1000)
/* ...and one with expires_in for at most this long. */
#define HM_TOKEN_MAX_TTL_MS (24 * 3600 * 1000)
/* Tokens are renewed this long before they expire (golang.org/x/oauth2's
 * expiryDelta), so no request carries one that dies in flight. */
#define HM_TOKEN_EARLY_MS (10 * 1000)

/* Where the credential (shared secret or OAuth2 token) goes. */
typedef enum { HM_CRED_AUTH_HEADER, HM_CRED_CUSTOM_HEADER, HM_CRED_QUERY, HM_CRED_COOKIE } hm_cred_at;

/* A name and a value-or-selector (headers, bodyParameters). */
typedef struct hm_named {
    char *name;
    pc_vos *vos;
} hm_named;

typedef struct hm_oauth2 {
    char *token_url;
    char *client_id;
    char *client_secret;   /* from the Secret; wiped on destroy */
    char *scopes;          /* space-separated, or NULL */
    char *extra;           /* form-encoded extraParams ("a=1&b=2"), or NULL */
    int64_t timeout_ms;
    pc_cache *cache;       /* NULL with cache: false (a token per request) */
} hm_oauth2;

typedef struct hm_inst {
    const pc_host *host;
    char *name;            /* the evaluator name, for logs */
    char *url;             /* static URL, or the template's text */
    pc_selector *url_tpl;  /* URL with {placeholders}, else NULL */
    const char *method;    /* GET POST PUT PATCH DELETE (static string) */
    int has_body_method;   /* POST/PUT/PATCH send a body */
    pc_vos *body;          /* body, or NULL */
    hm_named *params;      /* bodyParameters, sorted by name */
    size_t n_params;
    int json_params;       /* contentType application/json */
    char *content_type;
    hm_named *headers;
    size_t n_headers;
    char *secret;          /* sharedSecretRef's value, or NULL */
    hm_cred_at cred_at;
    char *cred_name;       /* prefix, header, query or cookie name */
    hm_oauth2 *oauth2;
    int64_t timeout_ms;
} hm_inst;

/* hm_config.c: fills in from the (schema-checked) config; 0 or -1 with err. */
int hm_configure(hm_inst *in, pc_create_ctx *cc, const pc_value *cfg, char *err,
                 size_t errlen);
void hm_unconfigure(hm_inst *in);

/* hm_oauth2.c: the access token for this request (cached and shared by all
 * requests until it expires; concurrent misses make one token request).
 * PC_OK with *tok (owned by ev), or PC_ERROR with the reason set. */
pc_status hm_oauth2_token(const hm_inst *in, pc_eval *ev, const char **tok);

/* hm_request.c: builds and sends the call, turns the answer into the
 * metadata object. PC_OK with *out, or PC_ERROR with the reason set. */
pc_status hm_call(const hm_inst *in, pc_eval *ev, pc_value **out);

/* hm_text.c: a growable string with a hard cap. */
typedef struct hm_buf {
    char *p;
    size_t len, cap, max;
    int failed;            /* out of memory or over max */
} hm_buf;
void hm_buf_init(hm_buf *b, size_t max);
void hm_buf_put(hm_buf *b, const char *s, size_t n);
void hm_buf_puts(hm_buf *b, const char *s);
/* application/x-www-form-urlencoded (Go's url.QueryEscape: space is '+'). */
void hm_buf_form(hm_buf *b, const char *s, size_t n);
/* Wipes and frees. */
void hm_buf_free(hm_buf *b);
/* Standard base64 of n bytes into b. */
void hm_buf_base64(hm_buf *b, const unsigned char *s, size_t n);
/* 1 if s (n bytes) holds no CR, LF or NUL (safe inside one header line). */
int hm_header_safe(const char *s, size_t n);
/* 1 if the name is an RFC 9110 token (a valid header name). */
int hm_token_name(const char *s);
char *hm_strdup(const char *s);
#endif
