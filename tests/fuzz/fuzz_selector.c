/* libFuzzer harness for selectors. Input: the selector text up to the first newline, then a
 * JSON document. Both compile entry points run; every result is printed with sel_text and
 * released, so LeakSanitizer catches any reference the selector code forgets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "selector/selector.h"

static void exercise(sel_expr *e, struct json_object *root)
{
    if (!e)
        return;
    struct json_object *out = NULL;
    if (sel_resolve(e, root, &out) == 0) {
        size_t n;
        const char *s = sel_text(out, &n);
        volatile char sink = n ? s[n - 1] : 0;
        (void)sink;
        json_object_put(out);
    }
    (void)sel_is_template(e);
    (void)sel_source(e);
    sel_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t sel_len = nl ? (size_t)(nl - data) : size;
    char *text = malloc(sel_len + 1);
    if (!text)
        return 0;
    memcpy(text, data, sel_len);
    text[sel_len] = '\0';

    struct json_object *root = NULL;
    if (nl && size - sel_len - 1 > 0) {
        struct json_tokener *tok = json_tokener_new();
        if (tok) {
            size_t jlen = size - sel_len - 1;
            root = json_tokener_parse_ex(tok, (const char *)nl + 1,
                                         jlen > 0x7fffffff ? 0x7fffffff : (int)jlen);
            if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(root);
                root = NULL;
            }
            json_tokener_free(tok);
        }
    }
    if (!root)
        root = json_tokener_parse("{\"a\":{\"b\":[1,\"x\",null,{\"c\":\"Basic am9objpz\"}]},"
                                  "\"s\":\"a b:c\",\"n\":null,\"t\":true,\"f\":1.5}");

    char err[128];
    exercise(sel_compile(text, err, sizeof err), root);
    exercise(sel_compile_path(text, err, sizeof err), root);

    json_object_put(root);
    free(text);
    return 0;
}
