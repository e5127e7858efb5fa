/* Internal model shared by the selector files: a compiled path is a small array of steps,
 * run against request documents (engine/doc). json-c is only used at compile time, to read
 * modifier arguments and query values. */
#ifndef PC_SELECTOR_INTERNAL_H
#define PC_SELECTOR_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>
#include "doc/doc.h"
#include "util/buf.h"

#define SEL_MAX_TEXT  65536  /* longest selector text accepted */
#define SEL_MAX_NEST  16     /* nesting of `#.` / queries inside one another */
#define SEL_MAX_WILD  32     /* wildcard keys in one dotted run (each may backtrack) */
#define SEL_MAX_DOC   64     /* document depth the copying modifiers walk */

enum sel_op {
    SEL_KEY,    /* object member by exact name; array element if the name is all digits */
    SEL_WILD,   /* object member by glob pattern */
    SEL_COUNT,  /* `#`: array length (member "#" of an object) */
    SEL_FANOUT, /* `#.`: sub applied to every element */
    SEL_QUERY,  /* `#(...)`: first match, or all matches when q->all */
    SEL_MOD     /* `@name[:arg]` */
};

enum sel_qop { SEL_Q_EXISTS, SEL_Q_EQ, SEL_Q_NE, SEL_Q_LT, SEL_Q_LE, SEL_Q_GT, SEL_Q_GE,
               SEL_Q_LIKE, SEL_Q_NLIKE };

/* `~` before a query value compares the element's truthiness instead of the element. */
enum sel_tilde { SEL_T_NONE, SEL_T_ANY, SEL_T_NULL, SEL_T_TRUE, SEL_T_FALSE, SEL_T_OTHER };

struct sel_step;
struct sel_prog { struct sel_step *steps; size_t n; };

struct sel_query {
    struct sel_prog path;   /* n == 0: the element itself */
    enum sel_qop op;
    enum sel_tilde tilde;
    char *value;            /* unquoted, NUL-terminated */
    size_t vlen;
    double num;             /* value as a number, for numeric elements */
    int all;                /* `#(...)#` */
};

/* A modifier argument, checked and pre-digested at compile time so resolving never parses. */
struct sel_modarg {
    int present;            /* `:` followed by text */
    char *raw;              /* the argument text, NUL-terminated */
    size_t rawlen;
    int mode;               /* modifier-specific switch */
    long long pos;
    char *s1, *s2;          /* modifier-specific strings (sep; old/new) */
    size_t s1len, s2len;
};

struct sel_modifier;

struct sel_step {
    unsigned char op;       /* enum sel_op */
    unsigned char pipe;     /* written after `|`: ends a backtracking run */
    size_t off;             /* offset in the source text */
    char *key;              /* KEY: unescaped name; WILD: pattern with escapes kept */
    size_t keylen;
    size_t index;           /* KEY: element index when has_index; WILD: bytes of the literal
                               ASCII prefix (before any `*`, `?`, `\`) */
    int has_index;
    uint32_t hash;          /* KEY: doc_hash of key, computed once at compile time */
    struct sel_prog sub;    /* FANOUT, QUERY with all: per element */
    struct sel_query *q;
    const struct sel_modifier *mod;
    struct sel_modarg arg;
};

/* Absent results come in two kinds because gjson runs a modifier on an empty document when
 * the path got as far as the container that should have held the value, but not when an
 * earlier part was already missing. */
enum sel_state { SEL_PRESENT, SEL_REACHED, SEL_LOST };

struct sel_cur {
    const doc *v;              /* current value; NULL is JSON null when PRESENT */
    int state;                 /* enum sel_state */
};

struct sel_modifier {
    const char *name;
    /* Validates and digests the argument; 0 or -1 with a message (offset added by caller). */
    int (*prepare)(struct sel_modarg *a, char *err, size_t errlen);
    /* in is the current value when present, else NULL with present == 0. *out (NULL for
     * null/absent) is in itself, a value inside it, or new nodes built in ar; in is never
     * changed. Returns 0, or -1 for a real error (arena limit, memory, depth). */
    int (*apply)(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                 const doc **out, int *out_present);
};

/* Member key of obj (an object), with the hash computed at compile time; *found says
 * whether it exists. doc_get_h's lookup, inlined for the static-path loop. */
static inline const doc *sel_member(const doc *obj, const struct sel_step *st, int *found)
{
    const doc_member *m = obj->u.members;
    if (obj->aux.index) {
        uint32_t mask = obj->imask;
        for (uint32_t s = st->hash & mask;; s = (s + 1) & mask) {
            uint32_t slot = obj->aux.index[s];
            if (!slot)
                break;
            const doc_member *c = &m[slot - 1];
            if (c->hash == st->hash && c->klen == st->keylen &&
                memcmp(c->key, st->key, st->keylen) == 0) {
                *found = 1;
                return c->val;
            }
        }
    } else {
        for (uint32_t i = 0; i < obj->n; i++)
            if (m[i].hash == st->hash && m[i].klen == st->keylen &&
                memcmp(m[i].key, st->key, st->keylen) == 0) {
                *found = 1;
                return m[i].val;
            }
    }
    *found = 0;
    return NULL;
}

/* sel_parse.c */
int sel_parse_path(const char *text, size_t begin, size_t end, int depth,
                   struct sel_prog *out, char *err, size_t errlen);
void sel_prog_clear(struct sel_prog *p);

/* sel_template.c */
struct sel_tpart {
    char *lit;
    size_t litlen;
    struct sel_prog prog;
    int is_path;
    int is_static;          /* prog is plain keys and indexes (sel_eval_static) */
};
int sel_template_detect(const char *text, size_t len);
int sel_template_parse(const char *text, size_t len, struct sel_tpart **parts, size_t *nparts,
                       char *err, size_t errlen);
void sel_template_free(struct sel_tpart *parts, size_t nparts);

/* sel_eval.c: results are values of the document or nodes built in a. */
int sel_eval(const struct sel_prog *p, struct sel_cur *cur, struct arena *a, int depth);
/* 1 when every step is a plain key or index (resolved by sel_eval_static). */
int sel_prog_is_static(const struct sel_prog *p);
/* A static program: lookups only, no allocation. NULL when missing or null. */
const doc *sel_eval_static(const struct sel_prog *p, const doc *root);

/* sel_modifiers.c */
const struct sel_modifier *sel_mod_find(const char *name, size_t len);
int sel_mod_is_unsupported(const char *name, size_t len);
void sel_modarg_clear(struct sel_modarg *a);
int sel_json_parse(const char *s, size_t n, struct json_object **out);
struct json_object *sel_parse_json(const char *s, size_t n);

/* sel_glob.c: `*` any runes, `?` one rune, `\` escapes. */
int sel_glob(const char *str, size_t slen, const char *pat, size_t plen);
size_t sel_utf8_len(const unsigned char *s, size_t n);
unsigned sel_utf8_decode(const unsigned char *s, size_t n, size_t *len);

/* sel_buf.c: text built in util/buf (failures stick in b->failed) as a string node in a;
 * NULL when the buffer failed or the arena is full. */
const doc *sel_buf_to_doc(buf *b, struct arena *a);

/* sel_json.c: JSON text of documents. sel_doc_text: compact JSON text of v in a (NULL on
 * memory or depth). sel_doc_parse: 0 and *out for valid JSON text (exactly n bytes), 1 when
 * the text is not JSON, -1 on memory or the arena limit. */
const char *sel_doc_text(struct arena *a, const doc *v, size_t *len);
int sel_doc_parse(struct arena *a, const char *s, size_t n, const doc **out);

/* Error helper shared by the parsers. */
void sel_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
