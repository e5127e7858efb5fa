/* Selectors: the gjson path syntax Authorino users write in AuthConfigs, evaluated against
 * the Authorization JSON (a request document, engine/doc; JSON null is the NULL pointer).
 *
 * Supported syntax (gjson SYNTAX.md):
 *   a.b.c            members; `\` escapes the next character (`fav\.movie`)
 *   a*.b, c?ild      wildcards in keys; first member (in document order) for which the rest
 *                    of the path resolves
 *   arr.0, arr.#     index, length
 *   arr.#.f          `f` of every element; the rest of the path up to the next `|` is applied
 *                    per element (gjson's dot-vs-pipe rule)
 *   arr.#(k=="v")    first element matching a query; `#(...)#` all matches. Operators
 *                    == = != < <= > >= % !% and the `~` truthiness prefix; nested queries.
 *   a|b              pipe
 *   x.@mod, x|@mod   modifiers, argument after `:` (JSON, or raw text up to the next `|`)
 *   templates        `Bearer {auth.identity.token}` (see sel_is_template)
 * Refused at compile time with a message: multipaths (`[a,b]`, `{a,b}`), literals (`!true`),
 * JSON Lines (`..`), unknown modifiers.
 *
 * Modifiers: gjson's @this @reverse @keys @values @tostr @fromstr @flatten @join @valid
 * @ugly, and Authorino's @extract @replace @case @base64 @strip.
 *
 * Paths of plain keys and indexes only (`request.http.headers.authorization`, `a.0.b`) are
 * compiled to a loop of hashed member lookups that allocates nothing.
 *
 * Thread safety: a compiled sel_expr is immutable and may be shared by any number of threads.
 * sel_resolve only reads root, so any number of threads may resolve against one
 * read-only root at once, each with its own arena. */
#ifndef PC_SELECTOR_H
#define PC_SELECTOR_H
#include <stddef.h>
#include "doc/doc.h"

struct arena;
typedef struct sel_expr sel_expr;

/* Compiles once at config load (never on the request path). On error returns NULL and writes
 * a one-line message without file/line, e.g. `unterminated modifier argument at offset 12`.
 * Decides between a path and a template the way Authorino does (sel_is_template). */
sel_expr *sel_compile(const char *text, char *err, size_t errlen);

/* Same, but the text is always a path, never a template: Authorino evaluates the `selector`
 * of `when`/pattern conditions with plain gjson, without template detection. */
sel_expr *sel_compile_path(const char *text, char *err, size_t errlen);

void sel_free(sel_expr *e);

/* 1 if the text was a template with {path} placeholders (interpolated into a string result). */
int sel_is_template(const sel_expr *e);

/* The original text. */
const char *sel_source(const sel_expr *e);

/* Resolves against root. Returns 0 and sets *out (NULL = missing or JSON null): values
 * found in root are returned as they are (no copy, no reference count: they live as long as
 * root); modifiers, `#` results and templates build new nodes in a (templates always give a
 * string). Nodes of root are never written, so root may be read-only or shared. -1 only for
 * a real error: the arena's limit or memory, or a document nested deeper than the modifiers
 * walk; missing paths are not errors. */
int sel_resolve(const sel_expr *e, const doc *root, struct arena *a, const doc **out);

/* gjson's Result.String() of a value: strings raw, NULL -> "", numbers, bools, objects and
 * arrays as compact JSON text (as doc_to_json writes it), built in a when needed. len may be
 * NULL; strings may contain NUL bytes. NULL only when a is out of memory or past its limit. */
const char *sel_text(const doc *v, struct arena *a, size_t *len);

#endif
