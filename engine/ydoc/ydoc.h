/* ydoc.h - YAML/JSON documents (AuthConfigs, Secret manifests) into json-c
 * trees that remember the source line of every node.
 *
 * Lines live in each node's json-c userdata, owned by this module:
 *  - scalars, sequences and empty mappings hold the line as a tagged integer
 *    ((line << 1) | 1), so no allocation is needed and a foreign pointer
 *    (json-c's own double_s text, always aligned) is never mistaken for one;
 *  - non-empty mappings hold a small table (the mapping's line plus the line
 *    of each key), freed by json-c together with the mapping.
 * Consequences for callers: do not set userdata or serializers on loaded
 * nodes; json_object_deep_copy() with the default copier refuses nodes that
 * carry userdata, so copy with ydoc_copy() instead. json-c has no null
 * object, so nulls have no line: use ydoc_key_line() on the parent mapping
 * (or the parent's line).
 *
 * Plain scalars follow the YAML 1.2 core schema (null, bool, int, float,
 * else string); quoted and block scalars are strings; !!str, !!int,
 * !!float, !!bool and !!null tags are honoured. Mapping keys are scalars,
 * taken by their text. Duplicate keys are an error; anchors, aliases and
 * merge keys (<<) work within a document. */
#ifndef PC_YDOC_YDOC_H
#define PC_YDOC_YDOC_H
#include <stddef.h>

struct json_object;

/* Larger files are refused before parsing. */
#define YDOC_MAX_FILE_SIZE ((size_t)64 << 20)
/* Nesting of mappings and sequences, aliases expanded included. */
#define YDOC_MAX_DEPTH 256
/* Nodes that alias expansion (and merge keys) may create in one file.
 * Nodes written out in the text are already bounded by the file size.
 * Overridable at build time so a fuzzer is not slowed by legal bombs. */
#ifndef YDOC_MAX_ALIAS_NODES
#define YDOC_MAX_ALIAS_NODES 1000000
#endif

typedef struct ydoc_doc {
    struct json_object *root; /* never NULL: empty/null documents are skipped */
    int line;                 /* line of the document start */
} ydoc_doc;

typedef struct ydoc_file {
    char *path;
    size_t n_docs;
    ydoc_doc *docs;
} ydoc_file;

/* Parses a whole file. A name ending in ".json" also accepts the UTF-16
 * surrogate pair escapes ("\ud83d\ude00") that JSON writers emit. On error
 * returns -1, sets *out to NULL and writes "PATH:LINE:COL: message" (or
 * "PATH: message" when there is no position) into err. */
int ydoc_load_file(const char *path, ydoc_file **out, char *err, size_t errlen);
/* Same for a buffer; name is used in messages and for the ".json" check. */
int ydoc_load_buffer(const char *name, const char *buf, size_t len,
                     ydoc_file **out, char *err, size_t errlen);
void ydoc_file_free(ydoc_file *f);

/* Source line (1-based) of a loaded node; 0 if unknown (NULL, JSON null,
 * nodes not made by this module). */
int ydoc_line(const struct json_object *node);
/* Line of `key` in a loaded mapping (also for keys whose value is null);
 * 0 if unknown. */
int ydoc_key_line(const struct json_object *map, const char *key);
/* Deep copy keeping lines. *dst is NULL for a NULL src. 0, or -1 when out
 * of memory. */
int ydoc_copy(const struct json_object *src, struct json_object **dst);
/* The same deep copy without the line numbers (two allocations less per
 * object): for values copied on the request path, which never report
 * config errors. */
int ydoc_copy_bare(const struct json_object *src, struct json_object **dst);

/* Expands paths into files: a named file is taken whatever its name; a
 * directory is walked recursively for *.yaml, *.yml and *.json, skipping
 * names that start with '.' (so Kubernetes' ..data and ..<timestamp>
 * directories of mounted ConfigMaps and Secrets are seen once, through the
 * visible symlinks). Symlinks are followed, directory loops cut, and a file
 * reached twice (same device and inode) is given once. cb is called per
 * file in byte order of the path; a non-zero return stops the walk and is
 * returned. A path that is missing or unreadable calls err_cb (may be NULL)
 * with "PATH: reason" and the walk goes on. Returns 0, cb's non-zero value,
 * or -1 when err_cb was called (or memory ran out). */
int ydoc_walk(const char *const *paths, size_t n,
              int (*cb)(void *arg, const char *file),
              void (*err_cb)(void *arg, const char *msg), void *arg);
#endif
