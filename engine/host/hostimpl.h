/* hostimpl.h - the engine's side of pc_host: host.c wires every service
 * of the table here, calling down into the modules that provide them. */
#ifndef PC_HOST_HOSTIMPL_H
#define PC_HOST_HOSTIMPL_H
#include <json-c/json.h>
#include <portcullis/host.h>
#include "config/createctx.h"

/* The table handed to plugins. */
const pc_host *host_table(void);
/* Finds the document path of node below cc->config (for error messages). */
void host_node_path(pc_create_ctx *cc, const struct json_object *node,
                    char *out, size_t outlen);
#endif
