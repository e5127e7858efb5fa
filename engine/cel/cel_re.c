/* cel_re.c - matches(): RE2 syntax, checked here so that what RE2 would refuse
 * (backreferences, lookaround, atomic groups, possessive quantifiers, recursion,
 * conditionals, repeats over 1000) is refused at load, then run by PCRE2 with
 * RE2's meaning of `$` and `\v` and a match limit so no pattern can run away. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cel/cel_int.h"
#include "util/thread_exit.h"

#define CEL_RE_MATCH_LIMIT 100000
#define CEL_RE_DEPTH_LIMIT 1000
#define CEL_RE_MAX_REPEAT 1000

static int bad(char *msg, size_t cap, size_t at, const char *what)
{
    snprintf(msg, cap, "%s at offset %zu (not RE2 syntax)", what, at);
    return -1;
}

/* Copies pat into out (cap >= 4*len+1), rewriting \v to \x0B; -1 with msg when the
 * pattern uses a construct RE2 does not accept. */
static int re2_check(const char *p, size_t n, char *out, char *msg, size_t cap)
{
    size_t o = 0;
    int in_class = 0, after_quant = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int quant = 0;
        if (c == '\\') {
            if (i + 1 >= n) return bad(msg, cap, i, "trailing backslash");
            char d = p[++i];
            if (d == 'Q') { /* literal text up to \E */
                size_t e = i + 1;
                while (e + 1 < n && !(p[e] == '\\' && p[e + 1] == 'E')) e++;
                if (e + 1 >= n) e = n;
                memcpy(out + o, p + i - 1, (e < n ? e + 2 : n) - (i - 1));
                o += (e < n ? e + 2 : n) - (i - 1);
                i = e < n ? e + 1 : n;
                after_quant = 0;
                continue;
            }
            if (d >= '1' && d <= '9' && !in_class) return bad(msg, cap, i - 1, "backreference");
            if (strchr("kgKGZRXhHNcEe", d)) return bad(msg, cap, i - 1, "unsupported escape");
            if (d == 'v') {
                memcpy(out + o, "\\x0B", 4);
                o += 4;
            } else {
                out[o++] = '\\';
                out[o++] = d;
            }
            after_quant = 0;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < n && p[i + 1] == ':') {
                const char *e = memchr(p + i + 2, ']', n - i - 2);
                if (e && e[-1] == ':') {
                    size_t k = (size_t)(e - p) + 1 - i;
                    memcpy(out + o, p + i, k);
                    o += k;
                    i += k - 1;
                    continue;
                }
            }
            if (c == ']' ) in_class = 0;
            out[o++] = c;
            continue;
        }
        if (c == '[') {
            in_class = 1;
            out[o++] = c;
            if (i + 1 < n && p[i + 1] == '^') out[o++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']') out[o++] = p[++i]; /* a leading ] is literal */
            after_quant = 0;
            continue;
        }
        if (c == '(' && i + 1 < n && p[i + 1] == '?') {
            size_t j = i + 2;
            if (j < n && p[j] == 'P' && j + 1 < n && p[j + 1] == '<') {
                /* (?P<name> is fine */
            } else if (j < n && p[j] == '<' && j + 1 < n && p[j + 1] != '=' && p[j + 1] != '!') {
                /* (?<name> is fine */
            } else {
                while (j < n && strchr("imsU-", p[j])) j++;
                if (j >= n || (p[j] != ':' && p[j] != ')'))
                    return bad(msg, cap, i, "unsupported group (lookaround, atomic, conditional or recursion)");
            }
        }
        if (c == '*' || c == '+' || c == '?') {
            if (after_quant && c == '+') return bad(msg, cap, i, "possessive quantifier");
            quant = 1;
        } else if (c == '{') {
            size_t j = i + 1;
            unsigned long a = 0, b = 0;
            int digits = 0, comma = 0;
            while (j < n && ((p[j] >= '0' && p[j] <= '9') || (p[j] == ',' && !comma))) {
                if (p[j] == ',') comma = 1;
                else if (comma) b = b * 10 + (unsigned long)(p[j] - '0');
                else a = a * 10 + (unsigned long)(p[j] - '0'), digits = 1;
                if (a > 100000 || b > 100000) break;
                j++;
            }
            if (digits && j < n && p[j] == '}') {
                if (a > CEL_RE_MAX_REPEAT || b > CEL_RE_MAX_REPEAT) return bad(msg, cap, i, "repeat count over 1000");
                memcpy(out + o, p + i, j - i + 1);
                o += j - i + 1;
                i = j;
                after_quant = 1;
                continue;
            }
        }
        if (after_quant && c == '+') return bad(msg, cap, i, "possessive quantifier");
        out[o++] = c;
        after_quant = quant && !(c == '?' && i > 0 && (p[i - 1] == '*' || p[i - 1] == '+' || p[i - 1] == '?' ||
                                                      p[i - 1] == '}'));
    }
    out[o] = '\0';
    return (int)o;
}

void *cel_re_compile(const char *pat, size_t len, char *msg, size_t cap)
{
    char *tr = malloc(4 * len + 1);
    if (!tr) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    int tn = re2_check(pat, len, tr, msg, cap);
    if (tn < 0) {
        free(tr);
        return NULL;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)tr, (size_t)tn,
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &ec, &eo, NULL);
    free(tr);
    if (!re) {
        PCRE2_UCHAR m[120];
        pcre2_get_error_message(ec, m, sizeof m);
        snprintf(msg, cap, "%s at offset %zu", (char *)m, (size_t)eo);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

void cel_re_free(void *re) { pcre2_code_free(re); }

static _Thread_local pcre2_match_data *t_md;
static _Thread_local pcre2_match_context *t_mc;

static void free_md(void *md) { pcre2_match_data_free(md); }
static void free_mc(void *mc) { pcre2_match_context_free(mc); }

int cel_re_match(const void *re, const char *s, size_t len)
{
    if (!t_md) {
        if (!(t_md = pcre2_match_data_create(1, NULL))) return -1;
        thread_at_exit(free_md, t_md);
    }
    if (!t_mc) {
        if (!(t_mc = pcre2_match_context_create(NULL))) return -1;
        pcre2_set_match_limit(t_mc, CEL_RE_MATCH_LIMIT);
        pcre2_set_depth_limit(t_mc, CEL_RE_DEPTH_LIMIT);
        thread_at_exit(free_mc, t_mc);
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, t_md, t_mc);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    return -1; /* match limit, or a subject that is not UTF-8: deny */
}
