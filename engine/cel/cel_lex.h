/* cel_lex.h - CEL tokens (langdef.md "Syntax"). */
#ifndef PC_CEL_LEX_H
#define PC_CEL_LEX_H
#include "cel/cel_int.h"

typedef enum { T_EOF, T_INT, T_UINT, T_DOUBLE, T_STRING, T_BYTES, T_IDENT, T_PUNCT } cel_tok_type;

/* Two-character operators use these codes; others are their character. */
enum { P_EQ = 256, P_NE, P_LE, P_GE, P_AND, P_OR };

typedef struct cel_tok {
    int type;
    int punct;
    size_t off, len; /* source span */
    uint64_t u;      /* T_INT (magnitude) / T_UINT */
    double d;
    const char *s;   /* decoded T_STRING / T_BYTES, in the pool */
    size_t slen;
    int nul_inside; /* the decoded string holds a NUL */
} cel_tok;

typedef struct cel_lexer {
    const char *src;
    size_t len, pos;
    cel_arena *pool;
    cel_error *err;
} cel_lexer;

/* Reads the next token; -1 with err set on a lexical error. */
int cel_lex_next(cel_lexer *lx, cel_tok *t);
#endif
