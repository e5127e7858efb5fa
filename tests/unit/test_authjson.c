/* Tests for engine/request/authjson and jsonsink: the Authorization JSON
 * holds every part of the request view or is not built at all, and its
 * cost grows linearly with the view. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cu_main.h"
#include "request/authjson.h"
#include "request/jsonsink.h"

static pc_request_view base_view(void)
{
    pc_request_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.host = pc_str_c("api.test");
    v.method = pc_str_c("GET");
    v.path = pc_str_c("/p");
    v.size = -1;
    return v;
}

static const char *header(json_object *root, const char *name)
{
    json_object *req = NULL, *hs = NULL, *h = NULL;
    if (!json_object_object_get_ex(root, "request", &req) ||
        !json_object_object_get_ex(req, "headers", &hs) ||
        !json_object_object_get_ex(hs, name, &h))
        return NULL;
    return json_object_get_string(h);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Builds a view of n headers all named x-r with value "vv"; returns the
 * CPU seconds the build took (best of three) and checks the join. */
static double join_cost(size_t n)
{
    pc_kv *kv = malloc(n * sizeof *kv);
    CU_ASSERT_FATAL(kv != NULL);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = pc_str_c("x-r");
        kv[i].value = pc_str_c("vv");
    }
    pc_request_view v = base_view();
    v.headers = kv;
    v.n_headers = n;
    double best = 1e9;
    for (int round = 0; round < 3; round++) {
        double t = cpu_seconds();
        json_object *root = authjson_build(&v, 1);
        t = cpu_seconds() - t;
        if (t < best)
            best = t;
        CU_ASSERT_FATAL(root != NULL);
        const char *s = header(root, "x-r");
        CU_ASSERT_FATAL(s != NULL);
        CU_ASSERT_EQUAL(strlen(s), 3 * n - 1);
        CU_ASSERT(strncmp(s, "vv,vv", n > 1 ? 5 : 2) == 0);
        json_object_put(root);
    }
    free(kv);
    return best;
}

/* Repeated names are joined with "," in order, each name at the place of
 * its first occurrence; the cost is linear in the count. */
static void test_repeated_headers(void)
{
    static const pc_kv kv[] = {
        {{"a", 1}, {"1", 1}}, {{"b", 1}, {"2", 1}}, {{"a", 1}, {"3", 1}},
        {{"c", 1}, {"", 0}},  {{"b", 1}, {"4", 1}}, {{"a", 1}, {"", 0}},
        {{"d", 1}, {"", 0}},  {{"d", 1}, {"5", 1}}, {{"e", 1}, {"", 0}},
        {{"e", 1}, {"", 0}},
    };
    pc_request_view v = base_view();
    v.headers = kv;
    v.n_headers = 10;
    json_object *root = authjson_build(&v, 0);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(header(root, "a"), "1,3,");
    CU_ASSERT_STRING_EQUAL(header(root, "b"), "2,4");
    CU_ASSERT_STRING_EQUAL(header(root, "c"), "");
    /* An empty first value keeps its comma: "" + "5" must not pass for "5". */
    CU_ASSERT_STRING_EQUAL(header(root, "d"), ",5");
    CU_ASSERT_STRING_EQUAL(header(root, "e"), ",");
    json_object *hs = json_object_object_get(json_object_object_get(root, "request"), "headers");
    const char *order[5];
    size_t n = 0;
    json_object_object_foreach(hs, k, val) {
        (void)val;
        if (n < 5)
            order[n] = k;
        n++;
    }
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_STRING_EQUAL(order[0], "a");
    CU_ASSERT_STRING_EQUAL(order[1], "b");
    CU_ASSERT_STRING_EQUAL(order[2], "c");
    json_object_put(root);

    /* ten times the repeats, about ten times the work (pairwise joining
     * made it a hundred); a floor keeps timer noise out of tiny figures */
    double small = join_cost(20000), big = join_cost(200000);
    printf("\n    join of 20,000 repeats: %.4f s CPU, 200,000: %.4f s CPU\n", small, big);
    CU_ASSERT(big < 40 * (small > 0.001 ? small : 0.001));
}

/* Names are kept whole, however long: two that share their first 255
 * bytes are two headers. */
static void test_long_header_names(void)
{
    char a[400], b[400];
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    b[sizeof b - 1] = 'y';
    pc_kv kv[] = {{{a, sizeof a}, {"1", 1}}, {{b, sizeof b}, {"2", 1}}};
    pc_request_view v = base_view();
    v.headers = kv;
    v.n_headers = 2;
    json_object *root = authjson_build(&v, 0);
    CU_ASSERT_FATAL(root != NULL);
    char za[401], zb[401];
    memcpy(za, a, 400);
    za[400] = '\0';
    memcpy(zb, b, 400);
    zb[400] = '\0';
    CU_ASSERT(header(root, za) && strcmp(header(root, za), "1") == 0);
    CU_ASSERT(header(root, zb) && strcmp(header(root, zb), "2") == 0);
    json_object_put(root);
}

/* What no JSON key or document can hold fails the build. */
static void test_unrepresentable_refused(void)
{
    pc_kv nul = {{"authorization\0junk", 18}, {"k", 1}};
    pc_request_view v = base_view();
    v.headers = &nul;
    v.n_headers = 1;
    CU_ASSERT(authjson_build(&v, 0) == NULL);
    v = base_view();
    v.context_extensions = &nul;
    v.n_context_extensions = 1;
    CU_ASSERT(authjson_build(&v, 1) == NULL);

    v = base_view();
    v.time_sec = INT64_MAX;
    CU_ASSERT(authjson_build(&v, 0) == NULL);
    v.time_sec = 1700000000;
    v.time_nanos = -1;
    CU_ASSERT(authjson_build(&v, 0) == NULL);

    /* metadata text: one complete object, or the build fails */
    static const char *bad[] = {"{\"filter_metadata\":", "[1]", "{} {}", "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = base_view();
        v.metadata_context_json = pc_str_c(bad[i]);
        CU_ASSERT(authjson_build(&v, 0) == NULL);
    }
    /* as deep as a frontend may send: 30 levels and the wrapper */
    char deep[256];
    size_t n = (size_t)snprintf(deep, sizeof deep, "{\"filter_metadata\":{\"ns\":");
    for (int i = 0; i < 30; i++)
        deep[n++] = '[';
    for (int i = 0; i < 30; i++)
        deep[n++] = ']';
    memcpy(deep + n, "}}", 3);
    v = base_view();
    v.metadata_context_json = pc_str_c(deep);
    json_object *root = authjson_build(&v, 0);
    CU_ASSERT(root != NULL && json_object_object_get_ex(root, "metadata", NULL));
    json_object_put(root);
}

/* Repeated label or context-extension keys: the last one wins, as in the
 * protobuf maps they come from. */
static void test_map_last_wins(void)
{
    static const pc_kv kv[] = {{{"k", 1}, {"first", 5}}, {{"k", 1}, {"last", 4}}};
    pc_request_view v = base_view();
    v.context_extensions = kv;
    v.n_context_extensions = 2;
    json_object *root = authjson_build(&v, 1), *x = NULL;
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT(json_object_object_get_ex(json_object_object_get(root, "request"),
                                        "context_extensions", &x));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(x, "k")), "last");
    json_object_put(root);
}

/* ---- metadata_emit ---- */

static int emit_ok(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    return k->object_begin(k->arg) || k->key(k->arg, "filter_metadata", 15) ||
           k->object_begin(k->arg) || k->key(k->arg, "ns", 2) || k->object_begin(k->arg) ||
           k->key(k->arg, "s", 1) || k->string(k->arg, "a\xff", 2) ||
           k->key(k->arg, "l", 1) || k->array_begin(k->arg) || k->number(k->arg, 2) ||
           k->boolean(k->arg, 1) || k->null(k->arg) || k->end(k->arg) ||
           k->end(k->arg) || k->end(k->arg) || k->end(k->arg);
}

static int emit_fails(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    k->object_begin(k->arg);
    return -1;
}

static int emit_unclosed(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    return k->object_begin(k->arg) || k->key(k->arg, "a", 1) || k->object_begin(k->arg);
}

static int emit_value_without_key(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    if (k->object_begin(k->arg))
        return -1;
    if (k->string(k->arg, "x", 1) == 0)
        return 0; /* the sink took it: the build must still fail */
    return -1;
}

static int emit_two_roots(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    return k->object_begin(k->arg) || k->end(k->arg) || k->object_begin(k->arg) ||
           k->end(k->arg);
}

static void test_metadata_emit(void)
{
    pc_request_view v = base_view();
    v.metadata_emit = emit_ok;
    v.metadata_context_json = pc_str_c("{\"ignored\":1}");
    json_object *root = authjson_build(&v, 1), *m = NULL, *c = NULL;
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_FATAL(json_object_object_get_ex(root, "metadata", &m));
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN),
                           "{\"filter_metadata\":{\"ns\":{\"s\":\"a\xff\",\"l\":[2,true,null]}}}");
    /* the same object under context.metadata_context */
    CU_ASSERT(json_object_object_get_ex(json_object_object_get(root, "context"),
                                        "metadata_context", &c) && c == m);
    json_object_put(root);

    int (*broken[])(const void *, const pc_json_sink *) = {
        emit_fails, emit_unclosed, emit_value_without_key, emit_two_roots};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        v.metadata_emit = broken[i];
        CU_ASSERT(authjson_build(&v, 0) == NULL);
        CU_ASSERT(jsonsink_build(broken[i], NULL) == NULL);
    }

    /* a view from a 1.0 frontend ends before metadata_emit: the text is read */
    v.metadata_emit = emit_fails;
    v.struct_size = offsetof(pc_request_view, metadata_emit);
    root = authjson_build(&v, 0);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT(json_object_object_get_ex(root, "metadata", &m) &&
              json_object_object_get_ex(m, "ignored", NULL));
    json_object_put(root);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"repeated headers join in linear time", test_repeated_headers},
        {"long header names kept whole", test_long_header_names},
        {"unrepresentable parts fail the build", test_unrepresentable_refused},
        {"map keys: the last wins", test_map_last_wins},
        {"metadata from a pc_json_sink", test_metadata_emit},
        {NULL, NULL},
    };
    return cu_add_suite("authjson", cases);
}
