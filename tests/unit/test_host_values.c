/* The host's value services on request values: value_copy makes a deep,
 * independent copy of every JSON type, without the YAML line numbers a
 * config value carries (those serve config errors only). */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cu_main.h"
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
    struct json_object *src = f->docs[0].root;
    struct json_object *src_meta = json_object_object_get(src, "metadata");
    CU_ASSERT(ydoc_key_line(src_meta, "labels") == 4); /* the source keeps its lines */

    reqctx rq;
    pc_eval ev;
    reqctx_init(&rq, 0, NULL);
    evalctx_init(&ev, &rq, NULL, NULL);
    pc_value *c = h->value_copy(&ev, (const pc_value *)src);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT((struct json_object *)c != src);

    char *a = h->value_to_json((const pc_value *)src), *b = h->value_to_json(c);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_STRING_EQUAL(a, b);
    h->free(a);
    h->free(b);

    /* Types survive, and the copy has no line numbers. */
    struct json_object *cj = (struct json_object *)c;
    struct json_object *meta = json_object_object_get(cj, "metadata");
    struct json_object *list = json_object_object_get(cj, "list");
    CU_ASSERT(meta != src_meta);
    CU_ASSERT(ydoc_key_line(meta, "labels") == 0);
    CU_ASSERT(ydoc_line(meta) == 0);
    CU_ASSERT(ydoc_line(json_object_object_get(meta, "name")) == 0);
    CU_ASSERT_FATAL(json_object_array_length(list) == 6);
    CU_ASSERT(json_object_is_type(json_object_array_get_idx(list, 0), json_type_int));
    CU_ASSERT(json_object_is_type(json_object_array_get_idx(list, 1), json_type_double));
    CU_ASSERT(json_object_is_type(json_object_array_get_idx(list, 2), json_type_boolean));
    CU_ASSERT(json_object_array_get_idx(list, 3) == NULL);
    CU_ASSERT(json_object_is_type(json_object_array_get_idx(list, 4), json_type_string));
    CU_ASSERT(json_object_is_type(json_object_array_get_idx(list, 5), json_type_object));
    CU_ASSERT(json_object_object_length(json_object_object_get(cj, "empty")) == 0);
    CU_ASSERT(json_object_array_length(json_object_object_get(cj, "none")) == 0);

    /* Independent: changing the copy leaves the source alone. */
    pc_value *v = h->value_new_string(&ev, "banned", 6);
    CU_ASSERT(h->value_set((pc_value *)json_object_object_get(meta, "labels"), "tier", v) ==
              PC_OK);
    CU_ASSERT_STRING_EQUAL(
        json_object_get_string(json_object_object_get(
            json_object_object_get(src_meta, "labels"), "tier")), "gold");

    /* A scalar and nothing. */
    pc_value *s = h->value_copy(&ev, (const pc_value *)json_object_object_get(src, "kind"));
    CU_ASSERT(s && strcmp(h->value_string(s, NULL), "Secret") == 0);
    CU_ASSERT(h->value_copy(&ev, NULL) == NULL);

    evalctx_done(&ev);
    reqctx_clear(&rq);
    ydoc_file_free(f);
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"value_copy: deep, independent, without lines", test_copy},
        {NULL, NULL}};
    return cu_add_suite("host values", c);
}
