/* libFuzzer harness for engine/ydoc: any bytes, as YAML or as a
 * ".json" file. Besides the sanitizers, it checks the loader's promises:
 * an error has a message naming the input and no result; a result has no
 * null roots, a line on every node and key, bounded nesting, and survives a
 * line-keeping copy unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "ydoc/ydoc.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void walk(struct json_object *o, int depth, int max_line)
{
    if (!o)
        return;
    int line = ydoc_line(o);
    check(line >= 1 && line <= max_line);
    if (json_object_is_type(o, json_type_object)) {
        check(depth < YDOC_MAX_DEPTH);
        json_object_object_foreach(o, k, v) {
            int kl = ydoc_key_line(o, k);
            check(kl >= 1 && kl <= max_line);
            walk(v, depth + 1, max_line);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        check(depth < YDOC_MAX_DEPTH);
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            walk(json_object_array_get_idx(o, i), depth + 1, max_line);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = (size && (data[0] & 1)) ? "fuzz.json" : "fuzz.yaml";
    ydoc_file *f = (ydoc_file *)&f;
    char err[512];
    err[0] = '\0';
    if (ydoc_load_buffer(name, (const char *)data, size, &f, err, sizeof err) != 0) {
        check(f == NULL);
        check(strncmp(err, name, strlen(name)) == 0);
        return 0;
    }
    check(f != NULL);
    /* Lines never exceed one per input byte (libyaml counts \r, NEL, LS, PS
     * as breaks too, so counting \n alone would be too tight). */
    int max_line = size > (size_t)INT32_MAX - 2 ? INT32_MAX : (int)size + 1;
    for (size_t i = 0; i < f->n_docs; i++) {
        struct json_object *root = f->docs[i].root;
        check(root != NULL);
        check(f->docs[i].line >= 1 && f->docs[i].line <= max_line);
        walk(root, 0, max_line);
        struct json_object *copy = NULL;
        if (ydoc_copy(root, &copy) == 0) {
            /* Serialized text, not json_object_equal: NaN != NaN. */
            check(strcmp(json_object_to_json_string(copy), json_object_to_json_string(root)) == 0);
            check(ydoc_line(copy) == ydoc_line(root));
            json_object_put(copy);
        }
    }
    ydoc_file_free(f);
    return 0;
}
