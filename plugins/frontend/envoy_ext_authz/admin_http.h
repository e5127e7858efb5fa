/* admin_http.h - answers admin requests (/healthz, /readyz,
 * /readyz/authconfigs, /metrics, /server-metrics). */
#ifndef PC_EXTAUTHZ_ADMIN_HTTP_H
#define PC_EXTAUTHZ_ADMIN_HTTP_H

#include <portcullis/host.h>

#include "h1_parser.h"
#include "server.h"
#include "server_buf.h"

/* What an admin connection answers. */
enum { ADM_NONE = 0, ADM_ALL = 1, ADM_PROBES = 2 };

/** Appends the whole response to req to out; -1 when out of memory.
 *  routes: ADM_ALL (the admin port) or ADM_PROBES (the probe port). The
 *  metrics are the host's families, then the frontend's (fe's loops). */
int adm_handle(const srv_fe *fe, int routes, const h1_request *req,
               srv_buf *out, int keep_alive);

#endif
