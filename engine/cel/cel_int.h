/* cel_int.h - what the interpreter's files share: the syntax tree, the
 * evaluation context and the function table. Not for use outside engine/cel. */
#ifndef PC_CEL_INT_H
#define PC_CEL_INT_H
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include "cel/cel.h"

/* 8-aligned; NULL past the limit */
static inline void *cel_alloc(cel_arena *a, size_t n) { return arena_alloc(a, n); }

/* ---- syntax tree (also the compiled form, annotated by the checker) ---- */
typedef enum {
    N_LIT,    /* lit */
    N_IDENT,  /* lit = name; the checker turns it into N_VAR, N_LOCAL or N_LIT */
    N_VAR,    /* slot = declared variable */
    N_LOCAL,  /* slot = macro variable */
    N_SELECT, /* args[0].lit; opt = `.?` */
    N_HAS,    /* has(args[0].lit) */
    N_INDEX,  /* args[0][args[1]]; opt = `[?` */
    N_CALL,   /* lit = name; member: args[0] is the target; fn after checking */
    N_LIST,   /* args; optf[i] = `?elem` */
    N_MAP,    /* args = k0, v0, k1, v1 ...; optf[i] = `?k: v` */
    N_STRUCT, /* lit = type name: parsed, refused by the checker (no message types) */
    N_AND, N_OR, N_NOT, N_NEG, N_COND,
    N_ADD, N_SUB, N_MUL, N_DIV, N_MOD,
    N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE, N_IN,
    N_COMP, /* macro: fn = cel_comp kind, slot = variable, args[0] range, [1] step, [2] map's transform */
    N_PATH  /* the checker's fusion of var.f1.f2...: slot = variable, keys[nkeys], kcol[nkeys] */
} cel_op;

typedef enum { C_ALL, C_EXISTS, C_EXISTS_ONE, C_MAP, C_MAP_FILTER, C_FILTER, C_OPTMAP, C_OPTFLATMAP } cel_comp;

typedef struct cel_node {
    uint8_t op;
    uint8_t opt;
    uint8_t member;
    uint16_t fn;
    int32_t col; /* 1-based byte offset */
    uint16_t h;  /* height of this subtree */
    uint32_t nargs;
    int32_t slot;
    cel_value lit;
    struct cel_node **args;
    uint8_t *optf;
    void *re; /* matches() with a literal pattern: compiled at load */
    const cel_value *keys;
    const int32_t *kcol;
    uint64_t *khint; /* keys as prepared for program->prepared */
    uint32_t nkeys;
} cel_node;

struct cel_program {
    cel_arena pool; /* nodes and literals */
    cel_node *root;
    int nlocals;
    char *src;
    const char *const *vars;
    int nvars;
    struct cel_relist *res; /* compiled regexes, freed with the program */
    size_t *varlen;
    uint64_t *varhint;
    const cel_doc_ops *prepared; /* the document ops khint and varhint are for, or NULL */
};
struct cel_relist { struct cel_relist *next; void *re; };

/* parser: builds the tree with macros expanded; returns NULL with err set */
cel_node *cel_parse(cel_arena *pool, const char *src, size_t len, cel_error *err);
/* checker: resolves names, functions and arity; compiles literal regexes */
int cel_check(struct cel_program *p, cel_error *err);
void cel_err_at(cel_error *err, const char *src, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- evaluation ---- */
typedef struct cel_ctx {
    const cel_program *p;
    const cel_activation *act;
    cel_arena *a;
    uint64_t steps, max_steps;
    cel_value *locals;
    /* document variables looked up once per evaluation (the first CEL_VAR_CACHE) */
#define CEL_VAR_CACHE 8
    const void *varnode[CEL_VAR_CACHE];
    uint8_t varstate[CEL_VAR_CACHE]; /* 0 not yet, 1 found, 2 absent */
} cel_ctx;

cel_value cel_eval_node(cel_ctx *c, const cel_node *n);
/* A literal child is its value: no call, no step. */
static inline cel_value cel_eval_child(cel_ctx *c, const cel_node *n)
{
    return n->op == N_LIT ? n->lit : cel_eval_node(c, n);
}
cel_value cel_arith(cel_ctx *c, int op, cel_value a, cel_value b);
/* shortest text that reads back as d (as Go's strconv.FormatFloat(d, 'g', -1, 64)) */
size_t cel_fmt_double(char *out, size_t cap, double d);
size_t cel_utf8_count(const char *s, size_t n);
cel_value cel_errv(cel_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cel_value cel_nomem(cel_ctx *c);

static inline cel_value cel_bool(int b) { cel_value v = {CEL_BOOL, 0, 0, {.b = !!b}}; return v; }
static inline cel_value cel_int(int64_t i) { cel_value v = {CEL_INT, 0, 0, {.i = i}}; return v; }
static inline cel_value cel_uint(uint64_t u) { cel_value v = {CEL_UINT, 0, 0, {.u = u}}; return v; }
static inline cel_value cel_double(double d) { cel_value v = {CEL_DOUBLE, 0, 0, {.d = d}}; return v; }
static inline cel_value cel_null(void) { cel_value v = {CEL_NULL, 0, 0, {.i = 0}}; return v; }
static inline cel_value cel_str(const char *s, size_t n) { cel_value v = {CEL_STRING, 0, (uint32_t)n, {.s = s}}; return v; }
/* sub of a string: CEL_Z when s[n] is a NUL and s has none inside, so it can be
 * handed to a document lookup as a C string without a copy */
#define CEL_Z 1
#define CEL_KEY_INDEX 2 /* a key of an N_PATH written as an index, ['k'] */
static inline cel_value cel_strz(const char *s, size_t n) { cel_value v = {CEL_STRING, CEL_Z, (uint32_t)n, {.s = s}}; return v; }
static inline cel_value cel_bytes(const char *s, size_t n) { cel_value v = {CEL_BYTES, 0, (uint32_t)n, {.s = s}}; return v; }
static inline cel_value cel_type(cel_kind k) { cel_value v = {CEL_TYPE, (uint8_t)k, 0, {.i = 0}}; return v; }
static inline bool cel_is_err(cel_value v) { return v.kind == CEL_ERROR; }
/* Equality of short byte strings without a call (most keys and literals are short). */
static inline bool cel_mem_eq(const char *a, const char *b, size_t n)
{
    if (n > 16) return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}
cel_value cel_optional(cel_ctx *c, const cel_value *v); /* NULL = none */
cel_value cel_str_dup(cel_ctx *c, cel_kind kind, const char *s, size_t n);

/* values (cel_value.c) */
cel_value cel_from_doc(const cel_doc_ops *ops, const void *node);
size_t cel_list_len(cel_ctx *c, cel_value l);
cel_value cel_list_get(cel_ctx *c, cel_value l, size_t i);
size_t cel_map_len(cel_ctx *c, cel_value m);
/* 1 found (*out set), 0 absent, or an error value in *out (-1) for a bad key type */
int cel_map_find(cel_ctx *c, cel_value m, cel_value key, cel_value *out);
/* keys of a map in order, as an arena array */
const cel_value *cel_map_keys(cel_ctx *c, cel_value m, size_t *n);
/* equality: 1, 0; -1 when the operands cannot be compared (error) */
int cel_equal(cel_ctx *c, cel_value a, cel_value b);
/* ordering: -1, 0, 1; 2 when not ordered (NaN); -2 no such overload */
int cel_compare(cel_value a, cel_value b);
const char *cel_kind_name(cel_kind k);
const char *cel_type_name(cel_value v);

/* functions (cel_func.c, cel_strings.c, cel_time.c) */
typedef cel_value (*cel_fn)(cel_ctx *c, const cel_node *n, cel_value *args, int nargs);
typedef struct cel_fdef {
    const char *name;
    int8_t gmin, gmax; /* global call arity; -1 = not callable globally */
    int8_t mmin, mmax; /* member call arity, counting the target; -1 = not a method */
    cel_fn fn;
} cel_fdef;
const cel_fdef *cel_fn_lookup(const char *name, size_t len);
const cel_fdef *cel_fn_at(int id);
int cel_fn_id(const cel_fdef *f);
extern const cel_fdef cel_optional_fns[];
extern const cel_fdef cel_strings_fns[];
extern const cel_fdef cel_format_fns[];
extern const cel_fdef cel_time_fns[];

/* a growable string in the arena (cel_sbuf.c); fail is set once it could not grow */
typedef struct cel_sbuf { cel_ctx *c; char *p; size_t n, cap; int fail; } cel_sbuf;
void cel_sb_put(cel_sbuf *b, const char *s, size_t n);
cel_value cel_sb_done(cel_sbuf *b); /* the string, or the allocation error */

/* regex (cel_re.c) */
void *cel_re_compile(const char *pat, size_t len, char *msg, size_t msglen);
void cel_re_free(void *re);
int cel_re_match(const void *re, const char *s, size_t len); /* 1, 0, -1 error */

/* JSON forms shared by cel_json.c and cel_to_doc.c */
/* A map key's JSON text (strings as they are, ints, uints and bools spelled out
 * in buf); -1 for a key type JSON has no text for. */
int cel_key_text(const cel_value *k, char *buf, size_t cap, const char **s, size_t *n);
/* How a double is written: a string (*special: NaN, Infinity), a whole number
 * (*whole) or a double. */
typedef enum { CEL_JD_STRING, CEL_JD_WHOLE, CEL_JD_DOUBLE } cel_jd;
cel_jd cel_json_double(double d, const char **special, int64_t *whole);
#define CEL_JSON_MAX_KEY 4096 /* bytes of a map key written as a JSON member name */

/* time (cel_time.c) */
int cel_parse_duration(const char *s, size_t n, int64_t *sec, int32_t *nsec);
int cel_parse_timestamp(const char *s, size_t n, int64_t *sec, int32_t *nsec);
size_t cel_fmt_duration(char *out, size_t cap, int64_t sec, int32_t nsec);
size_t cel_fmt_timestamp(char *out, size_t cap, int64_t sec, int32_t nsec);
#define CEL_TS_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define CEL_TS_MAX (253402300799LL) /* 9999-12-31T23:59:59Z */
#define CEL_DUR_MAX_SEC 9223372036LL /* durations fit int64 nanoseconds (about 292 years) */
#endif
