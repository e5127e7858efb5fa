/* jsonsink.h - a JSON object built from a frontend's pc_json_sink calls
 * (pc_request_view.metadata_emit), without JSON text in between. */
#ifndef PC_REQUEST_JSONSINK_H
#define PC_REQUEST_JSONSINK_H
#include <json-c/json.h>
#include <portcullis/request.h>

struct doc;
struct arena;

/* Deepest nesting of objects and arrays taken (the root object is level
 * 1): the frontends' deepest Struct (30 levels) and its
 * {"filter_metadata":{"<ns>": ...}} wrapper, with room to spare. */
#define JSONSINK_MAX_DEPTH 40

/* Runs emit(emit_arg, sink) and returns the one object it wrote, built in
 * a and sealed (read-only), or NULL when emit failed, a sink call was out
 * of order, a key held a NUL, a number was not finite, the value was not a
 * single complete object, it nested deeper than JSONSINK_MAX_DEPTH, or
 * a's limit was reached. A refused call fails
 * the build even when emit goes on and returns 0. A repeated key keeps
 * its first place and takes the last value (a protobuf map's rule and
 * json-c's). Nothing outside a is allocated. */
const struct doc *jsonsink_build(int (*emit)(const void *, const pc_json_sink *),
                                     const void *emit_arg, struct arena *a);

#endif
