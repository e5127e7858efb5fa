/*
 * server_hdr.h - which verdict headers may go on the wire.
 *
 * Verdict headers come from AuthConfigs (user data), so before they reach
 * an HTTP/1 or HTTP/2 response they are checked: a name must be a lowercase
 * token, a value must carry no CR, LF or NUL (header injection), and the
 * headers that frame the message or the connection are ours to set.
 */
#ifndef PC_EXTAUTHZ_SERVER_HDR_H
#define PC_EXTAUTHZ_SERVER_HDR_H

#include <stddef.h>

/** 1 if the pair may be written to a response. */
int srv_hdr_allowed(const char *name, size_t nlen, const char *value,
                    size_t vlen);

/** 1 if name (any case) equals lower (lowercase) for nlen bytes. */
int srv_hdr_is(const char *name, size_t nlen, const char *lower);

#endif
