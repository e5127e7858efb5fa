/* jsonsink.h - a JSON object built from a frontend's pc_json_sink calls
 * (pc_request_view.metadata_emit), without JSON text in between. */
#ifndef PC_REQUEST_JSONSINK_H
#define PC_REQUEST_JSONSINK_H
#include <json-c/json.h>
#include <portcullis/request.h>

/* Runs emit(emit_arg, sink) and returns the one object it wrote, or NULL
 * when emit failed, a sink call was out of order, a number was not finite,
 * the value was not a single complete object, or memory ran out. */
struct json_object *jsonsink_build(int (*emit)(const void *, const pc_json_sink *),
                                   const void *emit_arg);
#endif
