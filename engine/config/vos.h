/* vos.h - Authorino's ValueOrSelector: {value: <any JSON>},
 * {selector: <gjson path or template>} or {expression: <CEL>}, whose value
 * becomes JSON (an evaluation error is an error). Implements pc_vos. */
#ifndef PC_CONFIG_VOS_H
#define PC_CONFIG_VOS_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct cfgerr;

pc_vos *vos_compile(struct json_object *spec, const char *path,
                    struct cfgerr *ce);
/* A selector-only vos from a string (credentials, cache keys). */
pc_vos *vos_from_selector(const char *text, char *err, size_t errlen);
void vos_free(pc_vos *v);
/* Resolves to a new reference owned by the caller (NULL = null/missing).
 * Static values are copied: config objects are shared by all threads and
 * json-c reference counts are not atomic. Returns -1 on error. */
int vos_resolve(const pc_vos *v, struct json_object *root,
                struct json_object **out);
/* The same, with the reason for an error written to why. */
int vos_resolve_why(const pc_vos *v, struct json_object *root,
                    struct json_object **out, char *why, size_t whylen);
#endif
