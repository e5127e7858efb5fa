#ifndef PC_PLUGIN_SCHEMA_H
#define PC_PLUGIN_SCHEMA_H
/* schema: a JSON Schema subset, used to check each evaluator's config against
 * the schema its plugin declares before the plugin's create() sees it.
 *
 * Keywords:
 *   type (a name or a list of names: null, boolean, integer, number, string,
 *   array, object; "integer" accepts 2 and 2.0, "number" accepts both kinds),
 *   properties, required, additionalProperties (true, false or a schema),
 *   items (one schema for every element), enum, const, minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum (numbers, or draft-4 booleans beside
 *   minimum/maximum), minLength, maxLength (in Unicode code points), minItems,
 *   maxItems, pattern (PCRE2, unanchored, compiled once here), oneOf, anyOf.
 *   Schemas may also be the booleans true (anything) and false (nothing).
 *   default (applied by schema_apply_defaults; it must pass its own
 *   schema, or schema_compile fails). Annotations accepted and ignored:
 *   description, title, examples, $schema, $comment.
 * Any other keyword (format, $ref, allOf, tuple-form items, ...) makes
 * schema_compile fail, so a plugin cannot ship a check that silently does
 * nothing. As in JSON Schema, keywords for one kind of value (minLength,
 * properties, ...) do not apply to values of other kinds; use type for that.
 *
 * A compiled schema is read-only: any number of threads may validate with it
 * at once. */
#include <stddef.h>

struct json_object;

typedef struct schema schema;

/* Compiles a schema from JSON text. On error returns NULL and writes a
 * one-line message to err (if errlen > 0), naming where in the schema the
 * problem is, e.g. `properties.url: unknown keyword "formt"`. */
schema *schema_compile(const char *json_text, char *err, size_t errlen);
void schema_free(schema *s);

/* Called once per problem found by schema_validate.
 *   subpath   where the problem is, below the validated value: "" for the value
 *             itself, then "audiences", "selector.matchLabels",
 *             "patterns[2].operator"; keys that are not plain words are written
 *             in brackets: `labels["app.kubernetes.io/name"]`.
 *   node      the json_object the problem is at. For a missing required field
 *             and for an unknown field, subpath and node are those of the
 *             object that lacks or holds the field (the field is named in the
 *             message). node is NULL where the value is JSON null.
 *   message   what is wrong, as a user can fix it: `expected a list of strings`,
 *             `expected one of eq, neq, incl, excl, matches`,
 *             `missing required field "url"`, `unknown field "audience"`,
 *             `must be at least 1`, `must not be empty`, ...
 *   is_unknown_field  1 for a field forbidden by additionalProperties: false,
 *             so the caller may warn instead of refusing.
 * Strings are valid only during the call. */
typedef void (*schema_report_fn)(void *arg, const char *subpath, const struct json_object *node,
                                 const char *message, int is_unknown_field);

/* Validates v (NULL is JSON null) and calls report (if not NULL) for each
 * problem. Returns the number of problems, unknown fields included; 0 means
 * valid; -1 when s is NULL.
 * For oneOf/anyOf with no matching branch, the problems of the branch that
 * came closest are reported: a branch whose type fits the value before one
 * whose type does not, then the one with the fewest problems, then the first.
 * When no branch's type fits, one problem names them all (`expected a string
 * or a list of strings`). */
int schema_validate(const schema *s, const struct json_object *v, schema_report_fn report,
                    void *arg);

/* Adds, in place, every default the schema declares for a property that v
 * (an object, at any depth: properties, additionalProperties, items, and
 * the first oneOf/anyOf branch v passes) does not have. Defaults are deep
 * copies. Meant for a value that already passed schema_validate. Returns 0,
 * or -1 when out of memory (v may then hold some defaults). */
int schema_apply_defaults(const schema *s, struct json_object *v);

#endif
