/* ydoc_build.c - libyaml events to json-c trees, one frame per open
 * mapping or sequence. Keys, anchors and merge sources are resolved as the
 * events arrive, so the text is read once and no YAML tree is kept. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ydoc/ydoc_int.h"

#define MERGE_TAG "tag:yaml.org,2002:merge"

typedef struct frame {
    struct json_object *obj;
    int is_map;
    int line;
    char *anchor; /* to define when the collection is complete */
    size_t nodes; /* nodes in the subtree so far */
    int height;   /* collection nesting of the subtree */
    /* mappings: the key waiting for its value */
    int have_key, key_is_merge;
    char *key;
    size_t keycap;
    int kline, kcol;
    size_t kl_base; /* this mapping's key lines start here in builder.kl */
    struct json_object **merges;
    size_t nmerge, mergecap;
} frame;

typedef struct builder {
    ydoc_file *f;
    const char *buf;
    size_t len;
    char *err;
    size_t errlen;
    frame *st;
    size_t depth, stcap;
    ydoc_keyline *kl; /* key lines of all open mappings, innermost last */
    size_t nkl, klcap;
    ydoc_anchors anchors;
    size_t alias_nodes;
    struct json_object *root;
    int doc_line;
    size_t docs_cap;
} builder;

static int line_of(const yaml_mark_t *m)
{
    return m->line >= INT_MAX - 1 ? INT_MAX : (int)m->line + 1;
}
static int col_of(const yaml_mark_t *m)
{
    return m->column >= INT_MAX - 1 ? INT_MAX : (int)m->column + 1;
}

static YDOC_PRINTF(4, 5) int fail_at(builder *b, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ydoc_errf(b->err, b->errlen, "%s:%d:%d: %s", b->f->path, line, col, msg);
    return -1;
}

static int oom(builder *b)
{
    ydoc_errf(b->err, b->errlen, "%s: out of memory", b->f->path);
    return -1;
}

/* A key or anchor name fit for a one-line message. */
static const char *shown(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0, max = outlen - 4;
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (n > max)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
    return out;
}

static frame *top(builder *b) { return b->depth ? &b->st[b->depth - 1] : NULL; }

static int push_keyline(builder *b, const void *key, int line)
{
    if (b->nkl == b->klcap) {
        size_t cap = b->klcap ? b->klcap * 2 : 64;
        ydoc_keyline *kl = realloc(b->kl, cap * sizeof *kl);
        if (!kl)
            return -1;
        b->kl = kl;
        b->klcap = cap;
    }
    b->kl[b->nkl].key = key;
    b->kl[b->nkl].line = line;
    b->nkl++;
    return 0;
}

static int add_merge_source(frame *t, struct json_object *m)
{
    if (t->nmerge == t->mergecap) {
        size_t cap = t->mergecap ? t->mergecap * 2 : 4;
        struct json_object **v = realloc(t->merges, cap * sizeof *v);
        if (!v)
            return -1;
        t->merges = v;
        t->mergecap = cap;
    }
    t->merges[t->nmerge++] = m;
    return 0;
}

/* `<<: *base` or `<<: [*a, *b]`: remembered until the mapping ends, since
 * the mapping's own keys win wherever they appear. */
static int merge_value(builder *b, frame *t, struct json_object *v)
{
    if (json_object_is_type(v, json_type_object)) {
        if (add_merge_source(t, v) != 0) {
            json_object_put(v);
            return oom(b);
        }
        return 0;
    }
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_object))
                goto bad;
        for (size_t i = 0; i < n; i++) {
            struct json_object *m = json_object_get(json_object_array_get_idx(v, i));
            if (add_merge_source(t, m) != 0) {
                json_object_put(m);
                json_object_put(v);
                return oom(b);
            }
        }
        json_object_put(v);
        return 0;
    }
bad:
    json_object_put(v);
    return fail_at(b, t->kline, t->kcol,
                   "merge key \"<<\" takes a mapping or a list of mappings");
}

static int apply_merges(builder *b, frame *t)
{
    for (size_t i = 0; i < t->nmerge; i++) {
        struct json_object *src = t->merges[i];
        json_object_object_foreach(src, k, v) {
            if (ydoc_map_key_ptr(t->obj, k))
                continue;
            if (json_object_object_add_ex(t->obj, k, json_object_get(v),
                                          JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
                json_object_put(v);
                return oom(b);
            }
            if (push_keyline(b, ydoc_map_key_ptr(t->obj, k), ydoc_key_line(src, k)) != 0)
                return oom(b);
        }
        json_object_put(src);
        t->merges[i] = NULL;
    }
    t->nmerge = 0;
    return 0;
}

/* Hands a finished node to the open collection (or makes it the root).
 * Takes ownership of v. */
static int attach(builder *b, struct json_object *v, size_t nodes, int height)
{
    frame *t = top(b);
    if (!t) {
        b->root = v;
        return 0;
    }
    t->nodes += nodes;
    if (height + 1 > t->height)
        t->height = height + 1;
    if (!t->is_map) {
        if (json_object_array_add(t->obj, v) != 0) {
            json_object_put(v);
            return oom(b);
        }
        return 0;
    }
    t->have_key = 0;
    if (t->key_is_merge)
        return merge_value(b, t, v);
    const void *k = ydoc_map_key_ptr(t->obj, t->key);
    if (k) {
        int first = 0;
        for (size_t i = t->kl_base; i < b->nkl; i++)
            if (b->kl[i].key == k)
                first = b->kl[i].line;
        char name[80];
        json_object_put(v);
        return fail_at(b, t->kline, t->kcol, "duplicate key \"%s\" (first at line %d)",
                       shown(t->key, strlen(t->key), name, sizeof name), first);
    }
    if (json_object_object_add_ex(t->obj, t->key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
        json_object_put(v);
        return oom(b);
    }
    if (push_keyline(b, ydoc_map_key_ptr(t->obj, t->key), t->kline) != 0)
        return oom(b);
    return 0;
}

static int set_key(builder *b, frame *t, const char *s, size_t n, const yaml_mark_t *m)
{
    if (memchr(s, '\0', n))
        return fail_at(b, line_of(m), col_of(m), "mapping key contains a NUL character");
    if (n + 1 > t->keycap) {
        size_t cap = t->keycap ? t->keycap : 32;
        while (cap < n + 1)
            cap *= 2;
        char *k = realloc(t->key, cap);
        if (!k)
            return oom(b);
        t->key = k;
        t->keycap = cap;
    }
    if (n)
        memcpy(t->key, s, n);
    t->key[n] = '\0';
    t->have_key = 1;
    t->key_is_merge = 0;
    t->kline = line_of(m);
    t->kcol = col_of(m);
    return 0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    frame *t = top(b);
    const char *anchor = (const char *)ev->data.scalar.anchor;
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    int line = line_of(&ev->start_mark);
    int is_key = t && t->is_map && !t->have_key;

    if (is_key) {
        if (set_key(b, t, s, n, &ev->start_mark) != 0)
            return -1;
        const char *tag = (const char *)ev->data.scalar.tag;
        t->key_is_merge =
            tag ? !strcmp(tag, MERGE_TAG)
                : ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n == 2 &&
                      s[0] == '<' && s[1] == '<';
        if (!anchor)
            return 0;
    }
    struct json_object *v;
    const char *why = NULL;
    int rc = ydoc_scalar(ev, &v, &why);
    if (rc == -1)
        return fail_at(b, line, col_of(&ev->start_mark), "%s", why);
    if (rc != 0)
        return oom(b);
    ydoc_set_line(v, line);
    if (anchor && ydoc_anchors_put(&b->anchors, anchor, v, 1, 0, s, n) != 0) {
        json_object_put(v);
        return oom(b);
    }
    if (is_key) {
        json_object_put(v); /* the anchor keeps it */
        return 0;
    }
    return attach(b, v, 1, 0);
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    frame *t = top(b);
    const char *name = (const char *)ev->data.alias.anchor;
    int line = line_of(&ev->start_mark), col = col_of(&ev->start_mark);
    const ydoc_anchor *a = ydoc_anchors_get(&b->anchors, name);
    char shown_name[80];

    if (!a)
        return fail_at(b, line, col, "unknown anchor \"%s\"",
                       shown(name, strlen(name), shown_name, sizeof shown_name));
    if (t && t->is_map && !t->have_key) {
        if (!a->text)
            return fail_at(b, line, col, "mapping keys must be scalars, \"*%s\" is a %s",
                           shown(name, strlen(name), shown_name, sizeof shown_name),
                           json_object_is_type(a->node, json_type_object) ? "mapping"
                                                                          : "sequence");
        return set_key(b, t, a->text, a->textlen, &ev->start_mark);
    }
    if (a->nodes > YDOC_MAX_ALIAS_NODES - b->alias_nodes)
        return fail_at(b, line, col, "aliases expand to more than %d nodes",
                       YDOC_MAX_ALIAS_NODES);
    if (b->depth + (size_t)a->height > YDOC_MAX_DEPTH)
        return fail_at(b, line, col, "alias \"*%s\" nests deeper than %d levels",
                       shown(name, strlen(name), shown_name, sizeof shown_name),
                       YDOC_MAX_DEPTH);
    b->alias_nodes += a->nodes;
    struct json_object *v = NULL;
    if (ydoc_copy(a->node, &v) != 0)
        return oom(b);
    /* The copy keeps the lines of the text it came from, except its top,
     * which is placed where the alias is used. */
    ydoc_move_line(v, line);
    return attach(b, v, a->nodes, a->height);
}

static int on_start(builder *b, const yaml_event_t *ev, int is_map)
{
    frame *t = top(b);
    int line = line_of(&ev->start_mark), col = col_of(&ev->start_mark);
    const char *anchor = is_map ? (const char *)ev->data.mapping_start.anchor
                                : (const char *)ev->data.sequence_start.anchor;

    if (t && t->is_map && !t->have_key)
        return fail_at(b, line, col, "mapping keys must be scalars, found a %s",
                       is_map ? "mapping" : "sequence");
    if (b->depth >= YDOC_MAX_DEPTH)
        return fail_at(b, line, col, "nesting deeper than %d levels", YDOC_MAX_DEPTH);
    if (b->depth == b->stcap) {
        size_t cap = b->stcap ? b->stcap * 2 : 16;
        frame *st = realloc(b->st, cap * sizeof *st);
        if (!st)
            return oom(b);
        memset(st + b->stcap, 0, (cap - b->stcap) * sizeof *st);
        b->st = st;
        b->stcap = cap;
    }
    frame *f = &b->st[b->depth];
    f->obj = is_map ? json_object_new_object() : json_object_new_array_ext(4);
    if (!f->obj)
        return oom(b);
    f->anchor = NULL;
    if (anchor && !(f->anchor = strdup(anchor))) {
        json_object_put(f->obj);
        f->obj = NULL;
        return oom(b);
    }
    b->depth++;
    f->is_map = is_map;
    f->line = line;
    f->nodes = 1;
    f->height = 1;
    f->have_key = 0;
    f->key_is_merge = 0;
    f->kl_base = b->nkl;
    f->nmerge = 0;
    return 0;
}

static int on_end(builder *b)
{
    frame *f = top(b);
    if (!f)
        return 0;
    if (f->is_map) {
        if (apply_merges(b, f) != 0)
            return -1;
        size_t n = b->nkl - f->kl_base;
        if (ydoc_set_map_lines(f->obj, f->line, n ? b->kl + f->kl_base : NULL, n) != 0)
            return oom(b);
        b->nkl = f->kl_base;
    } else {
        ydoc_set_line(f->obj, f->line);
    }
    struct json_object *obj = f->obj;
    char *anchor = f->anchor;
    size_t nodes = f->nodes;
    int height = f->height;
    f->obj = NULL;
    f->anchor = NULL;
    b->depth--;
    if (anchor) {
        int rc = ydoc_anchors_put(&b->anchors, anchor, obj, nodes, height, NULL, 0);
        free(anchor);
        if (rc != 0) {
            json_object_put(obj);
            return oom(b);
        }
    }
    return attach(b, obj, nodes, height);
}

static int on_doc_end(builder *b)
{
    struct json_object *root = b->root;
    b->root = NULL;
    ydoc_anchors_clear(&b->anchors);
    if (!root)
        return 0; /* empty or null documents carry nothing */
    ydoc_file *f = b->f;
    if (f->n_docs == b->docs_cap) {
        size_t cap = b->docs_cap ? b->docs_cap * 2 : 4;
        ydoc_doc *d = realloc(f->docs, cap * sizeof *d);
        if (!d) {
            json_object_put(root);
            return oom(b);
        }
        f->docs = d;
        b->docs_cap = cap;
    }
    f->docs[f->n_docs].root = root;
    f->docs[f->n_docs].line = b->doc_line;
    f->n_docs++;
    return 0;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        b->doc_line = line_of(&ev->start_mark);
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        return on_doc_end(b);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, 0);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, 1);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    default:
        return 0;
    }
}

static int parse_error(builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->error == YAML_MEMORY_ERROR)
        return oom(b);
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (b->buf[i] == '\n')
                line++, col = 1;
            else if (((unsigned char)b->buf[i] & 0xC0) != 0x80)
                col++;
        }
        if (p->problem_value != -1)
            return fail_at(b, line, col, "%s (byte 0x%02X)", problem,
                           (unsigned)p->problem_value & 0xFFu);
        return fail_at(b, line, col, "%s", problem);
    }
    int line = line_of(&p->problem_mark), col = col_of(&p->problem_mark);
    if (p->context)
        return fail_at(b, line, col, "%s (%s at line %d)", problem, p->context,
                       line_of(&p->context_mark));
    return fail_at(b, line, col, "%s", problem);
}

static void builder_free(builder *b)
{
    for (size_t i = 0; i < b->stcap; i++) {
        frame *f = &b->st[i];
        json_object_put(f->obj);
        free(f->anchor);
        for (size_t j = 0; j < f->nmerge; j++)
            json_object_put(f->merges[j]);
        free(f->merges);
        free(f->key);
    }
    free(b->st);
    free(b->kl);
    json_object_put(b->root);
    ydoc_anchors_free(&b->anchors);
}

int ydoc_build(ydoc_file *f, const char *buf, size_t len, char *err, size_t errlen)
{
    builder b = {.f = f, .buf = buf, .len = len, .err = err, .errlen = errlen};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return oom(&b);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parse_error(&b, &p);
            break;
        }
        int done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc != 0 || done)
            break;
    }
    yaml_parser_delete(&p);
    builder_free(&b);
    return rc;
}
