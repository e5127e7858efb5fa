#include <pthread.h>
#include <stdlib.h>
#include "thread_exit.h"

typedef struct exit_item {
    void (*fn)(void *);
    void *arg;
    struct exit_item *next;
} exit_item;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void run_items(void *head)
{
    for (exit_item *it = head, *next; it; it = next) {
        next = it->next;
        it->fn(it->arg);
        free(it);
    }
}

static void make_key(void)
{
    pthread_key_create(&g_key, run_items);
}

int thread_at_exit(void (*fn)(void *), void *arg)
{
    pthread_once(&g_once, make_key);
    exit_item *it = malloc(sizeof *it);
    if (!it)
        return -1;
    it->fn = fn;
    it->arg = arg;
    it->next = pthread_getspecific(g_key);
    if (pthread_setspecific(g_key, it) != 0) {
        free(it);
        return -1;
    }
    return 0;
}
