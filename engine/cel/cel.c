/* cel.c - the library's entry points: compile a program, free it, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"

const char *const cel_authorino_vars[] = {"request", "source", "destination", "metadata", "auth", NULL};

void cel_err_at(cel_error *err, const char *src, int off1, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->line = err->column = 0;
    if (!src || off1 <= 0) return;
    /* 1-based line, and the column in characters (UTF-8 continuation bytes skipped) */
    int line = 1, col = 1;
    for (int i = 0; i < off1 - 1 && src[i]; i++) {
        if (src[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    err->line = line;
    err->column = col;
}

void cel_program_free(cel_program *p)
{
    if (!p) return;
    for (struct cel_relist *r = p->res; r; r = r->next) cel_re_free(r->re);
    free(p->src);
    cel_arena_free(&p->pool);
    free(p);
}

const char *cel_program_source(const cel_program *p) { return p->src; }

cel_program *cel_compile(const char *src, size_t len, const char *const *vars, cel_error *err)
{
    cel_program *p = calloc(1, sizeof *p);
    if (!p || !(p->src = malloc(len + 1))) {
        free(p);
        cel_err_at(err, NULL, 0, "out of memory");
        return NULL;
    }
    memcpy(p->src, src, len);
    p->src[len] = '\0';
    /* the tree of the longest expression stays far below this */
    cel_arena_init(&p->pool, (size_t)64 << 20);
    p->vars = vars;
    while (vars && vars[p->nvars]) p->nvars++;
    if (!(p->varlen = cel_alloc(&p->pool, ((size_t)p->nvars + 1) * sizeof *p->varlen))) {
        cel_err_at(err, NULL, 0, "out of memory");
        cel_program_free(p);
        return NULL;
    }
    for (int i = 0; i < p->nvars; i++) p->varlen[i] = strlen(vars[i]);
    if (!(p->root = cel_parse(&p->pool, p->src, len, err)) || cel_check(p, err)) {
        cel_program_free(p);
        return NULL;
    }
    cel_program_prepare(p, &cel_doc_tree);
    return p;
}

static int prepare_node(cel_program *p, cel_node *n, const cel_doc_ops *ops)
{
    if (n->op == N_PATH) {
        if (!n->khint && !(n->khint = cel_alloc(&p->pool, n->nkeys * sizeof *n->khint))) return -1;
        for (uint32_t i = 0; i < n->nkeys; i++) n->khint[i] = ops->prepare_key(n->keys[i].u.s, n->keys[i].n);
    }
    for (uint32_t i = 0; i < n->nargs; i++)
        if (prepare_node(p, n->args[i], ops)) return -1;
    return 0;
}

void cel_program_prepare(cel_program *p, const cel_doc_ops *ops)
{
    p->prepared = NULL;
    if (!ops->prepare_key || !ops->member_prepared) return;
    if (!p->varhint && !(p->varhint = cel_alloc(&p->pool, ((size_t)p->nvars + 1) * sizeof *p->varhint))) return;
    for (int i = 0; i < p->nvars; i++) p->varhint[i] = ops->prepare_key(p->vars[i], p->varlen[i]);
    if (prepare_node(p, p->root, ops) == 0) p->prepared = ops; /* else the hints stay unused */
}
