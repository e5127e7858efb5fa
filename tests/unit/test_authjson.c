/* Tests for engine/request/authjson and jsonsink: the Authorization JSON
 * holds every part of the request view or is not built at all, comes out
 * member for member as it always has, is read-only below its root, stays
 * inside its arena's limit, and its cost grows linearly with the view. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cu_main.h"
#include "doc/doc.h"
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

/* root.a.b..., NULL-terminated list of member names. */
static const doc *at(const doc *root, const char *const *path)
{
    for (; root && *path; path++)
        root = doc_getz(root, *path);
    return root;
}

#define AT(root, ...) at((root), (const char *const[]){__VA_ARGS__, NULL})

static const char *header(const doc *root, const char *name)
{
    return doc_str(AT(root, "request", "headers", name), NULL);
}

/* The document as compact JSON text (in a). */
static const char *text(struct arena *a, const doc *v)
{
    const char *t = doc_to_json_arena(a, v, NULL);
    CU_ASSERT_FATAL(t != NULL);
    return t;
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
    struct arena a;
    arena_init(&a, 0);
    double best = 1e9;
    for (int round = 0; round < 3; round++) {
        double t = cpu_seconds();
        doc *root = authjson_build(&v, 1, &a);
        t = cpu_seconds() - t;
        if (t < best)
            best = t;
        CU_ASSERT_FATAL(root != NULL);
        const char *s = header(root, "x-r");
        CU_ASSERT_FATAL(s != NULL);
        CU_ASSERT_EQUAL(strlen(s), 3 * n - 1);
        CU_ASSERT(strncmp(s, "vv,vv", n > 1 ? 5 : 2) == 0);
        arena_reset(&a);
    }
    arena_free(&a);
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
    struct arena a;
    arena_init(&a, 0);
    doc *root = authjson_build(&v, 0, &a);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(header(root, "a"), "1,3,");
    CU_ASSERT_STRING_EQUAL(header(root, "b"), "2,4");
    CU_ASSERT_STRING_EQUAL(header(root, "c"), "");
    /* An empty first value keeps its comma: "" + "5" must not pass for "5". */
    CU_ASSERT_STRING_EQUAL(header(root, "d"), ",5");
    CU_ASSERT_STRING_EQUAL(header(root, "e"), ",");
    const doc *hs = AT(root, "request", "headers");
    CU_ASSERT_EQUAL_FATAL(doc_len(hs), 5);
    CU_ASSERT_STRING_EQUAL(doc_member_at(hs, 0)->key, "a");
    CU_ASSERT_STRING_EQUAL(doc_member_at(hs, 1)->key, "b");
    CU_ASSERT_STRING_EQUAL(doc_member_at(hs, 2)->key, "c");
    CU_ASSERT_STRING_EQUAL(doc_member_at(hs, 3)->key, "d");
    CU_ASSERT_STRING_EQUAL(doc_member_at(hs, 4)->key, "e");
    arena_free(&a);

    /* Past the object index's threshold: 40 names, each repeated, found
     * through the index and joined in order. */
    pc_kv many[80];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(names[i], sizeof names[i], "h-%d", i);
        many[i].key = many[40 + i].key = (pc_str){names[i], (size_t)n};
        many[i].value = pc_str_c("x");
        many[40 + i].value = pc_str_c("y");
    }
    v.headers = many;
    v.n_headers = 80;
    arena_init(&a, 0);
    root = authjson_build(&v, 0, &a);
    CU_ASSERT_FATAL(root != NULL);
    hs = AT(root, "request", "headers");
    CU_ASSERT_EQUAL_FATAL(doc_len(hs), 40);
    for (int i = 0; i < 40; i++) {
        CU_ASSERT_STRING_EQUAL(doc_member_at(hs, (size_t)i)->key, names[i]);
        CU_ASSERT_STRING_EQUAL(header(root, names[i]), "x,y");
    }
    arena_free(&a);

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
    struct arena ar;
    arena_init(&ar, 0);
    doc *root = authjson_build(&v, 0, &ar);
    CU_ASSERT_FATAL(root != NULL);
    char za[401], zb[401];
    memcpy(za, a, 400);
    za[400] = '\0';
    memcpy(zb, b, 400);
    zb[400] = '\0';
    CU_ASSERT(header(root, za) && strcmp(header(root, za), "1") == 0);
    CU_ASSERT(header(root, zb) && strcmp(header(root, zb), "2") == 0);
    arena_free(&ar);
}

/* What no JSON key or document can hold fails the build. */
static void test_unrepresentable_refused(void)
{
    struct arena a;
    arena_init(&a, 0);
    pc_kv nul = {{"authorization\0junk", 18}, {"k", 1}};
    pc_request_view v = base_view();
    v.headers = &nul;
    v.n_headers = 1;
    CU_ASSERT(authjson_build(&v, 0, &a) == NULL);
    v = base_view();
    v.context_extensions = &nul;
    v.n_context_extensions = 1;
    CU_ASSERT(authjson_build(&v, 1, &a) == NULL);
    v = base_view();
    v.source.labels = &nul;
    v.source.n_labels = 1;
    CU_ASSERT(authjson_build(&v, 0, &a) == NULL);

    v = base_view();
    v.time_sec = INT64_MAX;
    CU_ASSERT(authjson_build(&v, 0, &a) == NULL);
    v.time_sec = 1700000000;
    v.time_nanos = -1;
    CU_ASSERT(authjson_build(&v, 0, &a) == NULL);

    /* metadata text: one complete object, or the build fails; a key with
     * a NUL, which json-c used to cut short ("a\0b" read as "a"), too */
    static const char *bad[] = {"{\"filter_metadata\":", "[1]", "{} {}", "nul",
                                "{\"a\\u0000b\":1}", "{\"x\":[{\"\\u0000\":1}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = base_view();
        v.metadata_context_json = pc_str_c(bad[i]);
        CU_ASSERT(authjson_build(&v, 0, &a) == NULL);
    }
    /* as deep as a frontend may send: 30 levels and the wrapper, and up to
     * AUTHJSON_MAX_DEPTH containers in all; one more fails */
    char deep[256];
    size_t n = (size_t)snprintf(deep, sizeof deep, "{\"filter_metadata\":{\"ns\":");
    for (int i = 0; i < 30; i++)
        deep[n++] = '[';
    for (int i = 0; i < 30; i++)
        deep[n++] = ']';
    memcpy(deep + n, "}}", 3);
    v = base_view();
    v.metadata_context_json = pc_str_c(deep);
    doc *root = authjson_build(&v, 0, &a);
    CU_ASSERT(root != NULL && doc_getz(root, "metadata") != NULL);
    for (int depth = AUTHJSON_MAX_DEPTH; depth <= AUTHJSON_MAX_DEPTH + 1; depth++) {
        n = 0;
        for (int i = 0; i < depth - 1; i++)
            n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
        deep[n++] = '[';
        deep[n++] = ']';
        for (int i = 0; i < depth - 1; i++)
            deep[n++] = '}';
        deep[n] = '\0';
        v.metadata_context_json = pc_str_c(deep);
        CU_ASSERT_EQUAL(authjson_build(&v, 0, &a) != NULL, depth <= AUTHJSON_MAX_DEPTH);
    }
    arena_free(&a);
}

/* Repeated label or context-extension keys: the last one wins, as in the
 * protobuf maps they come from. */
static void test_map_last_wins(void)
{
    static const pc_kv kv[] = {{{"k", 1}, {"first", 5}}, {{"k", 1}, {"last", 4}}};
    pc_request_view v = base_view();
    v.context_extensions = kv;
    v.n_context_extensions = 2;
    v.source.labels = kv;
    v.source.n_labels = 2;
    struct arena a;
    arena_init(&a, 0);
    doc *root = authjson_build(&v, 1, &a);
    CU_ASSERT_FATAL(root != NULL);
    const doc *x = AT(root, "request", "context_extensions");
    CU_ASSERT_EQUAL(doc_len(x), 1);
    CU_ASSERT_STRING_EQUAL(doc_str(doc_getz(x, "k"), NULL), "last");
    CU_ASSERT_STRING_EQUAL(doc_str(AT(root, "source", "labels", "k"), NULL), "last");
    CU_ASSERT_STRING_EQUAL(doc_str(AT(root, "context", "context_extensions", "k"), NULL), "last");
    arena_free(&a);
}

static int emit_ok(const void *arg, const pc_json_sink *k);

/* ---- the whole document ---- */

static const pc_kv FULL_HEADERS[] = {
    {{"content-type", 12}, {"application/grpc", 16}},
    {{"user-agent", 10}, {"ua/1", 4}},
    {{"x-r", 3}, {"1", 1}},
    {{"referer", 7}, {"https://r.test/", 15}},
    {{"x-r", 3}, {"", 0}},
};
static const pc_kv FULL_LABELS[] = {{{"app", 3}, {"web", 3}}};
static const pc_kv FULL_EXT[] = {{{"host", 4}, {"api.test", 8}}};

static pc_request_view full_view(void)
{
    pc_request_view v = base_view();
    v.id = pc_str_c("r-1");
    v.method = pc_str_c("POST");
    v.path = pc_str_c("/pkg.Svc/Get?x=1");
    v.scheme = pc_str_c("https");
    v.query = pc_str_c("x=1");
    v.fragment = pc_str_c("f");
    v.protocol = pc_str_c("HTTP/2");
    v.body = pc_str_c("{}");
    v.raw_body = pc_str_c("raw");
    v.size = 2;
    v.time_sec = 1700000000;
    v.time_nanos = 5;
    v.headers = FULL_HEADERS;
    v.n_headers = 5;
    v.context_extensions = FULL_EXT;
    v.n_context_extensions = 1;
    v.source.address = pc_str_c("10.0.0.7");
    v.source.port = 41000;
    v.source.labels = FULL_LABELS;
    v.source.n_labels = 1;
    v.source.principal = pc_str_c("spiffe://a");
    v.source.certificate = pc_str_c("-----BEGIN%20CERT");
    v.destination.address = pc_str_c("10.0.0.1");
    v.destination.port = 8443;
    v.destination.service = pc_str_c("svc");
    v.metadata_context_json =
        pc_str_c("{\"filter_metadata\":{\"ns\":{\"k\":[1,2.50,\"s\",null,false]}}}");
    return v;
}

/* Every member, in its order, with its type, as the json-c builder made
 * them (the texts are that builder's output for full_view). */
#define FULL_META "{\"filter_metadata\":{\"ns\":{\"k\":[1,2.50,\"s\",null,false]}}}"
#define FULL_HDRS                                                                         \
    "{\"content-type\":\"application/grpc\",\"user-agent\":\"ua/1\",\"x-r\":\"1,\","      \
    "\"referer\":\"https://r.test/\"}"
#define FULL_REQ                                                                          \
    "{\"id\":\"r-1\",\"time\":{\"seconds\":1700000000,\"nanos\":5},\"protocol\":"        \
    "\"HTTP/2\",\"scheme\":\"https\",\"host\":\"api.test\",\"method\":\"POST\","          \
    "\"path\":\"/pkg.Svc/Get?x=1\",\"url_path\":\"/pkg.Svc/Get\",\"query\":\"x=1\","     \
    "\"headers\":" FULL_HDRS ",\"referer\":\"https://r.test/\",\"user_agent\":\"ua/1\","  \
    "\"size\":2,\"body\":\"{}\",\"raw_body\":\"raw\",\"context_extensions\":{\"host\":"   \
    "\"api.test\"},\"grpc\":{\"service\":\"pkg.Svc\",\"method\":\"Get?x=1\"}}"
#define FULL_PEERS                                                                        \
    "\"source\":{\"address\":\"10.0.0.7\",\"port\":41000,\"labels\":{\"app\":\"web\"},"   \
    "\"principal\":\"spiffe://a\",\"certificate\":\"-----BEGIN%20CERT\"},"                \
    "\"destination\":{\"address\":\"10.0.0.1\",\"port\":8443,\"service\":\"svc\"}"
#define FULL_CTX                                                                          \
    "{\"source\":{\"address\":{\"socket_address\":{\"address\":\"10.0.0.7\","             \
    "\"port_value\":41000}},\"labels\":{\"app\":\"web\"},\"principal\":\"spiffe://a\","   \
    "\"certificate\":\"-----BEGIN%20CERT\"},\"destination\":{\"address\":"                \
    "{\"socket_address\":{\"address\":\"10.0.0.1\",\"port_value\":8443}},\"service\":"    \
    "\"svc\"},\"request\":{\"http\":{\"id\":\"r-1\",\"method\":\"POST\",\"headers\":"      \
    FULL_HDRS ",\"path\":\"/pkg.Svc/Get?x=1\",\"host\":\"api.test\",\"scheme\":"          \
    "\"https\",\"query\":\"x=1\",\"fragment\":\"f\",\"size\":2,\"protocol\":\"HTTP/2\","  \
    "\"body\":\"{}\"},\"time\":{\"seconds\":1700000000,\"nanos\":5}},"                    \
    "\"context_extensions\":{\"host\":\"api.test\"},\"metadata_context\":" FULL_META "}"

static void test_whole_document(void)
{
    static const char *const want[2] = {
        "{\"metadata\":" FULL_META ",\"request\":" FULL_REQ "," FULL_PEERS "}",
        "{\"metadata\":" FULL_META ",\"context\":" FULL_CTX ",\"request\":" FULL_REQ
        "," FULL_PEERS "}",
    };
    pc_request_view v = full_view();
    struct arena a;
    arena_init(&a, 0);
    for (int ctx = 0; ctx < 2; ctx++) {
        doc *root = authjson_build(&v, ctx, &a);
        CU_ASSERT_FATAL(root != NULL);
        CU_ASSERT_STRING_EQUAL(text(&a, root), want[ctx]);
        /* types too: doc_equal tells an int from a double */
        const doc *parsed = NULL;
        CU_ASSERT_EQUAL_FATAL(doc_parse(&a, want[ctx], strlen(want[ctx]), &parsed, NULL, 0), 0);
        CU_ASSERT(doc_equal(root, parsed));
        CU_ASSERT_EQUAL(doc_type_of(AT(root, "request", "size")), DOC_INT);
        CU_ASSERT_EQUAL(doc_type_of(AT(root, "request", "time", "seconds")), DOC_INT);
    }
    /* no query: url_path is the path; a plain content type: no grpc */
    static const pc_kv plain[] = {{{"content-type", 12}, {"text/plain", 10}}};
    v.path = pc_str_c("/pkg.Svc/Get");
    v.headers = plain;
    v.n_headers = 1;
    doc *root = authjson_build(&v, 0, &a);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(doc_str(AT(root, "request", "url_path"), NULL), "/pkg.Svc/Get");
    int found = 1;
    doc_get(doc_getz(root, "request"), "query", 5, &found);
    CU_ASSERT_FALSE(found);
    doc_get(doc_getz(root, "request"), "grpc", 4, &found);
    CU_ASSERT_FALSE(found);
    /* an empty view: empty parts left out, headers always there */
    pc_request_view e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    root = authjson_build(&e, 1, &a);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(text(&a, root),
                           "{\"context\":{\"source\":{},\"destination\":{},\"request\":{\"http\":"
                           "{\"headers\":{}}}},\"request\":{\"headers\":{}},\"source\":{},"
                           "\"destination\":{}}");
    arena_free(&a);
}

/* Nodes at or below v that are still mutable. */
static size_t mutable_nodes(const doc *v)
{
    if (!v)
        return 0;
    size_t n = (v->flags & DOC_MUTABLE) != 0;
    for (size_t i = 0; i < doc_len(v); i++)
        n += mutable_nodes(doc_type_of(v) == DOC_ARRAY ? doc_at(v, i)
                                                       : doc_member_at(v, i)->val);
    return n;
}

/* The parts evaluators read are sealed; the root takes `auth`. */
static void test_sealed_parts(void)
{
    pc_request_view v = full_view();
    struct arena a;
    arena_init(&a, 0);
    doc *root = authjson_build(&v, 1, &a);
    CU_ASSERT_FATAL(root != NULL);
    const char *parts[] = {"request", "source", "destination", "metadata", "context"};
    doc *x = doc_new_int(&a, 1);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        doc *p = (doc *)doc_getz(root, parts[i]);
        CU_ASSERT_FATAL(p != NULL);
        CU_ASSERT_FALSE(p->flags & DOC_MUTABLE);
        CU_ASSERT_EQUAL(doc_set(&a, p, "x", 1, x), -1);
    }
    /* below them too, shared nodes included */
    CU_ASSERT_EQUAL(doc_set(&a, (doc *)AT(root, "request", "headers"), "x", 1, x), -1);
    CU_ASSERT_EQUAL(doc_set(&a, (doc *)AT(root, "context", "request", "http"), "x", 1, x), -1);
    CU_ASSERT_EQUAL(doc_set(&a, (doc *)AT(root, "metadata", "filter_metadata", "ns"), "x", 1, x),
                    -1);
    CU_ASSERT_EQUAL(doc_append(&a, (doc *)AT(root, "metadata", "filter_metadata", "ns", "k"), x),
                    -1);
    /* one headers node under both request and context */
    CU_ASSERT_PTR_EQUAL(AT(root, "request", "headers"),
                        AT(root, "context", "request", "http", "headers"));
    CU_ASSERT_TRUE(root->flags & DOC_MUTABLE);
    /* every node below the root, of every kind of view */
    CU_ASSERT_EQUAL(mutable_nodes(root), 1);
    static const pc_kv rep[] = {{{"a", 1}, {"1", 1}}, {{"a", 1}, {"2", 1}}};
    pc_request_view r = base_view();
    r.headers = rep;
    r.n_headers = 2;
    r.time_sec = 1;
    r.source.address = pc_str_c("::1");
    r.metadata_emit = emit_ok;
    for (int ctx = 0; ctx < 2; ctx++) {
        const doc *d = authjson_build(&r, ctx, &a);
        CU_ASSERT_FATAL(d != NULL);
        CU_ASSERT_EQUAL(mutable_nodes(d), 1);
    }
    doc *auth = doc_new_object(&a, 1);
    CU_ASSERT_EQUAL(doc_set(&a, root, "auth", 4, auth), 0);
    CU_ASSERT_EQUAL(doc_set(&a, auth, "identity", 8, x), 0);
    CU_ASSERT_EQUAL(doc_int(AT(root, "auth", "identity")), 1);
    CU_ASSERT_STRING_EQUAL(doc_member_at(root, doc_len(root) - 1)->key, "auth");
    arena_free(&a);
}

/* Below the bytes a document needs, every limit fails the build cleanly;
 * at them, it succeeds. */
static void test_arena_limit(void)
{
    pc_request_view v = full_view();
    for (int ctx = 0; ctx < 2; ctx++) {
        struct arena a;
        arena_init(&a, 0);
        CU_ASSERT_FATAL(authjson_build(&v, ctx, &a) != NULL);
        size_t need = a.total;
        arena_free(&a);
        CU_ASSERT(need > 0 && need < 16384);
        for (size_t limit = 8; limit < need; limit += 8) {
            arena_init(&a, limit);
            CU_ASSERT(authjson_build(&v, ctx, &a) == NULL);
            CU_ASSERT(a.total <= limit);
            arena_free(&a);
        }
        arena_init(&a, need);
        CU_ASSERT(authjson_build(&v, ctx, &a) != NULL);
        arena_free(&a);
    }
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

/* A repeated key, and a number that is not whole. */
static int emit_repeat(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    return k->object_begin(k->arg) || k->key(k->arg, "s", 1) || k->string(k->arg, "a", 1) ||
           k->key(k->arg, "l", 1) || k->array_begin(k->arg) || k->number(k->arg, 2) ||
           k->number(k->arg, 0.5) || k->end(k->arg) || k->key(k->arg, "s", 1) ||
           k->string(k->arg, "b", 1) || k->end(k->arg);
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

/* A null root, then an object: still two roots. */
static int emit_null_then_object(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    k->null(k->arg);
    return k->object_begin(k->arg) || k->end(k->arg);
}

static int emit_key_with_nul(const void *arg, const pc_json_sink *k)
{
    (void)arg;
    k->object_begin(k->arg);
    k->key(k->arg, "a\0b", 3);
    k->null(k->arg);
    return k->end(k->arg);
}

/* An object holding *arg - 1 levels of arrays: past the C stack's share of
 * the sink's container stack. */
static int emit_deep(const void *arg, const pc_json_sink *k)
{
    int levels = *(const int *)arg - 1;
    if (k->object_begin(k->arg) || k->key(k->arg, "d", 1))
        return -1;
    for (int i = 0; i < levels; i++)
        if (k->array_begin(k->arg))
            return -1;
    for (int i = 0; i < levels; i++)
        if (k->end(k->arg))
            return -1;
    return k->end(k->arg);
}

static void test_metadata_emit(void)
{
    struct arena a;
    arena_init(&a, 0);
    pc_request_view v = base_view();
    v.metadata_emit = emit_ok;
    v.metadata_context_json = pc_str_c("{\"ignored\":1}");
    doc *root = authjson_build(&v, 1, &a);
    CU_ASSERT_FATAL(root != NULL);
    const doc *m = doc_getz(root, "metadata");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_STRING_EQUAL(text(&a, m),
                           "{\"filter_metadata\":{\"ns\":{\"s\":\"a\xff\",\"l\":[2,true,null]}}}");
    CU_ASSERT_EQUAL(doc_type_of(doc_at(AT(m, "filter_metadata", "ns", "l"), 0)), DOC_INT);
    /* the same node under context.metadata_context */
    CU_ASSERT_PTR_EQUAL(AT(root, "context", "metadata_context"), m);
    const doc *sunk = jsonsink_build(emit_ok, NULL, &a);
    CU_ASSERT(sunk != NULL && doc_equal(sunk, m) && !(sunk->flags & DOC_MUTABLE));

    /* a repeated key keeps its place and takes the last value */
    sunk = jsonsink_build(emit_repeat, NULL, &a);
    CU_ASSERT_FATAL(sunk != NULL);
    CU_ASSERT_STRING_EQUAL(text(&a, sunk), "{\"s\":\"b\",\"l\":[2,0.5]}");
    CU_ASSERT_EQUAL(doc_type_of(doc_at(doc_getz(sunk, "l"), 1)), DOC_DOUBLE);

    /* as deep as JSONSINK_MAX_DEPTH, not one level more */
    int depth = JSONSINK_MAX_DEPTH;
    sunk = jsonsink_build(emit_deep, &depth, &a);
    CU_ASSERT_FATAL(sunk != NULL);
    const doc *d = doc_getz(sunk, "d");
    int levels = 0;
    for (; doc_type_of(d) == DOC_ARRAY; d = doc_at(d, 0))
        levels++;
    CU_ASSERT_EQUAL(levels, JSONSINK_MAX_DEPTH - 1);
    depth++;
    CU_ASSERT(jsonsink_build(emit_deep, &depth, &a) == NULL);
    v.metadata_emit = emit_deep;
    v.metadata_arg = &depth;
    CU_ASSERT(authjson_build(&v, 0, &a) == NULL);
    depth--;
    CU_ASSERT(authjson_build(&v, 0, &a) != NULL);

    int (*broken[])(const void *, const pc_json_sink *) = {
        emit_fails, emit_unclosed, emit_value_without_key, emit_two_roots,
        emit_null_then_object, emit_key_with_nul};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        v.metadata_emit = broken[i];
        CU_ASSERT(authjson_build(&v, 0, &a) == NULL);
        CU_ASSERT(jsonsink_build(broken[i], NULL, &a) == NULL);
    }

    /* a view from a 1.0 frontend ends before metadata_emit: the text is read */
    v.metadata_emit = emit_fails;
    v.struct_size = offsetof(pc_request_view, metadata_emit);
    root = authjson_build(&v, 0, &a);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_EQUAL(doc_int(AT(root, "metadata", "ignored")), 1);
    CU_ASSERT_FALSE(doc_getz(root, "metadata")->flags & DOC_MUTABLE);
    arena_free(&a);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"repeated headers join in linear time", test_repeated_headers},
        {"long header names kept whole", test_long_header_names},
        {"unrepresentable parts fail the build", test_unrepresentable_refused},
        {"map keys: the last wins", test_map_last_wins},
        {"the whole document, member for member", test_whole_document},
        {"parts sealed, root mutable", test_sealed_parts},
        {"the arena's limit fails the build", test_arena_limit},
        {"metadata from a pc_json_sink", test_metadata_emit},
        {NULL, NULL},
    };
    return cu_add_suite("authjson", cases);
}
