/* list.h - the intrusive doubly-linked list: a list_node sits inside the
 * element, a list head (a node of its own) closes the ring, so linking and
 * unlinking never allocate and an element can leave from the middle in
 * O(1). Header-only, for the engine and the plugins alike.
 *
 *   typedef struct job { list_node link; ... } job;
 *   list_node q;  list_init(&q);
 *   list_push_back(&q, &j->link);
 *   job *first = LIST_FIRST(&q, job, link);   NULL when empty
 *   list_remove(&j->link);
 */
#ifndef PC_UTIL_LIST_H
#define PC_UTIL_LIST_H
#include <stddef.h>

typedef struct list_node {
    struct list_node *prev, *next;
} list_node;

/* The element holding node n (n a member called `member` of type). */
#define LIST_ENTRY(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))
/* The first / last element of list h, or NULL when it is empty. */
#define LIST_FIRST(h, type, member) (list_empty(h) ? NULL : LIST_ENTRY((h)->next, type, member))
#define LIST_LAST(h, type, member) (list_empty(h) ? NULL : LIST_ENTRY((h)->prev, type, member))
/* Walks the nodes of h; n may be unlinked in the body (nx is kept ahead). */
#define LIST_FOREACH_SAFE(n, nx, h) \
    for ((n) = (h)->next, (nx) = (n)->next; (n) != (h); (n) = (nx), (nx) = (n)->next)

static inline void list_init(list_node *h)
{
    h->prev = h->next = h;
}

static inline int list_empty(const list_node *h)
{
    return h->next == h;
}

/* Is n linked into some list? (Nodes start and end unlinked: list_init.) */
static inline int list_linked(const list_node *n)
{
    return n->next != n;
}

static inline void list_insert_after(list_node *at, list_node *n)
{
    n->prev = at;
    n->next = at->next;
    at->next->prev = n;
    at->next = n;
}

static inline void list_push_front(list_node *h, list_node *n)
{
    list_insert_after(h, n);
}

static inline void list_push_back(list_node *h, list_node *n)
{
    list_insert_after(h->prev, n);
}

/* Unlinks n and leaves it unlinked (list_linked says 0). */
static inline void list_remove(list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

/* Unlinks and returns the first node of h, or NULL. */
static inline list_node *list_pop_front(list_node *h)
{
    if (list_empty(h))
        return NULL;
    list_node *n = h->next;
    list_remove(n);
    return n;
}
#endif
