/* Tests for engine/plugin/schema: the JSON Schema subset that checks plugin
 * configs. Schemas and values are written with single quotes for
 * readability and turned into JSON before use. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "plugin/schema.h"

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        char m_[512];                                                           \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                   \
        CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, m_,      \
                                __FILE__, "", CU_FALSE);                        \
    } while (0)

static char *dq(const char *s)
{
    char *r = strdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\'')
            *p = '"';
    return r;
}

static schema *compile_q(const char *q, char *err, size_t errlen)
{
    char *t = dq(q);
    schema *s = schema_compile(t, err, errlen);
    free(t);
    return s;
}

static struct json_object *parse_q(const char *q)
{
    char *t = dq(q);
    struct json_object *v = json_tokener_parse(t);
    free(t);
    return v;
}

/* ---- collecting reports ---- */

#define MAXP 8
struct got {
    int n;
    char path[MAXP][128];
    char msg[MAXP][256];
    int unknown[MAXP];
    const struct json_object *node[MAXP];
};

static void collect(void *arg, const char *subpath, const struct json_object *node, const char *message,
                    int is_unknown_field)
{
    struct got *g = arg;
    if (g->n < MAXP) {
        snprintf(g->path[g->n], sizeof g->path[0], "%s", subpath);
        snprintf(g->msg[g->n], sizeof g->msg[0], "%s", message);
        g->unknown[g->n] = is_unknown_field;
        g->node[g->n] = node;
    }
    g->n++;
}

/* Walks a report path ("a.b[2]", `m["x.y"]`) down v: every report's node must
 * be the value at its path (the object itself for missing/unknown fields). */
static int navigate(const struct json_object *v, const char *path, const struct json_object **out)
{
    const char *p = path;
    char key[256];
    while (*p) {
        if (*p == '.')
            p++;
        if (p[0] == '[' && p[1] == '"') {
            p += 2;
            size_t k = 0;
            while (*p && *p != '"' && k + 1 < sizeof key) {
                if (*p == '\\' && p[1])
                    p++;
                key[k++] = *p++;
            }
            key[k] = '\0';
            if (p[0] != '"' || p[1] != ']')
                return -1;
            p += 2;
            if (!json_object_object_get_ex(v, key, (struct json_object **)&v))
                return -1;
        } else if (*p == '[') {
            char *end;
            long i = strtol(p + 1, &end, 10);
            if (*end != ']' || !json_object_is_type(v, json_type_array))
                return -1;
            v = json_object_array_get_idx(v, (size_t)i);
            p = end + 1;
        } else {
            size_t k = 0;
            while (*p && *p != '.' && *p != '[' && k + 1 < sizeof key)
                key[k++] = *p++;
            key[k] = '\0';
            if (!json_object_object_get_ex(v, key, (struct json_object **)&v))
                return -1;
        }
    }
    *out = v;
    return 0;
}

/* ---- the validation table ---- */

struct want {
    const char *path;
    const char *msg;
    int unknown;
};

struct vcase {
    const char *name;
    const char *schema;
    const char *value;
    int count; /* expected return and number of reports */
    struct want w[4];
};

#define OBJ_STR_LIST "{'type':'object','properties':{'audiences':{'type':'array','items':{'type':'string'}}}}"
#define PATTERNS                                                                                      \
    "{'type':'object','properties':{'patterns':{'type':'array','items':{'type':'object',"             \
    "'required':['selector','operator'],'additionalProperties':false,'properties':{"                 \
    "'selector':{'type':'string','minLength':1},"                                                     \
    "'operator':{'enum':['eq','neq','incl','excl','matches']},'value':{'type':'string'}}}}}}"
#define PATTERN_OR_REF                                                                                \
    "{'oneOf':[{'type':'object','required':['patternRef'],'additionalProperties':false,"               \
    "'properties':{'patternRef':{'type':'string'}}},"                                                  \
    "{'type':'object','required':['selector','operator','value'],'additionalProperties':false,"        \
    "'properties':{'selector':{'type':'string'},'operator':{'type':'string'},'value':{'type':'string'}}}]}"
#define SELECTOR                                                                                      \
    "{'type':'object','properties':{'selector':{'type':'object','required':['matchLabels'],"          \
    "'properties':{'matchLabels':{'type':'object','additionalProperties':{'type':'string'}}}}}}"
#define HTTP                                                                                          \
    "{'type':'object','required':['url'],'additionalProperties':false,'properties':{"                  \
    "'url':{'type':'string','pattern':'^https?://'},'audiences':{'type':'array','items':{'type':'string'}}," \
    "'timeout':{'type':'integer','minimum':1,'maximum':60,'default':5,'description':'seconds'}}}"

static const struct vcase vcases[] = {
    /* valid */
    { "string ok", "{'type':'string'}", "'abc'", 0, { { 0 } } },
    { "integer ok", "{'type':'integer'}", "5", 0, { { 0 } } },
    { "integer accepts 5.0", "{'type':'integer'}", "5.0", 0, { { 0 } } },
    { "number accepts 5.5", "{'type':'number'}", "5.5", 0, { { 0 } } },
    { "number accepts an integer", "{'type':'number'}", "7", 0, { { 0 } } },
    { "null ok", "{'type':'null'}", "null", 0, { { 0 } } },
    { "string or null takes null", "{'type':['string','null']}", "null", 0, { { 0 } } },
    { "boolean ok", "{'type':'boolean'}", "false", 0, { { 0 } } },
    { "list of strings ok", OBJ_STR_LIST, "{'audiences':['a','b']}", 0, { { 0 } } },
    { "empty list ok", OBJ_STR_LIST, "{'audiences':[]}", 0, { { 0 } } },
    { "http full ok", HTTP, "{'url':'https://x','audiences':['a'],'timeout':60}", 0, { { 0 } } },
    { "enum ok", PATTERNS, "{'patterns':[{'selector':'a','operator':'matches','value':'x'}]}", 0, { { 0 } } },
    { "const 1 equals 1.0", "{'const':1}", "1.0", 0, { { 0 } } },
    { "const object ignores key order", "{'const':{'a':1,'b':[true,null]}}", "{'b':[true,null],'a':1}", 0,
      { { 0 } } },
    { "minimum inclusive", "{'minimum':1}", "1", 0, { { 0 } } },
    { "pattern unanchored", "{'pattern':'b+'}", "'abbbc'", 0, { { 0 } } },
    { "oneOf exactly one", PATTERN_OR_REF, "{'patternRef':'admins'}", 0, { { 0 } } },
    { "anyOf two match", "{'anyOf':[{'type':'number'},{'type':'integer'}]}", "3", 0, { { 0 } } },
    { "additionalProperties schema ok", SELECTOR, "{'selector':{'matchLabels':{'app':'x','tier':'y'}}}", 0,
      { { 0 } } },
    { "true schema", "true", "{'anything':[1,2]}", 0, { { 0 } } },
    { "empty schema", "{}", "null", 0, { { 0 } } },
    { "annotations ignored", "{'title':'t','description':'d','default':3,'$comment':'c','examples':[1]}", "'x'",
      0, { { 0 } } },
    { "lengths count code points", "{'minLength':3,'maxLength':3}", "'\\u00e9\\u00e9\\u00e9'", 0, { { 0 } } },
    { "keywords of other kinds do not apply", "{'minimum':5,'minItems':3,'required':['a']}", "'abc'", 0,
      { { 0 } } },
    { "enum may hold null", "{'enum':['a',null]}", "null", 0, { { 0 } } },

    /* types */
    { "string expected", "{'type':'string'}", "5", 1, { { "", "expected a string" } } },
    { "integer expected", "{'type':'integer'}", "5.5", 1, { { "", "expected an integer" } } },
    { "number expected", "{'type':'number'}", "'5'", 1, { { "", "expected a number" } } },
    { "boolean expected", "{'type':'boolean'}", "'true'", 1, { { "", "expected a boolean" } } },
    { "object expected", "{'type':'object'}", "[]", 1, { { "", "expected an object" } } },
    { "null expected", "{'type':'null'}", "0", 1, { { "", "expected null" } } },
    { "list of strings expected", OBJ_STR_LIST, "{'audiences':'api'}", 1,
      { { "audiences", "expected a list of strings" } } },
    { "element of list", OBJ_STR_LIST, "{'audiences':['a',2,'c',{}]}", 2,
      { { "audiences[1]", "expected a string" }, { "audiences[3]", "expected a string" } } },
    { "list of objects expected", "{'type':'array','items':{'type':'object'}}", "{}", 1,
      { { "", "expected a list of objects" } } },
    { "plain list expected", "{'type':'array'}", "'x'", 1, { { "", "expected a list" } } },
    { "two types named", "{'type':['string','array'],'items':{'type':'string'}}", "5", 1,
      { { "", "expected a string or a list of strings" } } },
    { "integer and number read as number", "{'type':['integer','number','null']}", "'x'", 1,
      { { "", "expected a number or null" } } },

    /* enum and const */
    { "enum in nested list", PATTERNS,
      "{'patterns':[{'selector':'a','operator':'eq'},{'selector':'b','operator':'neq'},"
      "{'selector':'c','operator':'eqq','value':'x'}]}",
      1, { { "patterns[2].operator", "expected one of eq, neq, incl, excl, matches" } } },
    { "enum of numbers", "{'enum':[1,2.5,true]}", "3", 1, { { "", "expected one of 1, 2.5, true" } } },
    { "enum quotes what reads badly", "{'enum':['a b','','c']}", "'d'", 1,
      { { "", "expected one of \"a b\", \"\", c" } } },
    { "enum of one", "{'enum':['only']}", "'other'", 1, { { "", "expected \"only\"" } } },
    { "const", "{'const':'v1'}", "'v2'", 1, { { "", "expected \"v1\"" } } },

    /* objects */
    { "missing required", HTTP, "{}", 1, { { "", "missing required field \"url\"" } } },
    { "missing nested required", SELECTOR, "{'selector':{}}", 1,
      { { "selector", "missing required field \"matchLabels\"" } } },
    { "unknown field", HTTP, "{'url':'http://x','audience':'a'}", 1,
      { { "", "unknown field \"audience\"", 1 } } },
    { "unknown and missing together", PATTERNS, "{'patterns':[{'selector':'x','op':'eq'}]}", 2,
      { { "patterns[0]", "missing required field \"operator\"" },
        { "patterns[0]", "unknown field \"op\"", 1 } } },
    { "additionalProperties schema", SELECTOR, "{'selector':{'matchLabels':{'app':1}}}", 1,
      { { "selector.matchLabels.app", "expected a string" } } },
    { "odd keys in brackets", SELECTOR, "{'selector':{'matchLabels':{'app.kubernetes.io/name':false}}}", 1,
      { { "selector.matchLabels[\"app.kubernetes.io/name\"]", "expected a string" } } },
    { "false schema", "{'properties':{'legacy':false}}", "{'legacy':1}", 1, { { "legacy", "not allowed here" } } },
    { "several fields in value order", HTTP, "{'timeout':0,'url':'ftp://x','audiences':'a'}", 3,
      { { "timeout", "must be at least 1" },
        { "url", "must match the pattern \"^https?://\"" },
        { "audiences", "expected a list of strings" } } },
    { "required inside list items", "{'items':{'required':['a']}}", "[{'a':1},{}]", 1,
      { { "[1]", "missing required field \"a\"" } } },

    /* numbers */
    { "minimum", "{'minimum':1}", "0", 1, { { "", "must be at least 1" } } },
    { "exclusiveMinimum", "{'exclusiveMinimum':0}", "0", 1, { { "", "must be greater than 0" } } },
    { "maximum", "{'maximum':10}", "10.5", 1, { { "", "must be at most 10" } } },
    { "exclusiveMaximum", "{'exclusiveMaximum':10}", "10", 1, { { "", "must be less than 10" } } },
    { "draft-4 exclusiveMinimum", "{'minimum':1,'exclusiveMinimum':true}", "1", 1,
      { { "", "must be greater than 1" } } },
    { "fractional bound", "{'maximum':0.5}", "0.75", 1, { { "", "must be at most 0.5" } } },
    { "timeout too large", HTTP, "{'url':'https://x','timeout':61}", 1, { { "timeout", "must be at most 60" } } },

    /* strings */
    { "minLength 1", "{'minLength':1}", "''", 1, { { "", "must not be empty" } } },
    { "minLength 3", "{'minLength':3}", "'ab'", 1, { { "", "must be at least 3 characters long" } } },
    { "maxLength 2", "{'maxLength':2}", "'abc'", 1, { { "", "must be at most 2 characters long" } } },
    { "maxLength counts code points", "{'maxLength':2}", "'\\u00e9\\u00e9\\u00e9'", 1,
      { { "", "must be at most 2 characters long" } } },
    { "pattern", "{'pattern':'^https?://'}", "'ftp://x'", 1, { { "", "must match the pattern \"^https?://\"" } } },
    { "empty selector in list", PATTERNS, "{'patterns':[{'selector':'','operator':'eq'}]}", 1,
      { { "patterns[0].selector", "must not be empty" } } },

    /* arrays */
    { "minItems 1", "{'minItems':1}", "[]", 1, { { "", "must not be an empty list" } } },
    { "minItems 2", "{'minItems':2}", "[1]", 1, { { "", "must have at least 2 items" } } },
    { "maxItems 1", "{'maxItems':1}", "[1,2]", 1, { { "", "must have at most 1 item" } } },
    { "enum items", "{'items':{'enum':['GET','POST']}}", "['GET','get']", 1,
      { { "[1]", "expected one of GET, POST" } } },

    /* oneOf / anyOf */
    { "oneOf with no fitting type", "{'oneOf':[{'type':'string'},{'type':'array','items':{'type':'string'}}]}", "5",
      1, { { "", "expected a string or a list of strings" } } },
    { "oneOf best branch", PATTERN_OR_REF, "{'selector':'a','operator':'eq'}", 1,
      { { "", "missing required field \"value\"" } } },
    { "oneOf best branch below a list", "{'properties':{'when':{'type':'array','items':" PATTERN_OR_REF "}}}",
      "{'when':[{'patternRef':'x'},{'selector':'a','operator':'eq','value':1}]}", 1,
      { { "when[1].value", "expected a string" } } },
    { "oneOf fitting type beats fewer problems",
      "{'oneOf':[{'type':'string'},{'type':'object','required':['a','b']}]}", "{}", 2,
      { { "", "missing required field \"a\"" }, { "", "missing required field \"b\"" } } },
    { "oneOf ambiguous", "{'oneOf':[{'type':'number'},{'type':'integer'}]}", "3", 1,
      { { "", "matches more than one of the allowed forms; it must match exactly one" } } },
    { "oneOf unknown field stays flagged", PATTERN_OR_REF, "{'patternRef':'x','extra':1}", 1,
      { { "", "unknown field \"extra\"", 1 } } },
    { "anyOf fewest problems", "{'anyOf':[{'required':['a','b','c']},{'required':['a']}]}", "{}", 1,
      { { "", "missing required field \"a\"" } } },
    { "anyOf no fitting type", "{'anyOf':[{'type':'string'},{'type':'integer'}]}", "true", 1,
      { { "", "expected a string or an integer" } } },
    { "anyOf with false branch", "{'anyOf':[false,{'type':'object'}]}", "1", 1, { { "", "expected an object" } } },
};

static void test_validate_table(void)
{
    for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
        const struct vcase *tc = &vcases[i];
        char err[256];
        schema *s = compile_q(tc->schema, err, sizeof err);
        CHECK(s != NULL, "%s: schema compiles (%s)", tc->name, err);
        if (!s)
            continue;
        struct json_object *v = parse_q(tc->value);
        CHECK(v != NULL || strcmp(tc->value, "null") == 0, "%s: value parses", tc->name);
        struct got g = { 0 };
        int rc = schema_validate(s, v, collect, &g);
        CHECK(rc == tc->count, "%s: %d problems, got %d (first: %s: %s)", tc->name, tc->count, rc,
              g.n ? g.path[0] : "-", g.n ? g.msg[0] : "-");
        CHECK(g.n == rc, "%s: one report per problem (%d vs %d)", tc->name, g.n, rc);
        for (int k = 0; k < tc->count && k < g.n && k < 4; k++) {
            CHECK(strcmp(g.path[k], tc->w[k].path) == 0, "%s: report %d path '%s', want '%s'", tc->name, k,
                  g.path[k], tc->w[k].path);
            CHECK(strcmp(g.msg[k], tc->w[k].msg) == 0, "%s: report %d message '%s', want '%s'", tc->name, k,
                  g.msg[k], tc->w[k].msg);
            CHECK(g.unknown[k] == tc->w[k].unknown, "%s: report %d unknown flag %d", tc->name, k, g.unknown[k]);
            const struct json_object *at = NULL;
            int nav = navigate(v, g.path[k], &at);
            CHECK(nav == 0 && at == g.node[k], "%s: report %d node is the value at '%s'", tc->name, k,
                  g.path[k]);
        }
        json_object_put(v);
        schema_free(s);
    }
}

/* ---- compile errors ---- */

struct ccase {
    const char *name;
    const char *schema;
    const char *err; /* expected message, or its start when it ends in '*' */
};

static const struct ccase ccases[] = {
    { "unknown keyword", "{'typo':1}", "unknown keyword \"typo\"" },
    { "unknown nested keyword", "{'properties':{'url':{'type':'string','formt':'uri'}}}",
      "properties.url: unknown keyword \"formt\"" },
    { "format is not supported", "{'format':'uri'}", "unknown keyword \"format\"" },
    { "$ref is not supported", "{'$ref':'#/x'}", "unknown keyword \"$ref\"" },
    { "allOf is not supported", "{'allOf':[{}]}", "unknown keyword \"allOf\"" },
    { "unknown type", "{'type':'int'}", "unknown type \"int\"*" },
    { "bad type list", "{'type':['string',3]}", "\"type\" entries must be type names*" },
    { "empty type list", "{'type':[]}", "\"type\" must be a type name or a non-empty list of type names" },
    { "bad pattern", "{'properties':{'a':{'pattern':'('}}}", "properties.a: \"pattern\" does not compile at offset 1: *" },
    { "invalid JSON", "{'type':", "invalid JSON at offset *" },
    { "trailing text", "{} x", "invalid JSON at offset 3: *" },
    { "two values", "{} {}", "invalid JSON at offset 3: *" },
    { "array root", "[1]", "a schema must be an object or a boolean" },
    { "number sub-schema", "{'items':3}", "items: a schema must be an object or a boolean" },
    { "empty enum", "{'enum':[]}", "\"enum\" must be a non-empty list" },
    { "negative minLength", "{'minLength':-1}", "\"minLength\" must be a non-negative integer" },
    { "fractional maxItems", "{'maxItems':1.5}", "\"maxItems\" must be a non-negative integer" },
    { "string minimum", "{'minimum':'1'}", "\"minimum\" must be a number" },
    { "tuple items", "{'items':[{}]}", "\"items\" must be one schema (the list form is not supported)" },
    { "oneOf not a list", "{'oneOf':{}}", "\"oneOf\" must be a non-empty list of schemas" },
    { "error inside oneOf", "{'oneOf':[{'type':'string'},{'bogus':1}]}", "oneOf[1]: unknown keyword \"bogus\"" },
    { "error inside anyOf items",
      "{'anyOf':[{'items':{'properties':{'x':{'minItems':'2'}}}}]}",
      "anyOf[0].items.properties.x: \"minItems\" must be a non-negative integer" },
    { "exclusiveMinimum true alone", "{'exclusiveMinimum':true}", "\"exclusiveMinimum\": true needs \"minimum\"" },
    { "required not names", "{'required':['a',1]}", "\"required\" must be a list of field names" },
    { "additionalProperties number", "{'additionalProperties':1}",
      "\"additionalProperties\" must be true, false or a schema" },
    { "properties not object", "{'properties':[]}", "\"properties\" must be an object of schemas" },
    { "default the schema refuses", "{'properties':{'t':{'type':'integer','default':'x'}}}",
      "properties.t: \"default\" is not a value this schema accepts" },
    { "default out of range", "{'type':'integer','minimum':1,'default':0}",
      "\"default\" is not a value this schema accepts" },
    { "empty text", "", "invalid JSON at offset 0: *" },
    { "only spaces", "  ", "invalid JSON at offset *" },
};

static int matches_err(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (n && want[n - 1] == '*')
        return strncmp(got, want, n - 1) == 0;
    return strcmp(got, want) == 0;
}

static void test_compile_errors(void)
{
    for (size_t i = 0; i < sizeof ccases / sizeof ccases[0]; i++) {
        char err[256] = "untouched";
        schema *s = compile_q(ccases[i].schema, err, sizeof err);
        CHECK(s == NULL, "%s: refused", ccases[i].name);
        CHECK(matches_err(err, ccases[i].err), "%s: message '%s', want '%s'", ccases[i].name, err, ccases[i].err);
        schema_free(s);
    }
}

static void test_compile_edges(void)
{
    char err[8];
    /* A short buffer truncates the message and still ends it. */
    schema *s = compile_q("{'properties':{'averylongname':{'nope':1}}}", err, sizeof err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(strlen(err), sizeof err - 1);
    CU_ASSERT_PTR_NULL(schema_compile("{'x':1}", NULL, 0));
    CU_ASSERT_PTR_NULL(schema_compile(NULL, err, sizeof err));

    s = compile_q(" \n{'type':'string'}\t\n ", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(s);
    schema_free(s);

    s = schema_compile("false", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct got g = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, NULL, collect, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.msg[0], "not allowed here");
    schema_free(s);
    schema_free(NULL);
}

static void test_validate_edges(void)
{
    char err[256];
    schema *s = compile_q(HTTP, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct json_object *v = parse_q("{'audience':'a','timeout':'5'}");

    /* Without a callback the problems are still counted. */
    CU_ASSERT_EQUAL(schema_validate(s, v, NULL, NULL), 3);
    CU_ASSERT_EQUAL(schema_validate(NULL, v, NULL, NULL), -1);

    /* Same answer twice: validation leaves nothing behind. */
    struct got a = { 0 }, b = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, v, collect, &a), 3);
    CU_ASSERT_EQUAL(schema_validate(s, v, collect, &b), 3);
    CU_ASSERT_EQUAL(memcmp(a.msg, b.msg, sizeof a.msg), 0);
    CU_ASSERT_EQUAL(a.unknown[0] + a.unknown[1] + a.unknown[2], 1);

    /* JSON null where an object is expected: node NULL, message still useful. */
    struct got g = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, NULL, collect, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.msg[0], "expected an object");
    CU_ASSERT_PTR_NULL(g.node[0]);
    json_object_put(v);
    schema_free(s);
}

static void test_pattern_invalid_utf8(void)
{
    char err[256];
    schema *s = compile_q("{'pattern':'^a'}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct json_object *v = json_object_new_string_len("a\xff\xfe", 3);
    struct got g = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, v, collect, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.msg[0], "is not valid UTF-8");
    json_object_put(v);

    /* Embedded NUL bytes are part of the string. */
    v = json_object_new_string_len("a\0b", 3);
    schema_free(s);
    s = compile_q("{'pattern':'b$','maxLength':3}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(schema_validate(s, v, NULL, NULL), 0);
    json_object_put(v);
    schema_free(s);
}

static void test_big_numbers(void)
{
    char err[256];
    schema *s = compile_q("{'type':'integer','maximum':9223372036854775807}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct json_object *big = json_object_new_uint64(18446744073709551615ULL);
    struct json_object *ok = json_object_new_int64(9223372036854775807LL);
    struct got g = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, big, collect, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.msg[0], "must be at most 9.22337203685478e+18");
    CU_ASSERT_EQUAL(schema_validate(s, ok, NULL, NULL), 0);
    json_object_put(big);
    json_object_put(ok);
    schema_free(s);
}

/* A schema nested as deep as the JSON parser allows still validates. */
static void test_deep_schema(void)
{
    char text[4096] = "", tail[2048] = "";
    char value[1024] = "", vtail[512] = "";
    int depth = 15;
    for (int i = 0; i < depth; i++) {
        strcat(text, "{\"type\":\"object\",\"properties\":{\"a\":");
        strcat(tail, "}}");
        strcat(value, "{\"a\":");
        strcat(vtail, "}");
    }
    strcat(text, "{\"type\":\"string\"}");
    strcat(text, tail);
    strcat(value, "1");
    strcat(value, vtail);
    char err[256];
    schema *s = schema_compile(text, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct json_object *v = json_tokener_parse(value);
    struct got g = { 0 };
    CU_ASSERT_EQUAL(schema_validate(s, v, collect, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.path[0], "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a");
    CU_ASSERT_STRING_EQUAL(g.msg[0], "expected a string");
    json_object_put(v);
    schema_free(s);
}

/* ---- defaults ---- */

static const struct dcase {
    const char *name, *schema, *value, *want;
} dcases[] = {
    { "missing fields get their defaults",
      "{'type':'object','properties':{'ttl':{'type':'integer','default':60},"
      "'mode':{'enum':['a','b'],'default':'a'},'x':{'type':'string'}}}",
      "{'x':'y'}", "{'x':'y','ttl':60,'mode':'a'}" },
    { "a field that is set keeps its value",
      "{'type':'object','properties':{'ttl':{'type':'integer','default':60}}}",
      "{'ttl':5}", "{'ttl':5}" },
    { "an explicit null is set, not missing",
      "{'type':'object','properties':{'t':{'type':['integer','null'],'default':1}}}",
      "{'t':null}", "{'t':null}" },
    { "nested objects, and members of a defaulted object",
      "{'type':'object','properties':{'a':{'type':'object','default':{},"
      "'properties':{'b':{'type':'integer','default':2}}},"
      "'c':{'type':'object','properties':{'d':{'type':'boolean','default':false}}}}}",
      "{'c':{}}", "{'c':{'d':false},'a':{'b':2}}" },
    { "a default list is copied whole",
      "{'type':'object','properties':{'l':{'type':'array','default':['x','y']}}}",
      "{}", "{'l':['x','y']}" },
    { "items and additionalProperties",
      "{'type':'object','properties':{'i':{'type':'array','items':{'type':'object',"
      "'properties':{'p':{'type':'integer','default':7}}}}},"
      "'additionalProperties':{'type':'object','properties':{'q':{'type':'string','default':'z'}}}}",
      "{'i':[{},{'p':1}],'m':{}}", "{'i':[{'p':7},{'p':1}],'m':{'q':'z'}}" },
    { "only the oneOf branch taken",
      "{'type':'object','oneOf':[{'required':['url'],'properties':{'url':{'type':'string'},"
      "'method':{'type':'string','default':'GET'}}},{'required':['path'],'properties':{"
      "'path':{'type':'string'},'mode':{'type':'string','default':'r'}}}]}",
      "{'path':'/x'}", "{'path':'/x','mode':'r'}" },
    { "no defaults leaves the value alone",
      "{'type':'object','additionalProperties':false,'properties':{'a':{'type':'string'}}}",
      "{}", "{}" },
};

static void test_defaults(void)
{
    for (size_t i = 0; i < sizeof dcases / sizeof dcases[0]; i++) {
        const struct dcase *c = &dcases[i];
        char err[256];
        schema *s = compile_q(c->schema, err, sizeof err);
        CHECK(s != NULL, "%s: schema compiles: %s", c->name, err);
        if (!s)
            continue;
        struct json_object *v = parse_q(c->value), *want = parse_q(c->want);
        CHECK(schema_validate(s, v, NULL, NULL) == 0, "%s: the value is valid", c->name);
        CHECK(schema_apply_defaults(s, v) == 0, "%s: applied", c->name);
        CHECK(json_object_equal(v, want), "%s: got %s", c->name,
              json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        /* What the defaults added still passes, and applying twice changes nothing. */
        CHECK(schema_validate(s, v, NULL, NULL) == 0, "%s: still valid", c->name);
        CHECK(schema_apply_defaults(s, v) == 0 && json_object_equal(v, want),
              "%s: idempotent", c->name);
        json_object_put(v);
        json_object_put(want);
        schema_free(s);
    }
    /* A default is a copy: changing one config does not change the next. */
    schema *s = compile_q("{'properties':{'l':{'type':'array','default':['x']}}}", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct json_object *a = parse_q("{}"), *b = parse_q("{}"), *l;
    CU_ASSERT_EQUAL(schema_apply_defaults(s, a), 0);
    CU_ASSERT_FATAL(json_object_object_get_ex(a, "l", &l));
    json_object_array_add(l, json_object_new_string("changed"));
    CU_ASSERT_EQUAL(schema_apply_defaults(s, b), 0);
    CU_ASSERT_FATAL(json_object_object_get_ex(b, "l", &l));
    CU_ASSERT_EQUAL(json_object_array_length(l), 1);
    CU_ASSERT_EQUAL(schema_apply_defaults(NULL, b), -1);
    json_object_put(a);
    json_object_put(b);
    schema_free(s);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        { "validate table", test_validate_table },
        { "compile errors", test_compile_errors },
        { "compile edges", test_compile_edges },
        { "validate edges", test_validate_edges },
        { "pattern on invalid UTF-8", test_pattern_invalid_utf8 },
        { "big numbers", test_big_numbers },
        { "deep schema", test_deep_schema },
        { "defaults", test_defaults },
        { NULL, NULL },
    };
    return cu_add_suite("schema", cases);
}
