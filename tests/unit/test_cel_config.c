/* CEL in AuthConfig conditions and values (engine/config/celcfg.c, cond.c,
 * vos.c): what a `predicate` decides on an Authorization JSON, that an
 * evaluation error or a value that is not a bool is a condition error (<0,
 * which denies), how CEL terms mix with patterns in all/any, the
 * per-evaluation limits as settings, and `expression` values as JSON. Every
 * case runs twice: through the json-c entry points and the request
 * document's (cond_eval, vos_resolve). */
#include <json-c/json.h>
#include <string.h>
#include "config/celcfg.h"
#include "config/cfgerr.h"
#include "config/cond.h"
#include "config/vos.h"
#include "cu_main.h"
#include "doc/doc.h"

static const char doc_text[] =
    "{\"request\":{\"method\":\"GET\",\"path\":\"/admin/x\",\"headers\":{\"x-tenant\":\"acme\"},"
    "\"time\":{\"seconds\":1637954644}},"
    "\"auth\":{\"identity\":{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],"
    "\"metadata\":{\"annotations\":{\"roles\":\"admin,dev\"}}}}}";

static struct json_object *jdoc(void)
{
    static struct json_object *d;
    if (!d)
        d = json_tokener_parse(doc_text);
    return d;
}

static struct arena g_req; /* the request's arena */

static const doc *doc_root(void)
{
    static struct arena own;
    static const doc *d;
    int err = 0;
    if (!d)
        d = doc_from_jsonc(&own, jdoc(), NULL, &err);
    CU_ASSERT_FATAL(!err && d);
    return d;
}

typedef struct errs {
    char first[512];
    int n;
} errs;

static void on_error(void *arg, const char *line)
{
    errs *e = arg;
    if (!e->n++)
        snprintf(e->first, sizeof e->first, "%s", line);
}

static pc_cond *compile(const char *list_json, errs *e)
{
    memset(e, 0, sizeof *e);
    cfgerr ce = {.file = "t.yaml", .doc_line = 1, .on_error = on_error,
                 .on_warning = on_error, .arg = e};
    struct json_object *list = json_tokener_parse(list_json);
    pc_cond *c = cond_compile(list, "spec.when", NULL, &ce);
    json_object_put(list);
    return c;
}

/* The result of a one-condition list on jdoc(), with why. */
static int decide(const char *list_json, char *why, size_t whylen)
{
    errs e;
    pc_cond *c = compile(list_json, &e);
    if (!c) {
        snprintf(why, whylen, "did not compile: %s", e.first);
        return -99;
    }
    why[0] = '\0';
    int r = cond_eval(c, doc_root(), &g_req, why, whylen);
    arena_reset(&g_req);
    cond_free(c);
    return r;
}

#define DECIDES(list, want)                                                    \
    do {                                                                       \
        char why_[512];                                                        \
        int r_ = decide(list, why_, sizeof why_);                              \
        if (r_ != (want))                                                      \
            fprintf(stderr, "\n  %s\n    got %d (%s), want %d\n", list, r_, why_, want); \
        CU_ASSERT_EQUAL(r_, want);                                             \
    } while (0)

static void test_predicates(void)
{
    DECIDES("[{\"predicate\":\"request.method == 'GET'\"}]", 1);
    DECIDES("[{\"predicate\":\"request.method == 'POST'\"}]", 0);
    DECIDES("[{\"predicate\":\"auth.identity.metadata.annotations['roles'].split(',')"
            ".exists(r, r == 'admin')\"}]", 1);
    DECIDES("[{\"predicate\":\"request.time.seconds > 1600000000\"}]", 1);
    DECIDES("[{\"predicate\":\"'x-other' in request.headers\"}]", 0);
    DECIDES("[{\"predicate\":\"auth.identity.?email.orValue('') == ''\"}]", 1);
    /* a list is ANDed */
    DECIDES("[{\"predicate\":\"true\"},{\"predicate\":\"false\"}]", 0);
}

static void test_fail_closed(void)
{
    char why[512];
    /* a missing key is an error, with the path and the column */
    CU_ASSERT_EQUAL(decide("[{\"predicate\":\"request.headers['nope'] == 'x'\"}]", why,
                           sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "spec.when[0].predicate: CEL: no such key: nope at column 16");
    /* not a bool */
    CU_ASSERT_EQUAL(decide("[{\"predicate\":\"request.method\"}]", why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not bool"));
    /* a type mismatch */
    DECIDES("[{\"predicate\":\"request.method > 1\"}]", -1);
    /* `!` of an error is an error, not a pass */
    DECIDES("[{\"predicate\":\"!(request.nosuch == 'x')\"}]", -1);
    /* an error behind a term that decides is absorbed, as CEL says */
    DECIDES("[{\"predicate\":\"false && request.nosuch\"}]", 0);
    DECIDES("[{\"predicate\":\"request.nosuch || true\"}]", 1);
}

static void test_mixed(void)
{
    const char *pat = "{\"selector\":\"request.method\",\"operator\":\"eq\",\"value\":\"GET\"}";
    char list[512];
    /* any stops at the first term that holds: the erring CEL term after it is not reached */
    snprintf(list, sizeof list, "[{\"any\":[%s,{\"predicate\":\"request.nosuch\"}]}]", pat);
    DECIDES(list, 1);
    /* reached, the error is the result */
    snprintf(list, sizeof list, "[{\"any\":[{\"predicate\":\"request.nosuch\"},%s]}]", pat);
    DECIDES(list, -1);
    snprintf(list, sizeof list,
             "[{\"all\":[%s,{\"predicate\":\"request.path.startsWith('/admin')\"}]}]", pat);
    DECIDES(list, 1);
    snprintf(list, sizeof list, "[{\"all\":[{\"predicate\":\"false\"},%s]}]", pat);
    DECIDES(list, 0);
}

static void test_load_errors(void)
{
    errs e;
    CU_ASSERT_PTR_NULL(compile("[{\"predicate\":\"request.method ==\"}]", &e));
    CU_ASSERT_STRING_EQUAL(e.first, "t.yaml:1: spec.when[0].predicate: CEL: unexpected end of "
                                    "expression at column 18");
    CU_ASSERT_PTR_NULL(compile("[{\"predicate\":\"true\\n && requets\"}]", &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.first, "undeclared reference to 'requets' at line 2, "
                                           "column 5"));
    CU_ASSERT_PTR_NULL(compile("[{\"predicate\":42}]", &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.first, "spec.when[0].predicate: expected a CEL expression"));
    CU_ASSERT_PTR_NULL(compile("[{\"predicate\":\"true\",\"operator\":\"eq\"}]", &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.first, "spec.when[0].operator: unknown field"));
    /* every broken item is reported */
    CU_ASSERT_PTR_NULL(compile("[{\"predicate\":\"(\"},{\"predicate\":\"nosuch\"}]", &e));
    CU_ASSERT_EQUAL(e.n, 2);
}

static void test_limits(void)
{
    const char *ten = "[0,1,2,3,4,5,6,7,8,9]";
    char list[4096], why[512];
    snprintf(list, sizeof list, "[{\"predicate\":\"%s.all(a, %s.all(b, %s.all(c, true)))\"}]",
             ten, ten, ten);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), 1);
    celcfg_set_limits(1000, 0);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cost limit exceeded: steps"));
    celcfg_set_limits(0, 0);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), 1);

    /* memory: 100 strings of 2 KiB joined */
    snprintf(list, sizeof list, "[{\"predicate\":\"size(%s.map(a, %s.map(b, "
             "'%0512d%0512d%0512d%0512d'))) == 10\"}]", ten, ten, 0, 0, 0, 0);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), 1);
    celcfg_set_limits(0, 4096);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), 1); /* literals are not copied */
    snprintf(list, sizeof list, "[{\"predicate\":\"size(%s.map(a, %s.map(b, "
             "'%0512d' + string(b)))) == 10\"}]", ten, ten, 0);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cost limit exceeded: allocation"));
    celcfg_set_limits(0, 0);
    CU_ASSERT_EQUAL(decide(list, why, sizeof why), 1);

    char err[200];
    CU_ASSERT_EQUAL(celcfg_setting("99", NULL, err, sizeof err), -1);
    CU_ASSERT_EQUAL(celcfg_setting(NULL, "4095", err, sizeof err), -1);
    CU_ASSERT_EQUAL(celcfg_setting("1x", NULL, err, sizeof err), -1);
    CU_ASSERT_EQUAL(celcfg_setting("-5", NULL, err, sizeof err), -1);
    CU_ASSERT_EQUAL(celcfg_setting("100", "4096", err, sizeof err), 0);
    CU_ASSERT_EQUAL(celcfg_setting(NULL, NULL, err, sizeof err), 0);
}

/* An expression value as JSON text, or "ERR: why". */
static void value_of(const char *expr, char *out, size_t outlen)
{
    errs e = {0};
    cfgerr ce = {.file = "t.yaml", .doc_line = 1, .on_error = on_error, .arg = &e};
    struct json_object *spec = json_object_new_object();
    json_object_object_add(spec, "expression", json_object_new_string(expr));
    pc_vos *v = vos_compile(spec, "spec.x", &ce);
    json_object_put(spec);
    if (!v) {
        snprintf(out, outlen, "LOAD: %s", e.first);
        return;
    }
    struct json_object *o = NULL;
    char why[300];
    const doc *d = NULL;
    int r = vos_resolve(v, doc_root(), &g_req, &d, why, sizeof why);
    if (r == 0)
        CU_ASSERT_EQUAL(doc_to_jsonc(d, &o), 0);
    arena_reset(&g_req);
    if (r < 0)
        snprintf(out, outlen, "ERR: %s", why);
    else
        snprintf(out, outlen, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    vos_free(v);
}

#define VALUE(expr, want)                                                      \
    do {                                                                       \
        char got_[512];                                                        \
        value_of(expr, got_, sizeof got_);                                     \
        if (strcmp(got_, want))                                                \
            fprintf(stderr, "\n  %s\n    got  %s\n    want %s\n", expr, got_, want); \
        CU_ASSERT_STRING_EQUAL(got_, want);                                    \
    } while (0)

static void test_values(void)
{
    VALUE("'Hello, ' + auth.identity.name", "\"Hello, john\"");
    VALUE("request.time.seconds", "1637954644");
    VALUE("1.5", "1.5");
    VALUE("{'user': auth.identity.name, 'n': size(auth.identity.groups)}",
          "{\"user\":\"john\",\"n\":2}");
    VALUE("auth.identity.groups", "[\"dev\",\"ops\"]");
    VALUE("null", "null");
    VALUE("request.nope", "ERR: CEL: no such key: nope at column 9");
    VALUE("'a' +", "LOAD: t.yaml:1: spec.x.expression: CEL: unexpected end of expression at "
                   "column 6");
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"predicates decide", test_predicates},
        {"evaluation errors fail the condition", test_fail_closed},
        {"CEL terms in all and any", test_mixed},
        {"load errors", test_load_errors},
        {"limits as settings", test_limits},
        {"expression values", test_values},
        {NULL, NULL}};
    arena_init(&g_req, 0);
    return cu_add_suite("cel in authconfigs", c);
}
