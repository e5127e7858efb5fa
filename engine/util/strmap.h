#ifndef PC_UTIL_STRMAP_H
#define PC_UTIL_STRMAP_H
/* strmap: a string -> pointer hash map with open addressing (linear probing,
 * backward-shift deletion, so no tombstones pile up) and a 64-bit FNV-1a-style
 * hash taken a word at a time.
 *
 * Keys are byte strings, copied on insert; they may hold any byte, NUL included
 * when the *n variants are used. Values are borrowed pointers the map never frees
 * itself (strmap_free takes an optional destructor). Lookups never allocate.
 *
 * The hash is unkeyed: fill a map from configuration or other trusted input; a
 * map filled with keys chosen by a remote peer can be made slow on purpose.
 * Not thread-safe for writers; any number of concurrent readers is fine while
 * nobody writes. */
#include <stddef.h>
#include <stdint.h>

typedef struct strmap strmap;

/* A map sized for about `hint` entries (0 for the default). NULL when out of memory. */
strmap *strmap_new(size_t hint);
/* Frees the map and its key copies; calls free_value(value) on each value if given. */
void strmap_free(strmap *m, void (*free_value)(void *value));

/* Inserts or replaces. Returns 0 when inserted, 1 when an existing value was
 * replaced (the old value goes to *old if old is not NULL), -1 when out of memory
 * (the map is unchanged). */
int strmap_put(strmap *m, const char *key, void *value, void **old);
int strmap_putn(strmap *m, const char *key, size_t len, void *value, void **old);

/* Inserts only when key is absent: returns 0 when inserted, 1 when key is
 * already there (its value goes to *existing if not NULL; the map is
 * unchanged), -1 when out of memory. One probe where find + put take two. */
int strmap_addn(strmap *m, const char *key, size_t len, void *value, void **existing);

/* The value for key, or NULL when absent (use strmap_find when NULL is a value). */
void *strmap_get(const strmap *m, const char *key);
void *strmap_getn(const strmap *m, const char *key, size_t len);
/* 1 and the value in *value (if not NULL) when present, 0 when absent. */
int strmap_find(const strmap *m, const char *key, size_t len, void **value);

/* Removes key. Returns 1 (old value in *old if not NULL) or 0 when absent. */
int strmap_del(strmap *m, const char *key, void **old);
int strmap_deln(strmap *m, const char *key, size_t len, void **old);

size_t strmap_count(const strmap *m);

/* Calls fn for every entry in unspecified order; key is NUL-terminated (len
 * excludes the NUL). A non-zero return from fn stops the walk and is returned.
 * fn must not modify the map. */
typedef int (*strmap_iter_fn)(void *arg, const char *key, size_t len, void *value);
int strmap_iterate(const strmap *m, strmap_iter_fn fn, void *arg);

/* The hash the map uses, for callers that want to bucket consistently. */
uint64_t strmap_hash(const void *key, size_t len);

#endif
