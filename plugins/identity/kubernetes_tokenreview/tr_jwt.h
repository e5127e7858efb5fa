/* tr_jwt.h - reads a JWT's payload without verifying it, only to bound how
 * long a TokenReview verdict on that token may be cached. */
#ifndef TR_JWT_H
#define TR_JWT_H
#include <stddef.h>
#include <portcullis/host.h>

/* The decoded payload (NUL-terminated, h->free it) of a compact JWS
 * "h.p.s", or NULL when the text does not look like one. */
char *tr_jwt_payload(const pc_host *h, const char *token, size_t len,
                     size_t *out_len);
#endif
