/* The host's value services: values are doc nodes. value_copy makes a deep,
 * independent, mutable copy of every JSON type of a read-only config
 * value; values are built in the request's memory; read-only and shared
 * values refuse changes; value_keep_json values are shared until released. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cu_main.h"
#include "doc/doc.h"
#include "ydoc/ydoc.h"
#include "eval/evalctx.h"
#include "host/hostimpl.h"

static const char YAML[] =
    "kind: Secret\n"
    "metadata:\n"
    "  name: k1\n"
    "  labels: {app: t, tier: gold}\n"
    "list: [1, 2.5, true, null, s, {x: [y]}]\n"
    "empty: {}\n"
    "none: []\n";

static void test_copy(void)
{
    const pc_host *h = host_table();
    ydoc_file *f = NULL;
    char err[256];
    CU_ASSERT_FATAL(ydoc_load_buffer("t.yaml", YAML, strlen(YAML), &f, err, sizeof err) == 0);
    struct arena cfg;
    arena_init(&cfg, 0);
    int cerr = 0;
    const doc *src = doc_from_jsonc(&cfg, f->docs[0].root, NULL, &cerr);
    CU_ASSERT_FATAL(!cerr && src);
    CU_ASSERT_FALSE(src->flags & DOC_MUTABLE); /* config values are read-only */

    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    struct arena *was = evalctx_enter(&rq.mem); /* as the pipeline does around evaluate */
    pc_value *c = h->value_copy(&ev, (const pc_value *)src);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT((const doc *)c != src);

    char *a = h->value_to_json((const pc_value *)src), *b = h->value_to_json(c);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(a, "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"k1\",\"labels\":"
                              "{\"app\":\"t\",\"tier\":\"gold\"}},\"list\":[1,2.5,true,null,"
                              "\"s\",{\"x\":[\"y\"]}],\"empty\":{},\"none\":[]}");
    h->free(a);
    h->free(b);

    /* Types survive. */
    const pc_value *meta = h->value_get(c, "metadata");
    const pc_value *list = h->value_get(c, "list");
    CU_ASSERT(meta != h->value_get((const pc_value *)src, "metadata"));
    CU_ASSERT_FATAL(h->value_length(list) == 6);
    CU_ASSERT(h->value_type(h->value_at(list, 0)) == PC_TYPE_INT);
    CU_ASSERT(h->value_type(h->value_at(list, 1)) == PC_TYPE_DOUBLE);
    CU_ASSERT(h->value_type(h->value_at(list, 2)) == PC_TYPE_BOOL);
    CU_ASSERT(h->value_at(list, 3) == NULL);
    CU_ASSERT(h->value_type(h->value_at(list, 4)) == PC_TYPE_STRING);
    CU_ASSERT(h->value_type(h->value_at(list, 5)) == PC_TYPE_OBJECT);
    CU_ASSERT(h->value_length(h->value_get(c, "empty")) == 0);
    CU_ASSERT(h->value_type(h->value_get(c, "none")) == PC_TYPE_ARRAY);

    /* Independent: changing the copy leaves the source alone; the source
     * itself refuses changes. */
    pc_value *v = h->value_new_string(&ev, "banned", 6);
    CU_ASSERT(h->value_set((pc_value *)h->value_get(meta, "labels"), "tier", v) == PC_OK);
    CU_ASSERT_STRING_EQUAL(
        h->value_string(h->value_get(h->value_get(h->value_get((const pc_value *)src,
                                                               "metadata"), "labels"),
                                     "tier"), NULL), "gold");
    CU_ASSERT(h->value_set((pc_value *)h->value_get((const pc_value *)src, "metadata"),
                           "tier", v) == PC_ERROR);

    /* value_text of a container is its JSON, valid while the request lives. */
    size_t n = 0;
    const char *t = h->value_text(h->value_get(c, "none"), &n);
    CU_ASSERT(t && n == 2 && strcmp(t, "[]") == 0);
    CU_ASSERT_STRING_EQUAL(h->value_text(NULL, &n), "");

    /* A scalar and nothing. */
    pc_value *s = h->value_copy(&ev, h->value_get((const pc_value *)src, "kind"));
    CU_ASSERT(s && strcmp(h->value_string(s, NULL), "Secret") == 0);
    CU_ASSERT(h->value_copy(&ev, NULL) == NULL);

    evalctx_enter(was);
    /* Outside an evaluation, nothing is built and nothing can be set. */
    CU_ASSERT(h->value_new_object(NULL) == NULL);
    CU_ASSERT(h->value_set(c, "x", NULL) == PC_ERROR);
    t = h->value_text(h->value_get(c, "empty"), &n); /* the per-thread fallback */
    CU_ASSERT(t && strcmp(t, "{}") == 0);

    evalctx_done(&ev);
    reqctx_clear(&rq);
    arena_free(&cfg);
    ydoc_file_free(f);
}

static void test_keep_json(void)
{
    const pc_host *h = host_table();
    pc_value *k = h->value_keep_json("{\"a\":[1,2],\"b\":\"x\"}", 19);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    const doc *d = (const doc *)k;
    CU_ASSERT_TRUE(d->flags & DOC_SHARED);
    CU_ASSERT_FALSE(d->flags & DOC_MUTABLE);
    CU_ASSERT_EQUAL(h->value_length(h->value_get(k, "a")), 2);
    /* shared values refuse changes even inside an evaluation */
    reqctx rq;
    reqctx_init(&rq, 0, NULL);
    struct arena *was = evalctx_enter(&rq.mem);
    CU_ASSERT(h->value_set(k, "c", NULL) == PC_ERROR);
    evalctx_enter(was);
    reqctx_clear(&rq);
    CU_ASSERT_PTR_NULL(h->value_keep_json("{", 1));
    CU_ASSERT_PTR_NULL(h->value_keep_json("null", 4));
    h->value_release(k);
    h->value_release(NULL);
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"value_copy: deep, independent, mutable", test_copy},
        {"value_keep_json: shared and read-only", test_keep_json},
        {NULL, NULL}};
    return cu_add_suite("host values", c);
}
