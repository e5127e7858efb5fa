/* Templates: text with {path} placeholders, e.g. `Bearer {auth.identity.token}`.
 *
 * Whether a text is a template is decided exactly as Authorino's JSONValue.IsTemplate does
 * (pkg/json/json.go): count the matches of the regular expression `[^@]+@\w+:{` (a modifier
 * whose argument opens a brace, like `x.@extract:{`) and count every `{`; the text is a
 * template when the two counts differ, i.e. when some brace does not open a modifier
 * argument. So `request.headers.authorization.@extract:{"pos":1}` is a path (one brace, one
 * modifier brace), `Bearer {auth.identity.token}` and `{request.method}` are templates, and
 * so is `{x.@case:upper}` (the leading `{` is extra). Escaped braces (`\{`) count too.
 *
 * Interpolation follows Authorino's ReplaceJSONPlaceholders: outside placeholders `\{` is a
 * literal `{`, `\\` a backslash, and a backslash before anything else is dropped; inside a
 * placeholder text is taken verbatim (nested braces balance) and resolved as a path; `{}`
 * produces nothing. Authorino silently drops an unterminated placeholder; here it is a
 * compile error, since it is always a typo. */
#include <stdlib.h>
#include <string.h>
#include "sel_internal.h"

static int is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

int sel_template_detect(const char *text, size_t len)
{
    size_t braces = 0, mods = 0, p = 0;
    for (size_t i = 0; i < len; i++)
        braces += text[i] == '{';
    /* Leftmost-first, non-overlapping matches of `[^@]+@\w+:{`: every start inside one run
     * of non-'@' bytes reaches the same '@', so a failed attempt resumes after that '@'. */
    while (p < len) {
        size_t s = p;
        while (s < len && text[s] == '@')
            s++;
        size_t a = s;
        while (a < len && text[a] != '@')
            a++;
        if (s >= len || a >= len)
            break;
        size_t w = a + 1;
        while (w < len && is_word((unsigned char)text[w]))
            w++;
        if (w > a + 1 && w + 1 < len && text[w] == ':' && text[w + 1] == '{') {
            mods++;
            p = w + 2;
        } else {
            p = a + 1;
        }
    }
    return mods != braces;
}

static int add_part(struct sel_tpart **parts, size_t *n, size_t *cap, struct sel_tpart *pt)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        struct sel_tpart *v = realloc(*parts, c * sizeof *v);
        if (!v)
            return -1;
        *parts = v;
        *cap = c;
    }
    (*parts)[(*n)++] = *pt;
    return 0;
}

static int flush_literal(buf *lit, struct sel_tpart **parts, size_t *n, size_t *cap)
{
    if (lit->len == 0)
        return 0;
    struct sel_tpart pt;
    memset(&pt, 0, sizeof pt);
    pt.lit = lit->data;
    pt.litlen = lit->len;
    if (add_part(parts, n, cap, &pt) != 0)
        return -1;
    memset(lit, 0, sizeof *lit);
    return 0;
}

int sel_template_parse(const char *text, size_t len, struct sel_tpart **parts, size_t *nparts,
                       char *err, size_t errlen)
{
    buf lit = {0};
    struct sel_tpart *v = NULL;
    size_t n = 0, cap = 0, open = 0, start = 0;
    int escaping = 0, inside = 0, nested = 0;

    for (size_t i = 0; i < len; i++) {
        char b = text[i];
        if (b == '{') {
            if (escaping) {
                buf_putc(&lit, b);
            } else if (inside) {
                nested++;
            } else {
                inside = 1;
                open = i;
                start = i + 1;
            }
            escaping = 0;
        } else if (b == '}') {
            if (inside && nested > 0) {
                nested--;
            } else if (inside) {
                inside = 0;
                if (i > start) {
                    struct sel_tpart pt;
                    memset(&pt, 0, sizeof pt);
                    pt.is_path = 1;
                    if (flush_literal(&lit, &v, &n, &cap) != 0)
                        goto nomem;
                    if (sel_parse_path(text, start, i, 1, &pt.prog, err, errlen) != 0)
                        goto fail;
                    pt.is_static = sel_prog_is_static(&pt.prog);
                    if (add_part(&v, &n, &cap, &pt) != 0) {
                        sel_prog_clear(&pt.prog);
                        goto nomem;
                    }
                }
            } else {
                buf_putc(&lit, b);
            }
            escaping = 0;
        } else if (b == '\\') {
            if (!inside) {
                if (escaping)
                    buf_putc(&lit, b);
                escaping = !escaping;
            }
        } else {
            if (!inside)
                buf_putc(&lit, b);
            escaping = 0;
        }
    }
    if (inside) {
        sel_errf(err, errlen, "unterminated placeholder at offset %zu", open);
        goto fail;
    }
    if (lit.failed || flush_literal(&lit, &v, &n, &cap) != 0)
        goto nomem;
    *parts = v;
    *nparts = n;
    return 0;
nomem:
    sel_errf(err, errlen, "out of memory");
fail:
    buf_free(&lit);
    sel_template_free(v, n);
    return -1;
}

void sel_template_free(struct sel_tpart *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++) {
        free(parts[i].lit);
        sel_prog_clear(&parts[i].prog);
    }
    free(parts);
}
