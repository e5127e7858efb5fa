/* hc.h - one configured HTTP call as Authorino's `http` metadata and `http`
 * callbacks describe it: the instance, and the pieces that build and send
 * it (config, request, OAuth2 token, text helpers), plus the JSON GETs and
 * discovery documents of userInfo and uma. A static library that those
 * plugins link. */
#ifndef HC_H
#define HC_H
#include <stddef.h>
#include <stdint.h>
#include <portcullis/plugin.h>
#include "util/buf.h"

#define HC_DEFAULT_TIMEOUT_MS 5000
/* Authorino refuses longer URLs (pkg/http ValidateURL). */
#define HC_MAX_URL 2048
/* Configured headers per call (the credential and Content-Type come on top). */
#define HC_MAX_HEADERS 64
/* A token without expires_in is reused for at most this long. */
#define HC_TOKEN_DEFAULT_TTL_MS (3600 * 1000)
/* ...and one with expires_in for at most this long. */
#define HC_TOKEN_MAX_TTL_MS (24 * 3600 * 1000)
/* Tokens are renewed this long before they expire (golang.org/x/oauth2's
 * expiryDelta), so no request carries one that dies in flight. */
#define HC_TOKEN_EARLY_MS (10 * 1000)

#define HC_VOS "{\"type\":\"object\"}"
#define HC_SECRET_REF                                                         \
    "{\"type\":\"object\",\"required\":[\"name\",\"key\"],"                    \
    "\"additionalProperties\":false,\"properties\":{"                        \
    "\"name\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"}}}"
#define HC_NAMED "{\"type\":\"object\",\"additionalProperties\":" HC_VOS "}"
#define HC_NAME_ONLY(f)                                                       \
    "{\"type\":\"object\",\"required\":[\"" f "\"],\"additionalProperties\":false," \
    "\"properties\":{\"" f "\":{\"type\":\"string\"}}}"
/* The fields of the call (Authorino's HttpEndpointSpec) as JSON Schema
 * properties, for the schema of each plugin that links this library. */
#define HC_SCHEMA_PROPS \
    "\"url\":{\"type\":\"string\"}," \
    "\"urlExpression\":{\"type\":\"string\"}," \
    "\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\"]," \
    "\"default\":\"GET\"}," \
    "\"body\":" HC_VOS "," \
    "\"bodyParameters\":" HC_NAMED "," \
    "\"contentType\":{\"type\":\"string\",\"enum\":[\"application/x-www-form-urlencoded\"," \
    "\"application/json\"],\"default\":\"application/x-www-form-urlencoded\"}," \
    "\"headers\":" HC_NAMED "," \
    "\"sharedSecretRef\":" HC_SECRET_REF "," \
    "\"credentials\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{" \
    "\"authorizationHeader\":{\"type\":\"object\",\"additionalProperties\":false," \
    "\"properties\":{\"prefix\":{\"type\":\"string\"}}}," \
    "\"customHeader\":" HC_NAME_ONLY("name") "," \
    "\"queryString\":" HC_NAME_ONLY("name") "," \
    "\"cookie\":" HC_NAME_ONLY("name") "}}," \
    "\"oauth2\":{\"type\":\"object\",\"required\":[\"tokenUrl\",\"clientId\",\"clientSecretRef\"]," \
    "\"additionalProperties\":false,\"properties\":{" \
    "\"tokenUrl\":{\"type\":\"string\"},\"clientId\":{\"type\":\"string\"}," \
    "\"clientSecretRef\":" HC_SECRET_REF "," \
    "\"scopes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}," \
    "\"extraParams\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}," \
    "\"cache\":{\"type\":\"boolean\",\"default\":true}," \
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":5000}}}," \
    "\"timeout\":{\"type\":\"integer\",\"minimum\":0,\"default\":5000}"

/* Where the credential (shared secret or OAuth2 token) goes. */
typedef enum { HC_CRED_AUTH_HEADER, HC_CRED_CUSTOM_HEADER, HC_CRED_QUERY, HC_CRED_COOKIE } hc_cred_at;

/* A name and a value-or-selector (headers, bodyParameters). */
typedef struct hc_named {
    char *name;
    pc_vos *vos;
} hc_named;

typedef struct hc_oauth2 {
    char *token_url;
    char *client_id;
    char *client_secret;   /* from the Secret; wiped on destroy */
    char *scopes;          /* space-separated, or NULL */
    char *extra;           /* form-encoded extraParams ("a=1&b=2"), or NULL */
    int64_t timeout_ms;
    pc_cache *cache;       /* NULL with cache: false (a token per request) */
} hc_oauth2;

typedef struct hc_inst {
    const pc_host *host;
    const char *what;      /* "http metadata", "http callback": starts reasons */
    char *name;            /* the evaluator name, for logs */
    char *url;             /* static URL, or the template's text */
    pc_selector *url_tpl;  /* URL with {placeholders}, else NULL */
    pc_vos *url_expr;      /* urlExpression (CEL), else NULL */
    const char *method;    /* GET POST PUT PATCH DELETE (static string) */
    int has_body_method;   /* POST/PUT/PATCH send a body */
    pc_vos *body;          /* body, or NULL */
    hc_named *params;      /* bodyParameters, sorted by name */
    size_t n_params;
    int json_params;       /* contentType application/json */
    char *content_type;
    hc_named *headers;
    size_t n_headers;
    char *secret;          /* sharedSecretRef's value, or NULL */
    hc_cred_at cred_at;
    char *cred_name;       /* prefix, header, query or cookie name */
    hc_oauth2 *oauth2;
    int64_t timeout_ms;
} hc_inst;

/* hc_config.c: fills in from the (schema-checked) config; 0 or -1 with err. */
int hc_configure(hc_inst *in, pc_create_ctx *cc, const pc_value *cfg, char *err,
                 size_t errlen);
void hc_unconfigure(hc_inst *in);
/* The value of `key` in the Secret `name` of the AuthConfig's namespace
 * (Authorino reads Secrets from there only), stringData over data; a new
 * string to wipe and free, or NULL with err ("WHAT: Secret ns/x not found"). */
char *hc_secret(const pc_host *h, pc_create_ctx *cc, const char *name, const char *key,
                const char *what, char *err, size_t errlen);

/* hc_oauth2.c: the access token for this request (cached and shared by all
 * requests until it expires; concurrent misses make one token request).
 * PC_OK with *tok (owned by ev), or PC_ERROR with the reason set. */
pc_status hc_oauth2_token(const hc_inst *in, pc_eval *ev, const char **tok);

/* Bounds of what one request may carry; resolved values come from the
 * request being authorized, so they are capped rather than trusted. */
#define HC_MAX_HEADER_LINE (16 * 1024)
#define HC_MAX_BODY (1024 * 1024)

/* One request, built from the config and the Authorization JSON of the
 * evaluation but no longer tied to it: req points into this struct. */
typedef struct hc_msg {
    buf url, body;
    buf lines[HC_MAX_HEADERS + 3];
    size_t n_lines;
    const char *ptrs[HC_MAX_HEADERS + 5];
    pc_http_request req;
} hc_msg;

/* hc_request.c: builds the call (the OAuth2 token may be fetched, which
 * blocks on a cache miss). PC_OK with *m filled (hc_msg_free it), or
 * PC_ERROR with the reason set and nothing to free. */
pc_status hc_build(const hc_inst *in, pc_eval *ev, hc_msg *m);
void hc_msg_free(hc_msg *m);
/* Builds and sends the call, turns the answer into the metadata object.
 * PC_OK with *out, or PC_ERROR with the reason set. */
pc_status hc_call(const hc_inst *in, pc_eval *ev, pc_value **out);

/* hc_json.c: a GET whose 2xx answer must be JSON (*out, owned by ev),
 * with "Authorization: Bearer <bearer>" unless bearer is NULL; `label`
 * names the endpoint in reasons ("the userinfo endpoint"). PC_ERROR with
 * the reason set on transport errors, other statuses and non-JSON. */
pc_status hc_get_json(const pc_host *h, pc_eval *ev, const char *what, const char *label,
                      const char *url, const char *bearer, int64_t timeout_ms,
                      pc_value **out);
/* The discovery document at url (an object whose "issuer" is `issuer`),
 * from the instance's cache (keyed by url; fetched once for concurrent
 * misses, errors never kept). *doc is borrowed for the evaluation. */
pc_status hc_discovery(const pc_host *h, pc_eval *ev, pc_cache *cache, const char *what,
                       const char *url, const char *issuer, int64_t timeout_ms,
                       const pc_value **doc);
/* doc's `field` if it is an http(s) URL fit for a request, else NULL with
 * the reason set. Borrowed from doc. */
const char *hc_endpoint_of(const pc_host *h, pc_eval *ev, const char *what,
                           const pc_value *doc, const char *field);

/* hc_text.c: encoders into the engine's bounded buffer (util/buf.h: a
 * failed append sets b->failed, checked once the text is built; buf_wipe
 * frees what may hold credentials). */
/* application/x-www-form-urlencoded (Go's url.QueryEscape: space is '+'). */
void hc_buf_form(buf *b, const char *s, size_t n);
/* Standard base64 of n bytes into b. */
void hc_buf_base64(buf *b, const unsigned char *s, size_t n);
/* URL-safe base64 without padding (RFC 4648 §5, as JWS uses it). */
void hc_buf_base64url(buf *b, const unsigned char *s, size_t n);
/* 1 if s (n bytes) holds no CR, LF or NUL (safe inside one header line). */
int hc_header_safe(const char *s, size_t n);
/* 1 if the name is an RFC 9110 token (a valid header name). */
int hc_token_name(const char *s);
char *hc_strdup(const char *s);
#endif
