/* vos.h - Authorino's ValueOrSelector: {value: <any JSON>},
 * {selector: <gjson path or template>} or {expression: <CEL>}, whose value
 * becomes JSON (an evaluation error is an error). Implements pc_vos. */
#ifndef PC_CONFIG_VOS_H
#define PC_CONFIG_VOS_H
#include <json-c/json.h>
#include <portcullis/host.h>

struct arena;
struct cfgerr;
struct doc;

pc_vos *vos_compile(struct json_object *spec, const char *path,
                    struct cfgerr *ce);
/* A selector-only vos from a string (credentials, cache keys). */
pc_vos *vos_from_selector(const char *text, char *err, size_t errlen);
void vos_free(pc_vos *v);
/* Resolves on root (the request document): 0 with *out set (NULL =
 * null/missing), -1 on error with the reason in why (may be NULL). *out
 * is read-only and is not the caller's to change: a node of root, a node
 * built in a (the request's arena: selector modifiers, templates, CEL
 * values), or for a static `value` the vos's own copy, made once at load
 * and returned by reference to every request on every thread. a past its
 * limit is an error. */
int vos_resolve(const pc_vos *v, const struct doc *root, struct arena *a,
                    const struct doc **out, char *why, size_t whylen);

#endif
