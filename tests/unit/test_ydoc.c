/* Tests for engine/ydoc: YAML/JSON documents with source lines. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cu_main.h"
#include "ydoc/ydoc.h"

/* ---- helpers ---- */

static ydoc_file *load(const char *name, const char *text)
{
    ydoc_file *f = NULL;
    char err[512] = "";
    int rc = ydoc_load_buffer(name, text, strlen(text), &f, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  unexpected error: %s\n", err);
    CU_ASSERT_EQUAL(rc, 0);
    return f;
}

/* Loads text that must fail; returns the message in a static buffer. */
static const char *load_err(const char *name, const char *text)
{
    static char err[512];
    ydoc_file *f = (ydoc_file *)1;
    err[0] = '\0';
    int rc = ydoc_load_buffer(name, text, strlen(text), &f, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NULL(f);
    if (rc == 0)
        ydoc_file_free(f);
    return err;
}

/* "a.b[2].c": keys separated by dots, sequence indexes in brackets. */
static struct json_object *at(struct json_object *o, const char *path)
{
    char key[128];
    const char *p = path;
    while (*p && o) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            long i = strtol(p + 1, &end, 10);
            if (!json_object_is_type(o, json_type_array) || *end != ']')
                return NULL;
            o = json_object_array_get_idx(o, (size_t)i);
            p = end + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        if (n >= sizeof key || !json_object_is_type(o, json_type_object))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (!json_object_object_get_ex(o, key, &o))
            return NULL;
        p += n;
    }
    return o;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- scalar typing ---- */

typedef struct {
    const char *text; /* the value as written after "v: " */
    json_type type;
    const char *want; /* string value, or the number/bool in C syntax */
} scalar_case;

static const scalar_case scalars[] = {
    /* null */
    {"", json_type_null, NULL},
    {"~", json_type_null, NULL},
    {"null", json_type_null, NULL},
    {"Null", json_type_null, NULL},
    {"NULL", json_type_null, NULL},
    {"!!null ''", json_type_null, NULL},
    {"nULL", json_type_string, "nULL"},
    {"'null'", json_type_string, "null"},
    {"\"~\"", json_type_string, "~"},
    /* bool */
    {"true", json_type_boolean, "1"},
    {"True", json_type_boolean, "1"},
    {"TRUE", json_type_boolean, "1"},
    {"false", json_type_boolean, "0"},
    {"False", json_type_boolean, "0"},
    {"FALSE", json_type_boolean, "0"},
    {"tRUE", json_type_string, "tRUE"},
    {"yes", json_type_string, "yes"}, /* YAML 1.1 only */
    {"on", json_type_string, "on"},
    {"n", json_type_string, "n"},
    {"\"true\"", json_type_string, "true"},
    {"!!bool true", json_type_boolean, "1"},
    {"!!bool \"false\"", json_type_boolean, "0"},
    /* int */
    {"0", json_type_int, "0"},
    {"42", json_type_int, "42"},
    {"-17", json_type_int, "-17"},
    {"+8", json_type_int, "8"},
    {"007", json_type_int, "7"},
    {"0o17", json_type_int, "15"},
    {"0x1F", json_type_int, "31"},
    {"0xff", json_type_int, "255"},
    {"9223372036854775807", json_type_int, "9223372036854775807"},
    {"-9223372036854775808", json_type_int, "-9223372036854775808"},
    {"9223372036854775808", json_type_double, "9223372036854775808.0"},
    {"0xFFFFFFFFFFFFFFFF", json_type_double, "18446744073709551615.0"},
    {"-0x1", json_type_string, "-0x1"},
    {"0o8", json_type_string, "0o8"},
    {"0x", json_type_string, "0x"},
    {"1_000", json_type_string, "1_000"},
    {"'12'", json_type_string, "12"},
    {"\"12\"", json_type_string, "12"},
    {"!!str 12", json_type_string, "12"},
    {"!!int \"12\"", json_type_int, "12"},
    {"! 12", json_type_string, "12"},
    {"8080:80", json_type_string, "8080:80"},
    /* float */
    {"1.5", json_type_double, "1.5"},
    {"-0.25", json_type_double, "-0.25"},
    {".5", json_type_double, "0.5"},
    {"+.5", json_type_double, "0.5"},
    {"1.", json_type_double, "1.0"},
    {"1e3", json_type_double, "1000.0"},
    {"6.02E+23", json_type_double, "6.02e23"},
    {"2.5e-1", json_type_double, "0.25"},
    {".inf", json_type_double, "inf"},
    {"-.Inf", json_type_double, "-inf"},
    {"+.INF", json_type_double, "inf"},
    {".nan", json_type_double, "nan"},
    {".NaN", json_type_double, "nan"},
    {"-.nan", json_type_string, "-.nan"},
    {"1e", json_type_string, "1e"},
    {"1.2.3", json_type_string, "1.2.3"},
    {".", json_type_string, "."},
    {"!!float 3", json_type_double, "3.0"},
    {"!!float '2.5'", json_type_double, "2.5"},
    /* strings */
    {"hello world", json_type_string, "hello world"},
    {"'it''s'", json_type_string, "it's"},
    {"\"tab\\tnew\\nline\"", json_type_string, "tab\tnew\nline"},
    {"\"\\u00e9\"", json_type_string, "\xc3\xa9"},
    {"|\n  one\n  two\n", json_type_string, "one\ntwo\n"},
    {">\n  one\n  two\n", json_type_string, "one two\n"},
    {"|-\n  42\n", json_type_string, "42"},
    {"!!binary aGk=", json_type_string, "aGk="},
    {"2001-12-14", json_type_string, "2001-12-14"},
    {"!custom 12", json_type_int, "12"}, /* unknown tags do not change typing */
    {"http://x:8080/a#b", json_type_string, "http://x:8080/a#b"},
    {NULL, 0, NULL},
};

static void check_scalar(const scalar_case *c, struct json_object *v)
{
    int ok = json_object_get_type(v) == c->type;
    if (ok) {
        switch (c->type) {
        case json_type_null:
            break;
        case json_type_boolean:
            ok = json_object_get_boolean(v) == (c->want[0] == '1');
            break;
        case json_type_int:
            ok = json_object_get_int64(v) == strtoll(c->want, NULL, 10);
            break;
        case json_type_double: {
            double got = json_object_get_double(v), want = strtod(c->want, NULL);
            ok = isnan(want) ? isnan(got) : got == want;
            break;
        }
        case json_type_string:
            ok = json_object_get_string_len(v) == (int)strlen(c->want) &&
                 !memcmp(json_object_get_string(v), c->want, strlen(c->want));
            break;
        default:
            ok = 0;
        }
    }
    if (!ok)
        fprintf(stderr, "\n  scalar %s: got %s (%s)\n", c->text,
                json_type_to_name(json_object_get_type(v)), json_object_to_json_string(v));
    CU_ASSERT(ok);
}

static void test_scalars(void)
{
    for (const scalar_case *c = scalars; c->text; c++) {
        char text[256];
        snprintf(text, sizeof text, "v: %s\n", c->text);
        ydoc_file *f = load("s.yaml", text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL_FATAL(f->n_docs, 1);
        check_scalar(c, at(f->docs[0].root, "v"));
        ydoc_file_free(f);
    }
}

/* The same typing in flow sequences, and in JSON where quoting decides. */
static void test_scalars_in_flow_and_json(void)
{
    ydoc_file *f = load("t.json", "{\"a\": [1, \"1\", true, \"true\", null, \"null\", 1.5, -2e2]}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct json_object *a = at(f->docs[0].root, "a");
    static const json_type want[] = {json_type_int,    json_type_string, json_type_boolean,
                                     json_type_string, json_type_null,   json_type_string,
                                     json_type_double, json_type_double};
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 8);
    for (size_t i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(json_object_get_type(json_object_array_get_idx(a, i)), want[i]);
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(json_object_array_get_idx(a, 7)), -200.0, 0);
    ydoc_file_free(f);
}

static void test_bad_tagged_values(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a: !!int abc\n", "t.yaml:1:4: invalid !!int value"},
        {"a: 1\nb: !!int 1.5\n", "t.yaml:2:4: invalid !!int value"},
        {"a:\n  - !!bool yes\n", "t.yaml:2:5: invalid !!bool value"},
        {"a: !!float x\n", "t.yaml:1:4: invalid !!float value"},
        {"a: !!null 0\n", "t.yaml:1:4: invalid !!null value"},
        {NULL, NULL},
    };
    for (size_t i = 0; cases[i].text; i++)
        CU_ASSERT_STRING_EQUAL(load_err("t.yaml", cases[i].text), cases[i].want);
}

/* ---- documents ---- */

static void test_multi_doc(void)
{
    const char *text = "# header comment\n"   /* 1 */
                       "a: 1\n"               /* 2 */
                       "---\n"                /* 3: empty */
                       "---\n"                /* 4: only a comment */
                       "# nothing here\n"     /* 5 */
                       "---\n"                /* 6 */
                       "b: 2\n"               /* 7 */
                       "...\n"                /* 8 */
                       "--- ~\n"              /* 9: null */
                       "--- null\n"           /* 10: null */
                       "---\n"                /* 11 */
                       "- x\n"                /* 12 */
                       "--- plain scalar\n";  /* 13 */
    ydoc_file *f = load("m.yaml", text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->path, "m.yaml");
    CU_ASSERT_EQUAL_FATAL(f->n_docs, 4);
    CU_ASSERT_EQUAL(f->docs[0].line, 2);
    CU_ASSERT_EQUAL(json_object_get_int(at(f->docs[0].root, "a")), 1);
    CU_ASSERT_EQUAL(f->docs[1].line, 6);
    CU_ASSERT_EQUAL(json_object_get_int(at(f->docs[1].root, "b")), 2);
    CU_ASSERT_EQUAL(f->docs[2].line, 11);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(f->docs[2].root, "[0]")), "x");
    CU_ASSERT_EQUAL(f->docs[3].line, 13);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(f->docs[3].root), "plain scalar");
    ydoc_file_free(f);

    static const char *const empties[] = {"", "\n\n", "# just a comment\n", "---\n", "---\n...\n---\n", "~\n", NULL};
    for (size_t i = 0; empties[i]; i++) {
        f = load("e.yaml", empties[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->n_docs, 0);
        ydoc_file_free(f);
    }
}

/* Anchors belong to their document. */
static void test_anchor_scope(void)
{
    CU_ASSERT_STRING_EQUAL(load_err("d.yaml", "a: &x 1\n---\nb: *x\n"),
                           "d.yaml:3:4: unknown anchor \"x\"");
}

static const char *const authconfig =
    "apiVersion: authorino.kuadrant.io/v1beta3\n"            /* 1 */
    "kind: AuthConfig\n"                                     /* 2 */
    "metadata:\n"                                            /* 3 */
    "  name: talker\n"                                       /* 4 */
    "spec:\n"                                                /* 5 */
    "  hosts:\n"                                             /* 6 */
    "  - talker.example.com\n"                               /* 7 */
    "  - \"*.talker\"\n"                                     /* 8 */
    "  authentication:\n"                                    /* 9 */
    "    sa:\n"                                              /* 10 */
    "      kubernetesTokenReview:\n"                         /* 11 */
    "        audiences: talker-api\n"                        /* 12 */
    "      credentials:\n"                                   /* 13 */
    "        authorizationHeader: {prefix: Bearer}\n"        /* 14 */
    "      priority:\n"                                      /* 15 */
    "  authorization:\n"                                     /* 16 */
    "    rego:\n"                                            /* 17 */
    "      opa:\n"                                           /* 18 */
    "        rego: |\n"                                      /* 19 */
    "          allow = true\n"                               /* 20 */
    "        externalPolicy: [\n"                            /* 21 */
    "          1,\n"                                         /* 22 */
    "          2]\n";                                        /* 23 */

static void test_lines(void)
{
    static const struct {
        const char *path;
        int line;
    } nodes[] = {
        {"", 1},
        {"apiVersion", 1},
        {"kind", 2},
        {"metadata", 4}, /* a block mapping starts at its first key */
        {"metadata.name", 4},
        {"spec", 6},
        {"spec.hosts", 7}, /* a block sequence starts at its first "-" */
        {"spec.hosts[0]", 7},
        {"spec.hosts[1]", 8},
        {"spec.authentication.sa.kubernetesTokenReview", 12},
        {"spec.authentication.sa.kubernetesTokenReview.audiences", 12},
        {"spec.authentication.sa.credentials.authorizationHeader", 14},
        {"spec.authentication.sa.credentials.authorizationHeader.prefix", 14},
        {"spec.authentication.sa.priority", 0}, /* null: no line of its own */
        {"spec.authorization.rego.opa.rego", 19},
        {"spec.authorization.rego.opa.externalPolicy", 21},
        {"spec.authorization.rego.opa.externalPolicy[0]", 22},
        {"spec.authorization.rego.opa.externalPolicy[1]", 23},
    };
    static const struct {
        const char *map, *key;
        int line;
    } keys[] = {
        {"", "metadata", 3},
        {"", "spec", 5},
        {"spec", "hosts", 6},
        {"spec.authentication.sa", "kubernetesTokenReview", 11},
        {"spec.authentication.sa", "priority", 15}, /* the line a null value is at */
        {"spec.authentication.sa.kubernetesTokenReview", "audiences", 12},
        {"spec.authorization.rego.opa", "externalPolicy", 21},
        {"spec", "nope", 0},
        {"spec.hosts", "0", 0}, /* not a mapping */
    };
    ydoc_file *f = load("talker.yaml", authconfig);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(f->n_docs, 1);
    struct json_object *root = f->docs[0].root;
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        int got = ydoc_line(at(root, nodes[i].path));
        if (got != nodes[i].line)
            fprintf(stderr, "\n  %s: line %d, want %d\n", nodes[i].path, got, nodes[i].line);
        CU_ASSERT_EQUAL(got, nodes[i].line);
    }
    CU_ASSERT_PTR_NOT_NULL(at(root, "spec.authentication.sa"));
    CU_ASSERT_PTR_NULL(at(root, "spec.authentication.sa.priority"));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int got = ydoc_key_line(at(root, keys[i].map), keys[i].key);
        if (got != keys[i].line)
            fprintf(stderr, "\n  %s -> %s: line %d, want %d\n", keys[i].map, keys[i].key,
                    got, keys[i].line);
        CU_ASSERT_EQUAL(got, keys[i].line);
    }
    CU_ASSERT_EQUAL(ydoc_line(NULL), 0);
    CU_ASSERT_EQUAL(ydoc_key_line(NULL, "a"), 0);

    /* Nodes made elsewhere have no line, whatever json-c keeps in them. */
    struct json_object *parsed = json_tokener_parse("{\"d\": 1.25, \"s\": \"x\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
    CU_ASSERT_EQUAL(ydoc_line(parsed), 0);
    CU_ASSERT_EQUAL(ydoc_line(at(parsed, "d")), 0);
    CU_ASSERT_EQUAL(ydoc_key_line(parsed, "d"), 0);
    json_object_put(parsed);

    /* Copies keep lines; deleting a key loses only that key's line. */
    struct json_object *copy = NULL;
    CU_ASSERT_EQUAL_FATAL(ydoc_copy(root, &copy), 0);
    CU_ASSERT_TRUE(json_object_equal(copy, root));
    CU_ASSERT_EQUAL(ydoc_line(at(copy, "spec.hosts[1]")), 8);
    CU_ASSERT_EQUAL(ydoc_key_line(at(copy, "spec.authentication.sa"), "priority"), 15);
    struct json_object *sa = at(copy, "spec.authentication.sa");
    json_object_object_del(sa, "kubernetesTokenReview");
    CU_ASSERT_EQUAL(ydoc_key_line(sa, "kubernetesTokenReview"), 0);
    CU_ASSERT_EQUAL(ydoc_key_line(sa, "credentials"), 13);
    json_object_put(copy);
    ydoc_file_free(f);
}

static void test_json(void)
{
    /* Tabs, no space after ':', "\/" and a surrogate pair, as JSON writers emit. */
    const char *text = "{\n"
                       "\t\"apiVersion\":\"authorino.kuadrant.io\\/v1beta3\",\n" /* 2 */
                       "\t\"spec\": {\n"                                        /* 3 */
                       "\t\t\"hosts\": [\"a.example.com\",\n"                   /* 4 */
                       "\t\t\t\"b.example.com\"],\n"                            /* 5 */
                       "\t\t\"emoji\": \"\\ud83d\\ude00 \\\\ud83d\",\n"         /* 6 */
                       "\t\t\"n\": -1.5e2, \"i\": 3, \"t\": true, \"z\": null\n" /* 7 */
                       "\t}\n"
                       "}\n";
    ydoc_file *f = load("ac.json", text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(f->n_docs, 1);
    struct json_object *r = f->docs[0].root;
    CU_ASSERT_EQUAL(f->docs[0].line, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "apiVersion")),
                           "authorino.kuadrant.io/v1beta3");
    CU_ASSERT_EQUAL(ydoc_line(at(r, "spec")), 3);
    CU_ASSERT_EQUAL(ydoc_line(at(r, "spec.hosts[1]")), 5);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "spec.emoji")),
                           "\xf0\x9f\x98\x80 \\ud83d");
    CU_ASSERT_EQUAL(ydoc_line(at(r, "spec.emoji")), 6);
    CU_ASSERT_EQUAL(ydoc_line(at(r, "spec.i")), 7);
    CU_ASSERT_EQUAL(json_object_get_type(at(r, "spec.n")), json_type_double);
    CU_ASSERT_EQUAL(json_object_get_int(at(r, "spec.i")), 3);
    CU_ASSERT_EQUAL(ydoc_key_line(at(r, "spec"), "z"), 7);

    /* The same text read from a file. */
    char dir[] = "/tmp/ydoc-json-XXXXXX", path[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ac.json", dir);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
    ydoc_file *g = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(ydoc_load_file(path, &g, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(g->path, path);
    CU_ASSERT_EQUAL_FATAL(g->n_docs, 1);
    CU_ASSERT_TRUE(json_object_equal(g->docs[0].root, r));
    ydoc_file_free(g);
    unlink(path);
    rmdir(dir);
    ydoc_file_free(f);

    /* A lone surrogate is still an error, with its position. */
    CU_ASSERT_TRUE(starts_with(load_err("x.json", "{\n  \"a\": \"\\ud83d\"\n}"), "x.json:2:"));
    /* Outside .json names the escape is left to libyaml. */
    CU_ASSERT_TRUE(starts_with(load_err("x.yaml", "a: \"\\ud83d\\ude00\"\n"), "x.yaml:1:"));
}

/* ---- errors ---- */

static void test_syntax_errors(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a: 1\nkey: value: x\n",
         "bad.yaml:2:11: mapping values are not allowed in this context"},
        {"a:\n  b: 1\n c: 2\n",
         "bad.yaml:3:2: did not find expected key (while parsing a block mapping at line 1)"},
        {"a: 1\nb: [1, 2\nc: 3\n",
         "bad.yaml:3:2: did not find expected ',' or ']' (while parsing a flow sequence at line 2)"},
        {"a: \"open\n", "bad.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar at line 1)"},
        {"a: 1\n\tb: 2\n", "bad.yaml:2:1: found a tab character that violates indentation"},
        {"[1, 2]]\n", "bad.yaml:1:7: did not find expected <document start>"},
        {"a: b\n- c\n", "bad.yaml:2:1:"},
        {"ok: 1\nbad: \xff\n", "bad.yaml:2:6: invalid leading UTF-8 octet (byte 0xFF)"},
        {"a: *missing\n", "bad.yaml:1:4: unknown anchor \"missing\""},
        {NULL, NULL},
    };
    for (size_t i = 0; cases[i].text; i++) {
        const char *err = load_err("bad.yaml", cases[i].text);
        if (!starts_with(err, cases[i].want))
            fprintf(stderr, "\n  got \"%s\"\n  want \"%s\"\n", err, cases[i].want);
        CU_ASSERT_TRUE(starts_with(err, cases[i].want));
    }
    /* A NULL err buffer is fine. */
    ydoc_file *f = NULL;
    CU_ASSERT_EQUAL(ydoc_load_buffer("x.yaml", "[", 1, &f, NULL, 0), -1);
    CU_ASSERT_PTR_NULL(f);
}

static void test_duplicate_keys(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a: 1\nb: 2\na: 3\n", "dup.yaml:3:1: duplicate key \"a\" (first at line 1)"},
        {"spec:\n  hosts: [x]\n  when: []\n  hosts:\n  - y\n",
         "dup.yaml:4:3: duplicate key \"hosts\" (first at line 2)"},
        {"{a: 1, b: 2, a: 3}", "dup.yaml:1:14: duplicate key \"a\" (first at line 1)"},
        {"x: 1\n'x': 2\n", "dup.yaml:2:1: duplicate key \"x\" (first at line 1)"},
        {"1: a\n\"1\": b\n", "dup.yaml:2:1: duplicate key \"1\" (first at line 1)"},
        {"a:\n  k: 1\n  k:\n", "dup.yaml:3:3: duplicate key \"k\" (first at line 2)"},
        {NULL, NULL},
    };
    for (size_t i = 0; cases[i].text; i++)
        CU_ASSERT_STRING_EQUAL(load_err("dup.yaml", cases[i].text), cases[i].want);
    /* Same key in different mappings is fine. */
    ydoc_file *f = load("ok.yaml", "a: {k: 1}\nb: {k: 2}\nc: [{k: 3}, {k: 4}]\n");
    CU_ASSERT_PTR_NOT_NULL(f);
    ydoc_file_free(f);
    CU_ASSERT_STRING_EQUAL(load_err("dup.json", "{\"a\": 1,\n \"a\": 2}"),
                           "dup.json:2:2: duplicate key \"a\" (first at line 1)");
}

static void test_keys(void)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a: 1\n? [x, y]\n: 2\n", "key.yaml:2:3: mapping keys must be scalars, found a sequence"},
        {"{[1]: 2}", "key.yaml:1:2: mapping keys must be scalars, found a sequence"},
        {"? {a: 1}\n: 2\n", "key.yaml:1:3: mapping keys must be scalars, found a mapping"},
        {"a: &m {b: 1}\n*m : 2\n", "key.yaml:2:1: mapping keys must be scalars, \"*m\" is a mapping"},
        {"\"a\\0b\": 1\n", "key.yaml:1:1: mapping key contains a NUL character"},
        {NULL, NULL},
    };
    for (size_t i = 0; bad[i].text; i++)
        CU_ASSERT_STRING_EQUAL(load_err("key.yaml", bad[i].text), bad[i].want);

    /* Scalar keys of any type are taken by their text. */
    ydoc_file *f = load("key.yaml", "1: one\ntrue: t\n~: n\n1.50: f\n\"\": e\n&k key: v\n"
                                    "nested: {*k : again}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct json_object *r = f->docs[0].root;
    static const char *const want[][2] = {
        {"1", "one"}, {"true", "t"}, {"~", "n"}, {"1.50", "f"}, {"", "e"}, {"key", "v"}};
    for (size_t i = 0; i < 6; i++) {
        struct json_object *v = NULL;
        CU_ASSERT_TRUE(json_object_object_get_ex(r, want[i][0], &v));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(v), want[i][1]);
    }
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "nested.key")), "again");
    ydoc_file_free(f);
    /* The alias of "key" repeats it. */
    CU_ASSERT_STRING_EQUAL(load_err("key.yaml", "&k key: v\n*k : again\n"),
                           "key.yaml:2:1: duplicate key \"key\" (first at line 1)");
}

/* ---- anchors, aliases, merge keys ---- */

static void test_anchors(void)
{
    const char *text = "base: &base\n"                 /* 1 */
                       "  a: 1\n"                      /* 2 */
                       "  b: [x, y]\n"                 /* 3 */
                       "extra: &extra {c: 3, a: 9}\n"  /* 4 */
                       "host: &h api.example.com\n"    /* 5 */
                       "hosts: [*h, other]\n"          /* 6 */
                       "copy: *base\n"                 /* 7 */
                       "merged:\n"                     /* 8 */
                       "  <<: *base\n"                 /* 9 */
                       "  b: own\n"                    /* 10 */
                       "multi:\n"                      /* 11 */
                       "  d: 4\n"                      /* 12 */
                       "  <<: [*extra, *base]\n"       /* 13 */
                       "inline:\n"                     /* 14 */
                       "  <<: {z: 26}\n"               /* 15 */
                       "quoted:\n"                     /* 16 */
                       "  \"<<\": literal\n"           /* 17 */
                       "nul: &n\n"                     /* 18 */
                       "nul2: *n\n";                   /* 19 */
    ydoc_file *f = load("anchors.yaml", text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct json_object *r = f->docs[0].root;

    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "hosts[0]")), "api.example.com");
    CU_ASSERT_EQUAL(ydoc_line(at(r, "hosts[0]")), 6); /* where the alias is */

    /* An alias is a full copy, not a shared node. */
    CU_ASSERT_TRUE(json_object_equal(at(r, "copy"), at(r, "base")));
    CU_ASSERT_PTR_NOT_EQUAL(at(r, "copy"), at(r, "base"));
    CU_ASSERT_PTR_NOT_EQUAL(at(r, "copy.b"), at(r, "base.b"));
    CU_ASSERT_EQUAL(ydoc_line(at(r, "copy")), 7);
    CU_ASSERT_EQUAL(ydoc_line(at(r, "copy.b[1]")), 3); /* inner nodes: where written */
    CU_ASSERT_EQUAL(ydoc_key_line(at(r, "copy"), "b"), 3);

    /* Own keys win over merged ones, wherever they are. */
    CU_ASSERT_EQUAL(json_object_object_length(at(r, "merged")), 2);
    CU_ASSERT_EQUAL(json_object_get_int(at(r, "merged.a")), 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "merged.b")), "own");
    CU_ASSERT_PTR_NULL(at(r, "merged.<<"));
    CU_ASSERT_EQUAL(ydoc_key_line(at(r, "merged"), "a"), 2);
    CU_ASSERT_EQUAL(ydoc_key_line(at(r, "merged"), "b"), 10);

    /* In a list, earlier mappings win. */
    struct json_object *m = at(r, "multi");
    CU_ASSERT_EQUAL(json_object_object_length(m), 4);
    CU_ASSERT_EQUAL(json_object_get_int(at(m, "a")), 9);
    CU_ASSERT_EQUAL(json_object_get_int(at(m, "c")), 3);
    CU_ASSERT_EQUAL(json_object_get_int(at(m, "d")), 4);
    CU_ASSERT_EQUAL(json_object_array_length(at(m, "b")), 2);

    CU_ASSERT_EQUAL(json_object_get_int(at(r, "inline.z")), 26);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(r, "quoted.<<")), "literal");
    struct json_object *v = (struct json_object *)1;
    CU_ASSERT_TRUE(json_object_object_get_ex(r, "nul2", &v));
    CU_ASSERT_PTR_NULL(v);
    ydoc_file_free(f);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a: &a [1]\nb:\n  <<: *a\n",
         "merge.yaml:3:3: merge key \"<<\" takes a mapping or a list of mappings"},
        {"a: &a {x: 1}\nb:\n  <<: [*a, 2]\n",
         "merge.yaml:3:3: merge key \"<<\" takes a mapping or a list of mappings"},
        {"b:\n  <<: 1\n", "merge.yaml:2:3: merge key \"<<\" takes a mapping or a list of mappings"},
        /* An anchor is defined once its node is complete: no cycles. */
        {"a: &a [1, *a]\n", "merge.yaml:1:11: unknown anchor \"a\""},
        {NULL, NULL},
    };
    for (size_t i = 0; bad[i].text; i++)
        CU_ASSERT_STRING_EQUAL(load_err("merge.yaml", bad[i].text), bad[i].want);
}

/* Many anchors (the table grows), and a name defined again shadows the old one. */
static void test_many_anchors(void)
{
    char *text = malloc(64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t o = 0;
    for (int i = 0; i < 500; i++)
        o += (size_t)sprintf(text + o, "k%d: &a%d v%d\n", i, i, i);
    o += (size_t)sprintf(text + o, "refs: [");
    for (int i = 499; i >= 0; i--)
        o += (size_t)sprintf(text + o, "*a%d%s", i, i ? ", " : "]\n");
    sprintf(text + o, "x: &a7 again\ny: *a7\n");
    ydoc_file *f = load("many.yaml", text);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct json_object *refs = at(f->docs[0].root, "refs");
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(refs), 500);
    for (int i = 0; i < 500; i++) {
        char want[16];
        snprintf(want, sizeof want, "v%d", 499 - i);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(refs, (size_t)i)), want);
    }
    CU_ASSERT_STRING_EQUAL(json_object_get_string(at(f->docs[0].root, "y")), "again");
    ydoc_file_free(f);
}

static void test_alias_bombs(void)
{
    /* The classic: nine levels of nine aliases, 9^9 nodes if expanded. */
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
        o += (size_t)snprintf(text + o, sizeof text - o, "a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++)
            o += (size_t)snprintf(text + o, sizeof text - o, "%s*a%d", j ? ", " : "", i - 1);
        o += (size_t)snprintf(text + o, sizeof text - o, "]\n");
    }
    const char *err = load_err("bomb.yaml", text);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "aliases expand to more than 1000000 nodes"));
    CU_ASSERT_TRUE(starts_with(err, "bomb.yaml:7:"));

    /* Many small expansions add up too. */
    o = (size_t)snprintf(text, sizeof text, "a: &a [");
    for (int j = 0; j < 1000; j++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s1", j ? "," : "");
    o += (size_t)snprintf(text + o, sizeof text - o, "]\nb: &b [");
    for (int j = 0; j < 300; j++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s*a", j ? "," : "");
    snprintf(text + o, sizeof text - o, "]\nc: [*b, *b, *b, *b]\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(load_err("bomb.yaml", text), "aliases expand to more than"));

    /* Nesting: written out, and reached through aliases. */
    char *deep = malloc(2 * 300 + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = '\0';
    CU_ASSERT_STRING_EQUAL(load_err("deep.yaml", deep), "deep.yaml:1:257: nesting deeper than 256 levels");
    memset(deep, '[', 256);
    memset(deep + 256, ']', 256);
    deep[512] = '\0';
    ydoc_file *f = load("deep.yaml", deep); /* exactly the limit */
    CU_ASSERT_PTR_NOT_NULL(f);
    ydoc_file_free(f);
    free(deep);

    o = (size_t)snprintf(text, sizeof text, "a: &a ");
    for (int j = 0; j < 200; j++)
        text[o++] = '[';
    for (int j = 0; j < 200; j++)
        text[o++] = ']';
    o += (size_t)snprintf(text + o, sizeof text - o, "\nb: ");
    for (int j = 0; j < 60; j++)
        text[o++] = '[';
    o += (size_t)snprintf(text + o, sizeof text - o, "*a");
    for (int j = 0; j < 60; j++)
        text[o++] = ']';
    text[o] = '\0';
    CU_ASSERT_STRING_EQUAL(load_err("deep.yaml", text),
                           "deep.yaml:2:64: alias \"*a\" nests deeper than 256 levels");
}

/* ---- files ---- */

static void test_files(void)
{
    char err[512] = "";
    ydoc_file *f = (ydoc_file *)1;
    CU_ASSERT_EQUAL(ydoc_load_file("/nonexistent/ydoc/x.yaml", &f, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_STRING_EQUAL(err, "/nonexistent/ydoc/x.yaml: No such file or directory");

    char dir[] = "/tmp/ydoc-files-XXXXXX", path[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));

    CU_ASSERT_EQUAL(ydoc_load_file(dir, &f, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));

    /* Too big: a sparse file just over the limit is refused before reading. */
    snprintf(path, sizeof path, "%s/big.yaml", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(ftruncate(fd, (off_t)YDOC_MAX_FILE_SIZE + 1), 0);
    close(fd);
    CU_ASSERT_EQUAL(ydoc_load_file(path, &f, err, sizeof err), -1);
    CU_ASSERT_TRUE(starts_with(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than 64 MiB"));
    unlink(path);

    /* A FIFO is refused, not waited on. */
    snprintf(path, sizeof path, "%s/fifo.yaml", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    CU_ASSERT_EQUAL(ydoc_load_file(path, &f, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    unlink(path);

    snprintf(path, sizeof path, "%s/ok.yaml", dir);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("a: 1\n---\nb: [\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(ydoc_load_file(path, &f, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s:4:1:", path);
    CU_ASSERT_TRUE(starts_with(err, want));
    unlink(path);
    rmdir(dir);
}

/* ---- directory walking ---- */

typedef struct {
    char got[32][256];
    int n;
    char errs[8][512];
    int nerr;
    int stop_after;
} walk_log;

static int on_file(void *arg, const char *file)
{
    walk_log *w = arg;
    if (w->n < 32)
        snprintf(w->got[w->n], sizeof w->got[0], "%s", file);
    w->n++;
    return (w->stop_after && w->n >= w->stop_after) ? 7 : 0;
}

static void on_err(void *arg, const char *msg)
{
    walk_log *w = arg;
    if (w->nerr < 8)
        snprintf(w->errs[w->nerr], sizeof w->errs[0], "%s", msg);
    w->nerr++;
}

static void touch(const char *dir, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *fp = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("a: 1\n", fp);
    fclose(fp);
}

static void mkdir_in(const char *dir, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
}

static void link_in(const char *dir, const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    CU_ASSERT_EQUAL(symlink(target, p), 0);
}

static void test_walk(void)
{
    char dir[] = "/tmp/ydoc-walk-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    touch(dir, "b.yaml");
    touch(dir, "a.yml");
    touch(dir, "c.json");
    touch(dir, "notes.txt");
    touch(dir, "yaml");
    touch(dir, ".hidden.yaml");
    mkdir_in(dir, "sub");
    touch(dir, "sub/z.yaml");
    mkdir_in(dir, "sub/deeper");
    touch(dir, "sub/deeper/y.json");
    mkdir_in(dir, ".git");
    touch(dir, ".git/config.yaml");
    mkdir_in(dir, "dir.yaml"); /* a directory with a config-like name is walked */
    touch(dir, "dir.yaml/inner.yml");
    /* A mounted ConfigMap: files are links into ..data, itself a link to a
     * hidden timestamped directory. */
    mkdir_in(dir, "cm");
    mkdir_in(dir, "cm/..2024_01_01_00_00_00.123");
    touch(dir, "cm/..2024_01_01_00_00_00.123/talker.yaml");
    link_in(dir, "..2024_01_01_00_00_00.123", "cm/..data");
    link_in(dir, "..data/talker.yaml", "cm/talker.yaml");
    link_in(dir, "..", "sub/loop");              /* a cycle */
    link_in(dir, "nowhere", "gone.txt");         /* dangling, and not wanted anyway */
    link_in(dir, "../b.yaml", "sub/same-as-b.yaml"); /* a file reached twice */

    char miss[256];
    snprintf(miss, sizeof miss, "%s/missing.yaml", dir);
    char explicit_txt[256];
    snprintf(explicit_txt, sizeof explicit_txt, "%s/notes.txt", dir);
    const char *paths[] = {dir, miss, explicit_txt, dir};
    walk_log w;
    memset(&w, 0, sizeof w);
    int rc = ydoc_walk(paths, 4, on_file, on_err, &w);
    CU_ASSERT_EQUAL(rc, -1); /* one path was missing */
    CU_ASSERT_EQUAL(w.nerr, 1);
    char want_err[512];
    snprintf(want_err, sizeof want_err, "%s: No such file or directory", miss);
    CU_ASSERT_STRING_EQUAL(w.errs[0], want_err);

    static const char *const want[] = {
        "a.yml", "b.yaml", "c.json", "cm/talker.yaml", "dir.yaml/inner.yml",
        "notes.txt", "sub/deeper/y.json", "sub/z.yaml",
    };
    size_t nwant = sizeof want / sizeof want[0];
    CU_ASSERT_EQUAL(w.n, (int)nwant);
    for (size_t i = 0; i < nwant && i < (size_t)w.n; i++) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", dir, want[i]);
        if (strcmp(w.got[i], full))
            fprintf(stderr, "\n  walk[%zu] = %s, want %s\n", i, w.got[i], full);
        CU_ASSERT_STRING_EQUAL(w.got[i], full);
    }

    /* Every file found loads. */
    for (int i = 0; i < w.n && i < 32; i++) {
        ydoc_file *f = NULL;
        char err[512];
        CU_ASSERT_EQUAL(ydoc_load_file(w.got[i], &f, err, sizeof err), 0);
        ydoc_file_free(f);
    }

    /* A non-zero callback stops the walk and is returned. */
    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    const char *one[] = {dir};
    CU_ASSERT_EQUAL(ydoc_walk(one, 1, on_file, on_err, &w), 7);
    CU_ASSERT_EQUAL(w.n, 2);

    /* No errors: 0. A trailing slash does not double. */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub/deeper/", dir);
    const char *just_sub[] = {sub};
    memset(&w, 0, sizeof w);
    CU_ASSERT_EQUAL(ydoc_walk(just_sub, 1, on_file, NULL, &w), 0);
    CU_ASSERT_EQUAL(w.n, 1);
    char wantp[512];
    snprintf(wantp, sizeof wantp, "%s/sub/deeper/y.json", dir);
    CU_ASSERT_STRING_EQUAL(w.got[0], wantp);

    /* Missing path alone, and no err_cb. */
    const char *only_missing[] = {miss};
    memset(&w, 0, sizeof w);
    CU_ASSERT_EQUAL(ydoc_walk(only_missing, 1, on_file, NULL, &w), -1);
    CU_ASSERT_EQUAL(w.n, 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"scalar typing", test_scalars},
        {"scalars in flow and JSON", test_scalars_in_flow_and_json},
        {"bad tagged values", test_bad_tagged_values},
        {"multi-document files", test_multi_doc},
        {"anchors are per document", test_anchor_scope},
        {"lines of nested nodes and keys", test_lines},
        {"JSON input", test_json},
        {"syntax errors", test_syntax_errors},
        {"duplicate keys", test_duplicate_keys},
        {"mapping keys", test_keys},
        {"anchors, aliases and merge keys", test_anchors},
        {"many anchors", test_many_anchors},
        {"alias bombs and deep nesting", test_alias_bombs},
        {"files", test_files},
        {"directory walking", test_walk},
        {NULL, NULL},
    };
    return cu_add_suite("ydoc", cases);
}
