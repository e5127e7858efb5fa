/* cel_lex.c - the CEL lexer: numbers, identifiers, operators and the string and
 * bytes literal forms (quoted, triple-quoted, raw) with their escapes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_lex.h"
#include "util/str.h"

static int fail(cel_lexer *lx, size_t off, const char *msg)
{
    cel_err_at(lx->err, lx->src, (int)off + 1, "%s", msg);
    return -1;
}

static int is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (up to n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t k;
    uint32_t cp;
    if ((s[0] & 0xE0) == 0xC0) { k = 2; cp = s[0] & 0x1F; }
    else if ((s[0] & 0xF0) == 0xE0) { k = 3; cp = s[0] & 0x0F; }
    else if ((s[0] & 0xF8) == 0xF0) { k = 4; cp = s[0] & 0x07; }
    else return 0;
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

static int lex_string(cel_lexer *lx, cel_tok *t, int raw, int bytes)
{
    const char *s = lx->src;
    size_t start = t->off, p = lx->pos;
    char q = s[p];
    int triple = p + 2 < lx->len && s[p + 1] == q && s[p + 2] == q;
    p += triple ? 3 : 1;
    /* decoded text is never longer than its source */
    char *o = cel_alloc(lx->pool, lx->len - p + 1);
    if (!o) return fail(lx, start, "out of memory");
    size_t on = 0;
    for (;;) {
        if (p >= lx->len) return fail(lx, start, "unterminated string literal");
        unsigned char c = (unsigned char)s[p];
        if (triple ? (c == (unsigned char)q && p + 2 < lx->len && s[p + 1] == q && s[p + 2] == q)
                   : c == (unsigned char)q) {
            p += triple ? 3 : 1;
            break;
        }
        if (!triple && (c == '\n' || c == '\r'))
            return fail(lx, start, "newline in string literal");
        if (c != '\\' || raw) {
            size_t k = utf8_len((const unsigned char *)s + p, lx->len - p);
            if (!k) return fail(lx, p, "invalid UTF-8 in string literal");
            memcpy(o + on, s + p, k);
            on += k;
            p += k;
            continue;
        }
        size_t esc = p++;
        if (p >= lx->len) return fail(lx, start, "unterminated string literal");
        c = (unsigned char)s[p++];
        uint32_t cp;
        int is_octet = 0;
        switch (c) {
        case '\\': case '?': case '"': case '\'': case '`': cp = c; break;
        case 'a': cp = 7; break;
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'v': cp = 11; break;
        case 'x': case 'X': case 'u': case 'U': {
            int nd = (c == 'x' || c == 'X') ? 2 : c == 'u' ? 4 : 8;
            if (c == 'U' && bytes) return fail(lx, esc, "\\U escape in bytes literal");
            cp = 0;
            for (int i = 0; i < nd; i++) {
                int h = p < lx->len ? str_hexval((unsigned char)s[p]) : -1;
                if (h < 0) return fail(lx, esc, "invalid escape sequence");
                cp = cp << 4 | (uint32_t)h;
                p++;
            }
            is_octet = nd == 2;
            if (bytes && nd == 4) is_octet = 0;
            break;
        }
        default:
            if (c >= '0' && c <= '3' && p + 1 < lx->len && s[p] >= '0' && s[p] <= '7' &&
                s[p + 1] >= '0' && s[p + 1] <= '7') {
                cp = (uint32_t)(c - '0') << 6 | (uint32_t)(s[p] - '0') << 3 | (uint32_t)(s[p + 1] - '0');
                p += 2;
                is_octet = 1;
                break;
            }
            return fail(lx, esc, "invalid escape sequence");
        }
        if (bytes && is_octet) {
            o[on++] = (char)cp;
            continue;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(lx, esc, "invalid code point in escape sequence");
        on += put_utf8(o + on, cp);
    }
    o[on] = '\0';
    lx->pos = p;
    t->nul_inside = memchr(o, '\0', on) != NULL;
    t->type = bytes ? T_BYTES : T_STRING;
    t->s = o;
    t->slen = on;
    return 0;
}

static int lex_number(cel_lexer *lx, cel_tok *t)
{
    const char *s = lx->src;
    size_t p = lx->pos, n = lx->len;
    if (s[p] == '0' && p + 1 < n && (s[p + 1] == 'x' || s[p + 1] == 'X')) {
        p += 2;
        size_t d0 = p;
        uint64_t v = 0;
        int over = 0;
        while (p < n && str_hexval((unsigned char)s[p]) >= 0) {
            if (v >> 60) over = 1;
            v = v << 4 | (uint64_t)str_hexval((unsigned char)s[p++]);
        }
        if (p == d0) return fail(lx, t->off, "invalid hexadecimal literal");
        if (over) return fail(lx, t->off, "integer literal out of range");
        t->u = v;
        t->type = T_INT;
        if (p < n && (s[p] == 'u' || s[p] == 'U')) { t->type = T_UINT; p++; }
    } else {
        size_t b = p;
        while (p < n && is_digit((unsigned char)s[p])) p++;
        int is_double = 0;
        if (p + 1 < n && s[p] == '.' && is_digit((unsigned char)s[p + 1])) {
            is_double = 1;
            p++;
            while (p < n && is_digit((unsigned char)s[p])) p++;
        }
        if (p < n && (s[p] == 'e' || s[p] == 'E')) {
            size_t e = p + 1;
            if (e < n && (s[e] == '+' || s[e] == '-')) e++;
            if (e < n && is_digit((unsigned char)s[e])) {
                is_double = 1;
                p = e;
                while (p < n && is_digit((unsigned char)s[p])) p++;
            }
        }
        char buf[400];
        if (p - b >= sizeof buf) return fail(lx, t->off, "numeric literal too long");
        memcpy(buf, s + b, p - b);
        buf[p - b] = '\0';
        errno = 0;
        if (is_double) {
            t->d = strtod(buf, NULL);
            t->type = T_DOUBLE;
        } else {
            t->u = strtoull(buf, NULL, 10);
            if (errno == ERANGE) return fail(lx, t->off, "integer literal out of range");
            t->type = T_INT;
            if (p < n && (s[p] == 'u' || s[p] == 'U')) { t->type = T_UINT; p++; }
        }
    }
    if (p < n && (is_ident_start((unsigned char)s[p]) || is_digit((unsigned char)s[p]) || s[p] == '.'))
        if (!(s[p] == '.' && !(p + 1 < n && is_digit((unsigned char)s[p + 1]))))
            return fail(lx, t->off, "invalid numeric literal");
    lx->pos = p;
    return 0;
}

int cel_lex_next(cel_lexer *lx, cel_tok *t)
{
    const char *s = lx->src;
    size_t n = lx->len;
    for (;;) {
        while (lx->pos < n && (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\n' ||
                               s[lx->pos] == '\r' || s[lx->pos] == '\f'))
            lx->pos++;
        if (lx->pos + 1 < n && s[lx->pos] == '/' && s[lx->pos + 1] == '/') {
            while (lx->pos < n && s[lx->pos] != '\n') lx->pos++;
            continue;
        }
        break;
    }
    memset(t, 0, sizeof *t);
    t->off = lx->pos;
    if (lx->pos >= n) {
        t->type = T_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)s[lx->pos];
    int rc = 0;
    if (is_digit(c) || (c == '.' && lx->pos + 1 < n && is_digit((unsigned char)s[lx->pos + 1]))) {
        rc = lex_number(lx, t);
    } else if (c == '"' || c == '\'') {
        rc = lex_string(lx, t, 0, 0);
    } else if (is_ident_start(c)) {
        /* string prefixes: r, b, and both in either order */
        size_t p = lx->pos;
        int raw = 0, bytes = 0;
        while (p < n && p - lx->pos < 2 && (s[p] == 'r' || s[p] == 'R' || s[p] == 'b' || s[p] == 'B')) {
            if (s[p] == 'r' || s[p] == 'R') { if (raw) break; raw = 1; }
            else { if (bytes) break; bytes = 1; }
            p++;
        }
        if ((raw || bytes) && p < n && (s[p] == '"' || s[p] == '\'')) {
            lx->pos = p;
            rc = lex_string(lx, t, raw, bytes);
        } else {
            p = lx->pos;
            while (p < n && (is_ident_start((unsigned char)s[p]) || is_digit((unsigned char)s[p]))) p++;
            t->type = T_IDENT;
            lx->pos = p;
        }
    } else if (c == '`') {
        /* quoted identifier in field selections: `a.b-c` */
        size_t p = lx->pos + 1;
        while (p < n && s[p] != '`') {
            char d = s[p];
            if (!(is_ident_start((unsigned char)d) || is_digit((unsigned char)d) || d == '.' || d == '-' ||
                  d == '/' || d == ' '))
                return fail(lx, p, "invalid character in quoted identifier");
            p++;
        }
        if (p >= n || p == lx->pos + 1) return fail(lx, lx->pos, "invalid quoted identifier");
        t->type = T_IDENT;
        t->punct = '`';
        t->s = s + lx->pos + 1;
        t->slen = p - lx->pos - 1;
        lx->pos = p + 1;
    } else {
        char d = lx->pos + 1 < n ? s[lx->pos + 1] : 0;
        int code = 0, w = 2;
        if (c == '=' && d == '=') code = P_EQ;
        else if (c == '!' && d == '=') code = P_NE;
        else if (c == '<' && d == '=') code = P_LE;
        else if (c == '>' && d == '=') code = P_GE;
        else if (c == '&' && d == '&') code = P_AND;
        else if (c == '|' && d == '|') code = P_OR;
        else if (strchr("()[]{}.,:?+-*/%!<>", c)) { code = c; w = 1; }
        else return fail(lx, lx->pos, c >= 0x80 ? "unexpected non-ASCII character" : "unexpected character");
        t->type = T_PUNCT;
        t->punct = code;
        lx->pos += (size_t)w;
    }
    if (rc < 0) return -1;
    t->len = lx->pos - t->off;
    return 0;
}
