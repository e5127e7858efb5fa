/* Pattern conditions and values on the request document (engine/config
 * cond.c and vos.c): every operator of cond_eval with what a missing
 * value, null, a number, a list or an object reads as, the same verdicts
 * through the json-c entry points, static values handed out by reference
 * (read-only, one copy for every request and thread), values built in the
 * request's arena, and that arena's limit as an error. */
#include <json-c/json.h>
#include <pthread.h>
#include <string.h>
#include "config/cfgerr.h"
#include "config/cond.h"
#include "config/vos.h"
#include "cu_main.h"
#include "doc/doc.h"
#include "pc_testutil.h"

static const char doc_text[] =
    "{\"request\":{\"method\":\"GET\",\"path\":\"/admin/x\",\"headers\":{\"x-groups\":"
    "\"[\\\"dev\\\",\\\"ops\\\"]\",\"x-a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"}},"
    "\"auth\":{\"identity\":{\"name\":\"john\",\"groups\":[\"dev\",\"ops\"],\"age\":42,"
    "\"ratio\":1.5,\"admin\":false,\"obj\":{\"a\":1},\"nil\":null,\"empty\":[]}}}";

static struct json_object *g_json;
static const doc *g_root;
static struct arena g_own; /* g_root's nodes */
static struct arena g_req; /* one request's arena */

static pc_cond *compile(const char *list_json)
{
    tu_errors e = {0};
    cfgerr ce = {.file = "t.yaml", .doc_line = 1, .on_error = tu_on_error,
                 .on_warning = tu_on_error, .arg = &e};
    struct json_object *list = json_tokener_parse(list_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    pc_cond *c = cond_compile(list, "spec.when", NULL, &ce);
    json_object_put(list);
    if (!c)
        fprintf(stderr, "\n  %s: %s\n", list_json, e.lines[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

/* One pattern's verdict on the document, with why. */
static int pattern(const char *sel, const char *op, const char *value_json, char *why,
                   size_t whylen)
{
    char list[1024];
    snprintf(list, sizeof list, "[{\"selector\":\"%s\",\"operator\":\"%s\",\"value\":%s}]", sel,
             op, value_json);
    pc_cond *c = compile(list);
    why[0] = '\0';
    int r = cond_eval(c, g_root, &g_req, why, whylen);
    arena_reset(&g_req);
    cond_free(c);
    return r;
}

#define P(sel, op, val, want)                                                       \
    do {                                                                            \
        char why_[512];                                                             \
        int r_ = pattern(sel, op, val, why_, sizeof why_);                          \
        if (r_ != (want))                                                           \
            fprintf(stderr, "\n  %s %s %s: got %d (%s), want %d\n", sel, op, val, r_, \
                    why_, want);                                                    \
        CU_ASSERT_EQUAL(r_, want);                                                  \
    } while (0)
#define PERR(sel, op, val, reason)                                                  \
    do {                                                                            \
        char why_[512];                                                             \
        CU_ASSERT_EQUAL(pattern(sel, op, val, why_, sizeof why_), -1);              \
        if (!strstr(why_, reason))                                                  \
            fprintf(stderr, "\n  %s %s %s: why %s, want %s\n", sel, op, val, why_, reason); \
        CU_ASSERT_PTR_NOT_NULL(strstr(why_, reason));                               \
    } while (0)

static void test_eq_neq(void)
{
    P("request.method", "eq", "\"GET\"", 1);
    P("request.method", "eq", "\"POST\"", 0);
    P("request.method", "neq", "\"POST\"", 1);
    P("request.method", "neq", "\"GET\"", 0);
    /* missing and null read as "" */
    P("request.nosuch", "eq", "\"\"", 1);
    P("auth.identity.nil", "eq", "\"\"", 1);
    P("request.nosuch", "neq", "\"\"", 0);
    P("request.nosuch.deeper", "eq", "\"x\"", 0);
    /* scalars compare by their text, and so does the value written */
    P("auth.identity.age", "eq", "\"42\"", 1);
    P("auth.identity.age", "eq", "42", 1);
    P("auth.identity.ratio", "eq", "1.5", 1);
    P("auth.identity.admin", "eq", "false", 1);
    P("auth.identity.admin", "neq", "\"true\"", 1);
    /* lists and objects by their JSON text: neq "" says "present" */
    P("auth.identity.groups", "eq", "\"[\\\"dev\\\",\\\"ops\\\"]\"", 1);
    P("auth.identity.obj", "eq", "\"{\\\"a\\\":1}\"", 1);
    P("auth.identity.obj", "neq", "\"\"", 1);
    /* selector features that build values in the request's arena */
    P("auth.identity.groups.#", "eq", "2", 1);
    P("auth.identity.groups.1", "eq", "\"ops\"", 1);
    P("request.method.@case:lower", "eq", "\"get\"", 1);
}

static void test_incl_excl(void)
{
    P("auth.identity.groups", "incl", "\"dev\"", 1);
    P("auth.identity.groups", "incl", "\"admin\"", 0);
    P("auth.identity.groups", "excl", "\"admin\"", 1);
    P("auth.identity.groups", "excl", "\"ops\"", 0);
    /* a scalar is a one-element list, a missing value (or null) an empty one */
    P("request.method", "incl", "\"GET\"", 1);
    P("request.method", "excl", "\"GET\"", 0);
    P("request.nosuch", "incl", "\"x\"", 0);
    P("request.nosuch", "excl", "\"x\"", 1);
    P("auth.identity.nil", "excl", "\"x\"", 1);
    P("auth.identity.empty", "incl", "\"\"", 0);
    /* a list built by a modifier */
    P("request.headers.x-groups.@fromstr", "incl", "\"ops\"", 1);
    P("request.headers.x-groups.@fromstr", "excl", "\"ops\"", 0);
    PERR("auth.identity.obj", "incl", "\"a\"", "auth.identity.obj: incl needs a list or a "
                                               "single value, got an object");
    PERR("auth.identity.obj", "excl", "\"a\"", "excl needs a list or a single value");
}

static void test_matches(void)
{
    P("request.path", "matches", "\"^/admin\"", 1);
    P("request.path", "matches", "\"^/user\"", 0);
    P("request.nosuch", "matches", "\"^$\"", 1);
    P("auth.identity.age", "matches", "\"^4\\\\d$\"", 1);
    P("auth.identity.obj", "matches", "\"^\\\\{\"", 1);
    /* a regex that backtracks without end stops at the match limit: an error */
    PERR("request.headers.x-a", "matches", "\"(a+)+$\"",
         "regular expression failed on request.headers.x-a: match limit exceeded");
    /* a subject that is not UTF-8 cannot be matched by a UTF pattern */
    struct arena a;
    arena_init(&a, 0);
    doc *root = doc_new_object(&a, 1), *req = doc_new_object(&a, 1);
    CU_ASSERT_FATAL(root && req);
    CU_ASSERT_EQUAL(doc_set(&a, req, "path", 4, doc_new_str(&a, "/\xff", 2)), 0);
    CU_ASSERT_EQUAL(doc_set(&a, root, "request", 7, req), 0);
    pc_cond *c = compile("[{\"selector\":\"request.path\",\"operator\":\"matches\",\"value\":\"x\"}]");
    char why[256];
    CU_ASSERT_EQUAL(cond_eval(c, root, &g_req, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "request.path is not valid UTF-8; cannot match it");
    cond_free(c);
    arena_free(&a);
}

static void test_groups(void)
{
    char why[512];
    const char *get = "{\"selector\":\"request.method\",\"operator\":\"eq\",\"value\":\"GET\"}";
    const char *no = "{\"selector\":\"request.method\",\"operator\":\"eq\",\"value\":\"PUT\"}";
    const char *bad = "{\"selector\":\"auth.identity.obj\",\"operator\":\"incl\",\"value\":\"x\"}";
    const char *cel = "{\"predicate\":\"auth.identity.groups.exists(g, g == 'ops')\"}";
    struct { const char *fmt; int want; } cases[] = {
        {"[%s,%s]", 1},                        /* get, cel: a list is ANDed */
        {"[{\"all\":[%s,%s]}]", 1},
        {"[{\"any\":[%s,%s]}]", 1},
    };
    char list[1024];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(list, sizeof list, cases[i].fmt, get, cel);
        pc_cond *c = compile(list);
        CU_ASSERT_EQUAL(cond_eval(c, g_root, &g_req, why, sizeof why), cases[i].want);
        cond_free(c);
    }
    /* all stops at the first term that fails, any at the first that holds:
     * the erring term after it is never reached */
    snprintf(list, sizeof list, "[{\"all\":[%s,%s]}]", no, bad);
    pc_cond *c = compile(list);
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &g_req, why, sizeof why), 0);
    cond_free(c);
    snprintf(list, sizeof list, "[{\"any\":[%s,%s]}]", get, bad);
    c = compile(list);
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &g_req, why, sizeof why), 1);
    cond_free(c);
    /* reached, the error is the result */
    snprintf(list, sizeof list, "[{\"any\":[%s,%s]}]", no, bad);
    c = compile(list);
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &g_req, why, sizeof why), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "incl needs a list"));
    cond_free(c);
    /* an empty list holds */
    c = compile("[]");
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &g_req, why, sizeof why), 1);
    cond_free(c);
    arena_reset(&g_req);
}

/* The request's arena past its limit: an error with a reason, never a
 * crash or a verdict read from a half-built value. */
static void test_arena_limit(void)
{
    struct arena small;
    arena_init(&small, 16);
    char why[512];
    pc_cond *c = compile("[{\"selector\":\"auth.identity\",\"operator\":\"neq\",\"value\":\"\"}]");
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &small, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "out of memory reading auth.identity");
    cond_free(c);
    arena_reset(&small);
    c = compile("[{\"selector\":\"auth.identity.groups\",\"operator\":\"incl\",\"value\":\"x\"}]");
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &small, why, sizeof why), 0); /* strings: no copy */
    cond_free(c);
    c = compile("[{\"selector\":\"request.headers.x-groups.@fromstr\",\"operator\":\"incl\","
                "\"value\":\"ops\"}]");
    CU_ASSERT_EQUAL(cond_eval(c, g_root, &small, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "cannot resolve selector request.headers.x-groups.@fromstr");
    CU_ASSERT(small.total <= 16);
    cond_free(c);
    arena_free(&small);
}

/* ---- values ---- */

static pc_vos *vos(const char *spec_json)
{
    tu_errors e = {0};
    cfgerr ce = {.file = "t.yaml", .doc_line = 1, .on_error = tu_on_error, .arg = &e};
    struct json_object *spec = json_tokener_parse(spec_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    pc_vos *v = vos_compile(spec, "spec.x", &ce);
    json_object_put(spec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    return v;
}

static int all_read_only(const doc *d)
{
    if (!d)
        return 1;
    if (d->flags & DOC_MUTABLE)
        return 0;
    for (size_t i = 0; i < doc_len(d); i++)
        if (!all_read_only(d->type == DOC_ARRAY ? doc_at(d, i) : doc_member_at(d, i)->val))
            return 0;
    return 1;
}

static const char *text(const doc *d)
{
    static char out[512];
    struct json_object *j = NULL;
    CU_ASSERT_EQUAL_FATAL(doc_to_jsonc(d, &j), 0);
    snprintf(out, sizeof out, "%s", j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)
                                      : "null");
    json_object_put(j);
    return out;
}

typedef struct {
    const pc_vos *v;
    const doc *got;
} resolver;

static void *resolve_on_thread(void *arg)
{
    resolver *r = arg;
    struct arena a;
    arena_init(&a, 0);
    char why[128];
    if (vos_resolve(r->v, g_root, &a, &r->got, why, sizeof why) != 0)
        r->got = NULL;
    arena_free(&a);
    return NULL;
}

static void test_static_value(void)
{
    pc_vos *v = vos("{\"value\":{\"tier\":\"gold\",\"limits\":[1,2.5,{\"x\":null}]}}");
    const doc *a = NULL, *b = NULL;
    char why[128];
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &a, why, sizeof why), 0);
    CU_ASSERT_EQUAL(vos_resolve(v, NULL, &g_req, &b, why, sizeof why), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_EQUAL(a, b);   /* one copy, by reference */
    CU_ASSERT_EQUAL(g_req.total, 0); /* nothing made per request */
    CU_ASSERT(all_read_only(a));
    CU_ASSERT_STRING_EQUAL(text(a), "{\"tier\":\"gold\",\"limits\":[1,2.5,{\"x\":null}]}");
    /* the same node on another thread */
    resolver r = {v, NULL};
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, resolve_on_thread, &r), 0);
    pthread_join(t, NULL);
    CU_ASSERT_PTR_EQUAL(r.got, a);
    vos_free(v);
    /* a string, a number, null */
    v = vos("{\"value\":\"x\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &a, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(text(a), "\"x\"");
    vos_free(v);
    v = vos("{\"value\":1.25}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &a, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(text(a), "1.25");
    vos_free(v);
    v = vos("{\"value\":null}");
    a = (const doc *)1;
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &a, why, sizeof why), 0);
    CU_ASSERT_PTR_NULL(a);
    vos_free(v);
}

static void test_selector_and_expression_values(void)
{
    char why[256];
    const doc *d;
    const doc *identity = doc_getz(doc_getz(g_root, "auth"), "identity");
    /* what the document holds comes back by reference */
    pc_vos *v = vos("{\"selector\":\"auth.identity.groups\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), 0);
    CU_ASSERT_PTR_EQUAL(d, doc_getz(identity, "groups"));
    vos_free(v);
    v = vos("{\"expression\":\"auth.identity\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), 0);
    CU_ASSERT_PTR_EQUAL(d, identity);
    vos_free(v);
    CU_ASSERT_EQUAL(g_req.total, 0);
    /* what is built goes into the request's arena */
    v = vos("{\"selector\":\"Bearer {auth.identity.name}\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(text(d), "\"Bearer john\"");
    vos_free(v);
    v = vos("{\"expression\":\"{'who': auth.identity.name, 'n': size(auth.identity.groups)}\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(text(d), "{\"who\":\"john\",\"n\":2}");
    CU_ASSERT(g_req.total > 0);
    vos_free(v);
    arena_reset(&g_req);
    /* missing is null for a selector, an error for an expression */
    v = vos("{\"selector\":\"auth.nosuch\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), 0);
    CU_ASSERT_PTR_NULL(d);
    vos_free(v);
    v = vos("{\"expression\":\"auth.nosuch\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &g_req, &d, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "CEL: no such key: nosuch at column 6");
    vos_free(v);
    /* the request's arena past its limit */
    struct arena small;
    arena_init(&small, 32);
    v = vos("{\"expression\":\"auth.identity.groups.map(g, g + '!')\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &small, &d, why, sizeof why), -1);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "out of memory"));
    vos_free(v);
    v = vos("{\"selector\":\"Bearer {auth.identity.name} and a text longer than the limit\"}");
    CU_ASSERT_EQUAL(vos_resolve(v, g_root, &small, &d, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "cannot resolve selector Bearer {auth.identity.name} and a "
                                "text longer than the limit");
    vos_free(v);
    CU_ASSERT(small.total <= 32);
    arena_free(&small);
}

static int setup(void)
{
    g_json = json_tokener_parse(doc_text);
    arena_init(&g_own, 0);
    arena_init(&g_req, 0);
    int err = 0;
    g_root = g_json ? doc_from_jsonc(&g_own, g_json, NULL, &err) : NULL;
    return g_root && !err ? 0 : -1;
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"eq and neq", test_eq_neq},
        {"incl and excl", test_incl_excl},
        {"matches", test_matches},
        {"all, any and lists", test_groups},
        {"the request's arena limit", test_arena_limit},
        {"static values by reference", test_static_value},
        {"selector and expression values", test_selector_and_expression_values},
        {NULL, NULL}};
    if (setup())
        return -1;
    return cu_add_suite("conditions and values on doc", c);
}
