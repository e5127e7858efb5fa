/* Tests for the shared helpers in engine/util: the bounded buffer, the
 * arena, the string toolbox and the intrusive list. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/str.h"

static void test_buf_unbounded(void)
{
    buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(buf_printf(&b, "%04d", i), 0);
    CU_ASSERT_EQUAL(b.len, 4000);
    CU_ASSERT_EQUAL(strncmp(b.data + 3996, "0999", 4), 0);
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    CU_ASSERT_FALSE(b.failed);
    char *s = buf_steal(&b);
    CU_ASSERT_EQUAL(strlen(s), 4000);
    CU_ASSERT_PTR_NULL(b.data);
    free(s);
    buf_free(&b);
}

static void test_buf_limit_is_exact_and_sticky(void)
{
    buf b;
    buf_init_max(&b, 8);
    CU_ASSERT_EQUAL(buf_puts(&b, "12345678"), 0); /* exactly max */
    CU_ASSERT_EQUAL(b.len, 8);
    CU_ASSERT_FALSE(b.failed);
    CU_ASSERT_EQUAL(buf_putc(&b, '9'), -1);       /* one past */
    CU_ASSERT_TRUE(b.failed);
    CU_ASSERT_STRING_EQUAL(b.data, "12345678");   /* content unchanged */
    buf_reset(&b);
    CU_ASSERT_FALSE(b.failed);
    CU_ASSERT_EQUAL(buf_puts(&b, "abc"), 0);
    CU_ASSERT_EQUAL(buf_puts(&b, "defghi"), -1);  /* 9 > 8 */
    /* Sticky: a later append that would fit still fails, so a message
     * built in pieces cannot come out with a hole in it. */
    CU_ASSERT_EQUAL(buf_putc(&b, 'x'), -1);
    CU_ASSERT_STRING_EQUAL(b.data, "abc");
    CU_ASSERT_EQUAL(b.max, 8);
    buf_wipe(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
}

static void test_buf_printf_over_limit(void)
{
    buf b;
    buf_init_max(&b, 300);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(buf_printf(&b, "%s", big), -1); /* the long path */
    CU_ASSERT_TRUE(b.failed);
    CU_ASSERT_EQUAL(b.len, 0);
    buf_reset(&b);
    CU_ASSERT_EQUAL(buf_printf(&b, "%.*s", 300, big), 0);
    CU_ASSERT_EQUAL(b.len, 300);
    buf_free(&b);
}

static void test_buf_on_storage(void)
{
    char local[8];
    buf b;
    buf_init_on(&b, local, sizeof local);
    CU_ASSERT_EQUAL(buf_puts(&b, "short"), 0);
    CU_ASSERT_PTR_EQUAL(b.data, local); /* no malloc */
    char *s = buf_steal(&b);             /* a heap copy, local stays */
    CU_ASSERT_PTR_NOT_EQUAL(s, local);
    CU_ASSERT_STRING_EQUAL(s, "short");
    free(s);
    buf_init_on(&b, local, sizeof local);
    CU_ASSERT_EQUAL(buf_puts(&b, "four"), 0);
    CU_ASSERT_EQUAL(buf_puts(&b, " more bytes"), 0); /* moves to the heap */
    CU_ASSERT_PTR_NOT_EQUAL(b.data, local);
    CU_ASSERT_STRING_EQUAL(b.data, "four more bytes");
    CU_ASSERT_EQUAL(buf_puts(&b, " and more"), 0);    /* realloc from there */
    CU_ASSERT_STRING_EQUAL(b.data, "four more bytes and more");
    buf_free(&b);
    buf_init_on(&b, local, sizeof local);
    buf_free(&b); /* never frees the caller's storage (ASan would say) */
    CU_ASSERT_PTR_NULL(b.data);
}

static void test_arena(void)
{
    struct arena a;
    arena_init(&a, 0);
    char *p = arena_alloc(&a, 1), *q = arena_alloc(&a, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(((uintptr_t)p) % 8, 0);
    CU_ASSERT_EQUAL(((uintptr_t)q) % 8, 0);
    CU_ASSERT_EQUAL(q - p, 8);
    /* Bigger than a chunk: a chunk of its own, still usable. */
    char *big = arena_alloc(&a, 100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 1, 100000);
    CU_ASSERT_EQUAL(a.total, 16 + 100000);
    arena_chunk *kept = a.head;
    arena_reset(&a);
    CU_ASSERT_PTR_EQUAL(a.head, kept); /* the largest chunk stays */
    CU_ASSERT_PTR_NULL(a.head->next);
    CU_ASSERT_EQUAL(a.total, 0);
    CU_ASSERT_PTR_EQUAL(arena_alloc(&a, 5), kept->data); /* no malloc */
    CU_ASSERT_PTR_NULL(arena_alloc(&a, SIZE_MAX - 3)); /* would wrap when rounded */
    CU_ASSERT_PTR_NULL(arena_alloc(&a, SIZE_MAX / 2 + 8));
    arena_free(&a);
    CU_ASSERT_PTR_NULL(a.head);
}

static void test_arena_limit(void)
{
    struct arena a;
    arena_init(&a, 64);
    CU_ASSERT_PTR_NOT_NULL(arena_alloc(&a, 60));  /* 64 after rounding */
    CU_ASSERT_PTR_NULL(arena_alloc(&a, 1));       /* past the limit */
    CU_ASSERT_PTR_NULL(arena_alloc(&a, SIZE_MAX - 100));
    arena_reset(&a);
    CU_ASSERT_PTR_NOT_NULL(arena_alloc(&a, 64));  /* a reset gives it back */
    arena_free(&a);
}

static void test_str(void)
{
    char s[] = "Content-TYPE: x/Y";
    str_lower(s, s, strlen(s));
    CU_ASSERT_STRING_EQUAL(s, "content-type: x/y");
    char d[4];
    str_upper(d, "get", 4);
    CU_ASSERT_STRING_EQUAL(d, "GET");
    CU_ASSERT_TRUE(str_eq("abc", 3, "abc"));
    CU_ASSERT_FALSE(str_eq("abc", 2, "abc"));
    CU_ASSERT_FALSE(str_eq("abd", 3, "abc"));
    CU_ASSERT_TRUE(str_eq("", 0, ""));
    CU_ASSERT_TRUE(str_ieq("Host", 4, "hOST", 4));
    CU_ASSERT_FALSE(str_ieq("Host", 4, "Hosts", 5));
    CU_ASSERT_FALSE(str_ieq("[", 1, "{", 1)); /* not a 0x20-bit trick */
    CU_ASSERT_EQUAL(str_icmp("Bearer", "bEARER"), 0);
    CU_ASSERT_TRUE(str_icmp("a", "B") < 0);
    CU_ASSERT_TRUE(str_icmp("ab", "A") > 0);
    CU_ASSERT_EQUAL(str_nicmp("Bearer xyz", "BEARER abc", 7), 0);
    CU_ASSERT_NOT_EQUAL(str_nicmp("Bearer", "Basic", 6), 0);
    CU_ASSERT_EQUAL(str_lower_c('\xc4'), '\xc4'); /* bytes past ASCII stay */
    CU_ASSERT_EQUAL(str_hexval('0'), 0);
    CU_ASSERT_EQUAL(str_hexval('9'), 9);
    CU_ASSERT_EQUAL(str_hexval('a'), 10);
    CU_ASSERT_EQUAL(str_hexval('F'), 15);
    CU_ASSERT_EQUAL(str_hexval('g'), -1);
    CU_ASSERT_EQUAL(str_hexval('G'), -1);
    CU_ASSERT_EQUAL(str_hexval(0xc4), -1);
}

typedef struct item {
    int v;
    list_node link;
} item;

static void test_list(void)
{
    list_node h;
    list_init(&h);
    CU_ASSERT_TRUE(list_empty(&h));
    CU_ASSERT_PTR_NULL(LIST_FIRST(&h, item, link));
    item it[4];
    for (int i = 0; i < 4; i++) {
        it[i].v = i;
        list_init(&it[i].link);
        CU_ASSERT_FALSE(list_linked(&it[i].link));
    }
    list_push_back(&h, &it[1].link);
    list_push_back(&h, &it[2].link);
    list_push_front(&h, &it[0].link);
    list_push_back(&h, &it[3].link);
    CU_ASSERT_EQUAL(LIST_FIRST(&h, item, link)->v, 0);
    CU_ASSERT_EQUAL(LIST_LAST(&h, item, link)->v, 3);
    list_remove(&it[2].link); /* from the middle */
    CU_ASSERT_FALSE(list_linked(&it[2].link));
    int seen[4], n = 0;
    list_node *x, *nx;
    LIST_FOREACH_SAFE(x, nx, &h) {
        seen[n++] = LIST_ENTRY(x, item, link)->v;
        if (n == 1)
            list_remove(x); /* unlinking while walking */
    }
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(seen[0], 0);
    CU_ASSERT_EQUAL(seen[1], 1);
    CU_ASSERT_EQUAL(seen[2], 3);
    CU_ASSERT_PTR_EQUAL(list_pop_front(&h), &it[1].link);
    CU_ASSERT_PTR_EQUAL(list_pop_front(&h), &it[3].link);
    CU_ASSERT_PTR_NULL(list_pop_front(&h));
    CU_ASSERT_TRUE(list_empty(&h));
}

int cu_register(void)
{
    static const cu_case cases[] = {
        {"buf grows without a limit", test_buf_unbounded},
        {"buf limit is exact and failure sticky", test_buf_limit_is_exact_and_sticky},
        {"buf_printf over the limit", test_buf_printf_over_limit},
        {"buf on the caller's storage", test_buf_on_storage},
        {"arena allocates, resets, keeps a chunk", test_arena},
        {"arena limit", test_arena_limit},
        {"string toolbox", test_str},
        {"intrusive list", test_list},
        {NULL, NULL},
    };
    return cu_add_suite("util", cases);
}
