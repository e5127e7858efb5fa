/* ydoc_anchor.c - the anchors of one document: a small open-addressing hash,
 * so a document with many anchors and aliases stays linear. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ydoc/ydoc_int.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static ydoc_anchor *slot_for(ydoc_anchor *slots, size_t cap, const char *name)
{
    size_t i = (size_t)hash(name) & (cap - 1);
    while (slots[i].name && strcmp(slots[i].name, name))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(ydoc_anchors *t)
{
    size_t cap = t->cap ? t->cap * 2 : 16;
    ydoc_anchor *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].name)
            *slot_for(s, cap, t->slots[i].name) = t->slots[i];
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

int ydoc_anchors_put(ydoc_anchors *t, const char *name, struct json_object *node,
                     size_t nodes, int height, const char *text, size_t textlen)
{
    if ((t->count + 1) * 2 > t->cap && grow(t) != 0)
        return -1;
    char *tx = NULL;
    if (text) {
        tx = malloc(textlen + 1);
        if (!tx)
            return -1;
        memcpy(tx, text, textlen);
        tx[textlen] = '\0';
    }
    ydoc_anchor *a = slot_for(t->slots, t->cap, name);
    if (a->name) {
        /* YAML lets a later anchor of the same name shadow the earlier one. */
        json_object_put(a->node);
        free(a->text);
    } else {
        a->name = strdup(name);
        if (!a->name) {
            free(tx);
            return -1;
        }
        t->count++;
    }
    a->node = json_object_get(node);
    a->nodes = nodes;
    a->height = height;
    a->text = tx;
    a->textlen = tx ? textlen : 0;
    return 0;
}

const ydoc_anchor *ydoc_anchors_get(const ydoc_anchors *t, const char *name)
{
    if (!t->cap)
        return NULL;
    const ydoc_anchor *a = slot_for(t->slots, t->cap, name);
    return a->name ? a : NULL;
}

void ydoc_anchors_clear(ydoc_anchors *t)
{
    if (!t->count)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        ydoc_anchor *a = &t->slots[i];
        if (a->name) {
            free(a->name);
            free(a->text);
            json_object_put(a->node);
            memset(a, 0, sizeof *a);
        }
    }
    t->count = 0;
}

void ydoc_anchors_free(ydoc_anchors *t)
{
    ydoc_anchors_clear(t);
    free(t->slots);
    t->slots = NULL;
    t->cap = 0;
}
