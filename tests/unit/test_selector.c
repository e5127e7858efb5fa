/* Selector suite: gjson paths, Authorino's modifiers and templates over a realistic
 * Authorization JSON as a request document. Expected values follow gjson's SYNTAX.md and
 * Authorino's pkg/json tests; each table row names its selector in the failure message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cu_main.h"
#include "selector/selector.h"
#include "util/arena.h"

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

/* Documents live in this arena, sealed as a request's are; results in R. */
static struct arena D, R;

static const doc *load(const char *text)
{
    const doc *d = NULL;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(doc_parse(&D, text, strlen(text), &d, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    doc_seal((doc *)d);
    return d;
}

/* The same document as configuration values come (read-only copies of json-c trees). */
static const doc *load_jsonc(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    int err = 0;
    const doc *d = doc_from_jsonc(&D, o, NULL, &err);
    json_object_put(o);
    CU_ASSERT_FATAL(d != NULL && !err);
    return d;
}

static int setup(void)
{
    arena_init(&D, 0);
    arena_init(&R, 0);
    return 0;
}

static int teardown(void)
{
    arena_free(&D);
    arena_free(&R);
    return 0;
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

static void run_cases(const doc *root, const struct sel_case *cases, size_t n,
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
        const doc *out = (const doc *)1;
        int r = sel_resolve(e, root, &R, &out);
        check(r == 0, "resolve `%s` returned %d", c->sel, r);
        size_t len = 0;
        const char *got = sel_text(r == 0 ? out : NULL, &R, &len);
        check(got != NULL, "text of `%s`", c->sel);
        if (!got)
            got = "";
        if (!c->want)
            check(r == 0 && out == NULL, "`%s`: want missing, got [%s]", c->sel, got);
        else
            check(r == 0 && out != NULL && len == strlen(c->want) && !memcmp(got, c->want, len),
                  "`%s`: want [%s], got %s[%.*s]", c->sel, c->want, out ? "" : "missing ",
                  (int)len, got);
        sel_free(e);
        arena_reset(&R);
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
    const doc *root = load(AUTHZ_JSON);
    RUN(root, path_cases, 0);
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
    const doc *root = load(AUTHZ_JSON);
    RUN(root, template_cases, 1);

    /* Output longer than any inline buffer. */
    char text[400] = "", want[600] = "";
    for (int i = 0; i < 12; i++) {
        strcat(text, "<{request.headers.x-api-key}>");
        strcat(want, "<ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx>");
    }
    const struct sel_case long_case[] = {{text, want}};
    RUN(root, long_case, 1);
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

static const doc *resolve_text(const char *sel, const doc *root, int *rc)
{
    char err[256];
    sel_expr *e = sel_compile(sel, err, sizeof err);
    check(e != NULL, "compile `%s`: %s", sel, e ? "" : err);
    const doc *out = NULL;
    *rc = e ? sel_resolve(e, root, &R, &out) : -2;
    sel_free(e);
    return out;
}

/* The whole document as JSON text, in a. */
static const char *doc_to_json_text(struct arena *a, const doc *v, size_t *n)
{
    const char *s = sel_text(v, a, n);
    return s ? s : "(no memory)";
}

static const char *text_of(const doc *v)
{
    const char *s = sel_text(v, &R, NULL);
    return s ? s : "(no memory)";
}

/* Values from the document come back as the document's own nodes; computed values are new
 * nodes of the right type, pointing at the document's values where they hold them. */
static void test_references_and_types(void)
{
    const doc *root = load(AUTHZ_JSON);
    const doc *identity = doc_getz(doc_getz(root, "auth"), "identity");
    const doc *groups = doc_getz(identity, "groups"), *out;
    int rc;

    out = resolve_text("auth.identity.groups", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_EQUAL(out, groups);
    CU_ASSERT_EQUAL(doc_len(groups), 3);
    out = resolve_text("auth.identity.groups.1", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_at(groups, 1));
    out = resolve_text("auth.identity.realm_*.roles", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_getz(doc_getz(identity, "realm_access"), "roles"));
    out = resolve_text("auth.identity.groups.#(name==\"ops\")", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_at(groups, 1));
    out = resolve_text("auth.identity.groups|@this", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, groups);
    out = resolve_text("auth.identity.groups|@values", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, groups);
    out = resolve_text("auth.identity.exp.@case:upper", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_getz(identity, "exp"));
    out = resolve_text("auth.identity.name.@replace", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_getz(identity, "name"));

    out = resolve_text("auth.identity.groups.@reverse", root, &rc);
    CU_ASSERT(out != groups && doc_type_of(out) == DOC_ARRAY);
    CU_ASSERT_PTR_EQUAL(doc_at(out, 2), doc_at(groups, 0));
    CU_ASSERT(out && (out->flags & DOC_MUTABLE));
    out = resolve_text("auth.identity.groups.#.name", root, &rc);
    CU_ASSERT(doc_len(out) == 3 && doc_at(out, 0) == doc_getz(doc_at(groups, 0), "name"));
    out = resolve_text("auth.identity.groups.0.@values", root, &rc);
    CU_ASSERT(doc_len(out) == 2 && doc_at(out, 1) == doc_getz(doc_at(groups, 0), "id"));
    out = resolve_text("auth.identity.groups|@join", root, &rc);
    CU_ASSERT_PTR_EQUAL(doc_getz(out, "name"), doc_getz(doc_at(groups, 2), "name"));
    out = resolve_text("auth.identity.realm_access.@reverse", root, &rc);
    CU_ASSERT_PTR_EQUAL(doc_getz(out, "roles"),
                        doc_getz(doc_getz(identity, "realm_access"), "roles"));

    out = resolve_text("auth.identity.groups.#", root, &rc);
    CU_ASSERT(doc_type_of(out) == DOC_INT && doc_int(out) == 3);

    out = resolve_text("auth.identity.groups|@tostr", root, &rc);
    CU_ASSERT(doc_type_of(out) == DOC_STRING);

    out = resolve_text("auth.identity.groups|@tostr|@fromstr", root, &rc);
    CU_ASSERT(doc_type_of(out) == DOC_ARRAY && doc_len(out) == 3);
    CU_ASSERT(doc_equal(out, groups));

    out = resolve_text("auth.identity.exp", root, &rc);
    CU_ASSERT(doc_type_of(out) == DOC_INT);

    /* JSON null and a missing member both come back as NULL with success. */
    out = resolve_text("auth.identity.nothing", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(out);
    out = resolve_text("no.such.path", root, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(out);

    /* A null element stays in a per-element result; a missing one is skipped. */
    const doc *d = load("{\"a\":[{\"x\":1},{\"x\":null},{\"y\":2}]}");
    out = resolve_text("a.#.x", d, &rc);
    CU_ASSERT(doc_len(out) == 2 && doc_at(out, 1) == NULL);

    /* A compiled expression is reusable across documents. */
    char err[128];
    sel_expr *e = sel_compile("request.method", err, sizeof err);
    const doc *other = load("{\"request\":{\"method\":\"POST\"}}");
    CU_ASSERT_EQUAL(sel_resolve(e, other, &R, &out), 0);
    CU_ASSERT_STRING_EQUAL(text_of(out), "POST");
    CU_ASSERT_EQUAL(sel_resolve(e, root, &R, &out), 0);
    CU_ASSERT_STRING_EQUAL(text_of(out), "GET");
    CU_ASSERT_STRING_EQUAL(sel_source(e), "request.method");
    sel_free(e);
    arena_reset(&R);
}

/* The static path resolves without touching the arena. */
static void test_static_paths(void)
{
    const doc *root = load(AUTHZ_JSON);
    static const char *const paths[] = {
        "request.headers.authorization", "auth.identity.realm_access.roles.1",
        "auth.identity.groups.2.name", "auth.identity.nothing.deeper", "no.such",
        "auth.identity.groups.9", "auth.identity.groups.x", "request.method|x",
    };
    struct arena none;
    arena_init(&none, 1); /* any allocation fails */
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char err[128];
        sel_expr *e = sel_compile(paths[i], err, sizeof err);
        const doc *out = (const doc *)1;
        check(sel_resolve(e, root, &none, &out) == 0, "static `%s`", paths[i]);
        check(none.total == 0, "static `%s` allocated", paths[i]);
        sel_free(e);
    }
    arena_free(&none);
}

static void test_text(void)
{
    size_t n = 99;
    CU_ASSERT_STRING_EQUAL(sel_text(NULL, &R, &n), "");
    CU_ASSERT_EQUAL(n, 0);
    const doc *s = doc_new_str(&R, "a\0b/c", 5);
    CU_ASSERT(memcmp(sel_text(s, &R, &n), "a\0b/c", 5) == 0 && n == 5);
    CU_ASSERT_PTR_EQUAL(sel_text(s, &R, NULL), doc_str(s, NULL));
    const doc *d = load("{\"b\":false,\"i\":-7,\"d\":1.25,\"u\":\"/x\",\"o\":{\"p\":"
                        "[1,\"/\",null]}}");
    static const struct {
        const char *key, *want;
    } t[] = {{"b", "false"}, {"i", "-7"}, {"d", "1.25"}, {"u", "/x"},
             {"o", "{\"p\":[1,\"/\",null]}"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check(!strcmp(text_of(doc_getz(d, t[i].key)), t[i].want), "sel_text of %s",
              t[i].key);
    /* No room for the text: NULL, not a wrong text. */
    struct arena tiny;
    arena_init(&tiny, 8);
    CU_ASSERT_PTR_NULL(sel_text(doc_getz(d, "o"), &tiny, &n));
    arena_free(&tiny);
    arena_reset(&R);
}

/* @base64:decode: padded, unpadded, URL-safe, and the partial result Go keeps. */
static void test_base64(void)
{
    const doc *root =
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
    const doc *out;
    int rc;
    out = resolve_text("bin.@base64:decode", root, &rc);
    size_t n = 0;
    const char *p = sel_text(out, &R, &n);
    CU_ASSERT(p && n == 2 && (unsigned char)p[0] == 0 && (unsigned char)p[1] == 0xff);
    arena_reset(&R);
}

/* @fromstr takes strict JSON only, as gjson's Valid does. */
static void test_fromstr(void)
{
    char deep[200] = "", deep_doc[400];
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    snprintf(deep_doc, sizeof deep_doc,
             "{\"nan\":\"NaN\",\"dot\":\"1.\",\"lead\":\"-01\",\"ok\":\"[1,{\\\"a\\\":2}]\","
             "\"sp\":\" true \",\"two\":\"1 2\",\"bad\":\"\\\"\\\\u00\\\"\",\"deep\":\"%s\","
             "\"big\":\"123456789012345678901234567890\"}", deep);
    const doc *root = load(deep_doc);
    static const struct sel_case t[] = {
        {"nan.@fromstr", NULL},
        {"dot.@fromstr", NULL},
        {"lead.@fromstr", NULL},
        {"two.@fromstr", NULL},
        {"bad.@fromstr", NULL},
        {"ok.@fromstr|1.a", "2"},
        {"sp.@fromstr", "true"},
        {"deep.@fromstr|#", "1"},
        {"big.@fromstr", "123456789012345678901234567890"},
    };
    RUN(root, t, 0);
    arena_reset(&R);
}

/* sel_compile_path never treats braces as placeholders (Authorino's condition selectors). */
static void test_compile_path(void)
{
    char err[256] = "";
    sel_expr *e = sel_compile_path("Bearer {auth.identity.token}", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_EQUAL(sel_is_template(e), 0);
    const doc *root = load(AUTHZ_JSON), *out = NULL;
    CU_ASSERT_EQUAL(sel_resolve(e, root, &R, &out), 0);
    CU_ASSERT_PTR_NULL(out);
    sel_free(e);
    CU_ASSERT_PTR_NULL(sel_compile_path("{request.method}", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "multipaths are not supported"));
    e = sel_compile_path("request.method", err, sizeof err);
    CU_ASSERT_EQUAL(sel_resolve(e, root, &R, &out), 0);
    CU_ASSERT_STRING_EQUAL(text_of(out), "GET");
    sel_free(e);
    arena_reset(&R);
}

/* Hostile inputs: deep documents, deep nesting, long texts. Errors, never crashes. */
static void test_limits(void)
{
    const doc *deep = doc_new_str(&D, "x", 1);
    for (int i = 0; i < 200; i++) {
        doc *o = doc_new_object(&D, 1);
        CU_ASSERT_FATAL(o && doc_set(&D, o, "k", 1, deep) == 0);
        deep = o;
    }
    doc_seal((doc *)deep);
    char err[256];
    static const char *const deep_fail[] = {
        "@case:upper", "k.k.k.k.k.@strip.k.k", "@tostr", "@reverse|@case:lower",
        "k.@case:lower", "{k.@strip}",
    };
    for (size_t i = 0; i < sizeof deep_fail / sizeof deep_fail[0]; i++) {
        sel_expr *e = sel_compile(deep_fail[i], err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        const doc *out = (const doc *)1;
        check(sel_resolve(e, deep, &R, &out) == -1 && out == NULL, "deep `%s` fails",
              deep_fail[i]);
        sel_free(e);
    }
    sel_expr *e = sel_compile("k.k.k", err, sizeof err);
    const doc *out;
    CU_ASSERT_EQUAL(sel_resolve(e, deep, &R, &out), 0);
    CU_ASSERT(doc_type_of(out) == DOC_OBJECT);
    sel_free(e);
    arena_reset(&R);

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
    const doc *root =
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
        {"m.a1*", "{\"x\":1}"},
        {"m.a1x*", NULL},
        {"m.b?", NULL},
        {"m.bb*", NULL},
        {"u.\xc3\xa9t*", "summer"},
        {"u.\xc3*", NULL},
    };
    RUN(root, t, 0);
}


/* Every modifier, on values of the document: read-only (sealed, or from doc_from_jsonc) or
 * still mutable, the document reads the same afterwards and results do not depend on it. */
static const char *const every_modifier[] = {
    "auth.identity|@this", "auth.identity.groups|@reverse", "auth.identity|@reverse",
    "auth.identity|@keys", "auth.identity.groups|@keys", "auth.identity|@values",
    "auth.identity|@tostr", "auth.identity|@tostr|@fromstr", "auth.identity.groups|@flatten",
    "auth.identity.groups.#.@values|@flatten:{\"deep\":true}", "auth.identity.groups|@join",
    "auth.identity.groups|@join:{\"preserve\":true}", "auth.identity|@valid", "auth|@ugly",
    "auth.identity|@extract:{\"sep\":\",\",\"pos\":1}", "auth.identity.name.@extract",
    "auth.identity|@replace:{\"old\":\"o\",\"new\":\"0\"}", "auth.identity|@case:upper",
    "auth.identity|@case:lower", "auth.identity|@base64:encode", "auth|@base64:decode",
    "auth.identity|@strip", "auth.identity.groups.#(id>1)#|@reverse|@join|@keys",
    "Hi {auth.identity|@case:upper} {auth.identity.groups.#.name|@reverse}",
    "auth.identity.realm_access.@case:upper|ROLES.1",
};

static void resolve_all(const doc *root, const char **texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char err[256];
        sel_expr *e = sel_compile(every_modifier[i], err, sizeof err);
        check(e != NULL, "compile `%s`: %s", every_modifier[i], e ? "" : err);
        const doc *out = NULL;
        int r = e ? sel_resolve(e, root, &R, &out) : -1;
        check(r == 0, "`%s` resolves", every_modifier[i]);
        texts[i] = r == 0 ? text_of(out) : "";
        sel_free(e);
    }
}

static void test_read_only_roots(void)
{
    enum { N = sizeof every_modifier / sizeof every_modifier[0] };
    const doc *ro = load(AUTHZ_JSON), *fromj = load_jsonc(AUTHZ_JSON);
    CU_ASSERT_FALSE(ro->flags & DOC_MUTABLE);
    CU_ASSERT_FALSE(fromj->flags & DOC_MUTABLE);
    int err = 0;
    doc *mut = doc_copy(&D, ro, &err);
    CU_ASSERT_FATAL(mut && !err && (mut->flags & DOC_MUTABLE));
    doc *sealed = doc_copy(&D, ro, &err);
    CU_ASSERT_FATAL(sealed && !err);
    doc_seal(sealed);
    CU_ASSERT_FALSE(doc_getz(doc_getz(sealed, "auth"), "identity")->flags & DOC_MUTABLE);
    struct arena keep;
    arena_init(&keep, 0);
    size_t n;
    const char *before = doc_to_json_text(&keep, ro, &n);

    const char *a[N], *b[N], *c[N], *d[N];
    resolve_all(ro, a, N);
    resolve_all(mut, b, N);
    resolve_all(sealed, c, N);
    resolve_all(fromj, d, N);
    for (size_t i = 0; i < N; i++)
        check(!strcmp(a[i], b[i]) && !strcmp(a[i], c[i]) && !strcmp(a[i], d[i]),
              "`%s` same on every root: [%s] [%s] [%s] [%s]", every_modifier[i], a[i], b[i],
              c[i], d[i]);
    CU_ASSERT_STRING_EQUAL(a[N - 2] + 0, "Hi {\"SUB\":\"1EDFD768-D05A-445F-A03A-0A834B45688E\","
                           "\"USERNAME\":\"JOHN\",\"EMAIL\":\"JOHN@EXAMPLE.COM\",\"EMAIL_VERIFIED\""
                           ":true,\"NAME\":\"JOHN DOE\",\"CITY\":\"M\xc3\x9cNCHEN\",\"TOKEN\":"
                           "\"TOK-123\",\"EXP\":1685557675,\"SCORE\":4.5,\"NOTHING\":null,"
                           "\"RAW\":\"\\n\\nBOB\\u0012\",\"REALM_ACCESS\":{\"ROLES\":["
                           "\"OFFLINE_ACCESS\",\"ADMIN\",\"USER\"]},\"GROUPS\":[{\"NAME\":\"DEV\","
                           "\"ID\":1},{\"NAME\":\"OPS\",\"ID\":2},{\"NAME\":\"ADMINS\",\"ID\":3}],"
                           "\"KUBERNETES.IO\":{\"NAMESPACE\":\"DEFAULT\",\"SERVICEACCOUNT\":"
                           "{\"NAME\":\"DEFAULT\"}}} [\"admins\",\"ops\",\"dev\"]");
    CU_ASSERT_STRING_EQUAL(a[N - 1], "ADMIN");
    /* Nothing was written into any of the three. */
    CU_ASSERT_STRING_EQUAL(doc_to_json_text(&keep, ro, &n), before);
    CU_ASSERT_STRING_EQUAL(doc_to_json_text(&keep, mut, &n), before);
    CU_ASSERT_STRING_EQUAL(doc_to_json_text(&keep, sealed, &n), before);
    CU_ASSERT_STRING_EQUAL(doc_to_json_text(&keep, fromj, &n), before);
    CU_ASSERT_FALSE(sealed->flags & DOC_MUTABLE);
    CU_ASSERT(mut->flags & DOC_MUTABLE);
    arena_free(&keep);
    arena_reset(&R);
}

/* An arena limit reached anywhere inside a modifier, a `#` result or a template: -1 and no
 * result, never a crash or a partial value; with room enough, the full answer. */
static void test_arena_limit(void)
{
    const doc *root = load(AUTHZ_JSON);
    static const char *const sels[] = {
        "request.headers.authorization.@extract:{\"pos\":1}|@base64:decode|"
        "@extract:{\"sep\":\":\"}",
        "auth.identity|@case:upper", "auth.identity|@strip|@reverse|@keys",
        "auth.identity.groups.#(id>1)#.name|@reverse", "auth.identity.groups.#.@values|@flatten",
        "auth.identity.groups|@join:{\"preserve\":true}|@tostr|@fromstr",
        "auth.identity|@replace:{\"old\":\"o\",\"new\":\"00\"}",
        "user={auth.identity.username}, groups={auth.identity.groups.#.name}",
        "auth.identity.groups.#",
    };
    for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++) {
        char err[256];
        sel_expr *e = sel_compile(sels[i], err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        struct arena big;
        arena_init(&big, 0);
        const doc *out;
        CU_ASSERT_EQUAL_FATAL(sel_resolve(e, root, &big, &out), 0);
        size_t need = big.total, wn;
        const char *want = sel_text(out, &big, &wn);
        CU_ASSERT_FATAL(want != NULL);
        int failures = 0, successes = 0;
        for (size_t limit = 8; limit <= need + 64; limit += 8) {
            struct arena a;
            arena_init(&a, limit);
            out = (const doc *)1;
            int r = sel_resolve(e, root, &a, &out);
            if (r == 0) {
                size_t n;
                const char *got = sel_text(out, &a, &n);
                if (got)
                    check(n == wn && !memcmp(got, want, n), "`%s` at limit %zu", sels[i], limit);
                successes++;
            } else {
                check(r == -1 && out == NULL, "`%s` at limit %zu: %d", sels[i], limit, r);
                failures++;
            }
            arena_free(&a);
        }
        check(failures > 0 && successes > 0, "`%s`: %d failures, %d successes", sels[i],
              failures, successes);
        arena_free(&big);
        sel_free(e);
    }
}

/* Objects past DOC_INDEX_MIN members are looked up through their index. */
static void test_large_objects(void)
{
    doc *big = doc_new_object(&D, 0), *root = doc_new_object(&D, 1);
    doc *list = doc_new_array(&D, 3);
    CU_ASSERT_FATAL(big && root && list);
    for (int i = 0; i < 2000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%d", i);
        doc *v = doc_new_object(&D, 1);
        CU_ASSERT_FATAL(v && doc_set(&D, v, "x", 1, doc_new_int(&D, i)) == 0);
        CU_ASSERT_FATAL(doc_set(&D, big, k, (size_t)kl, v) == 0);
    }
    CU_ASSERT_FATAL(big->aux.index != NULL);
    CU_ASSERT_FATAL(doc_set(&D, root, "big", 3, big) == 0);
    CU_ASSERT_FATAL(doc_append(&D, list, big) == 0 && doc_append(&D, list, big) == 0);
    CU_ASSERT_FATAL(doc_set(&D, root, "list", 4, list) == 0);
    doc_seal(root);
    static const struct sel_case t[] = {
        {"big.k1500.x", "1500"},
        {"big.k0.x", "0"},
        {"big.k1999.x", "1999"},
        {"big.k2000", NULL},
        {"big.k1?99.x", "1099"},
        {"big.*99.x", "99"},
        {"big.@keys|#", "2000"},
        {"big.@keys|1234", "k1234"},
        {"big.@values|#", "2000"},
        {"big.@reverse|k7.x", "7"},
        {"big.@reverse|@keys|0", "k1999"},
        {"big.@case:upper|K1777.X", "1777"},
        {"list|@join|k1998.x", "1998"},
        {"list|@join:{\"preserve\":true}|@keys|#", "2000"},
        {"list.#.k42.x", "[42,42]"},
        {"{big.k12.x}-{big.k1888.x}", "12-1888"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        run_cases(root, &t[i], 1, t[i].sel[0] == '{');
    int rc;
    const doc *out = resolve_text("big.k1234", root, &rc);
    CU_ASSERT_PTR_EQUAL(out, doc_getz(big, "k1234"));
    arena_reset(&R);
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
        {"static paths allocate nothing", test_static_paths},
        {"read-only roots with every modifier", test_read_only_roots},
        {"arena limit inside modifiers", test_arena_limit},
        {"large objects", test_large_objects},
        {"base64 decoding", test_base64},
        {"@fromstr reads strict JSON", test_fromstr},
        {"sel_compile_path", test_compile_path},
        {"limits", test_limits},
        {"wildcards", test_wildcards},
        {NULL, NULL},
    };
    CU_pSuite suite = CU_add_suite("selector", setup, teardown);
    if (!suite)
        return -1;
    for (const cu_case *c = cases; c->name; c++)
        if (!CU_add_test(suite, c->name, c->fn))
            return -1;
    return 0;
}
