/* Selector suite: gjson paths, Authorino's modifiers and templates over a realistic
 * Authorization JSON. Expected values follow gjson's SYNTAX.md and Authorino's
 * pkg/json tests; each table row names its selector in the failure message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cu_main.h"
#include "selector/selector.h"

/* Basic am9objpzM2NyM3Q= is "john:s3cr3t"; the bearer token's payload is base64url (it holds
 * a '_') and decodes to {"sub":"john","exp":1685557675,"aud":["talker-api"],
 * "name":"J\u00f6hn ~?>"}; x-b64 is {"a":"b"}. */
static const char *AUTHZ_JSON =
    "{"
    " \"context\": {"
    "  \"request\": {\"http\": {"
    "   \"id\": \"8745436587\", \"method\": \"GET\", \"path\": \"/api/v1/pets?limit=10\","
    "   \"host\": \"talker-api.example.com\", \"scheme\": \"https\", \"protocol\": \"HTTP/1.1\","
    "   \"headers\": {\":authority\": \"talker-api\","
    "    \"authorization\": \"Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJqb2huIiwiZX"
    "hwIjoxNjg1NTU3Njc1LCJhdWQiOlsidGFsa2VyLWFwaSJdLCJuYW1lIjoiSlx1MDBmNmhuIH4_PiJ9.c2ln\"}"
    "  }},"
    "  \"source\": {\"address\": {\"socketAddress\": {\"address\": \"10.244.0.11\","
    "   \"portValue\": 54321}}}"
    " },"
    " \"request\": {"
    "  \"id\": \"8745436587\", \"method\": \"GET\", \"path\": \"/api/v1/pets?limit=10\","
    "  \"url_path\": \"/api/v1/pets\", \"query\": \"limit=10\","
    "  \"host\": \"talker-api.example.com\", \"scheme\": \"https\","
    "  \"headers\": {\"authorization\": \"Basic am9objpzM2NyM3Q=\","
    "   \"x-api-key\": \"ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx\","
    "   \"x-forwarded-for\": \"10.0.0.1, 192.168.1.1\", \"user-agent\": \"curl/8.0.1\","
    "   \"x-b64\": \"eyJhIjoiYiJ9\", \"cookie\": \"session=abc; theme=dark\"},"
    "  \"context_extensions\": {\"host\": \"talker-api\"}"
    " },"
    " \"source\": {\"address\": \"10.244.0.11\", \"port\": 54321},"
    " \"auth\": {"
    "  \"identity\": {"
    "   \"sub\": \"1edfd768-d05a-445f-a03a-0a834b45688e\", \"username\": \"john\","
    "   \"email\": \"john@example.com\", \"email_verified\": true, \"name\": \"John Doe\","
    "   \"city\": \"m\\u00fcnchen\", \"token\": \"tok-123\", \"exp\": 1685557675,"
    "   \"score\": 4.5, \"nothing\": null, \"raw\": \"\\n\\nbob\\u0012\","
    "   \"realm_access\": {\"roles\": [\"offline_access\", \"admin\", \"user\"]},"
    "   \"groups\": [{\"name\": \"dev\", \"id\": 1}, {\"name\": \"ops\", \"id\": 2},"
    "                {\"name\": \"admins\", \"id\": 3}],"
    "   \"kubernetes.io\": {\"namespace\": \"default\","
    "    \"serviceaccount\": {\"name\": \"default\"}}"
    "  },"
    "  \"metadata\": {\"user-info\": {\"email\": \"j@x\"},"
    "   \"resource-data\": {\"owner\": \"john\", \"tags\": [\"a\", \"b\"]}},"
    "  \"authorization\": {\"opa\": {\"allowed\": true}}"
    " }"
    "}";

static struct json_object *load(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    return o;
}

static void check(int cond, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, __LINE__, msg, __FILE__, "", CU_FALSE);
}

/* want == NULL: the selector must find nothing (missing or JSON null). */
struct sel_case {
    const char *sel;
    const char *want;
};

static void run_cases(struct json_object *root, const struct sel_case *cases, size_t n,
                      int want_template)
{
    for (size_t i = 0; i < n; i++) {
        const struct sel_case *c = &cases[i];
        char err[256];
        sel_expr *e = sel_compile(c->sel, err, sizeof err);
        check(e != NULL, "compile `%s`: %s", c->sel, e ? "" : err);
        if (!e)
            continue;
        check(sel_is_template(e) == want_template, "`%s` template=%d", c->sel,
              sel_is_template(e));
        struct json_object *out = (struct json_object *)1;
        int r = sel_resolve(e, root, &out);
        check(r == 0, "resolve `%s` returned %d", c->sel, r);
        size_t len;
        const char *got = sel_text(r == 0 ? out : NULL, &len);
        if (!c->want)
            check(r == 0 && out == NULL, "`%s`: want missing, got [%s]", c->sel, got);
        else
            check(r == 0 && out != NULL && len == strlen(c->want) && !memcmp(got, c->want, len),
                  "`%s`: want [%s], got %s[%.*s]", c->sel, c->want, out ? "" : "missing ",
                  (int)len, got);
        if (r == 0)
            json_object_put(out);
        sel_free(e);
    }
}

#define RUN(root, table, tmpl) run_cases(root, table, sizeof table / sizeof table[0], tmpl)

static const struct sel_case path_cases[] = {
    /* members, escapes, wildcards */
    {"request.method", "GET"},
    {"request.path", "/api/v1/pets?limit=10"},
    {"request.url_path", "/api/v1/pets"},
    {"request.host", "talker-api.example.com"},
    {"request.headers.authorization", "Basic am9objpzM2NyM3Q="},
    {"request.headers.x-api-key", "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx"},
    {"request.headers.missing", NULL},
    {"request.context_extensions.host", "talker-api"},
    {"context.request.http.method", "GET"},
    {"context.request.http.headers.:authority", "talker-api"},
    {"context.source.address.socketAddress.portValue", "54321"},
    {"source.port", "54321"},
    {"auth.identity.username", "john"},
    {"auth.identity.email_verified", "true"},
    {"auth.identity.exp", "1685557675"},
    {"auth.identity.score", "4.5"},
    {"auth.identity.nothing", NULL},
    {"auth.identity.nothing.deeper", NULL},
    {"auth.identity.username.deeper", NULL},
    {"auth.authorization.opa.allowed", "true"},
    {"auth.identity.kubernetes\\.io.namespace", "default"},
    {"auth.identity.kubernetes\\.io.serviceaccount.name", "default"},
    {"auth.identity.kubernetes.io.namespace", NULL},
    {"auth.identity.realm_*.roles.0", "offline_access"},
    {"auth.identity.user?ame", "john"},
    {"auth.identity.user\\?ame", NULL},
    {"auth.metadata.*.owner", "john"},
    {"auth.metadata.*.tags.1", "b"},
    {"auth.metadata.resource-data", "{\"owner\":\"john\",\"tags\":[\"a\",\"b\"]}"},
    /* arrays, counts, per-element paths */
    {"auth.identity.realm_access.roles", "[\"offline_access\",\"admin\",\"user\"]"},
    {"auth.identity.realm_access.roles.1", "admin"},
    {"auth.identity.realm_access.roles.9", NULL},
    {"auth.identity.realm_access.roles.#", "3"},
    {"auth.identity.groups.1", "{\"name\":\"ops\",\"id\":2}"},
    {"auth.identity.groups.#.name", "[\"dev\",\"ops\",\"admins\"]"},
    {"auth.identity.groups.#.name|1", "ops"},
    {"auth.identity.groups.#.name.1", "[]"},
    {"auth.identity.groups.#.missing", "[]"},
    {"auth.identity.groups|#", "3"},
    {"auth.identity.groups.#.name.@case:upper", "[\"DEV\",\"OPS\",\"ADMINS\"]"},
    {"request.headers.#", NULL},
    /* queries */
    {"auth.identity.groups.#(name==\"ops\").id", "2"},
    {"auth.identity.groups.#(name==\"dev\")|id", "1"},
    {"auth.identity.groups.#(id>1)#.name", "[\"ops\",\"admins\"]"},
    {"auth.identity.groups.#(id>=2)#|#", "2"},
    {"auth.identity.groups.#(id>=2)#.id|@reverse", "[3,2]"},
    {"auth.identity.groups.#(name%\"ad*\").id", "3"},
    {"auth.identity.groups.#(name!%\"*s\").name", "dev"},
    {"auth.identity.groups.#(name==\"nope\").id", NULL},
    {"auth.identity.groups.#(name==\"nope\")#", "[]"},
    {"auth.identity.realm_access.roles.#(==\"admin\")", "admin"},
    {"auth.identity.realm_access.roles.#(!=\"admin\")#", "[\"offline_access\",\"user\"]"},
    {"auth.identity.groups.#(id<2)#.name", "[\"dev\"]"},
    /* Authorino's modifiers */
    {"request.headers.authorization.@extract", "Basic"},
    {"request.headers.authorization.@extract:{\"pos\":5}", NULL},
    {"request.headers.authorization.@extract:{\"pos\":1}|@base64:decode|@extract:{\"sep\":\":\"}",
     "john"},
    {"request.headers.authorization.@extract:{\"pos\":1}|@base64:decode|"
     "@extract:{\"sep\":\":\",\"pos\":1}", "s3cr3t"},
    {"request.headers.authorization|@extract:{\"pos\":1}|@base64:decode", "john:s3cr3t"},
    {"request.headers.x-forwarded-for.@extract:{\"sep\":\", \",\"pos\":1}", "192.168.1.1"},
    {"request.headers.cookie.@extract:{\"sep\":\"; \",\"pos\":1}|@extract:{\"sep\":\"=\","
     "\"pos\":1}", "dark"},
    {"auth.identity.name.@case:upper", "JOHN DOE"},
    {"auth.identity.name.@case:lower", "john doe"},
    {"auth.identity.city.@case:upper", "M\xc3\x9cNCHEN"},
    {"auth.identity.name.@replace:{\"old\":\" \",\"new\":\"_\"}", "John_Doe"},
    {"auth.identity.name.@replace:{\"old\":\"Peter\",\"new\":\"Jane\"}", "John Doe"},
    {"auth.identity.username.@base64:encode", "am9obg=="},
    {"auth.identity.username.@base64:encode|@base64:decode", "john"},
    {"auth.identity.raw.@strip", "bob"},
    {"request.headers.x-b64.@base64:decode|@fromstr.a", "b"},
    {"context.request.http.headers.authorization.@extract:{\"pos\":1}|"
     "@extract:{\"sep\":\".\",\"pos\":1}|@base64:decode|@fromstr|exp", "1685557675"},
    {"context.request.http.headers.authorization.@extract:{\"pos\":1}|"
     "@extract:{\"sep\":\".\",\"pos\":1}|@base64:decode|@fromstr|name", "J\xc3\xb6hn ~?>"},
    /* gjson built-ins */
    {"auth.identity.realm_access.roles.@reverse.0", "user"},
    {"auth.identity.realm_access.@keys", "[\"roles\"]"},
    {"auth.identity.groups.0.@values", "[\"dev\",1]"},
    {"auth.identity.exp.@tostr", "1685557675"},
    {"auth.identity.nothing.@tostr", "null"},
    {"auth.identity.username.@tostr", "\"john\""},
    {"auth.identity.username.@tostr|@fromstr", "john"},
    {"auth.identity.missing.@tostr", ""},
    {"auth.nope.deeper.@tostr", NULL},
    {"auth.metadata.resource-data.@values|@flatten", "[\"john\",\"a\",\"b\"]"},
    {"auth.identity.groups|@join", "{\"name\":\"admins\",\"id\":3}"},
    {"auth.identity.groups.@this.0.name", "dev"},
    {"@this.request.method", "GET"},
    {"request.headers.@keys|#", "6"},
    {"auth.identity.username.@fromstr", NULL},
    {"auth.identity.missing.@keys", "[]"},
    {"auth.identity.username.@values", "[\"john\"]"},
    {"auth.identity.groups|@join:{\"preserve\":true}", "{\"name\":\"dev\",\"id\":1}"},
    {"auth.identity.groups.#.@values|@flatten", "[\"dev\",1,\"ops\",2,\"admins\",3]"},
    {"auth.identity.username.@case:upper|@case:lower", "john"},
    {"auth.identity.email_verified.@case:upper", NULL},
    {"auth.identity.email_verified.@case:lower", "true"},
};

static void test_paths(void)
{
    struct json_object *root = load(AUTHZ_JSON);
    RUN(root, path_cases, 0);
    json_object_put(root);
}

static const struct sel_case template_cases[] = {
    {"Bearer {auth.identity.token}", "Bearer tok-123"},
    {"{request.method} {request.path}", "GET /api/v1/pets?limit=10"},
    {"{auth.identity.username}", "john"},
    {"{auth.identity.missing}x", "x"},
    {"{nope}", ""},
    {"user={auth.identity.username}, groups={auth.identity.groups.#.name}",
     "user=john, groups=[\"dev\",\"ops\",\"admins\"]"},
    {"{auth.identity.email_verified} (bool)", "true (bool)"},
    {"Domain: {auth.identity.email.@extract:{\"sep\":\"@\",\"pos\":1}}", "Domain: example.com"},
    {"{request.headers.authorization.@extract:{\"pos\":1}|@base64:decode}", "john:s3cr3t"},
    {"ns: {auth.identity.kubernetes\\.io.namespace}", "ns: default"},
    {"This is NOT a \\{variable placeholder\\}, {auth.identity.username}!",
     "This is NOT a {variable placeholder}, john!"},
    {"\\{\"user\":\"{auth.identity.username.@case:upper}\"\\}", "{\"user\":\"JOHN\"}"},
    {"\\\\{auth.identity.username} \\\\o/", "\\john \\o/"},
    {"\\\\\\{auth.identity.username\\}", "\\{auth.identity.username}"},
    {"a\\bc{}", "abc"},
};

static void test_templates(void)
{
    struct json_object *root = load(AUTHZ_JSON);
    RUN(root, template_cases, 1);

    /* Output longer than any inline buffer. */
    char text[400] = "", want[600] = "";
    for (int i = 0; i < 12; i++) {
        strcat(text, "<{request.headers.x-api-key}>");
        strcat(want, "<ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx>");
    }
    const struct sel_case long_case[] = {{text, want}};
    RUN(root, long_case, 1);
    json_object_put(root);
}

/* Authorino's TestIsTemplate cases, plus the brace-in-modifier rule at its edges. */
static void test_template_detection(void)
{
    static const struct {
        const char *text;
        int tmpl;
    } t[] = {
        {"Just a static string", 0},
        {"Hello, {auth.identity.username}!", 1},
        {"http://talker-api.authorino.svc.cluster.local:3000/metadata?encoding=text/plain&"
         "original_path={context.request.http.path}", 1},
        {"auth.identity.metadata.annotations.authorino\\.kuadrant\\.io/username", 0},
        {"auth.identity.metadata.annotations.authorino\\.kuadrant\\.io/username|@case:lower", 0},
        {"auth.identity.metadata.name.@replace:{\"old\":\"john\",\"new\":\"John\"}", 0},
        {"request.headers.authorization.@extract:{\"pos\":1}", 0},
        {"request.headers.authorization.@extract:{\"pos\":1}|@base64:decode|"
         "@extract:{\"sep\":\":\"}", 0},
        {"{auth.identity.metadata.creationTimestamp}", 1},
        {"Hello, {auth.identity.metadata.annotations.authorino\\.kuadrant\\.io/name|"
         "@extract:{\"pos\":1}}!", 1},
        {"Email username: {auth.identity.email.@extract:{\"sep\":\"@\",\"pos\":0}} | Email "
         "domain: {auth.identity.email.@extract:{\"sep\":\"@\",\"pos\":1}}", 1},
        {"The JSON path is \\{auth.identity.metadata.annotations.name.@replace:\\{\"old\":"
         "\"john\",\"new\":\"John\"\\}\\}!", 1},
        {"http://echo-api.3scale.net/login?redirect_to=https://{context.request.http.host}"
         "{context.request.http.path}", 1},
        {"@extract:{\"pos\":1}", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char err[256];
        sel_expr *e = sel_compile(t[i].text, err, sizeof err);
        check(e != NULL, "compile `%s`: %s", t[i].text, e ? "" : err);
        if (e)
            check(sel_is_template(e) == t[i].tmpl, "`%s`: template=%d, want %d", t[i].text,
                  sel_is_template(e), t[i].tmpl);
        sel_free(e);
    }
}

static void test_compile_errors(void)
{
    static const struct {
        const char *text;
        const char *msg;
    } t[] = {
        {"", "empty selector"},
        {"x.@foo", "unknown modifier '@foo' at offset 2"},
        {"@nope", "unknown modifier '@nope' at offset 0"},
        {"a.@extract:{\"pos\":1", "unterminated modifier argument at offset 11"},
        {"a.@replace:{\"old\":\"x}", "unterminated modifier argument at offset 11"},
        {"a.@extract:{\"pos\":}", "@extract expects a JSON object argument"},
        {"a.@extract:nope", "@extract expects a JSON object argument"},
        {"a.@replace:[1", "unterminated modifier argument at offset 11"},
        {"a.@case:title", "@case expects 'upper' or 'lower' at offset 8"},
        {"a.@case:lower.@reverse", "its argument runs to the next '|'"},
        {"a.@case", "@case expects 'upper' or 'lower'"},
        {"a.@base64:zip", "@base64 expects 'encode' or 'decode' at offset 10"},
        {"a.@extract:{\"pos\":1}x", "unexpected character 'x' at offset 20"},
        {"a.@pretty", "modifier '@pretty' is not supported at offset 2"},
        {"a.@", "missing modifier name at offset 2"},
        {"a..b", "empty path component at offset 2"},
        {"a.", "empty path component at offset 2"},
        {".a", "empty path component at offset 0"},
        {"a|", "empty path component at offset 2"},
        {"a.#.", "empty path component at offset 4"},
        {"a.#(b==1", "unterminated query at offset 2"},
        {"a.#(b!x)", "invalid query operator at offset 5"},
        {"a.#(b==1)x", "unexpected character 'x' at offset 9"},
        {"[a,b]", "multipaths are not supported at offset 0"},
        {"a.[b,c]", "multipaths are not supported at offset 2"},
        {"!true", "literals are not supported at offset 0"},
        {"..a", "JSON Lines paths ('..') are not supported"},
        {"username: {auth.identity.username", "unterminated placeholder at offset 10"},
        {"Hello {a.@nope}", "unknown modifier '@nope' at offset 9"},
        {"Hello {a..b}", "empty path component at offset 9"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char err[256] = "";
        sel_expr *e = sel_compile(t[i].text, err, sizeof err);
        check(e == NULL, "`%s` should not compile", t[i].text);
        check(strstr(err, t[i].msg) != NULL, "`%s`: message [%s] lacks [%s]", t[i].text, err,
              t[i].msg);
        check(strchr(err, '\n') == NULL, "`%s`: message is one line", t[i].text);
        sel_free(e);
    }
    char small[8];
    CU_ASSERT_PTR_NULL(sel_compile("x.@foo", small, sizeof small));
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
    CU_ASSERT_PTR_NULL(sel_compile("x.@foo", NULL, 0));
    CU_ASSERT_PTR_NULL(sel_compile(NULL, small, sizeof small));
}

static struct json_object *resolve_text(const char *sel, struct json_object *root, int *rc)
{
    char err[256];
    sel_expr *e = sel_compile(sel, err, sizeof err);
    check(e != NULL, "compile `%s`: %s", sel, e ? "" : err);
    struct json_object *out = NULL;
    *rc = e ? sel_resolve(e, root, &out) : -2;
    sel_free(e);
    return out;
}

/* Values from the document come back as new references to the same objects; computed
 * values are fresh objects of the right type. */
static void test_references_and_types(void)
{
    struct json_object *root = load(AUTHZ_JSON);
    struct json_object *identity, *groups, *out;
    json_object_object_get_ex(json_object_object_get(root, "auth"), "identity", &identity);
    json_object_object_get_ex(identity, "groups", &groups);
    int rc;

    out = resolve_text("auth.identity.groups", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_EQUAL(out, groups);
    json_object_put(out);
    CU_ASSERT_EQUAL(json_object_array_length(groups), 3);

    out = resolve_text("auth.identity.groups.@reverse", root, &rc);
    CU_ASSERT(out != groups && json_object_is_type(out, json_type_array));
    CU_ASSERT_PTR_EQUAL(json_object_array_get_idx(out, 2), json_object_array_get_idx(groups, 0));
    json_object_put(out);

    out = resolve_text("auth.identity.groups.#", root, &rc);
    CU_ASSERT(json_object_is_type(out, json_type_int) && json_object_get_int(out) == 3);
    json_object_put(out);

    out = resolve_text("auth.identity.groups|@tostr", root, &rc);
    CU_ASSERT(json_object_is_type(out, json_type_string));
    json_object_put(out);

    out = resolve_text("auth.identity.groups|@tostr|@fromstr", root, &rc);
    CU_ASSERT(json_object_is_type(out, json_type_array) && json_object_array_length(out) == 3);
    json_object_put(out);

    out = resolve_text("auth.identity.exp", root, &rc);
    CU_ASSERT(json_object_is_type(out, json_type_int));
    json_object_put(out);

    /* JSON null and a missing member both come back as NULL with success. */
    out = resolve_text("auth.identity.nothing", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(out);
    out = resolve_text("no.such.path", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(out);

    /* A null element stays in a per-element result; a missing one is skipped. */
    struct json_object *doc = load("{\"a\":[{\"x\":1},{\"x\":null},{\"y\":2}]}");
    out = resolve_text("a.#.x", doc, &rc);
    CU_ASSERT(json_object_array_length(out) == 2 && json_object_array_get_idx(out, 1) == NULL);
    json_object_put(out);
    json_object_put(doc);

    /* A compiled expression is reusable across documents. */
    char err[128];
    sel_expr *e = sel_compile("request.method", err, sizeof err);
    struct json_object *other = load("{\"request\":{\"method\":\"POST\"}}");
    CU_ASSERT_EQUAL(sel_resolve(e, other, &out), 0);
    CU_ASSERT_STRING_EQUAL(sel_text(out, NULL), "POST");
    json_object_put(out);
    CU_ASSERT_EQUAL(sel_resolve(e, root, &out), 0);
    CU_ASSERT_STRING_EQUAL(sel_text(out, NULL), "GET");
    json_object_put(out);
    CU_ASSERT_STRING_EQUAL(sel_source(e), "request.method");
    sel_free(e);
    json_object_put(other);
    json_object_put(root);
}

static void test_text(void)
{
    size_t n = 99;
    CU_ASSERT_STRING_EQUAL(sel_text(NULL, &n), "");
    CU_ASSERT_EQUAL(n, 0);
    struct json_object *s = json_object_new_string_len("a\0b/c", 5);
    CU_ASSERT(memcmp(sel_text(s, &n), "a\0b/c", 5) == 0 && n == 5);
    json_object_put(s);
    struct json_object *doc = load("{\"b\":false,\"i\":-7,\"d\":1.25,\"u\":\"/x\",\"o\":{\"p\":"
                                   "[1,\"/\",null]}}");
    static const struct {
        const char *key, *want;
    } t[] = {{"b", "false"}, {"i", "-7"}, {"d", "1.25"}, {"u", "/x"},
             {"o", "{\"p\":[1,\"/\",null]}"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check(!strcmp(sel_text(json_object_object_get(doc, t[i].key), NULL), t[i].want),
              "sel_text of %s", t[i].key);
    json_object_put(doc);
}

/* @base64:decode: padded, unpadded, URL-safe, and the partial result Go keeps. */
static void test_base64(void)
{
    struct json_object *root =
        load("{\"pad\":\"am9obg==\",\"raw\":\"am9obg\",\"url\":\"Pz8-\",\"bad\":\"am9obg$$\","
             "\"nl\":\"am9v\\nYmc=\",\"empty\":\"\",\"bin\":\"AP8=\"}");
    static const struct sel_case t[] = {
        {"pad.@base64:decode", "john"},
        {"raw.@base64:decode", "john"},
        {"url.@base64:decode", "?\?>"},
        {"bad.@base64:decode", "joh"},
        {"nl.@base64:decode", "joobg"},
        {"empty.@base64:decode", ""},
        {"missing.@base64:encode", ""},
        {"url.@base64:decode|@base64:encode", "Pz8+"},
    };
    RUN(root, t, 0);
    struct json_object *out;
    int rc;
    out = resolve_text("bin.@base64:decode", root, &rc);
    size_t n;
    const char *p = sel_text(out, &n);
    CU_ASSERT(n == 2 && (unsigned char)p[0] == 0 && (unsigned char)p[1] == 0xff);
    json_object_put(out);
    json_object_put(root);
}

/* sel_compile_path never treats braces as placeholders (Authorino's condition selectors). */
static void test_compile_path(void)
{
    char err[256] = "";
    sel_expr *e = sel_compile_path("Bearer {auth.identity.token}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_EQUAL(sel_is_template(e), 0);
    struct json_object *root = load(AUTHZ_JSON), *out = NULL;
    CU_ASSERT_EQUAL(sel_resolve(e, root, &out), 0);
    CU_ASSERT_PTR_NULL(out);
    sel_free(e);
    CU_ASSERT_PTR_NULL(sel_compile_path("{request.method}", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "multipaths are not supported"));
    e = sel_compile_path("request.method", err, sizeof err);
    CU_ASSERT_EQUAL(sel_resolve(e, root, &out), 0);
    CU_ASSERT_STRING_EQUAL(sel_text(out, NULL), "GET");
    json_object_put(out);
    sel_free(e);
    json_object_put(root);
}

/* Hostile inputs: deep documents, deep nesting, long texts. Errors, never crashes. */
static void test_limits(void)
{
    struct json_object *deep = json_object_new_string("x");
    for (int i = 0; i < 200; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "k", deep);
        deep = o;
    }
    char err[256];
    sel_expr *e = sel_compile("@case:upper", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    struct json_object *out = (struct json_object *)1;
    CU_ASSERT_EQUAL(sel_resolve(e, deep, &out), -1);
    CU_ASSERT_PTR_NULL(out);
    sel_free(e);
    e = sel_compile("k.k.k.k.k.@strip.k.k", err, sizeof err);
    CU_ASSERT_EQUAL(sel_resolve(e, deep, &out), -1);
    sel_free(e);
    e = sel_compile("k.k.k", err, sizeof err);
    CU_ASSERT_EQUAL(sel_resolve(e, deep, &out), 0);
    CU_ASSERT(json_object_is_type(out, json_type_object));
    json_object_put(out);
    sel_free(e);
    json_object_put(deep);

    char text[400] = "a";
    for (int i = 0; i < 40; i++)
        strcat(text, ".#.a");
    CU_ASSERT_PTR_NULL(sel_compile(text, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "nested too deeply"));

    char wild[200] = "a*";
    for (int i = 0; i < 40; i++)
        strcat(wild, ".*");
    CU_ASSERT_PTR_NULL(sel_compile(wild, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many wildcard keys"));

    size_t big = 70000;
    char *longtext = malloc(big + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(longtext);
    memset(longtext, 'a', big);
    longtext[big] = '\0';
    CU_ASSERT_PTR_NULL(sel_compile(longtext, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than"));
    free(longtext);
}

/* The wildcard backtracks to the first member for which the rest resolves, and `?`/`*`
 * count characters, not bytes. */
static void test_wildcards(void)
{
    struct json_object *root =
        load("{\"m\":{\"a1\":{\"x\":1},\"a2\":{\"y\":2},\"b\":{\"y\":3}},"
             "\"u\":{\"\\u00e9t\\u00e9\":\"summer\",\"*lit\":\"star\"}}");
    static const struct sel_case t[] = {
        {"m.a*.y", "2"},
        {"m.*.y", "2"},
        {"m.?.y", "3"},
        {"m.a?", "{\"x\":1}"},
        {"m.*.z", NULL},
        {"u.?t?", "summer"},
        {"u.\\*lit", "star"},
        {"u.\\**", "star"},
    };
    RUN(root, t, 0);
    json_object_put(root);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"paths over the Authorization JSON", test_paths},
        {"templates", test_templates},
        {"template detection", test_template_detection},
        {"compile errors", test_compile_errors},
        {"references and types", test_references_and_types},
        {"sel_text", test_text},
        {"base64 decoding", test_base64},
        {"sel_compile_path", test_compile_path},
        {"limits", test_limits},
        {"wildcards", test_wildcards},
        {NULL, NULL},
    };
    return cu_add_suite("selector", cases);
}
