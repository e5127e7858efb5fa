/* cfgerr.h - config problems with file, line and document path, in the form
 *   talker.yaml:12: spec.authentication.sa.kubernetesTokenReview.audiences: expected a list of strings */
#ifndef PC_CONFIG_CFGERR_H
#define PC_CONFIG_CFGERR_H
#include <stddef.h>
#include <json-c/json.h>
#include <portcullis/abi.h>

typedef struct cfgerr {
    const char *file;       /* current file */
    int doc_line;           /* fallback line: the document's */
    /* The document being compiled, or NULL. A problem with a node that has
     * no line (a null value, a missing key) is reported at the line of the
     * deepest key of its path found here, before falling back to doc_line. */
    const struct json_object *doc;
    /* Sinks: called with a full line. */
    void (*on_error)(void *arg, const char *line);
    void (*on_warning)(void *arg, const char *line);
    void *arg;
    int errors, warnings;
} cfgerr;

/* Reports at node's line (else the line its path leads to in doc, else the
 * document's). */
void cfgerr_error(cfgerr *ce, const struct json_object *node, const char *path,
                  const char *fmt, ...) PC_PRINTF(4, 5);
void cfgerr_warn(cfgerr *ce, const struct json_object *node, const char *path,
                 const char *fmt, ...) PC_PRINTF(4, 5);
/* Reports `path: unknown field` for key of map, at the key's own line (the
 * value may be null, which has no line). path already ends in the key. */
void cfgerr_unknown(cfgerr *ce, const struct json_object *map, const char *key,
                    const char *path);
/* Reports a schema_validate problem found at subpath below base_path.
 * Every problem is an error, unknown fields included (a typo must not
 * load as a config that means something else); an unknown field is
 * reported at the key's own line and path. */
void cfgerr_schema(cfgerr *ce, const char *base_path, const char *subpath,
                   const struct json_object *node, const char *message,
                   int is_unknown_field);
/* Writes a plain line to stderr, "error: " or "warning: " first; a sink for
 * command-line tools. */
void cfgerr_print_error(void *arg, const char *line);
void cfgerr_print_warning(void *arg, const char *line);
#endif
