/* cel.h - a Common Expression Language interpreter (docs/cel.md).
 *
 * Use: compile once at load, evaluate many times on request documents.
 *
 *   cel_error err;
 *   cel_program *p = cel_compile(src, len, cel_authorino_vars, &err);      at load
 *   if (!p) report("CEL: %s at line %d, column %d", err.msg, err.line, err.column);
 *
 *   cel_arena a;  cel_arena_init(&a, 0);                 once per thread
 *   cel_value v;
 *   cel_activation act = { &cel_doc_tree, authjson, NULL };      authjson: const doc *
 *   if (cel_eval(p, &act, NULL, &a, &v, &err) != 0) deny(err.msg);     an error denies
 *   cel_value_to_bool(&v, &err)   for a predicate: 1, 0, -1 when not a bool
 *   cel_value_to_doc(&v, &cel_doc_tree, request_arena, &out, &err)   for a value
 *   cel_arena_reset(&a);                                 after each evaluation
 *
 * A program is read-only once compiled: threads share it, each with its own arena.
 *
 * The document (the Authorization JSON) is read through cel_doc_ops, so the
 * interpreter never copies or re-serializes it; JSON numbers are doubles. */
#ifndef PC_CEL_CEL_H
#define PC_CEL_CEL_H
#include <stddef.h>
#include <stdint.h>
#include "util/arena.h"

/* Limits of the language (checked by cel_compile). */
#define CEL_MAX_EXPR_LEN 100000 /* bytes of source */
#define CEL_MAX_DEPTH 128       /* height of the syntax tree: nesting of any kind, chains */
/* Defaults of the per-evaluation cost limit (cel_limits with zeros). */
#define CEL_DEFAULT_MAX_STEPS 100000
#define CEL_DEFAULT_MAX_BYTES (1u << 20)

typedef struct cel_error {
    int line;   /* 1-based line of the offending token in the expression; 0 when not located */
    int column; /* 1-based column (in characters) within that line */
    char msg[200];
} cel_error;

/* ---- the document ------------------------------------------------------ */
typedef enum {
    CEL_DOC_NULL,
    CEL_DOC_BOOL,
    CEL_DOC_NUMBER,
    CEL_DOC_STRING,
    CEL_DOC_ARRAY,
    CEL_DOC_OBJECT
} cel_doc_type;

/* A read-only tree. Nodes are opaque pointers; NULL means JSON null. */
typedef struct cel_doc_ops {
    cel_doc_type (*type)(const void *node);
    /* Object member by key, a C string of klen bytes; NULL with *found = 0 when absent
     * or when node is not an object. */
    const void *(*member)(const void *node, const char *key, size_t klen, int *found);
    const void *(*index)(const void *node, size_t i); /* array element */
    size_t (*length)(const void *node);               /* array or object size */
    const char *(*string)(const void *node, size_t *len);
    double (*number)(const void *node);
    int (*boolean)(const void *node);
    /* Calls fn for each member of an object in document order until fn returns non-zero;
     * returns that value, or 0. */
    int (*each)(const void *node,
                int (*fn)(void *ctx, const char *key, size_t klen, const void *val), void *ctx);
    /* Optional (both or neither): a constant key prepared once, at load, into a value of
     * the implementation's choosing (a hash, say), and a member lookup that uses it. */
    uint64_t (*prepare_key)(const char *key, size_t klen);
    const void *(*member_prepared)(const void *node, const char *key, size_t klen, uint64_t prepared,
                                   int *found);
} cel_doc_ops;

extern const cel_doc_ops cel_doc_jsonc; /* nodes are struct json_object * */
/* Nodes are const struct doc * (engine/doc), the request document; constant keys
 * are prepared as doc_hash, so lookups of them do not hash. cel_compile prepares
 * programs for it. */
extern const cel_doc_ops cel_doc_tree;

/* ---- values ------------------------------------------------------------ */
typedef enum {
    CEL_NULL,
    CEL_BOOL,
    CEL_INT,
    CEL_UINT,
    CEL_DOUBLE,
    CEL_STRING,
    CEL_BYTES,
    CEL_LIST,
    CEL_MAP,
    CEL_TYPE,
    CEL_DURATION,
    CEL_TIMESTAMP,
    CEL_OPTIONAL,
    CEL_ERROR
} cel_kind;

struct cel_pair;
/* 16 bytes. Strings and bytes are not NUL-terminated. Lists and maps are either
 * built by the expression (sub == 0) or views of a document node (sub == 1). */
typedef struct cel_value {
    uint8_t kind; /* cel_kind */
    uint8_t sub;  /* list/map: 1 = document view; type: the cel_kind named */
    uint32_t n;   /* string/bytes length, list/map count, timestamp/duration nanos,
                     optional: 1 when it holds a value */
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        const char *s;
        const struct cel_value *l;
        const struct cel_pair *m;
        const void *node;
        const struct cel_value *opt;
        const char *err; /* NUL-terminated message */
        int64_t sec;
    } u;
} cel_value;

typedef struct cel_pair {
    cel_value k, v;
} cel_pair;

/* ---- the per-evaluation arena ------------------------------------------ */
/* The engine's arena (util/arena.h); its limit bounds one evaluation. */
typedef struct arena cel_arena;

/* limit 0 = CEL_DEFAULT_MAX_BYTES. */
static inline void cel_arena_init(cel_arena *a, size_t limit)
{
    arena_init(a, limit ? limit : CEL_DEFAULT_MAX_BYTES);
}
/* Frees all but the largest chunk, so steady-state evaluation does not call malloc. */
static inline void cel_arena_reset(cel_arena *a) { arena_reset(a); }
static inline void cel_arena_free(cel_arena *a) { arena_free(a); }

/* ---- compile ----------------------------------------------------------- */
typedef struct cel_program cel_program;

/* The variables Authorino declares: request, source, destination, metadata, auth
 * (NULL-terminated). Each is the member of that name of the activation's root. */
extern const char *const cel_authorino_vars[];

/* Parses and checks src (len bytes). vars: NULL-terminated declared variable names.
 * Returns NULL and fills err on a syntax error, an unknown identifier or function,
 * wrong arity, an invalid regular expression literal or a limit exceeded. */
cel_program *cel_compile(const char *src, size_t len, const char *const *vars, cel_error *err);
void cel_program_free(cel_program *p);
/* Prepares the program's constant keys for documents read through ops (cel_compile
 * prepares them for cel_doc_tree); a program is prepared for one ops table at a time,
 * and evaluations with any other ops look keys up the ordinary way (same results).
 * Not thread-safe: call it before the program is shared. */
void cel_program_prepare(cel_program *p, const cel_doc_ops *ops);
const char *cel_program_source(const cel_program *p);

/* ---- evaluate ---------------------------------------------------------- */
typedef struct cel_activation {
    const cel_doc_ops *ops; /* how to read the document */
    const void *root;       /* variable i is member vars[i] of root, absent = error ... */
    const cel_value *values;/* ... unless values is set: then variable i is values[i] */
} cel_activation;

typedef struct cel_limits {
    uint64_t max_steps; /* 0 = CEL_DEFAULT_MAX_STEPS */
} cel_limits;

/* Evaluates p. Returns 0 and sets *out (valid until the arena is reset) or -1 with err
 * set: an evaluation error (no such key, type mismatch, overflow, cost exceeded). */
int cel_eval(const cel_program *p, const cel_activation *act, const cel_limits *lim,
             cel_arena *arena, cel_value *out, cel_error *err);

/* A predicate's verdict: 1 true, 0 false, -1 when v is not a bool (err set). */
int cel_value_to_bool(const cel_value *v, cel_error *err);

/* cel_eval then cel_value_to_bool, for a `predicate`: 1, 0, or -1 with err set (an
 * evaluation error or a value that is not a bool: both deny). Resets the arena. */
int cel_eval_predicate(const cel_program *p, const cel_activation *act, const cel_limits *lim,
                       cel_arena *arena, cel_error *err);

struct json_object;
/* Sets *out to a new json-c value for v (caller puts it; JSON null is NULL, as in json-c)
 * and returns 0; -1 with err set when v has no JSON form. Bytes become base64, durations
 * and timestamps their string forms, as protobuf's JSON mapping. */
int cel_value_to_json(const cel_value *v, const cel_doc_ops *ops, struct json_object **out,
                      cel_error *err);

struct doc;
/* The same conversions into engine/doc nodes: new nodes go into a (which must outlive
 * the evaluation's arena, as *out points at no CEL value), *out = NULL for null.
 * Document views (lists and maps of the document) read through cel_doc_tree are
 * returned by reference, not copied: they live as long as the document does. -1 with
 * err set when v has no JSON form, is nested deeper than DOC_MAX_DEPTH, or a is past
 * its limit. */
int cel_value_to_doc(const cel_value *v, const cel_doc_ops *ops, struct arena *a,
                     const struct doc **out, cel_error *err);
#endif
