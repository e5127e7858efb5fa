/* JSON text of documents for @tostr, @fromstr and sel_text_doc.
 *
 * Goes through json-c until doc_parse/doc_to_json (engine/doc/doc_json.c) are in the
 * build: the text is the same (doc_to_json writes what json-c writes). */
#include <limits.h>
#include <string.h>
#include <json-c/json.h>
#include "sel_internal.h"

const char *sel_doc_text(struct arena *a, const doc *v, size_t *len)
{
    struct json_object *j = NULL;
    if (doc_to_jsonc(v, &j) != 0)
        return NULL;
    size_t n = 0;
    const char *s = j ? json_object_to_json_string_length(
                            j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
                      : "null";
    if (!j)
        n = 4;
    char *p = s ? arena_alloc(a, n + 1) : NULL;
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
        *len = n;
    }
    json_object_put(j);
    return p;
}

int sel_doc_parse(struct arena *a, const char *s, size_t n, const doc **out)
{
    *out = NULL;
    struct json_object *j;
    if (sel_json_parse(s, n, &j) != 0)
        return 1;
    int err = 0;
    *out = doc_from_jsonc(a, j, NULL, &err);
    json_object_put(j);
    return err ? -1 : 0;
}
