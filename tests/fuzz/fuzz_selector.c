/* libFuzzer harness for selectors. Input: the selector text up to the first newline, then a
 * JSON document. Both compile entry points run and resolve on the read-only document twice:
 * with an arena large enough for most results, and with a small limit, so that running out
 * of room inside a modifier, a `#` result or a template is exercised too (-1, no result).
 * Every result is printed with sel_text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "selector/selector.h"
#include "util/arena.h"

#define ROOMY_LIMIT (1u << 20)
#define TIGHT_LIMIT 512

static void resolve(const sel_expr *e, const doc *root, size_t limit)
{
    struct arena a;
    arena_init(&a, limit);
    const doc *out = (const doc *)1;
    int r = sel_resolve(e, root, &a, &out);
    if (r == 0) {
        size_t n;
        const char *s = sel_text(out, &a, &n);
        volatile char sink = s && n ? s[n - 1] : 0;
        (void)sink;
    } else if (r != -1 || out != NULL) {
        abort(); /* an error never leaves a result behind */
    }
    arena_free(&a);
}

static void exercise(sel_expr *e, const doc *root)
{
    if (!e)
        return;
    resolve(e, root, ROOMY_LIMIT);
    resolve(e, root, TIGHT_LIMIT);
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

    struct arena da;
    arena_init(&da, 0);
    const doc *root = NULL;
    int err = 1;
    if (nl)
        err = doc_parse(&da, (const char *)nl + 1, size - sel_len - 1, &root, NULL, 0) != 0;
    if (err) {
        static const char dflt[] = "{\"a\":{\"b\":[1,\"x\",null,{\"c\":\"Basic am9objpz\"}]},"
                                   "\"s\":\"a b:c\",\"n\":null,\"t\":true,\"f\":1.5}";
        err = doc_parse(&da, dflt, sizeof dflt - 1, &root, NULL, 0) != 0;
    }
    /* The request's document is read-only to selectors. */
    if (!err && root)
        doc_seal((doc *)root);
    if (!err) {
        char msg[128];
        exercise(sel_compile(text, msg, sizeof msg), root);
        exercise(sel_compile_path(text, msg, sizeof msg), root);
    }
    arena_free(&da);
    free(text);
    return 0;
}
