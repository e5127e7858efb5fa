/* json-c's strict reading of JSON text, for the suites and the fuzz harness
 * that compare engine/doc's JSON text with json-c's. */
#ifndef PC_TESTS_JSONC_STRICT_H
#define PC_TESTS_JSONC_STRICT_H
#include <stddef.h>
#include <json-c/json.h>
#include "doc/doc.h"

/* json-c's strict parse of text (deep enough for any doc, UTF-8 checked):
 * 1 and *out on success, 0 when it rejects it. */
static inline int jc_parse(const char *text, size_t len, struct json_object **out)
{
    struct json_tokener *tok = json_tokener_new_ex(4 * DOC_MAX_DEPTH);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *j = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) == json_tokener_continue)
        j = json_tokener_parse_ex(tok, "", 1); /* the end of the text */
    int ok = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(j);
        return 0;
    }
    *out = j;
    return 1;
}

/* The doc type of a json-c value. */
static inline doc_type jc_doc_type(struct json_object *j)
{
    switch (json_object_get_type(j)) {
    case json_type_boolean: return DOC_BOOL;
    case json_type_int: return DOC_INT;
    case json_type_double: return DOC_DOUBLE;
    case json_type_string: return DOC_STRING;
    case json_type_array: return DOC_ARRAY;
    case json_type_object: return DOC_OBJECT;
    default: return DOC_NULL;
    }
}

/* The text doc_to_json matches. */
#define JC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#endif
