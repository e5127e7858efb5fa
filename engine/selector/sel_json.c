/* JSON text of documents for @tostr, @fromstr and sel_text (engine/doc/doc_json.c). */
#include <string.h>
#include "sel_internal.h"

const char *sel_doc_text(struct arena *a, const doc *v, size_t *len)
{
    return doc_to_json_arena(a, v, len);
}

int sel_doc_parse(struct arena *a, const char *s, size_t n, const doc **out)
{
    *out = NULL;
    char err[128];
    if (doc_parse(a, s, n, out, err, sizeof err) == 0)
        return 0;
    /* Text that is not JSON is no result; running out of room is an error. doc_parse
     * tells the two apart only by its message. */
    static const char nomem[] = "out of memory";
    return strncmp(err, nomem, sizeof nomem - 1) == 0 ? -1 : 1;
}
