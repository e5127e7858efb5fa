/* libFuzzer harness for CEL evaluation: the input is an expression, compiled and
 * evaluated against a fixed Authorization JSON with small cost limits (so runaway
 * macros end as errors, not timeouts), its result converted to JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cel/cel.h"

static struct json_object *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!doc)
        doc = json_tokener_parse(
            "{\"request\":{\"method\":\"GET\",\"url_path\":\"/api/v1?q=1\",\"host\":\"a.example.com\","
            "\"headers\":{\"x\":\"Hello World\",\"authorization\":\"Bearer abc\",\"n\":\"12\"},\"size\":2,"
            "\"list\":[1,\"x\",null,true,{\"k\":[2.5]}]},\"source\":{\"address\":\"10.0.0.1\"},"
            "\"destination\":{},\"metadata\":{},\"auth\":{\"identity\":{\"name\":\"john\","
            "\"groups\":[\"dev\",\"ops\"],\"age\":42,\"metadata\":{\"annotations\":{\"x\":\"a,b\"}}}}}");
    cel_error err;
    cel_program *p = cel_compile((const char *)data, size, cel_authorino_vars, &err);
    if (!p) return 0;
    cel_arena a;
    cel_arena_init(&a, 256 * 1024);
    cel_limits lim = {20000};
    cel_activation act = {&cel_doc_jsonc, doc, NULL};
    cel_value v;
    if (cel_eval(p, &act, &lim, &a, &v, &err) == 0) {
        struct json_object *j = NULL;
        if (cel_value_to_json(&v, &cel_doc_jsonc, &j, &err) == 0) {
            volatile size_t n = strlen(json_object_to_json_string(j));
            (void)n;
            json_object_put(j);
        }
        (void)cel_value_to_bool(&v, &err);
    }
    cel_arena_free(&a);
    cel_program_free(p);
    return 0;
}
