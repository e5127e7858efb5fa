/* credentials.h - takes an identity's credential from where its
 * `credentials` setting says: Authorization header with a prefix, a custom
 * header, a query string parameter or a cookie. */
#ifndef PC_PIPELINE_CREDENTIALS_H
#define PC_PIPELINE_CREDENTIALS_H
#include "config/authconfig.h"
#include "eval/evalctx.h"

/* Finds the credential in the Authorization JSON. Returns 1 and sets
 * out and len (pointing into root, or into rq's memory for decoded
 * query parameters), 0 if absent. */
int cred_extract(const ac_eval *ev, const doc *root, reqctx *rq,
                 const char **out, size_t *len);
#endif
