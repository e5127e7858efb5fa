/* authjson.h - the Authorization JSON (reference/authorino.md §2), built
 * once per request from the request view and then only extended. */
#ifndef PC_REQUEST_AUTHJSON_H
#define PC_REQUEST_AUTHJSON_H
#include <json-c/json.h>
#include <portcullis/request.h>
#include "jsonsink.h"

struct doc;
struct arena;

/* Deepest metadata_context accepted, in nested objects and arrays, as JSON
 * text or from metadata_emit: the frontends' deepest Struct (30 levels)
 * and its {"filter_metadata":{"<ns>": ...}} wrapper. */
#define AUTHJSON_MAX_DEPTH JSONSINK_MAX_DEPTH

/* The Authorization JSON in a: request, source, destination, metadata and,
 * when with_context, Envoy's raw `context`. The root object is mutable
 * (the pipeline adds `auth`); request, source, destination, metadata and
 * context below it are sealed (read-only), and may share nodes (the
 * headers object sits under both request and context).
 * Every part of the view goes in or NULL is returned (the request is then
 * denied): a key with a NUL, a string of 2 GiB or more, a time gmtime
 * cannot show, metadata_context_json that is not one JSON object (or is
 * nested deeper than AUTHJSON_MAX_DEPTH, or has a key with a NUL), a
 * failed metadata_emit (see jsonsink_build), or a's limit reached. What was allocated before a
 * failure stays in a until it is reset. Nothing outside a is allocated;
 * the view may go once this returns (its bytes are copied). The types are
 * engine/doc/doc.h's (named by tag here, so that including this header
 * does not put `doc` into every scope). */
struct doc *authjson_build(const pc_request_view *v, int with_context, struct arena *a);

#endif
