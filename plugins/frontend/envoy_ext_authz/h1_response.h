/*
 * h1_response.h - serialises HTTP/1.1 responses (no I/O).
 */
#ifndef PC_EXTAUTHZ_H1_RESPONSE_H
#define PC_EXTAUTHZ_H1_RESPONSE_H

#include <stddef.h>
#include <portcullis/request.h>

#include "server_buf.h"

/** The reason phrase of a status ("Forbidden"), "Unknown" if unlisted. */
const char *h1_reason(int status);

/**
 * Appends a complete response to out: status line, the allowed headers of
 * hdrs (see srv_hdr_allowed), content-type when given, content-length and
 * "connection: close" when keep_alive is 0.
 * @return 0, or -1 when out of memory.
 */
int h1_response_write(srv_buf *out, int status, const pc_header *hdrs,
                      size_t n_hdrs, const char *content_type,
                      const void *body, size_t body_len, int keep_alive);

/** Appends the interim "100 Continue" response. */
int h1_response_continue(srv_buf *out);

#endif
