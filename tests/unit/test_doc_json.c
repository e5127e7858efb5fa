/* Tests for JSON text and the request document (engine/doc/doc_json.c):
 * doc_parse against json-c's strict tokener, doc_to_json against json-c's
 * PLAIN|NOSLASHESCAPE writer, the rejections and their messages, duplicate
 * keys, large objects and round trips. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "cu_main.h"
#include "doc/doc.h"
#include "util/buf.h"
#include "jsonc_strict.h"

/* doc_to_json's text of v (static storage, for one assertion at a time). */
static const char *to_text(const doc *v, size_t *len)
{
    static buf b;
    buf_free(&b);
    buf_init(&b);
    if (doc_to_json(&b, v))
        return NULL;
    if (len)
        *len = b.len;
    return b.data;
}

/* text parses with doc and with json-c; both write `want` (when not NULL)
 * or the same text; the doc_to_json_arena text is the same; the text read
 * back is equal. */
static void check_same_as(const char *text, size_t len, const char *want, int same_type)
{
    struct arena a;
    arena_init(&a, 0);
    char err[128];
    const doc *v = NULL;
    int rc = doc_parse(&a, text, len, &v, err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  doc_parse(%.60s): %s\n", text, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct json_object *j = NULL;
    CU_ASSERT_FATAL(jc_parse(text, len, &j));
    if (same_type)
        CU_ASSERT_EQUAL(doc_type_of(v), jc_doc_type(j));
    size_t n = 0;
    const char *mine = to_text(v, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mine);
    const char *theirs = json_object_to_json_string_ext(j, JC_FLAGS);
    if (strcmp(mine, theirs) || (want && strcmp(mine, want)))
        fprintf(stderr, "\n  %.60s:\n   doc    %.200s\n   json-c %.200s\n", text, mine,
                theirs);
    CU_ASSERT_STRING_EQUAL(mine, theirs);
    if (want)
        CU_ASSERT_STRING_EQUAL(mine, want);
    size_t an = 0;
    const char *at = doc_to_json_arena(&a, v, &an);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    CU_ASSERT_EQUAL(an, n);
    CU_ASSERT_EQUAL(memcmp(at, mine, n + 1), 0);
    /* the text written reads back as the same document, and writes the same */
    const doc *back = NULL;
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, at, an, &back, err, sizeof err), 0);
    CU_ASSERT_TRUE(doc_equal(v, back));
    size_t bn = 0;
    const char *again = doc_to_json_arena(&a, back, &bn);
    CU_ASSERT_TRUE(again && bn == an && memcmp(again, at, an) == 0);
    json_object_put(j);
    arena_free(&a);
}

static void check_same(const char *text, size_t len, const char *want)
{
    check_same_as(text, len, want, 1);
}

#define SAME(lit, want) check_same(lit, sizeof(lit) - 1, want)

static void test_scalars_like_jsonc(void)
{
    SAME("0", "0");
    SAME("-0", "0");
    SAME("1", "1");
    SAME("-17", "-17");
    SAME("9223372036854775807", "9223372036854775807");
    SAME("-9223372036854775808", "-9223372036854775808");
    SAME("1.5", "1.5");
    SAME("-0.0", "-0.0");
    SAME("2.50", "2.50");
    SAME("100.000", "100.000");
    SAME("1e5", "1e5");
    SAME("1E+05", "1E+05");
    SAME("1e-7", "1e-7");
    SAME("0.1", "0.1");
    SAME("5e-324", "5e-324");
    SAME("1e400", "1e400");
    SAME("-1e400", "-1e400");
    SAME("123456789012345678901234567890.5", NULL);
    SAME("true", "true");
    SAME("false", "false");
    SAME("null", "null");
    SAME(" \t\r\n 7 \t\r\n", "7");
}

static void test_strings_like_jsonc(void)
{
    SAME("\"\"", "\"\"");
    SAME("\"plain ascii / with slash\"", "\"plain ascii / with slash\"");
    SAME("\"\\/\\\\\\\"\\b\\f\\n\\r\\t\"", "\"/\\\\\\\"\\b\\f\\n\\r\\t\"");
    SAME("\"\\u0001\\u001f\\u007f\\u0020\"", "\"\\u0001\\u001f\x7f \"");
    SAME("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", "\"A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    SAME("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xee\x80\x80\"", NULL);
    SAME("\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\"");
    /* embedded NUL: strings are length-delimited */
    SAME("\"a\\u0000b\"", "\"a\\u0000b\"");
    /* lone surrogates become U+FFFD, as in json-c */
    SAME("\"\\ud800\"", "\"\xef\xbf\xbd\"");
    SAME("\"\\udc00x\"", "\"\xef\xbf\xbdx\"");
    SAME("\"\\ud800\\n\"", "\"\xef\xbf\xbd\\n\"");
    SAME("\"\\ud800\\ud800\"", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    SAME("\"\\ud800\\ud800\\udc00\"", "\"\xef\xbf\xbd\xf0\x90\x80\x80\"");
    SAME("\"\\ud800\\u0041\"", "\"\xef\xbf\xbd" "A\"");
    SAME("\"\\udfff\\ud800\"", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    /* long runs around escapes (past the writer's staging area) */
    char big[16000];
    size_t n = 0;
    big[n++] = '"';
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "run %03d of plain text\\n\\u00e9", i);
    big[n++] = '"';
    big[n] = '\0';
    check_same(big, n, NULL);
}

static void test_structures_like_jsonc(void)
{
    SAME("[]", "[]");
    SAME("{}", "{}");
    SAME(" [ 1 , 2 ,\n3 ] ", "[1,2,3]");
    SAME("{ \"a\" : 1 , \"b\" : [ ] , \"c\" : { } }", "{\"a\":1,\"b\":[],\"c\":{}}");
    SAME("[null,true,false,0,-1.5,\"s\",[],{}]", "[null,true,false,0,-1.5,\"s\",[],{}]");
    SAME("{\"z\":1,\"a\":2,\"m\":{\"y\":null,\"b\":[1,{\"k\":\"v\"}]}}",
         "{\"z\":1,\"a\":2,\"m\":{\"y\":null,\"b\":[1,{\"k\":\"v\"}]}}");
    SAME("{\"\\u00e9\\n\":\"\\\"\"}", "{\"\xc3\xa9\\n\":\"\\\"\"}");
    SAME("{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\","
         "\"status\":{\"authenticated\":true,\"user\":{\"username\":\"system:serviceaccount:"
         "default:sa\",\"uid\":\"0b5c5d52\",\"groups\":[\"system:serviceaccounts\","
         "\"system:authenticated\"]},\"audiences\":[\"https://kubernetes.default.svc\"]}}",
         NULL);
    /* 128 levels, the most there may be */
    char deep[2 * DOC_MAX_DEPTH + 2];
    memset(deep, '[', DOC_MAX_DEPTH);
    deep[DOC_MAX_DEPTH] = '1';
    memset(deep + DOC_MAX_DEPTH + 1, ']', DOC_MAX_DEPTH);
    deep[2 * DOC_MAX_DEPTH + 1] = '\0';
    check_same(deep, sizeof deep - 1, NULL);
}

/* Each text reads as a double with strtod's value, to the bit, and writes
 * back as it came. */
static void check_doubles(const char *const *texts, size_t n)
{
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < n; i++) {
        const doc *v = NULL;
        CU_ASSERT_EQUAL_FATAL(doc_parse(&a, texts[i], strlen(texts[i]), &v, NULL, 0), 0);
        CU_ASSERT_EQUAL(doc_type_of(v), DOC_DOUBLE);
        double want = strtod(texts[i], NULL), got = doc_double(v);
        if (memcmp(&want, &got, sizeof got))
            fprintf(stderr, "\n  %s: %.17g, want %.17g\n", texts[i], got, want);
        CU_ASSERT_EQUAL(memcmp(&want, &got, sizeof got), 0);
        CU_ASSERT_STRING_EQUAL(to_text(v, NULL), texts[i]);
    }
    arena_free(&a);
}

/* Integers beyond int64 are doubles that keep their text. */
static void test_big_integers(void)
{
    static const char *const texts[] = {"9223372036854775808", "18446744073709551615",
                                        "99999999999999999999", "-9223372036854775809",
                                        "-99999999999999999999999"};
    check_doubles(texts, sizeof texts / sizeof *texts);
    /* json-c writes the uint64 range the same (it keeps them as uint64) */
    check_same_as("9223372036854775808", 19, "9223372036854775808", 0);
    check_same_as("[18446744073709551615]", 22, "[18446744073709551615]", 0);
}

/* Doubles are what strtod reads, to the bit, inside the fast path's
 * range (at most 19 digits, up to 2^53, 10^±22) and outside it. */
static void test_double_values(void)
{
    static const char *const texts[] = {
        "0.1", "-0.0", "0.0e5", "1.5e-7", "4.35", "0.000001", "123456.789e3", "1e22", "1e23",
        "-1e-22", "1e-23", "9007199254740992.0", "9007199254740993.0", "9007199254740993e-5",
        "1234567890123456789.5", "12345678901234567890e-10", "0.30000000000000004",
        "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "1e308", "1e-400",
        "0e99999", "18446744073709551616.5", "1E+2", "1e-0", "100000000000000000000000e-20",
        "7.0e0", "3.14159265358979"};
    check_doubles(texts, sizeof texts / sizeof *texts);
}

/* doc_parse rejects text with this message. */
static void check_reject(const char *text, size_t len, const char *msg)
{
    struct arena a;
    arena_init(&a, 0);
    char err[160] = "untouched";
    const doc *v = (const doc *)&a; /* not written on failure */
    int rc = doc_parse(&a, text, len, &v, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_EQUAL(v, (const doc *)&a);
    if (rc != -1 || strcmp(err, msg))
        fprintf(stderr, "\n  %.40s: got \"%s\", want \"%s\"\n", text, rc ? err : "(accepted)",
                msg);
    CU_ASSERT_STRING_EQUAL(err, msg);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    /* a short error buffer gets a truncated, terminated message */
    char small[8];
    CU_ASSERT_EQUAL(doc_parse(&a, text, len, &v, small, sizeof small), -1);
    CU_ASSERT_EQUAL(strlen(small), strlen(msg) < 7 ? strlen(msg) : 7);
    CU_ASSERT_EQUAL(doc_parse(&a, text, len, &v, NULL, 0), -1);
    arena_free(&a);
}

#define REJECT(lit, msg) check_reject(lit, sizeof(lit) - 1, msg)

static void test_rejections(void)
{
    REJECT("", "unexpected end of input at offset 0");
    REJECT("  \n", "unexpected end of input at offset 3");
    REJECT("1 x", "unexpected character 'x' after the value at offset 2");
    REJECT("{}}", "unexpected character '}' after the value at offset 2");
    REJECT("null null", "unexpected character 'n' after the value at offset 5");
    REJECT("1\0", "unexpected byte 0x00 after the value at offset 1");
    REJECT("[1,]", "unexpected character ']' at offset 3");
    REJECT("[1 2]", "unexpected character '2' (',' or ']' expected) at offset 3");
    REJECT("[1", "unexpected end of input (',' or ']' expected) at offset 2");
    REJECT("{\"a\":1,}", "unexpected character '}' (a quoted key expected) at offset 7");
    REJECT("{\"a\" 1}", "unexpected character '1' (':' expected) at offset 5");
    REJECT("{1:2}", "unexpected character '1' (a quoted key expected) at offset 1");
    REJECT("{'a':1}", "unexpected character ''' (a quoted key expected) at offset 1");
    REJECT("{\"a\":1 \"b\":2}", "unexpected character '\"' (',' or '}' expected) at offset 7");
    REJECT("{\"a\"", "unexpected end of input (':' expected) at offset 4");
    /* numbers */
    REJECT("01", "leading zero in number at offset 0");
    REJECT("-01", "leading zero in number at offset 1");
    REJECT("[00]", "leading zero in number at offset 1");
    REJECT("1.", "unexpected end of input (a digit expected) at offset 2");
    REJECT("1.e5", "unexpected character 'e' (a digit expected) at offset 2");
    REJECT("1e", "unexpected end of input (a digit expected) at offset 2");
    REJECT("1e+", "unexpected end of input (a digit expected) at offset 3");
    REJECT("-", "unexpected end of input (a digit expected) at offset 1");
    REJECT("-a", "unexpected character 'a' (a digit expected) at offset 1");
    REJECT(".5", "unexpected character '.' at offset 0");
    REJECT("+1", "unexpected character '+' at offset 0");
    REJECT("1-2", "unexpected character '-' after the value at offset 1");
    REJECT("0x10", "unexpected character 'x' after the value at offset 1");
    REJECT("NaN", "unexpected character 'N' at offset 0");
    REJECT("[Infinity]", "unexpected character 'I' at offset 1");
    REJECT("-Infinity", "unexpected character 'I' (a digit expected) at offset 1");
    /* literals */
    REJECT("tru", "unexpected end of input at offset 3");
    REJECT("trUe", "unexpected character 'U' at offset 2");
    REJECT("TRUE", "unexpected character 'T' at offset 0");
    REJECT("nul", "unexpected end of input at offset 3");
    REJECT("falsey", "unexpected character 'y' after the value at offset 5");
    /* white space is only the four of RFC 8259 */
    REJECT("\f1", "unexpected byte 0x0c at offset 0");
    REJECT("1\x0b", "unexpected byte 0x0b after the value at offset 1");
    REJECT("\xef\xbb\xbf" "1", "unexpected byte 0xef at offset 0");
    /* strings */
    REJECT("\"abc", "unterminated string at offset 0");
    REJECT("[\"abc\\\"]", "unterminated string at offset 1");
    REJECT("\"abc\\", "unterminated string at offset 0");
    REJECT("\"a\tb\"", "control character 0x09 in string at offset 2");
    REJECT("\"a\nb\"", "control character 0x0a in string at offset 2");
    REJECT("\"a\0b\"", "control character 0x00 in string at offset 2");
    REJECT("\"\\x\"", "invalid escape '\\x' in string at offset 1");
    REJECT("\"\\U0041\"", "invalid escape '\\U' in string at offset 1");
    REJECT("\"\\u12\"", "invalid \\u escape in string at offset 1");
    REJECT("\"ab\\u12G4\"", "invalid \\u escape in string at offset 3");
    REJECT("\"\\ud800\\u12\"", "invalid \\u escape in string at offset 7");
    REJECT("'a'", "unexpected character ''' at offset 0");
    /* UTF-8 */
    REJECT("\"\x80\"", "invalid UTF-8 in string at offset 1");
    REJECT("\"\xc0\x80\"", "invalid UTF-8 in string at offset 1");           /* overlong NUL */
    REJECT("\"ab\xc1\xbf\"", "invalid UTF-8 in string at offset 3");         /* overlong */
    REJECT("\"\xe0\x9f\xbf\"", "invalid UTF-8 in string at offset 1");       /* overlong */
    REJECT("\"\xf0\x8f\xbf\xbf\"", "invalid UTF-8 in string at offset 1");   /* overlong */
    REJECT("\"\xed\xa0\x80\"", "invalid UTF-8 in string at offset 1");       /* U+D800 */
    REJECT("\"\xed\xbf\xbf\"", "invalid UTF-8 in string at offset 1");       /* U+DFFF */
    REJECT("\"\xf4\x90\x80\x80\"", "invalid UTF-8 in string at offset 1");   /* > U+10FFFF */
    REJECT("\"\xf5\x80\x80\x80\"", "invalid UTF-8 in string at offset 1");
    REJECT("\"\xe2\x82\"", "invalid UTF-8 in string at offset 1");           /* truncated */
    REJECT("\"\xe2\x82x\"", "invalid UTF-8 in string at offset 1");
    REJECT("\"\xff\"", "invalid UTF-8 in string at offset 1");
    REJECT("{\"k\xfe\":1}", "invalid UTF-8 in string at offset 3");
    REJECT("\"\xc3\"", "invalid UTF-8 in string at offset 1");
    /* past the first 16 bytes, and after valid UTF-8 */
    REJECT("\"0123456789abcdef\xc3\xa9ghijklmnopq\x01\"",
           "control character 0x01 in string at offset 30");
    REJECT("\"0123456789abcdef\xc3\xa9ghijklmnopq\xc3\"",
           "invalid UTF-8 in string at offset 30");
    REJECT("[\"0123456789abcdef\xc3\xa9ghijklmnopq\\q\"]",
           "invalid escape '\\q' in string at offset 31");
}

static void test_depth(void)
{
    char text[2 * (DOC_MAX_DEPTH + 1) + 1];
    memset(text, '[', DOC_MAX_DEPTH + 1);
    memset(text + DOC_MAX_DEPTH + 1, ']', DOC_MAX_DEPTH + 1);
    check_reject(text, sizeof text - 1, "nesting deeper than 128 at offset 128");
    char obj[8 * (DOC_MAX_DEPTH + 1)];
    size_t n = 0;
    for (int i = 0; i <= DOC_MAX_DEPTH; i++)
        n += (size_t)snprintf(obj + n, sizeof obj - n, "{\"a\":");
    check_reject(obj, n, "nesting deeper than 128 at offset 640");
    /* the writer stops at the same depth */
    struct arena a;
    arena_init(&a, 0);
    doc *top = doc_new_array(&a, 0), *cur = top;
    for (int i = 0; i < DOC_MAX_DEPTH + 1; i++) {
        doc *in = doc_new_array(&a, 0);
        CU_ASSERT_EQUAL_FATAL(doc_append(&a, cur, in), 0);
        cur = in;
    }
    CU_ASSERT_EQUAL(doc_append(&a, cur, doc_new_int(&a, 1)), 0);
    buf b;
    buf_init(&b);
    buf_puts(&b, "keep");
    CU_ASSERT_EQUAL(doc_to_json(&b, top), -1);
    CU_ASSERT_STRING_EQUAL(b.data, "keep");
    CU_ASSERT_PTR_NULL(doc_to_json_arena(&a, top, NULL));
    buf_free(&b);
    arena_free(&a);
}

static void test_duplicate_keys(void)
{
    SAME("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
    SAME("{\"a\":{\"x\":1},\"a\":null}", "{\"a\":null}");
    /* past the index threshold, with repeats spread out */
    char text[4096];
    size_t n = 0;
    text[n++] = '{';
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\":%d", i ? "," : "", i % 25, i);
    text[n++] = '}';
    text[n] = '\0';
    check_same(text, n, NULL);
    struct arena a;
    arena_init(&a, 0);
    const doc *v = NULL;
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, text, n, &v, NULL, 0), 0);
    CU_ASSERT_EQUAL(doc_len(v), 25);
    CU_ASSERT_STRING_EQUAL(doc_member_at(v, 0)->key, "k0");
    CU_ASSERT_EQUAL(doc_int(doc_getz(v, "k0")), 50);
    CU_ASSERT_EQUAL(doc_int(doc_getz(v, "k24")), 49);
    CU_ASSERT_EQUAL(doc_int(doc_getz(v, "k10")), 35);
    arena_free(&a);
}

/* The text of an object of n members "k<i>": i (every key once, or each
 * twice when dup). Caller frees. */
static char *object_text(size_t n, int dup, size_t *len)
{
    size_t cap = n * 24 * (dup ? 2 : 1) + 4;
    char *t = malloc(cap);
    size_t k = 0;
    t[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(t + k, cap - k, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    for (size_t i = 0; dup && i < n; i++)
        k += (size_t)snprintf(t + k, cap - k, ",\"k%zu\":%zu", i, i + 1);
    t[k++] = '}';
    t[k] = '\0';
    *len = k;
    return t;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_large_objects(void)
{
    struct arena a;
    arena_init(&a, 0);
    size_t len;
    char *t = object_text(10000, 0, &len);
    const doc *v = NULL;
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, t, len, &v, NULL, 0), 0);
    CU_ASSERT_EQUAL(doc_len(v), 10000);
    CU_ASSERT_PTR_NOT_NULL(v->aux.index);
    char k[32];
    int all = 1;
    for (size_t i = 0; i < 10000; i++) {
        int kl = snprintf(k, sizeof k, "k%zu", i), found = 0;
        const doc *m = doc_get(v, k, (size_t)kl, &found);
        all &= found && doc_int(m) == (int64_t)i && strcmp(doc_member_at(v, i)->key, k) == 0;
    }
    CU_ASSERT_TRUE(all);
    CU_ASSERT_PTR_NULL(doc_getz(v, "k10000"));
    /* written back as it came */
    size_t n = 0;
    const char *back = doc_to_json_arena(&a, v, &n);
    CU_ASSERT_TRUE(back && n == len && memcmp(back, t, len) == 0);
    free(t);

    /* 100,000 members, then each again (the last wins): linear time */
    t = object_text(100000, 1, &len);
    arena_reset(&a);
    double t0 = now_s();
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, t, len, &v, NULL, 0), 0);
    double dt = now_s() - t0;
    CU_ASSERT_EQUAL(doc_len(v), 100000);
    CU_ASSERT_EQUAL(doc_int(doc_getz(v, "k0")), 1);
    CU_ASSERT_EQUAL(doc_int(doc_getz(v, "k99999")), 100000);
    CU_ASSERT_STRING_EQUAL(doc_member_at(v, 99999)->key, "k99999");
    if (dt >= 1.0)
        fprintf(stderr, "\n  200,000 members parsed in %.3f s\n", dt);
    CU_ASSERT(dt < 1.0);
    free(t);
    arena_free(&a);
}

static void test_parsed_nodes(void)
{
    struct arena a;
    arena_init(&a, 0);
    const doc *v = NULL;
    const char *text = "{\"s\":\"x\",\"a\":[1.5,2],\"o\":{}}";
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, text, strlen(text), &v, NULL, 0), 0);
    /* mutable until sealed: the caller may still change them */
    CU_ASSERT_TRUE(v->flags & DOC_MUTABLE);
    CU_ASSERT_TRUE(doc_getz(v, "a")->flags & DOC_MUTABLE);
    CU_ASSERT_EQUAL(doc_set(&a, (doc *)v, "n", 1, doc_new_int(&a, 3)), 0);
    CU_ASSERT_EQUAL(doc_append(&a, (doc *)doc_getz(v, "a"), NULL), 0);
    CU_ASSERT_STRING_EQUAL(to_text(v, NULL), "{\"s\":\"x\",\"a\":[1.5,2,null],\"o\":{},\"n\":3}");
    doc_seal((doc *)v);
    CU_ASSERT_EQUAL(doc_set(&a, (doc *)v, "m", 1, NULL), -1);
    /* null at the top is a NULL node */
    v = (const doc *)&a;
    CU_ASSERT_EQUAL(doc_parse(&a, " null ", 6, &v, NULL, 0), 0);
    CU_ASSERT_PTR_NULL(v);
    /* strings are NUL-terminated and length-delimited */
    CU_ASSERT_EQUAL(doc_parse(&a, "\"a\\u0000b\\\"\"", 12, &v, NULL, 0), 0);
    size_t n = 0;
    const char *s = doc_str(v, &n);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(memcmp(s, "a\0b\"", 5), 0);
    /* the text need not be NUL-terminated */
    CU_ASSERT_EQUAL(doc_parse(&a, "[12345]", 4, &v, NULL, 0), -1);
    CU_ASSERT_EQUAL(doc_parse(&a, "12345", 3, &v, NULL, 0), 0);
    CU_ASSERT_EQUAL(doc_int(v), 123);
    CU_ASSERT_EQUAL(doc_parse(&a, "\"ab\"cd", 4, &v, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(doc_str(v, NULL), "ab");
    arena_free(&a);
}

static void test_arena_limit(void)
{
    size_t len;
    char *t = object_text(1000, 0, &len);
    struct arena a;
    arena_init(&a, 4096);
    char err[128];
    const doc *v = NULL;
    CU_ASSERT_EQUAL(doc_parse(&a, t, len, &v, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of memory (or past the arena's limit) at offset"));
    /* nor may the text go past it */
    arena_reset(&a);
    doc *s = doc_new_str(&a, t, 3000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(doc_to_json_arena(&a, s, NULL));
    arena_free(&a);
    free(t);
}

/* Values built without text write as json-c writes the same values. */
static void test_writer_like_jsonc(void)
{
    static const double ds[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1.0 / 3, 2.5, 1e17, 1e16, 123456789.0,
                                1e300, -1e-300, 5e-324, 1.7976931348623157e308, 9007199254740993.0,
                                NAN, INFINITY, -INFINITY};
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof ds / sizeof *ds; i++) {
        struct json_object *j = json_object_new_double(ds[i]);
        const char *mine = to_text(doc_new_double(&a, ds[i]), NULL);
        CU_ASSERT_STRING_EQUAL(mine, json_object_to_json_string_ext(j, JC_FLAGS));
        json_object_put(j);
    }
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_double(&a, -0.0), NULL), "-0.0");
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_double(&a, 1.0), NULL), "1.0");
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_double(&a, 1e17), NULL), "1e+17");
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_double(&a, NAN), NULL), "NaN");
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_double(&a, -INFINITY), NULL), "-Infinity");
    static const int64_t is[] = {0, 1, -1, 10, -10, 123456789, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof is / sizeof *is; i++) {
        struct json_object *j = json_object_new_int64(is[i]);
        CU_ASSERT_STRING_EQUAL(to_text(doc_new_int(&a, is[i]), NULL),
                               json_object_to_json_string_ext(j, JC_FLAGS));
        json_object_put(j);
    }
    /* every byte value in a string, escaped as json-c escapes it */
    char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i & 0xff);
    struct json_object *j = json_object_new_string_len(all, sizeof all);
    CU_ASSERT_STRING_EQUAL(to_text(doc_new_str(&a, all, sizeof all), NULL),
                           json_object_to_json_string_ext(j, JC_FLAGS));
    json_object_put(j);
    /* a key with a NUL byte is written whole */
    doc *o = doc_new_object(&a, 0);
    CU_ASSERT_EQUAL(doc_set(&a, o, "a\0b", 3, NULL), 0);
    CU_ASSERT_STRING_EQUAL(to_text(o, NULL), "{\"a\\u0000b\":null}");
    /* appends; a buffer's limit fails the write */
    buf b;
    buf_init_max(&b, 12);
    buf_puts(&b, "x=");
    CU_ASSERT_EQUAL(doc_to_json(&b, doc_new_str(&a, "hello", 5)), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "x=\"hello\"");
    CU_ASSERT_EQUAL(doc_to_json(&b, doc_new_str(&a, "hello", 5)), -1);
    buf_free(&b);
    arena_free(&a);
}

/* Documents built with the API: text, reparse, equality. */
static void test_round_trips(void)
{
    struct arena a;
    arena_init(&a, 0);
    doc *o = doc_new_object(&a, 0);
    doc *arr = doc_new_array(&a, 0);
    doc_set(&a, o, "arr", 3, arr);
    for (int i = 0; i < 50; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "m\"%d\\", i);
        doc_set(&a, o, k, (size_t)kl, i % 3 ? doc_new_double(&a, i / 7.0) : doc_new_bool(&a, i & 1));
        doc_append(&a, arr, doc_new_str(&a, k, (size_t)kl));
        doc_append(&a, arr, i % 5 ? doc_new_int(&a, -i * 1000003LL) : NULL);
    }
    size_t n = 0;
    const char *text = doc_to_json_arena(&a, o, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const doc *back = NULL;
    CU_ASSERT_EQUAL_FATAL(doc_parse(&a, text, n, &back, NULL, 0), 0);
    CU_ASSERT_TRUE(doc_equal(o, back));
    check_same(text, n, NULL);
    /* what doc_from_jsonc makes writes as json-c wrote it */
    struct json_object *j = NULL;
    CU_ASSERT_FATAL(jc_parse(text, n, &j));
    int err = 1;
    doc *d = doc_from_jsonc(&a, j, NULL, &err);
    CU_ASSERT_FALSE(err);
    CU_ASSERT_STRING_EQUAL(to_text(d, NULL), json_object_to_json_string_ext(j, JC_FLAGS));
    json_object_put(j);
    arena_free(&a);
}

int cu_register(void)
{
    static const cu_case list[] = {
        {"scalars read and write as json-c", test_scalars_like_jsonc},
        {"strings read and write as json-c", test_strings_like_jsonc},
        {"arrays and objects read and write as json-c", test_structures_like_jsonc},
        {"integers past int64 keep their text", test_big_integers},
        {"doubles read as strtod reads them", test_double_values},
        {"rejections and their messages", test_rejections},
        {"nesting deeper than DOC_MAX_DEPTH", test_depth},
        {"duplicate keys: the last wins at the first's place", test_duplicate_keys},
        {"large objects: lookups and linear parse time", test_large_objects},
        {"parsed nodes", test_parsed_nodes},
        {"the arena limit bounds a parse", test_arena_limit},
        {"values built in code write as json-c", test_writer_like_jsonc},
        {"round trips", test_round_trips},
        {NULL, NULL}};
    return cu_add_suite("doc_json", list);
}
