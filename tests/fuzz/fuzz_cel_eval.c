/* libFuzzer harness for CEL evaluation: the input is an expression, compiled and
 * evaluated against a fixed Authorization JSON (engine/doc nodes, read through
 * cel_doc_tree as the request path reads them) with small cost limits (so runaway
 * macros end as errors, not timeouts), its result converted to doc nodes in a
 * bounded arena and written back as JSON through json-c. Whenever both succeed, that
 * text must be the one cel_value_to_json gives for the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cel/cel.h"
#include "doc/doc.h"

static const doc *root;
static struct arena docs;

static void load(void)
{
    struct json_object *j = json_tokener_parse(
        "{\"request\":{\"method\":\"GET\",\"url_path\":\"/api/v1?q=1\",\"host\":\"a.example.com\","
        "\"headers\":{\"x\":\"Hello World\",\"authorization\":\"Bearer abc\",\"n\":\"12\"},\"size\":2,"
        "\"list\":[1,\"x\",null,true,{\"k\":[2.5]}]},\"source\":{\"address\":\"10.0.0.1\"},"
        "\"destination\":{},\"metadata\":{},\"auth\":{\"identity\":{\"name\":\"john\","
        "\"groups\":[\"dev\",\"ops\"],\"age\":42,\"metadata\":{\"annotations\":{\"x\":\"a,b\"}}}}}");
    arena_init(&docs, 0);
    int err = 0;
    root = doc_from_jsonc(&docs, j, NULL, &err);
    json_object_put(j);
    if (err || !root) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root) load();
    cel_error err;
    cel_program *p = cel_compile((const char *)data, size, cel_authorino_vars, &err);
    if (!p) return 0;
    cel_arena a, out;
    cel_arena_init(&a, 256 * 1024);
    arena_init(&out, 64 * 1024);
    cel_limits lim = {20000};
    cel_activation act = {&cel_doc_tree, root, NULL};
    cel_value v;
    if (cel_eval(p, &act, &lim, &a, &v, &err) == 0) {
        const doc *d;
        struct json_object *j = NULL;
        if (cel_value_to_doc(&v, &cel_doc_tree, &out, &d, &err) == 0 && doc_to_jsonc(d, &j) == 0) {
            struct json_object *k = NULL;
            if (cel_value_to_json(&v, &cel_doc_tree, &k, &err) == 0 &&
                strcmp(json_object_to_json_string(j), json_object_to_json_string(k)) != 0)
                abort();
            json_object_put(k);
            json_object_put(j);
        }
        (void)cel_value_to_bool(&v, &err);
    }
    arena_free(&out);
    cel_arena_free(&a);
    cel_program_free(p);
    return 0;
}
