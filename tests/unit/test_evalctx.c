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
     * deadline, and a value handed over is dropped, never leaked. */
    CU_ASSERT_EQUAL(evalctx_deadline(NULL), 0);
    CU_ASSERT_EQUAL(evalctx_expired(NULL), 0);
    CU_ASSERT_EQUAL(evalctx_has_reason(NULL), 0);
    CU_ASSERT_PTR_NULL(evalctx_keep(NULL, json_object_new_string("x")));
    CU_ASSERT_PTR_NULL(evalctx_keep(NULL, NULL));

    pc_eval e;
    evalctx_init(&e, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(evalctx_deadline(&e), 0);
    CU_ASSERT_EQUAL(evalctx_expired(&e), 0);
    CU_ASSERT_PTR_NULL(evalctx_keep(&e, json_object_new_int(1)));
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

    struct json_object *v = json_object_new_string("kept");
    CU_ASSERT_PTR_EQUAL(evalctx_keep(&e, v), v);
    CU_ASSERT_EQUAL(rq.n_scratch, 1);

    CU_ASSERT_EQUAL(evalctx_has_reason(&e), 0);
    evalctx_reason(&e, "because %d", 7);
    CU_ASSERT_EQUAL(evalctx_has_reason(&e), 1);
    CU_ASSERT_STRING_EQUAL(e.reason, "because 7");
    evalctx_done(&e);
    reqctx_clear(&rq); /* drops the kept value */
    CU_ASSERT_EQUAL(rq.n_scratch, 0);
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
        {NULL, NULL},
    };
    return cu_add_suite("evalctx", cases);
}
