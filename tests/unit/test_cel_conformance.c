/* The CEL specification's conformance tests, converted by tests/data/cel/convert.py
 * into the JSON files under tests/data/cel. Prints the pass count per file; any test that is not
 * deliberately excluded (its "skip" says why) must pass. */
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_main.h"
#include "cel/cel_int.h"
#include "doc/doc.h"

static cel_arena arena;
static struct arena docs;

/* The result as doc nodes (the request path's form) must write the same JSON as the
 * result converted straight to json-c; both must fail alike. 1 when they agree. */
static int same_json(const cel_value *v, char *why, size_t whylen)
{
    cel_error e1 = {0}, e2 = {0};
    struct json_object *j = NULL, *k = NULL;
    const doc *d = NULL;
    int r1 = cel_value_to_json(v, &cel_doc_tree, &j, &e1);
    int r2 = cel_value_to_doc(v, &cel_doc_tree, &docs, &d, &e2);
    int ok = r1 == r2;
    if (ok && r1 == 0) {
        ok = doc_to_jsonc(d, &k) == 0 &&
             strcmp(json_object_to_json_string(j), json_object_to_json_string(k)) == 0;
        if (!ok) snprintf(why, whylen, "as doc: %s, as json-c: %s", json_object_to_json_string(k),
                          json_object_to_json_string(j));
    } else if (!ok) {
        snprintf(why, whylen, "as doc: %s, as json-c: %s", r2 ? e2.msg : "ok", r1 ? e1.msg : "ok");
    }
    json_object_put(j);
    json_object_put(k);
    arena_reset(&docs);
    return ok;
}

static int hexv(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

/* A typed value from the converter's encoding (see convert.py). */
static int build(struct json_object *j, cel_value *out)
{
    json_object_object_foreach(j, k, v) {
        const char *s = json_object_get_string(v);
        if (!strcmp(k, "int")) *out = cel_int(strtoll(s, NULL, 10));
        else if (!strcmp(k, "uint")) *out = cel_uint(strtoull(s, NULL, 10));
        else if (!strcmp(k, "double")) *out = cel_double(strtod(s, NULL));
        else if (!strcmp(k, "bool")) *out = cel_bool(json_object_get_boolean(v));
        else if (!strcmp(k, "null")) *out = cel_null();
        else if (!strcmp(k, "string")) *out = cel_str(s, (size_t)json_object_get_string_len(v));
        else if (!strcmp(k, "bytes")) {
            size_t n = strlen(s) / 2;
            char *b = cel_alloc(&arena, n + 1);
            for (size_t i = 0; i < n; i++) b[i] = (char)(hexv(s[2 * i]) << 4 | hexv(s[2 * i + 1]));
            *out = cel_bytes(b, n);
        } else if (!strcmp(k, "type")) {
            static const char *const names[] = {"null_type", "bool", "int", "uint", "double", "string", "bytes",
                                                "list", "map", "type", "google.protobuf.Duration",
                                                "google.protobuf.Timestamp", "optional_type"};
            for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
                if (!strcmp(s, names[i])) {
                    *out = cel_type((cel_kind)i);
                    return 0;
                }
            return -1;
        } else if (!strcmp(k, "list")) {
            size_t n = json_object_array_length(v);
            cel_value *e = cel_alloc(&arena, (n + 1) * sizeof *e);
            for (size_t i = 0; i < n; i++)
                if (build(json_object_array_get_idx(v, i), &e[i])) return -1;
            *out = (cel_value){CEL_LIST, 0, (uint32_t)n, {.l = e}};
        } else if (!strcmp(k, "map")) {
            size_t n = json_object_array_length(v);
            cel_pair *e = cel_alloc(&arena, (n + 1) * sizeof *e);
            for (size_t i = 0; i < n; i++) {
                struct json_object *kv = json_object_array_get_idx(v, i);
                if (build(json_object_array_get_idx(kv, 0), &e[i].k) ||
                    build(json_object_array_get_idx(kv, 1), &e[i].v))
                    return -1;
            }
            *out = (cel_value){CEL_MAP, 0, (uint32_t)n, {.m = e}};
        } else return -1;
        return 0;
    }
    return -1;
}

/* Equality that also demands the same type (1 is not 1.0 here), NaN equal to NaN. */
static int same(cel_value a, cel_value b)
{
    if (a.kind != b.kind || ((a.kind == CEL_TYPE || a.kind == CEL_LIST) && a.sub != b.sub)) return 0;
    switch (a.kind) {
    case CEL_NULL: return 1;
    case CEL_BOOL: return a.u.b == b.u.b;
    case CEL_INT: return a.u.i == b.u.i;
    case CEL_UINT: return a.u.u == b.u.u;
    case CEL_DOUBLE: return (isnan(a.u.d) && isnan(b.u.d)) || a.u.d == b.u.d;
    case CEL_STRING: case CEL_BYTES: return a.n == b.n && !memcmp(a.u.s, b.u.s, a.n);
    case CEL_TYPE: return 1;
    case CEL_DURATION: case CEL_TIMESTAMP: return a.u.sec == b.u.sec && a.n == b.n;
    case CEL_LIST:
        if (a.n != b.n) return 0;
        for (uint32_t i = 0; i < a.n; i++)
            if (!same(a.u.l[i], b.u.l[i])) return 0;
        return 1;
    case CEL_MAP:
        if (a.n != b.n) return 0;
        for (uint32_t i = 0; i < a.n; i++) {
            uint32_t k;
            for (k = 0; k < b.n; k++)
                if (same(a.u.m[i].k, b.u.m[k].k)) break;
            if (k == b.n || !same(a.u.m[i].v, b.u.m[k].v)) return 0;
        }
        return 1;
    default: return 0;
    }
}

static void show(cel_value v, char *out, size_t cap)
{
    size_t n = 0;
    switch (v.kind) {
    case CEL_INT: snprintf(out, cap, "%lld", (long long)v.u.i); break;
    case CEL_UINT: snprintf(out, cap, "%lluu", (unsigned long long)v.u.u); break;
    case CEL_DOUBLE: snprintf(out, cap, "%.17g (double)", v.u.d); break;
    case CEL_STRING: snprintf(out, cap, "'%.*s'", (int)v.n, v.u.s); break;
    case CEL_BYTES: snprintf(out, cap, "b'%.*s'", (int)v.n, v.u.s); break;
    case CEL_BOOL: snprintf(out, cap, "%s", v.u.b ? "true" : "false"); break;
    case CEL_LIST:
        n += (size_t)snprintf(out, cap, "[");
        for (uint32_t i = 0; i < v.n && n < cap - 40; i++) {
            show(v.u.l[i], out + n, cap - n);
            n += strlen(out + n);
            n += (size_t)snprintf(out + n, cap - n, ", ");
        }
        snprintf(out + n, cap - n, "]");
        break;
    default: snprintf(out, cap, "<%s>", cel_type_name(v));
    }
}

static int total_fail;

static void run_file(const char *path)
{
    struct json_object *d = json_object_from_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct json_object *j;
    const char *file = json_object_get_string(json_object_object_get(d, "file"));
    if (json_object_object_get_ex(d, "skip", &j)) {
        printf("  %-14s excluded: %d tests (%s)\n", file,
               json_object_get_int(json_object_object_get(d, "count")), json_object_get_string(j));
        json_object_put(d);
        return;
    }
    struct json_object *tests = json_object_object_get(d, "tests");
    int pass = 0, fail = 0, skip = 0;
    for (size_t i = 0; i < json_object_array_length(tests); i++) {
        struct json_object *t = json_object_array_get_idx(tests, i);
        const char *name = json_object_get_string(json_object_object_get(t, "name"));
        const char *sec = json_object_get_string(json_object_object_get(t, "section"));
        struct json_object *ej = json_object_object_get(t, "expr");
        const char *expr = json_object_get_string(ej);
        size_t elen = (size_t)json_object_get_string_len(ej);
        if (json_object_object_get_ex(t, "skip", &j)) {
            skip++;
            continue;
        }
        const char *vars[64];
        cel_value vals[64];
        int nv = 0, ok = 1;
        struct json_object *b, *decls;
        if (json_object_object_get_ex(t, "bindings", &b)) {
            json_object_object_foreach(b, k, v) {
                if (nv < 63 && build(v, &vals[nv]) == 0) vars[nv++] = k;
                else ok = 0;
            }
        }
        if (json_object_object_get_ex(t, "decls", &decls))
            for (size_t k = 0; k < json_object_array_length(decls) && nv < 63; k++) {
                const char *dn = json_object_get_string(json_object_array_get_idx(decls, k));
                int dup = 0;
                for (int m = 0; m < nv; m++) dup |= !strcmp(vars[m], dn);
                if (!dup) {
                    vals[nv] = (cel_value){CEL_ERROR, 0, 0, {.err = "no such attribute (declared, unbound)"}};
                    vars[nv++] = dn;
                }
            }
        vars[nv] = NULL;
        cel_error err = {0};
        cel_value got = {CEL_ERROR, 0, 0, {.err = ""}}, want;
        char wtxt[256] = "", gtxt[256] = "";
        cel_program *p = ok ? cel_compile(expr, elen, vars, &err) : NULL;
        int is_err = 1;
        if (p) {
            cel_activation act = {&cel_doc_tree, NULL, vals};
            is_err = cel_eval(p, &act, NULL, &arena, &got, &err) != 0;
        }
        struct json_object *expect;
        if (json_object_object_get_ex(t, "error", &expect)) {
            ok = ok && is_err;
            snprintf(wtxt, sizeof wtxt, "error %s", json_object_get_string(expect));
        } else {
            json_object_object_get_ex(t, "expect", &expect);
            ok = ok && !is_err && build(expect, &want) == 0 && same(got, want);
            if (build(expect, &want) == 0) show(want, wtxt, sizeof wtxt);
        }
        if (is_err) snprintf(gtxt, sizeof gtxt, "%s: %s", p ? "error" : "compile error", err.msg);
        else show(got, gtxt, sizeof gtxt);
        if (ok && !is_err && !same_json(&got, gtxt, sizeof gtxt)) {
            ok = 0;
            snprintf(wtxt, sizeof wtxt, "the same JSON both ways");
        }
        if (ok) {
            pass++;
        } else {
            fail++;
            printf("    FAIL %s/%s/%s: %s\n      got  %s\n      want %s\n", file, sec, name, expr, gtxt, wtxt);
        }
        cel_program_free(p);
        cel_arena_reset(&arena);
    }
    printf("  %-14s %4d of %4d passed, %3d excluded\n", file, pass, pass + fail, skip);
    total_fail += fail;
    json_object_put(d);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int is_json(const struct dirent *e) { size_t n = strlen(e->d_name); return n > 5 && !strcmp(e->d_name + n - 5, ".json"); }

static void test_conformance(void)
{
    const char *src = getenv("PC_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/cel", src ? src : ".");
    struct dirent **ents;
    int n = scandir(dir, &ents, is_json, by_name);
    CU_ASSERT_FATAL(n > 0);
    cel_arena_init(&arena, 0);
    arena_init(&docs, 0);
    printf("\n");
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
        run_file(path);
        free(ents[i]);
    }
    free(ents);
    cel_arena_free(&arena);
    arena_free(&docs);
    CU_ASSERT_EQUAL(total_fail, 0);
}

int cu_register(void)
{
    static const cu_case cases[] = {{"cel-spec conformance", test_conformance}, {NULL, NULL}};
    return cu_add_suite("cel conformance", cases);
}
