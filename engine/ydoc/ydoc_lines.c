/* ydoc_lines.c - where loaded nodes keep their source lines (see ydoc.h). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/linkhash.h>
#include "ydoc/ydoc_int.h"

/* A non-empty mapping's userdata: its line and its keys' lines, in
 * insertion order. Keys are matched by the table's key pointer, never
 * dereferenced here, so a key deleted later only loses its line. */
typedef struct ydoc_maplines {
    int line;
    size_t n;
    ydoc_keyline kl[];
} ydoc_maplines;

static void *tag_line(int line)
{
    if (line < 0)
        line = 0;
    return (void *)(((uintptr_t)(unsigned)line << 1) | 1u);
}

void ydoc_set_line(struct json_object *o, int line)
{
    if (o)
        json_object_set_userdata(o, tag_line(line), NULL);
}

static void maplines_free(struct json_object *o, void *ud)
{
    (void)o;
    free(ud);
}

int ydoc_set_map_lines(struct json_object *map, int line, const ydoc_keyline *kl,
                       size_t n)
{
    if (n == 0) {
        ydoc_set_line(map, line);
        return 0;
    }
    ydoc_maplines *ml = malloc(sizeof *ml + n * sizeof ml->kl[0]);
    if (!ml)
        return -1;
    ml->line = line;
    ml->n = n;
    memcpy(ml->kl, kl, n * sizeof kl[0]);
    json_object_set_userdata(map, ml, maplines_free);
    return 0;
}

/* The mapping table of a loaded mapping, or NULL. Only objects get a
 * pointer userdata from this module; scalars' tagged lines are odd. */
static const ydoc_maplines *maplines_of(const struct json_object *o)
{
    if (!o || json_object_get_type(o) != json_type_object)
        return NULL;
    void *ud = json_object_get_userdata((struct json_object *)o);
    if (!ud || ((uintptr_t)ud & 1u))
        return NULL;
    return ud;
}

void ydoc_move_line(struct json_object *o, int line)
{
    ydoc_maplines *ml = (ydoc_maplines *)maplines_of(o);
    if (ml)
        ml->line = line;
    else
        ydoc_set_line(o, line);
}

int ydoc_line(const struct json_object *node)
{
    if (!node)
        return 0;
    void *ud = json_object_get_userdata((struct json_object *)node);
    if (!ud)
        return 0;
    if ((uintptr_t)ud & 1u) {
        uintptr_t v = (uintptr_t)ud >> 1;
        return v > INT_MAX ? 0 : (int)v;
    }
    const ydoc_maplines *ml = maplines_of(node);
    return ml ? ml->line : 0;
}

const void *ydoc_map_key_ptr(struct json_object *map, const char *key)
{
    struct lh_table *t = json_object_get_object(map);
    if (!t || !key)
        return NULL;
    struct lh_entry *e = lh_table_lookup_entry(t, key);
    return e ? lh_entry_k(e) : NULL;
}

int ydoc_key_line(const struct json_object *map, const char *key)
{
    const ydoc_maplines *ml = maplines_of(map);
    if (!ml)
        return 0;
    const void *k = ydoc_map_key_ptr((struct json_object *)map, key);
    if (!k)
        return 0;
    for (size_t i = 0; i < ml->n; i++)
        if (ml->kl[i].key == k)
            return ml->kl[i].line;
    return 0;
}

static int copy_rec(struct json_object *src, struct json_object **dst, int lines);

static int copy_map(struct json_object *src, struct json_object **dst, int lines)
{
    const ydoc_maplines *ml = lines ? maplines_of(src) : NULL;
    struct json_object *m = json_object_new_object();
    if (!m)
        return -1;
    size_t n = (size_t)json_object_object_length(src), i = 0;
    ydoc_keyline *kl = NULL;
    if (ml && n) {
        kl = malloc(n * sizeof *kl);
        if (!kl)
            goto fail;
    }
    json_object_object_foreach(src, k, v) {
        struct json_object *c = NULL;
        if (copy_rec(v, &c, lines) != 0)
            goto fail;
        if (json_object_object_add_ex(m, k, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
            json_object_put(c);
            goto fail;
        }
        if (kl) {
            kl[i].key = ydoc_map_key_ptr(m, k);
            kl[i].line = ydoc_key_line(src, k);
            i++;
        }
    }
    if (ml && ydoc_set_map_lines(m, ml->line, kl, i) != 0)
        goto fail;
    if (!ml && lines)
        ydoc_set_line(m, ydoc_line(src));
    free(kl);
    *dst = m;
    return 0;
fail:
    free(kl);
    json_object_put(m);
    return -1;
}

static int copy_rec(struct json_object *src, struct json_object **dst, int lines)
{
    struct json_object *c = NULL;
    *dst = NULL;
    switch (json_object_get_type(src)) {
    case json_type_null:
        return 0;
    case json_type_object:
        return copy_map(src, dst, lines);
    case json_type_array: {
        size_t n = json_object_array_length(src);
        c = json_object_new_array_ext(n ? (int)(n > INT_MAX ? INT_MAX : n) : 1);
        if (!c)
            return -1;
        for (size_t i = 0; i < n; i++) {
            struct json_object *e = NULL;
            if (copy_rec(json_object_array_get_idx(src, i), &e, lines) != 0 ||
                json_object_array_add(c, e) != 0) {
                json_object_put(e);
                json_object_put(c);
                return -1;
            }
        }
        break;
    }
    case json_type_boolean:
        c = json_object_new_boolean(json_object_get_boolean(src));
        break;
    case json_type_int:
        c = json_object_new_int64(json_object_get_int64(src));
        break;
    case json_type_double:
        c = json_object_new_double(json_object_get_double(src));
        break;
    case json_type_string:
        c = json_object_new_string_len(json_object_get_string(src),
                                       json_object_get_string_len(src));
        break;
    }
    if (!c)
        return -1;
    if (lines)
        ydoc_set_line(c, ydoc_line(src));
    *dst = c;
    return 0;
}

int ydoc_copy(const struct json_object *src, struct json_object **dst)
{
    if (!dst)
        return -1;
    return copy_rec((struct json_object *)src, dst, 1);
}

int ydoc_copy_bare(const struct json_object *src, struct json_object **dst)
{
    if (!dst)
        return -1;
    return copy_rec((struct json_object *)src, dst, 0);
}
