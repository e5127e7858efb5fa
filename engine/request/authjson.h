/* authjson.h - the Authorization JSON (reference/authorino.md §2), built
 * once per request from the request view and then only extended. */
#ifndef PC_REQUEST_AUTHJSON_H
#define PC_REQUEST_AUTHJSON_H
#include <json-c/json.h>
#include <portcullis/request.h>

/* Deepest metadata_context JSON text accepted: the frontends' deepest
 * Struct (30 levels) and its {"filter_metadata":{"<ns>": ...}} wrapper. */
#define AUTHJSON_MAX_DEPTH 40

/* Returns a new object with request, source, destination, metadata and,
 * when with_context, Envoy's raw `context`. Every part of the view goes in
 * or NULL is returned (the request is then denied): on allocation failure,
 * a key with a NUL, a string of 2 GiB or more, a time gmtime cannot show,
 * or metadata_context_json that is not one JSON object. */
struct json_object *authjson_build(const pc_request_view *v, int with_context);
#endif
