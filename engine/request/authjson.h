/* authjson.h - the Authorization JSON (reference/authorino.md §2), built
 * once per request from the request view and then only extended. */
#ifndef PC_REQUEST_AUTHJSON_H
#define PC_REQUEST_AUTHJSON_H
#include <json-c/json.h>
#include <portcullis/request.h>

/* Returns a new object with request, source, destination, metadata and,
 * when with_context, Envoy's raw `context`; NULL on allocation failure. */
struct json_object *authjson_build(const pc_request_view *v, int with_context);
#endif
