/* Tests for engine/cel: the CEL interpreter against Authorization JSON documents. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "cel/cel.h"
#include "doc/doc.h"

static const char *doc_text =
    "{\"request\":{\"method\":\"GET\",\"url_path\":\"/api/v1/pets?x=1\",\"host\":\"pets.example.com\","
    "\"headers\":{\"x\":\"Hello World\",\"x-tenant\":\"ACME\",\"authorization\":\"Bearer abc\"},"
    "\"size\":2,\"time\":{\"seconds\":1700000000}},"
    "\"source\":{\"address\":{\"socket_address\":{\"address\":\"10.0.0.7\",\"port_value\":51234}}},"
    "\"destination\":{},"
    "\"metadata\":{\"filter_metadata\":{}},"
    "\"auth\":{\"identity\":{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],\"age\":42,\"admin\":false,"
    "\"metadata\":{\"annotations\":{\"x\":\"a,b,c\",\"y\":\"\"}}}}}";

static struct json_object *jdoc;
static cel_arena arena;
static char out[512];

/* Every case runs twice: once on json-c trees (cel_doc_jsonc), once on the request
 * document's nodes (cel_doc_tree), converted from the same json-c tree. */
static const cel_doc_ops *g_ops = &cel_doc_jsonc;
static struct arena g_docs; /* converted documents and values of the doc suite */

static const void *root_of(struct json_object *j)
{
    if (g_ops != &cel_doc_tree) return j;
    int err = 0;
    const doc *d = doc_from_jsonc(&g_docs, j, NULL, &err);
    CU_ASSERT_FATAL(!err);
    return d;
}

/* v's JSON text through the suite's conversion, or "nojson: msg". */
static void value_text(const cel_value *v, cel_error *err)
{
    struct json_object *j = NULL;
    if (g_ops == &cel_doc_tree) {
        const doc *d;
        if (cel_value_to_doc(v, g_ops, &g_docs, &d, err)) {
            snprintf(out, sizeof out, "nojson: %s", err->msg);
            return;
        }
        CU_ASSERT_EQUAL_FATAL(doc_to_jsonc(d, &j), 0);
    } else if (cel_value_to_json(v, g_ops, &j, err)) {
        snprintf(out, sizeof out, "nojson: %s", err->msg);
        return;
    }
    snprintf(out, sizeof out, "%s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
}

/* Compiles and evaluates expr; the result's JSON text, or "error: msg at L:C". */
static const char *ev(const char *expr)
{
    cel_error err = {0};
    cel_program *p = cel_compile(expr, strlen(expr), cel_authorino_vars, &err);
    if (!p) {
        snprintf(out, sizeof out, "compile: %s at %d:%d", err.msg, err.line, err.column);
        return out;
    }
    cel_activation act = {g_ops, root_of(jdoc), NULL};
    cel_value v;
    if (cel_eval(p, &act, NULL, &arena, &v, &err))
        snprintf(out, sizeof out, "error: %s at %d:%d", err.msg, err.line, err.column);
    else
        value_text(&v, &err);
    cel_arena_reset(&arena);
    cel_program_free(p);
    return out;
}

#define EV(expr, want)                                                        \
    do {                                                                      \
        const char *got_ = ev(expr);                                          \
        if (strcmp(got_, want)) fprintf(stderr, "\n  %s\n    got  %s\n    want %s\n", expr, got_, want); \
        CU_ASSERT_STRING_EQUAL(got_, want);                                   \
    } while (0)
#define TRUE(expr) EV(expr, "true")
#define STARTS(expr, prefix)                                                      \
    do {                                                                          \
        const char *got_ = ev(expr);                                              \
        if (strncmp(got_, prefix, strlen(prefix))) fprintf(stderr, "\n  %s\n    got  %s\n    want %s...\n", expr, got_, prefix); \
        CU_ASSERT_EQUAL(strncmp(got_, prefix, strlen(prefix)), 0);               \
    } while (0)

static void test_literals(void)
{
    EV("42", "42");
    EV("-9223372036854775808", "-9223372036854775808");
    EV("0x1F", "31");
    EV("7u", "7");
    EV("18446744073709551615u", "18446744073709551615");
    EV("1.5e3", "1500");
    EV("'a\\tb\\x41\\101\\u00e9\\U0001F600'", "\"a\\tbAA\xc3\xa9\xf0\x9f\x98\x80\"");
    EV("r'a\\tb'", "\"a\\\\tb\"");
    EV("'''x''y\n'''", "\"x''y\\n\"");
    EV("\"\"\"q\"\"\"", "\"q\"");
    TRUE("b'\\xff' == b'\\377' && size(b'\\xff') == 1 && size('\\xff') == 1");
    TRUE("size(b'\xc3\xbf') == 2");
    EV("[1, 'a', null, true]", "[1,\"a\",null,true]");
    EV("[double('NaN'), -double('inf'), 2.5, 18446744073709551615u, b'hi', duration('1.5s')]",
       "[\"NaN\",\"-Infinity\",2.5,18446744073709551615,\"aGk=\",\"1.5s\"]");
    EV("{'a': 1, 'b': [2]}", "{\"a\":1,\"b\":[2]}");
    TRUE("type(1) == int && type(1u) == uint && type(1.0) == double && type(null) == null_type");
    TRUE("type(type(1)) == type && type([]) == list && type({}) == map && type(b'') == bytes");
    STARTS("9223372036854775808", "compile: integer literal out of range at 1:1");
    STARTS("'\\s'", "compile: invalid escape sequence at 1:2");
    STARTS("'\\uD800'", "compile: invalid code point");
    STARTS("'abc", "compile: unterminated string literal at 1:1");
    STARTS("'a\nb'", "compile: newline in string literal");
}

static void test_authorino_shapes(void)
{
    TRUE("request.method == 'GET'");
    TRUE("request.method == 'GET' && request.url_path.startsWith('/api')");
    EV("auth.identity.metadata.annotations['x'].split(',')", "[\"a\",\"b\",\"c\"]");
    EV("request.headers['x'].lowerAscii()", "\"hello world\"");
    EV("'Hello, ' + auth.identity.name", "\"Hello, john\"");
    TRUE("'ops' in auth.identity.groups");
    TRUE("auth.identity.groups.exists(g, g == 'dev')");
    EV("auth.identity.?nickname.orValue('anonymous')", "\"anonymous\"");
    EV("auth.identity.?name.orValue('anonymous')", "\"john\"");
    TRUE("!has(auth.identity.nickname) && has(auth.identity.name)");
    TRUE("request.headers['x-tenant'].lowerAscii() in ['acme', 'globex']");
    TRUE("source.address.socket_address.address.startsWith('10.')");
    EV("request.headers.authorization.split(' ')[1]", "\"abc\"");
    TRUE("request.url_path.matches('^/api/v[0-9]+/')");
    EV("auth.identity.metadata.annotations.y.split(',')", "[\"\"]");
    EV("auth.identity", "{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],\"age\":42,\"admin\":false,"
                        "\"metadata\":{\"annotations\":{\"x\":\"a,b,c\",\"y\":\"\"}}}");
    EV("{'user': auth.identity.name, 'groups': auth.identity.groups.map(g, g.upperAscii())}",
       "{\"user\":\"john\",\"groups\":[\"DEV\",\"OPS\"]}");
    EV("request.host.split('.')[0]", "\"pets\"");
}

/* JSON numbers are doubles: equality is heterogeneous, arithmetic is not. */
static void test_numbers_as_doubles(void)
{
    TRUE("request.size == 2");
    TRUE("request.size == 2.0 && request.size == 2u");
    TRUE("type(request.size) == double");
    TRUE("size(auth.identity.groups) == 2 && size(auth.identity.groups) == request.size");
    TRUE("auth.identity.age > 41 && auth.identity.age < 42.5 && auth.identity.age >= 42u");
    STARTS("request.size + 1", "error: no such overload: double + int at 1:14");
    EV("int(request.size) + 1", "3");
    EV("request.size + 1.0", "3");
    TRUE("1 == 1.0 && 1u == 1 && !(1 == 1.5) && -1 != 18446744073709551615u");
    TRUE("1 < 1.5 && 2u > 1 && -1 < 0u && 9007199254740993 < 9223372036854775808.0");
    /* an int meets a double as a double */
    TRUE("9223372036854775807 == 9223372036854775808.0");
    TRUE("{1: 'a'}[1u] == 'a' && {1: 'a'}[1.0] == 'a'");
    TRUE("[1, 2.0, 3u] == [1.0, 2u, 3]");
    TRUE("auth.identity.groups[1.0] == 'ops'");
}

static void test_errors_at_load(void)
{
    STARTS("request.method ==", "compile: unexpected end of expression at 1:18");
    STARTS("requets.method == 'GET'", "compile: undeclared reference to 'requets' at 1:1");
    STARTS("request.method.startsWith()", "compile: wrong number of arguments to 'startsWith': 0 at 1:16");
    STARTS("size(1, 2)", "compile: wrong number of arguments to 'size': 2 at 1:1");
    STARTS("request.path.nosuch(1)", "compile: undeclared reference to 'nosuch' at 1:14");
    STARTS("startsWith('a', 'b')", "compile: 'startsWith' must be called as a method");
    STARTS("request.url_path.matches('(a)\\\\1')", "compile: invalid regular expression: backreference");
    STARTS("request.url_path.matches('a(?=b)')", "compile: invalid regular expression: unsupported group");
    STARTS("request.url_path.matches('a++')", "compile: invalid regular expression: possessive");
    STARTS("request.url_path.matches('a{1001}')", "compile: invalid regular expression: repeat count");
    STARTS("request.url_path.matches('(')", "compile: invalid regular expression: missing closing parenthesis");
    STARTS("request.method == 'GET' &&\n  request.x ==", "compile: unexpected end of expression at 2:15");
    STARTS("'\xc3\xa9\xc3\xa9' == requets", "compile: undeclared reference to 'requets' at 1:9");
    STARTS("[1, 2].all(1, true)", "compile: argument is not an identifier");
    STARTS("has(request)", "compile: invalid argument to has() macro");
    STARTS("x.y{a: 1}", "compile: message construction is not supported at 1:3");
    STARTS("if == 1", "compile: reserved identifier");
    STARTS("a.b.Msg{f: 1}", "compile: message construction is not supported");
    STARTS("1 +", "compile: unexpected end");
    STARTS("(1", "compile: expected ')'");
    STARTS("request.method == 'GET' 'x'", "compile: unexpected token at 1:25");
    STARTS("[x, y].map(x, y)", "compile: undeclared reference to 'x'");
    /* macro variables are in scope only inside their macro */
    TRUE("[1, 2].all(x, [3].exists(y, x < y))");
    STARTS("[1].all(x, x > 0) && x > 0", "compile: undeclared reference to 'x' at 1:22");
}

/* Evaluation errors are errors, which a predicate turns into a denial. */
static void test_fail_closed(void)
{
    STARTS("request.headers['missing'] == 'x'", "error: no such key: missing at 1:16");
    STARTS("request.nosuch.deeper", "error: no such key: nosuch at 1:9");
    STARTS("request.method + 1", "error: no such overload: string + int");
    STARTS("request.method.startsWith(1)", "error: no such overload");
    STARTS("auth.identity.groups[5]", "error: index out of range: 5");
    STARTS("auth.identity.groups['x']", "error: no such overload: list[string] at 1:21");
    STARTS("auth.identity.name['x']", "error: type 'string' does not support indexing");
    STARTS("auth.identity.name.x", "error: type 'string' does not support field selection at 1:20");
    STARTS("1 / 0", "error: division by zero");
    STARTS("9223372036854775807 + 1", "error: integer overflow");
    STARTS("-9223372036854775808 - 1", "error: integer overflow");
    STARTS("0u - 1u", "error: integer overflow");
    STARTS("int(1e19)", "error: range error");
    STARTS("uint(-1)", "error: range error");
    STARTS("request.method ? 1 : 2", "error: no such overload");
    cel_error err;
    cel_program *p = cel_compile("request.method", 14, cel_authorino_vars, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_activation act = {g_ops, root_of(jdoc), NULL};
    cel_value v;
    CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &arena, &v, &err), 0);
    CU_ASSERT_EQUAL(cel_value_to_bool(&v, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not bool"));
    cel_arena_reset(&arena);
    CU_ASSERT_EQUAL(cel_eval_predicate(p, &act, NULL, &arena, &err), -1);
    cel_program_free(p);
    p = cel_compile("request.method == 'GET'", 23, cel_authorino_vars, &err);
    CU_ASSERT_EQUAL(cel_eval_predicate(p, &act, NULL, &arena, &err), 1);
    cel_program_free(p);
    p = cel_compile("request.method == 'PUT'", 23, cel_authorino_vars, &err);
    CU_ASSERT_EQUAL(cel_eval_predicate(p, &act, NULL, &arena, &err), 0);
    cel_program_free(p);
    p = cel_compile("request.nosuch == 'PUT'", 23, cel_authorino_vars, &err);
    CU_ASSERT_EQUAL(cel_eval_predicate(p, &act, NULL, &arena, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "no such key: nosuch");
    CU_ASSERT_EQUAL(arena.total, 0);
    cel_program_free(p);
    /* a document without the root the expression names */
    struct json_object *empty = json_object_new_object();
    p = cel_compile("auth.identity.name == 'x'", 25, cel_authorino_vars, &err);
    act.root = root_of(empty);
    CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &arena, &v, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "no such attribute: auth");
    cel_arena_reset(&arena);
    cel_program_free(p);
    json_object_put(empty);
}

static void test_logic(void)
{
    EV("false && (1 / 0 == 1)", "false");
    EV("(1 / 0 == 1) && false", "false");
    EV("(1 / 0 == 1) || true", "true");
    EV("true || request.nosuch", "true");
    EV("request.nosuch || true", "true");
    STARTS("true && (1 / 0 == 1)", "error: division by zero");
    STARTS("(1 / 0 == 1) || false", "error: division by zero");
    STARTS("1 && true", "error: no such overload");
    EV("[1, 2].exists(x, x / 0 == 1 || x == 2)", "true");
    EV("[0, -1].all(x, 1 / x > 0)", "false"); /* the error at 0 is absorbed by the false at -1 */
    STARTS("[1, 0].all(x, 1 / x > 0)", "error: division by zero");
    EV("[1, 0].exists(x, 1 / x > 0)", "true");
    EV("true ? 'a' : 1 / 0", "\"a\"");
    TRUE("!false && !!true");
    TRUE("'a' < 'b' && b'a' < b'b' && false < true");
    TRUE("1 in [1, 2] && 'k' in {'k': 1} && !(3 in [1, 2]) && 'x' in request.headers");
    TRUE("null == null && [] != [1] && {'a': 1} == {'a': 1.0} && {'a': 1} != {'a': 2}");
    STARTS("[1] < [2]", "error: no such overload");
}

static void test_macros(void)
{
    EV("[1, 2, 3].map(x, x * 2)", "[2,4,6]");
    EV("[1, 2, 3].map(x, x > 1, x * 10)", "[20,30]");
    EV("[1, 2, 3].filter(x, x != 2)", "[1,3]");
    TRUE("[1, 2, 3].exists_one(x, x == 2) && ![1, 2, 2].exists_one(x, x == 2)");
    TRUE("[1, 2, 3].all(x, x > 0) && ![1, 2, 3].all(x, x > 1)");
    TRUE("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])");
    EV("request.headers.filter(k, k.startsWith('x'))", "[\"x\",\"x-tenant\"]");
    EV("[[1, 2], [3]].map(l, l.map(x, x + 1))", "[[2,3],[4]]");
    EV("auth.identity.groups.map(g, 'group:' + g).join(',')", "\"group:dev,group:ops\"");
    STARTS("1.all(x, true)", "error: expression of type 'int' cannot be the range");
}

static void test_strings_ext(void)
{
    EV("'hello'.charAt(1)", "\"e\"");
    EV("'hello'.charAt(5)", "\"\"");
    STARTS("'hello'.charAt(6)", "error: index out of range");
    EV("'h\xc3\xa9llo'.indexOf('l')", "2");
    EV("'hello'.indexOf('l', 3)", "3");
    EV("'hello'.indexOf('')", "0");
    EV("'hello'.lastIndexOf('l')", "3");
    EV("'hello'.lastIndexOf('l', 2)", "2");
    EV("'hello'.lastIndexOf('')", "5");
    EV("'h\xc3\xa9llo h\xc3\xa9llo'.lastIndexOf('\xc3\xa9l')", "7");
    EV("'h\xc3\xa9llo h\xc3\xa9llo'.indexOf('l', 3)", "3");
    EV("'h\xc3\xa9llo h\xc3\xa9llo'.indexOf('\xc3\xa9', 2)", "7");
    EV("'abcabc'.lastIndexOf('abc', 2)", "0");
    EV("'abcabc'.lastIndexOf('abc', 3)", "3");
    EV("'ab'.lastIndexOf('abc')", "-1");
    EV("'hello'.indexOf('z')", "-1");
    EV("'TacoCat'.lowerAscii()", "\"tacocat\"");
    EV("'TacoCat\xc3\x89'.upperAscii()", "\"TACOCAT\xc3\x89\"");
    EV("'a.b.c'.replace('.', '/')", "\"a\\/b\\/c\"");
    EV("'a.b.c'.replace('.', '/', 1)", "\"a\\/b.c\"");
    EV("'ab'.replace('', '-')", "\"-a-b-\"");
    EV("'a,b,c'.split(',', 2)", "[\"a\",\"b,c\"]");
    EV("'abc'.split('')", "[\"a\",\"b\",\"c\"]");
    EV("'a,b'.split(',', 0)", "[]");
    EV("'h\xc3\xa9llo'.substring(1, 3)", "\"\xc3\xa9l\"");
    EV("'hello'.substring(2)", "\"llo\"");
    STARTS("'hello'.substring(3, 2)", "error: invalid substring range");
    EV("'  \\t hi \\n'.trim()", "\"hi\"");
    EV("['a', 'b'].join()", "\"ab\"");
    EV("['a', 'b'].join('-')", "\"a-b\"");
    STARTS("['a', 1].join('-')", "error: join: list element is int");
    EV("'abc'.reverse()", "\"cba\"");
    EV("'%s is %d years, %.2f%% sure, %x %o %b'.format([auth.identity.name, 42, 99.5, 255, 8, 5])",
       "\"john is 42 years, 99.50% sure, ff 10 101\"");
    EV("'%s %s %s'.format([[1, 'a'], {'k': true, 'a': 1}, null])", "\"[1, a] {a: 1, k: true} null\"");
    EV("'%e'.format([1234.5])", "\"1.234500e+03\"");
    STARTS("'%.999999f'.format([1.5])", "error: format: precision over 100");
    TRUE("'%.100f'.format([1e308]).size() == 410");
    STARTS("'%d'.format(['x'])", "error: format: cannot format string with %d");
    STARTS("'%s %s'.format(['x'])", "error: format: index 1 out of range");
    EV("strings.quote('a\"b\\n')", "\"\\\"a\\\\\\\"b\\\\n\\\"\"");
    TRUE("size('h\xc3\xa9llo') == 5 && 'hello'.size() == 5");
    TRUE("'abc'.contains('b') && 'abc'.endsWith('bc') && !'abc'.startsWith('b')");
    TRUE("'abc'.matches('b') && matches('abc', '^a.c$') && !'abc\\n'.matches('c$')");
    TRUE("'a\\x0bb'.matches('a\\\\vb')");
}

static void test_conversions(void)
{
    EV("int('42') + int(3.9) + int(-3.9) + int(2u)", "44");
    STARTS("int('4x')", "error: cannot convert");
    EV("uint('42')", "42");
    EV("double('1.5') + double(1) + double(2u)", "4.5");
    EV("string(123.456) + string(-4.5e-3) + string(1) + string(2u) + string(true)", "\"123.456-0.004512true\"");
    EV("string(b'abc')", "\"abc\"");
    STARTS("string(b'\\xff')", "error: invalid UTF-8");
    EV("bytes('abc')", "\"YWJj\"");
    TRUE("bool('true') && !bool('F')");
    EV("dyn(1) + 1", "2");
}

static void test_time(void)
{
    EV("timestamp('2009-02-13T23:31:30Z')", "\"2009-02-13T23:31:30Z\"");
    EV("int(timestamp('2009-02-13T23:31:30Z'))", "1234567890");
    EV("string(timestamp('2009-02-13T23:31:30.120+01:00'))", "\"2009-02-13T22:31:30.12Z\"");
    EV("duration('1h30m')", "\"5400s\"");
    EV("string(duration('-1.5s'))", "\"-1.5s\"");
    EV("duration('1m').getSeconds()", "60");
    EV("duration('1.5s').getMilliseconds()", "1500");
    EV("timestamp('2009-02-13T23:31:30Z') + duration('1h')", "\"2009-02-14T00:31:30Z\"");
    EV("timestamp('2009-02-14T00:00:00Z') - timestamp('2009-02-13T23:00:00Z')", "\"3600s\"");
    TRUE("timestamp('2009-02-13T23:31:30Z') < timestamp('2010-01-01T00:00:00Z')");
    EV("[timestamp('2009-02-13T23:31:30Z').getFullYear(), timestamp('2009-02-13T23:31:30Z').getMonth(),"
       " timestamp('2009-02-13T23:31:30Z').getDate(), timestamp('2009-02-13T23:31:30Z').getDayOfMonth(),"
       " timestamp('2009-02-13T23:31:30Z').getDayOfWeek(), timestamp('2009-02-13T23:31:30Z').getDayOfYear(),"
       " timestamp('2009-02-13T23:31:30Z').getHours(), timestamp('2009-02-13T23:31:30Z').getHours('+02:00'),"
       " timestamp('2009-02-13T23:31:30Z').getMinutes(), timestamp('2009-02-13T23:31:30Z').getSeconds()]",
       "[2009,1,13,12,5,43,23,1,31,30]");
    TRUE("timestamp(int(request.time.seconds)) > timestamp('2023-01-01T00:00:00Z')");
    STARTS("timestamp('2009-02-30T00:00:00Z')", "error: invalid timestamp");
    STARTS("duration('1x')", "error: invalid duration");
    STARTS("timestamp('2009-02-13T23:31:30Z').getHours('Mars/Olympus')", "error: unsupported time zone");
    TRUE("type(duration('1s')) == google.protobuf.Duration");
}

static void test_optionals(void)
{
    TRUE("optional.of(1).hasValue() && !optional.none().hasValue()");
    EV("optional.none().orValue(5)", "5");
    EV("optional.of(2).value()", "2");
    STARTS("optional.none().value()", "error: optional.none() dereference");
    EV("auth.identity.?metadata.?annotations.?x.orValue('none')", "\"a,b,c\"");
    EV("auth.identity.?metadata.?labels.?x.orValue('none')", "\"none\"");
    EV("auth.identity.?metadata.annotations.x.orValue('none')", "\"a,b,c\"");
    /* after .? the rest of the chain is optional too */
    EV("auth.identity.?metadata.labels.x.orValue('none')", "\"none\"");
    STARTS("auth.identity.?name.first", "error: type 'string' does not support field selection");
    EV("request.headers[?'x-missing'].orValue('d')", "\"d\"");
    EV("auth.identity.groups[?7].orValue('d')", "\"d\"");
    EV("auth.identity.groups[?0].orValue('d')", "\"dev\"");
    EV("[1, ?optional.none(), ?optional.of(3)]", "[1,3]");
    EV("{'a': 1, ?'b': optional.none(), ?'c': optional.of(2)}", "{\"a\":1,\"c\":2}");
    EV("optional.of(1).optMap(v, v + 1).value()", "2");
    EV("optional.ofNonZeroValue('').or(optional.of('x')).value()", "\"x\"");
    TRUE("type(optional.none()) == optional_type");
    TRUE("!has(auth.identity.?nickname.first) && has(auth.identity.?metadata.annotations)");
}

static void test_limits(void)
{
    /* nesting past the tree limit is refused at load, not on the stack */
    char *deep = malloc(4000);
    size_t n = 0;
    for (int i = 0; i < 300; i++) deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 300; i++) deep[n++] = ')';
    deep[n] = '\0';
    STARTS(deep, "compile: expression nested too deeply");
    n = 0;
    for (int i = 0; i < 300; i++) n += (size_t)sprintf(deep + n, "1+");
    deep[n++] = '1';
    deep[n] = '\0';
    STARTS(deep, "compile: expression nested too deeply");
    n = 0;
    for (int i = 0; i < 30; i++) n += (size_t)sprintf(deep + n, "(");
    n += (size_t)sprintf(deep + n, "1");
    for (int i = 0; i < 30; i++) n += (size_t)sprintf(deep + n, ")");
    deep[n] = '\0';
    EV(deep, "1"); /* the spec's minimum nesting is accepted */
    free(deep);
    char *big = malloc(CEL_MAX_EXPR_LEN + 2);
    memset(big, ' ', CEL_MAX_EXPR_LEN + 1);
    big[0] = '1';
    big[CEL_MAX_EXPR_LEN + 1] = '\0';
    STARTS(big, "compile: expression longer than");
    free(big);

    /* the cost limit: steps and bytes */
    STARTS("[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10]"
           ".map(c, [1,2,3,4,5,6,7,8,9,10].map(d, [1,2,3,4,5,6,7,8,9,10].map(e, a+b+c+d+e)))))",
           "error: evaluation cost limit exceeded: steps");
    /* a literal body still costs a step per iteration: a million of them are too many */
    {
        struct json_object *saved = jdoc, *arr = json_object_new_array();
        for (int i = 0; i < 1000; i++) json_object_array_add(arr, json_object_new_int(i));
        jdoc = json_object_new_object();
        json_object_object_add(jdoc, "request", arr);
        STARTS("request.all(a, request.all(b, true))", "error: evaluation cost limit exceeded: steps");
        TRUE("request.all(a, true)");
        json_object_put(jdoc);
        jdoc = saved;
    }
    cel_error err;
    const char *grow = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16].map(a, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"
                       ".replace('x', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'))";
    cel_program *p = cel_compile(grow, strlen(grow), cel_authorino_vars, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_arena small;
    cel_arena_init(&small, 16384);
    cel_activation act = {g_ops, root_of(jdoc), NULL};
    cel_value v;
    CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &small, &v, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cost limit exceeded: allocation"));
    cel_arena_reset(&small);
    cel_limits lim = {3};
    CU_ASSERT_EQUAL(cel_eval(p, &act, &lim, &small, &v, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cost limit exceeded: steps"));
    cel_arena_free(&small);
    cel_program_free(p);
}

/* The arena keeps one chunk across resets, so repeated evaluation reuses it. */
static void test_arena_reuse(void)
{
    cel_error err;
    const char *e = "auth.identity.groups.map(g, g + '!').join(',') == 'dev!,ops!'";
    cel_program *p = cel_compile(e, strlen(e), cel_authorino_vars, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_arena a;
    cel_arena_init(&a, 0);
    cel_activation act = {g_ops, root_of(jdoc), NULL};
    cel_value v;
    CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &a, &v, &err), 0);
    CU_ASSERT_EQUAL(cel_value_to_bool(&v, &err), 1);
    cel_arena_reset(&a);
    void *chunk = a.head;
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &a, &v, &err), 0);
        cel_arena_reset(&a);
    }
    CU_ASSERT_PTR_EQUAL(a.head, chunk);
    cel_arena_free(&a);
    cel_program_free(p);
}

/* Variables supplied as values (as the conformance runner does) instead of a document. */
static void test_value_bindings(void)
{
    static const char *const vars[] = {"x", "y", NULL};
    cel_error err;
    cel_program *p = cel_compile("x + y", 5, vars, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_value vals[2] = {{CEL_INT, 0, 0, {.i = 2}}, {CEL_INT, 0, 0, {.i = 40}}};
    cel_activation act = {g_ops, NULL, vals};
    cel_value v;
    CU_ASSERT_EQUAL(cel_eval(p, &act, NULL, &arena, &v, &err), 0);
    CU_ASSERT_EQUAL(v.kind, CEL_INT);
    CU_ASSERT_EQUAL(v.u.i, 42);
    cel_arena_reset(&arena);
    cel_program_free(p);
    CU_ASSERT_PTR_NULL(cel_compile("request", 7, vars, &err));
}

/* Another implementation of the document interface: the evaluator and the JSON
 * conversion go through the table, not around it. */
static int member_calls;
static const void *counting_member(const void *n, const char *key, size_t klen, int *found)
{
    member_calls++;
    return g_ops->member(n, key, klen, found);
}

static void test_doc_interface(void)
{
    cel_doc_ops ops = *g_ops;
    ops.member = counting_member;
    cel_error err;
    const char *e = "{'who': auth.identity, 'first': auth.identity.groups[0]}";
    cel_program *p = cel_compile(e, strlen(e), cel_authorino_vars, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_activation act = {&ops, root_of(jdoc), NULL};
    cel_value v;
    member_calls = 0;
    CU_ASSERT_EQUAL_FATAL(cel_eval(p, &act, NULL, &arena, &v, &err), 0);
    CU_ASSERT_EQUAL(member_calls, 4); /* auth once per evaluation, identity twice, groups */
    struct json_object *j = NULL;
    CU_ASSERT_EQUAL_FATAL(cel_value_to_json(&v, &ops, &j, &err), 0);
    /* rebuilt through the interface, the document's numbers come back as the doubles they are */
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                           "{\"who\":{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],\"age\":42,"
                           "\"admin\":false,\"metadata\":{\"annotations\":{\"x\":\"a,b,c\",\"y\":\"\"}}},"
                           "\"first\":\"dev\"}");
    json_object_put(j);
    /* into doc nodes, the views read through a table that is not cel_doc_tree are rebuilt */
    const doc *d;
    CU_ASSERT_EQUAL_FATAL(cel_value_to_doc(&v, &ops, &g_docs, &d, &err), 0);
    CU_ASSERT_EQUAL_FATAL(doc_to_jsonc(d, &j), 0);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                           "{\"who\":{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],\"age\":42,"
                           "\"admin\":false,\"metadata\":{\"annotations\":{\"x\":\"a,b,c\",\"y\":\"\"}}},"
                           "\"first\":\"dev\"}");
    json_object_put(j);
    if (g_ops == &cel_doc_tree)
        CU_ASSERT_PTR_NOT_EQUAL(doc_getz(d, "who"), doc_getz(doc_getz(act.root, "auth"), "identity"));
    cel_arena_reset(&arena);
    /* prepared for these ops, the walk uses the prepared keys instead */
    cel_program_prepare(p, &ops);
    member_calls = 0;
    CU_ASSERT_EQUAL_FATAL(cel_eval(p, &act, NULL, &arena, &v, &err), 0);
    CU_ASSERT_EQUAL(member_calls, 0);
    CU_ASSERT_EQUAL(v.kind, CEL_MAP);
    cel_arena_reset(&arena);
    cel_program_free(p);
}

/* cel_value_to_doc: the document's own lists and maps are returned by reference
 * (read through cel_doc_tree), everything else is built in the caller's arena, and
 * an arena past its limit is an error, not a crash or a null. */
static const doc *to_doc(const char *expr, const void *root, struct arena *a, cel_error *err)
{
    cel_program *p = cel_compile(expr, strlen(expr), cel_authorino_vars, err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cel_activation act = {&cel_doc_tree, root, NULL};
    cel_value v;
    int rc = cel_eval(p, &act, NULL, &arena, &v, err);
    if (rc) fprintf(stderr, "\n  %s: %s\n", expr, err->msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const doc *d = (const doc *)1;
    if (cel_value_to_doc(&v, &cel_doc_tree, a, &d, err)) CU_ASSERT_PTR_NULL(d);
    cel_arena_reset(&arena);
    cel_program_free(p);
    return d;
}

static void test_value_to_doc(void)
{
    cel_error err;
    int bad = 0;
    const doc *root = doc_from_jsonc(&g_docs, jdoc, NULL, &bad);
    CU_ASSERT_FATAL(!bad && root);
    const doc *identity = doc_getz(doc_getz(root, "auth"), "identity");
    CU_ASSERT_PTR_NOT_NULL_FATAL(identity);
    struct arena a;
    arena_init(&a, 0);
    CU_ASSERT_PTR_EQUAL(to_doc("auth.identity", root, &a, &err), identity);
    CU_ASSERT_EQUAL(a.total, 0); /* nothing built */
    CU_ASSERT_PTR_EQUAL(to_doc("auth.identity.groups", root, &a, &err), doc_getz(identity, "groups"));
    const doc *m = to_doc("{'who': auth.identity.metadata, 'n': 1u, 'l': [auth.identity.groups]}", root, &a, &err);
    CU_ASSERT_EQUAL_FATAL(doc_type_of(m), DOC_OBJECT);
    CU_ASSERT(m->flags & DOC_MUTABLE);
    CU_ASSERT_PTR_EQUAL(doc_getz(m, "who"), doc_getz(identity, "metadata"));
    CU_ASSERT_PTR_EQUAL(doc_at(doc_getz(m, "l"), 0), doc_getz(identity, "groups"));
    CU_ASSERT_EQUAL(doc_int(doc_getz(m, "n")), 1);
    /* scalars become nodes of their own; null is NULL */
    size_t n;
    const doc *s = to_doc("auth.identity.name + '!'", root, &a, &err);
    CU_ASSERT_STRING_EQUAL(doc_str(s, &n), "john!");
    CU_ASSERT_PTR_NULL(to_doc("null", root, &a, &err));
    CU_ASSERT_PTR_NULL(to_doc("optional.none()", root, &a, &err));
    CU_ASSERT_STRING_EQUAL(doc_str(to_doc("b'abc'", root, &a, &err), &n), "YWJj");
    CU_ASSERT_STRING_EQUAL(doc_str(to_doc("duration('90s')", root, &a, &err), &n), "90s");
    CU_ASSERT_STRING_EQUAL(doc_str(to_doc("timestamp('2023-11-14T22:13:20Z')", root, &a, &err), &n),
                           "2023-11-14T22:13:20Z");
    CU_ASSERT_STRING_EQUAL(doc_str(to_doc("type(1)", root, &a, &err), &n), "int");
    CU_ASSERT_STRING_EQUAL(doc_str(to_doc("0.0/0.0", root, &a, &err), &n), "NaN");
    CU_ASSERT_EQUAL(doc_type_of(to_doc("2.0", root, &a, &err)), DOC_INT);
    CU_ASSERT_EQUAL(doc_double(to_doc("2.5", root, &a, &err)), 2.5);
    /* a uint past int64 keeps its digits when written */
    struct json_object *j = NULL;
    CU_ASSERT_EQUAL(doc_to_jsonc(to_doc("18446744073709551615u", root, &a, &err), &j), 0);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string(j), "18446744073709551615");
    json_object_put(j);
    CU_ASSERT_EQUAL(doc_int(to_doc("9223372036854775807u", root, &a, &err)), INT64_MAX);
    /* no JSON form: a member name past the limit */
    char *big = malloc(5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'k', 5000);
    memcpy(big, "{'", 2);
    memcpy(big + 4990, "': 1}", 6);
    CU_ASSERT_PTR_NULL(to_doc(big, root, &a, &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "map key has no JSON form");
    free(big);
    arena_free(&a);
    /* the arena's limit: -1 with a reason */
    const char *wide = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16].map(x, [x, x, x, x, x, x, x, x])";
    CU_ASSERT_EQUAL(doc_len(to_doc(wide, root, &g_docs, &err)), 16);
    arena_init(&a, 4096);
    CU_ASSERT_PTR_NULL(to_doc(wide, root, &a, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "out of memory"));
    CU_ASSERT(a.total <= 4096);
    arena_free(&a);
}

/* The expressions of Authorino's user guides, as the guides' AuthConfigs hold them
 * (after the shell's here-document), on the documents those guides produce. */
static void test_authorino_guides(void)
{
    struct json_object *saved = jdoc;
    jdoc = json_tokener_parse(
        "{\"request\":{\"path\":\"/bye\",\"url_path\":\"/bye\",\"method\":\"GET\",\"time\":{\"seconds\":1700000000},"
        "\"headers\":{\"x-forwarded-for\":\"192.168.1.10, 10.0.0.1\"}},"
        "\"source\":{},\"destination\":{},\"metadata\":{},"
        "\"auth\":{\"identity\":{\"email_verified\":true,\"metadata\":{\"annotations\":"
        "{\"auth-data/name\":\"Rita\",\"auth-data/username\":\"rita\"}}}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(jdoc);
    /* http-basic-authentication */
    TRUE("request.path == '/bye'");
    /* injecting-data */
    EV("true", "true");
    EV("request.time.seconds", "1700000000");
    EV("'Hello, ' + auth.identity.metadata.annotations['auth-data/name']\n", "\"Hello, Rita\"");
    /* authenticated-rate-limiting-envoy-dynamic-metadata */
    EV("auth.identity.metadata.annotations['auth-data/username']", "\"rita\"");
    /* deny-with-redirect-to-login */
    EV("'http://matrix-quotes.127.0.0.1.nip.io:8000/login.html?redirect_to=' + request.path\n",
       "\"http:\\/\\/matrix-quotes.127.0.0.1.nip.io:8000\\/login.html?redirect_to=\\/bye\"");
    STARTS("'http://keycloak:8080/realms/kuadrant/protocol/openid-connect/auth?client_id=matrix-quotes"
           "&redirect_uri=http://matrix-quotes.127.0.0.1.nip.io:8000/auth?redirect_to=' + request.path + "
           "'&scope=openid&response_type=code'\n", "\"http:");
    /* external-metadata */
    EV("'http://ip-api.com/json/' + request.headers['x-forwarded-for'].split(',')[0] + '?fields=countryCode'\n",
       "\"http:\\/\\/ip-api.com\\/json\\/192.168.1.10?fields=countryCode\"");
    EV("\"application/json\"", "\"application\\/json\"");
    /* json-pattern-matching-authorization */
    TRUE("request.headers['x-forwarded-for'].split(',')[0].matches(\"^192\\\\.168\\\\.1\\\\.\\\\d+$\")\n");
    TRUE("auth.identity.email_verified");
    json_object_put(jdoc);
    jdoc = saved;
}

static int setup(void)
{
    jdoc = json_tokener_parse(doc_text);
    cel_arena_init(&arena, 0);
    arena_init(&g_docs, 0);
    return jdoc ? 0 : -1;
}

static int on_jsonc(void)
{
    g_ops = &cel_doc_jsonc;
    return 0;
}

static int on_tree(void)
{
    g_ops = &cel_doc_tree;
    return 0;
}

static int done(void)
{
    arena_reset(&g_docs);
    return 0;
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"literals", test_literals},
        {"authorino shapes", test_authorino_shapes},
        {"numbers as doubles", test_numbers_as_doubles},
        {"errors at load", test_errors_at_load},
        {"fail closed", test_fail_closed},
        {"logic", test_logic},
        {"macros", test_macros},
        {"strings extension", test_strings_ext},
        {"conversions", test_conversions},
        {"time", test_time},
        {"optionals", test_optionals},
        {"limits", test_limits},
        {"arena reuse", test_arena_reuse},
        {"value bindings", test_value_bindings},
        {"document interface", test_doc_interface},
        {"value to doc", test_value_to_doc},
        {"authorino guides", test_authorino_guides},
        {NULL, NULL}};
    if (setup()) return -1;
    static const struct { const char *name; CU_InitializeFunc init; } suites[] = {
        {"cel", on_jsonc}, {"cel on doc", on_tree}};
    for (size_t i = 0; i < 2; i++) {
        CU_pSuite s = CU_add_suite(suites[i].name, suites[i].init, done);
        if (!s) return -1;
        for (const cu_case *c = cases; c->name; c++)
            if (!CU_add_test(s, c->name, c->fn)) return -1;
    }
    return 0;
}
