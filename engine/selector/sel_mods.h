/* Authorino's modifiers (pkg/json/json.go) and the text mapping they share. */
#ifndef PC_SELECTOR_MODS_H
#define PC_SELECTOR_MODS_H
#include "sel_internal.h"

int sel_prep_extract(struct sel_modarg *a, char *err, size_t errlen);
int sel_mod_extract(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp);
int sel_prep_replace(struct sel_modarg *a, char *err, size_t errlen);
int sel_mod_replace(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp);
int sel_prep_case(struct sel_modarg *a, char *err, size_t errlen);
int sel_mod_case(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp);
int sel_prep_base64(struct sel_modarg *a, char *err, size_t errlen);
int sel_mod_base64(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp);
int sel_mod_strip(const struct sel_modarg *a, const doc *in, int present, struct arena *ar,
                const doc **out, int *outp);

/* sel_textmap.c: rewrites text rune by rune into b. */
enum sel_textmap { SEL_MAP_UPPER, SEL_MAP_LOWER, SEL_MAP_STRIP };
void sel_map_text(buf *b, const char *s, size_t n, enum sel_textmap how);
/* Copies a value into ar with every string and member name mapped; other values are
 * shared with in. Returns 0, or -1 (arena limit, memory, or nested deeper than
 * SEL_MAX_DOC). */
int sel_map_value(const doc *in, enum sel_textmap how, struct arena *ar, int depth,
                  const doc **out);

#endif
