/* ydoc_int.h - pieces shared by the ydoc_*.c files; not for other modules. */
#ifndef PC_YDOC_YDOC_INT_H
#define PC_YDOC_YDOC_INT_H
#include <stddef.h>
#include <yaml.h>
#include <json-c/json.h>
#include "ydoc/ydoc.h"

#define YDOC_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Writes a message into err (which may be NULL or errlen 0). */
void ydoc_errf(char *err, size_t errlen, const char *fmt, ...) YDOC_PRINTF(3, 4);

/* --- lines (ydoc_lines.c) --- */
typedef struct ydoc_keyline {
    const void *key; /* the key pointer stored in the mapping's lh_table */
    int line;
} ydoc_keyline;

void ydoc_set_line(struct json_object *o, int line);
/* Changes the line of a loaded node, keeping its keys' lines. */
void ydoc_move_line(struct json_object *o, int line);
/* Gives a mapping its line and the lines of its keys (kl[i].key must be the
 * table's own key pointers). -1 when out of memory. */
int ydoc_set_map_lines(struct json_object *map, int line, const ydoc_keyline *kl,
                       size_t n);
/* Stored key pointer of key in map, NULL if absent. */
const void *ydoc_map_key_ptr(struct json_object *map, const char *key);

/* --- scalars (ydoc_scalar.c) --- */
/* Builds the node for a scalar event: *out is NULL for null. Returns 0,
 * -1 for a value its explicit tag rejects (*why says why), -2 when out of
 * memory. */
int ydoc_scalar(const yaml_event_t *ev, struct json_object **out, const char **why);

/* --- anchors (ydoc_anchor.c) --- */
typedef struct ydoc_anchor {
    char *name;
    struct json_object *node; /* one reference held; NULL for null */
    size_t nodes;             /* nodes in the subtree */
    int height;               /* collection nesting of the subtree, 0 for a scalar */
    char *text;               /* a scalar's text, used when the alias is a key */
    size_t textlen;
} ydoc_anchor;

typedef struct ydoc_anchors {
    ydoc_anchor *slots;
    size_t cap, count;
} ydoc_anchors;

/* Defines or redefines name; takes its own reference on node and copies
 * name and text. -1 when out of memory. */
int ydoc_anchors_put(ydoc_anchors *t, const char *name, struct json_object *node,
                     size_t nodes, int height, const char *text, size_t textlen);
const ydoc_anchor *ydoc_anchors_get(const ydoc_anchors *t, const char *name);
void ydoc_anchors_clear(ydoc_anchors *t);
void ydoc_anchors_free(ydoc_anchors *t);

/* --- JSON input (ydoc_json.c) --- */
/* Rewrites "\uD83D\uDE00" surrogate pair escapes in JSON strings as
 * "\U0001F600", which libyaml accepts. Returns 0 with *out NULL when
 * nothing needs rewriting, 1 with a malloc'd *out, -1 when out of memory. */
int ydoc_json_fix_escapes(const char *buf, size_t len, char **out, size_t *outlen);

/* --- builder (ydoc_build.c) --- */
/* Parses buf into f (path already set). -1 with err on error. */
int ydoc_build(ydoc_file *f, const char *buf, size_t len, char *err, size_t errlen);
#endif
