/* checkjson.h - a CheckRequest in Envoy's proto3 JSON form (what
 * MessageToJson prints for envoy.service.auth.v3.CheckRequest) into a
 * request view, for `portcullis eval` and tests. */
#ifndef PC_REQUEST_CHECKJSON_H
#define PC_REQUEST_CHECKJSON_H
#include <json-c/json.h>
#include <portcullis/request.h>

typedef struct checkjson {
    struct json_object *doc;
    pc_request_view view;   /* points into doc and the arrays below */
    pc_kv *headers, *ctxext, *src_labels, *dst_labels;
    char *metadata_json;
} checkjson;

enum { CHECKJSON_OK = 0, CHECKJSON_SYNTAX = -1, CHECKJSON_NO_HTTP = -2 };

/* Parses text. CHECKJSON_NO_HTTP: valid JSON without
 * attributes.request.http (the server answers INVALID_ARGUMENT). */
int checkjson_parse(const char *text, size_t len, checkjson *out, char *err,
                    size_t errlen);
void checkjson_free(checkjson *c);
#endif
