/* Tests for engine/eval: the evaluation context and the accessors the
 * services below the pipeline (cache, kube) use instead of its fields. */
#include <stdatomic.h>
#include <stdlib.h>

#include "cu_main.h"
#include "eval/evalctx.h"
#include "util/clock.h"

static void test_accessors_without_evaluation(void)
{
    /* Host-internal calls pass no evaluation: nothing to expire, no
     * deadline, no memory to build in, and a shared document handed over
     * is dropped, never leaked. */
    CU_ASSERT_EQUAL(evalctx_deadline(NULL), 0);
    CU_ASSERT_EQUAL(evalctx_expired(NULL), 0);
    CU_ASSERT_EQUAL(evalctx_has_reason(NULL), 0);
    CU_ASSERT_PTR_NULL(evalctx_arena(NULL));
    struct arena a;
    arena_init(&a, 0);
    doc_shared *s = doc_share(doc_new_int(&a, 1));
    arena_free(&a);
    CU_ASSERT_EQUAL(evalctx_hold(NULL, s), -1); /* dropped: leak checkers see it freed */

    pc_eval e;
    evalctx_init(&e, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(evalctx_deadline(&e), 0);
    CU_ASSERT_EQUAL(evalctx_expired(&e), 0);
    CU_ASSERT_PTR_NULL(evalctx_arena(&e));
    evalctx_done(&e);
}

static void test_accessors_follow_the_request(void)
{
    reqctx rq;
    atomic_int cancelled;
    atomic_init(&cancelled, 0);
    int64_t deadline = clock_mono_ns() + 60 * 1000000000LL;
    reqctx_init(&rq, deadline, &cancelled);
    pc_eval e;
    evalctx_init(&e, &rq, NULL, NULL);
    CU_ASSERT_EQUAL(evalctx_deadline(&e), deadline);
    CU_ASSERT_EQUAL(evalctx_expired(&e), 0);
    atomic_store(&cancelled, 1);
    CU_ASSERT_EQUAL(evalctx_expired(&e), 1);

    /* Values live in the request's memory; shared documents it points
     * into are held until it ends. */
    CU_ASSERT_PTR_EQUAL(evalctx_arena(&e), &rq.mem);
    doc *v = doc_new_str(evalctx_arena(&e), "kept", 4);
    CU_ASSERT_PTR_NOT_NULL(v);
    doc_shared *s = doc_share(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(evalctx_hold(&e, doc_shared_ref(s)), 0);
    CU_ASSERT_PTR_NOT_NULL(rq.held);
    doc_shared_unref(s); /* the request's reference keeps it */
    CU_ASSERT_STRING_EQUAL(doc_str(doc_shared_root(rq.held->doc), NULL), "kept");

    CU_ASSERT_EQUAL(evalctx_has_reason(&e), 0);
    evalctx_reason(&e, "because %d", 7);
    CU_ASSERT_EQUAL(evalctx_has_reason(&e), 1);
    CU_ASSERT_STRING_EQUAL(e.reason, "because 7");
    evalctx_done(&e);
    reqctx_clear(&rq); /* frees the values, drops the held document */
    CU_ASSERT_PTR_NULL(rq.held);
    CU_ASSERT_EQUAL(rq.mem.total, 0);
}

static void test_request_memory_is_bounded(void)
{
    size_t was = reqctx_max_bytes();
    reqctx_set_max_bytes(64 * 1024);
    reqctx rq;
    reqctx_init(&rq, 0, NULL);
    reqctx_set_max_bytes(was);
    CU_ASSERT_EQUAL(reqctx_max_bytes(), was);
    doc *arr = doc_new_array(&rq.mem, 0);
    int failed = 0;
    for (int i = 0; i < 100000 && !failed; i++)
        failed = doc_append(&rq.mem, arr, doc_new_str(&rq.mem, "0123456789abcdef", 16)) != 0;
    CU_ASSERT_TRUE(failed);
    CU_ASSERT_TRUE(rq.mem.total <= 64 * 1024);
    reqctx_clear(&rq);
    reqctx_set_max_bytes(0);
    CU_ASSERT_EQUAL(reqctx_max_bytes(), REQCTX_DEFAULT_MAX_BYTES);
    reqctx_set_max_bytes(was);
}

static void test_thread_arena(void)
{
    struct arena a, b;
    CU_ASSERT_PTR_NULL(evalctx_current());
    struct arena *w0 = evalctx_enter(&a);
    CU_ASSERT_PTR_NULL(w0);
    struct arena *w1 = evalctx_enter(&b);
    CU_ASSERT_PTR_EQUAL(w1, &a);
    CU_ASSERT_PTR_EQUAL(evalctx_current(), &b);
    evalctx_enter(w1);
    CU_ASSERT_PTR_EQUAL(evalctx_current(), &a);
    evalctx_enter(w0);
    CU_ASSERT_PTR_NULL(evalctx_current());
}

static void test_deadline_passed(void)
{
    reqctx rq;
    reqctx_init(&rq, clock_mono_ns() - 1, NULL);
    pc_eval e;
    evalctx_init(&e, &rq, NULL, NULL);
    CU_ASSERT_EQUAL(evalctx_expired(&e), 1);
    evalctx_done(&e);
    reqctx_clear(&rq);
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"accessors without an evaluation", test_accessors_without_evaluation},
        {"accessors follow the request", test_accessors_follow_the_request},
        {"a passed deadline expires", test_deadline_passed},
        {"a request's memory is bounded", test_request_memory_is_bounded},
        {"the thread's current arena nests", test_thread_arena},
        {NULL, NULL},
    };
    return cu_add_suite("evalctx", cases);
}
