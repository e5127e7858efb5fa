/* JSON text in and out: engine/doc (doc_parse, doc_to_json) against json-c
 * (json_tokener_parse_ex, json_object_to_json_string_ext PLAIN |
 * NOSLASHESCAPE) on a ~1 KB TokenReview response and a ~64 KB document.
 *
 * Usage: bench_doc_json                 ns/op for every case, side by side
 *        bench_doc_json CASE N          only CASE, N times (for callgrind:
 *                                       bench/doc_json_instr.sh)
 * CASE: {doc,jsonc}-{1k,64k}-{parse,write,both} */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "doc/doc.h"
#include "util/buf.h"

static const char tokenreview[] =
    "{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":"
    "{\"creationTimestamp\":null,\"managedFields\":[{\"manager\":\"portcullis\",\"operation\":"
    "\"Update\",\"apiVersion\":\"authentication.k8s.io/v1\",\"time\":\"2026-12-02T03:04:05Z\"}]},"
    "\"spec\":{\"token\":\"eyJhbGciOiJSUzI1NiIsImtpZCI6IjRmY2QzYjYxIn0.eyJhdWQiOlsiaHR0cHM6Ly9rdWJl"
    "cm5ldGVzLmRlZmF1bHQuc3ZjIl0sImV4cCI6MTc2NDY0NTA0NSwiaWF0IjoxNzY0NjQxNDQ1LCJpc3MiOiJodHRwczov"
    "L2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMiLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2"
    "lnbmF0dXJlLWJ5dGVzLWdvLWhlcmUtYW5kLXRoZXktYXJlLWxvbmctZW5vdWdoLXRvLWxvb2stcmVhbA\","
    "\"audiences\":[\"https://kubernetes.default.svc\"]},\"status\":{\"authenticated\":true,"
    "\"user\":{\"username\":\"system:serviceaccount:default:app\",\"uid\":"
    "\"5e6f7a8b-1c2d-4e3f-9a0b-1c2d3e4f5a6b\",\"groups\":[\"system:serviceaccounts\","
    "\"system:serviceaccounts:default\",\"system:authenticated\"],\"extra\":{"
    "\"authentication.kubernetes.io/credential-id\":[\"JTI=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\"],"
    "\"authentication.kubernetes.io/node-name\":[\"worker-3\"],"
    "\"authentication.kubernetes.io/pod-name\":[\"app-7d9f8c6b5-x2x4q\"],"
    "\"authentication.kubernetes.io/pod-uid\":[\"a1b2c3d4-e5f6-4789-9abc-def012345678\"]}},"
    "\"audiences\":[\"https://kubernetes.default.svc\"]}}";

/* ~64 KB: records with the mix a request document has (strings with
 * escapes and UTF-8, ints, doubles, bools, nulls, nesting). */
static char *make_big(size_t *len)
{
    size_t cap = 80 * 1024, n = 0;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    n += (size_t)snprintf(t + n, cap - n, "{\"items\":[");
    for (int i = 0; n < 64 * 1024 - 400; i++)
        n += (size_t)snprintf(
            t + n, cap - n,
            "%s{\"name\":\"item-%d\",\"path\":\"/api/v1/namespaces/ns-%d/pods\",\"port\":%d,"
            "\"ratio\":%d.%03d,\"ready\":%s,\"owner\":null,\"labels\":{\"app\":\"web\","
            "\"tier\":\"front\\u00e9nd\",\"note\":\"line one\\nline \\\"two\\\"\"},"
            "\"tags\":[\"a\",\"b\",%d]}",
            i ? "," : "", i, i % 17, 8000 + i, i % 10, (i * 37) % 1000, i % 3 ? "true" : "false",
            i * 1000003);
    n += (size_t)snprintf(t + n, cap - n, "],\"count\":1}");
    *len = n;
    return t;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile size_t sink;

enum { PARSE = 1, WRITE = 2 };

/* doc: a reused arena (as a request's is), a reused buffer. */
static void run_doc(const char *text, size_t len, int what, long n)
{
    struct arena a;
    arena_init(&a, 0);
    buf b;
    buf_init(&b);
    const doc *v = NULL;
    if (!(what & PARSE) && doc_parse(&a, text, len, &v, NULL, 0))
        abort();
    for (long i = 0; i < n; i++) {
        if (what & PARSE) {
            arena_reset(&a);
            if (doc_parse(&a, text, len, &v, NULL, 0))
                abort();
        }
        if (what & WRITE) {
            buf_reset(&b);
            if (doc_to_json(&b, v))
                abort();
            sink += b.len;
        }
    }
    buf_free(&b);
    arena_free(&a);
}

/* json-c: a reused tokener, a tree per parse; writing reuses the tree's
 * own print buffer and writes it afresh each time, as doc does. */
static void run_jsonc(const char *text, size_t len, int what, long n)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *kept = json_tokener_parse(text);
    for (long i = 0; i < n; i++) {
        struct json_object *j = kept;
        if (what & PARSE) {
            json_tokener_reset(tok);
            if (!(j = json_tokener_parse_ex(tok, text, (int)len)))
                abort();
        }
        if (what & WRITE) {
            size_t out = 0;
            json_object_to_json_string_length(
                j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &out);
            sink += out;
        }
        if (j != kept)
            json_object_put(j);
    }
    json_object_put(kept);
    json_tokener_free(tok);
}

typedef struct {
    const char *doc, *what;
    int flags;
} step;

static const step steps[] = {{"parse", "parse", PARSE}, {"write", "write", WRITE},
                             {"both", "parse+write", PARSE | WRITE}};

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Median ns/op of 7 interleaved runs of each side. */
static void compare(const char *label, const char *text, size_t len, int what, long n)
{
    enum { REPS = 7 };
    double d[REPS], j[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        run_doc(text, len, what, n);
        double t1 = now_ns();
        run_jsonc(text, len, what, n);
        double t2 = now_ns();
        d[r] = (t1 - t0) / (double)n;
        j[r] = (t2 - t1) / (double)n;
    }
    qsort(d, REPS, sizeof *d, cmp_d);
    qsort(j, REPS, sizeof *j, cmp_d);
    printf("%-18s doc %10.0f ns/op   json-c %10.0f ns/op   doc/json-c %.3f\n", label,
           d[REPS / 2], j[REPS / 2], d[REPS / 2] / j[REPS / 2]);
}

int main(int argc, char **argv)
{
    size_t big_len = 0;
    char *big = make_big(&big_len);
    if (!big)
        return 1;
    const char *docs[2] = {tokenreview, big};
    size_t lens[2] = {sizeof tokenreview - 1, big_len};
    const char *names[2] = {"1k", "64k"};

    if (argc == 3) {
        char side[8], size[8], what[8];
        long n = atol(argv[2]);
        if (sscanf(argv[1], "%7[a-z]-%7[0-9k]-%7[a-z]", side, size, what) != 3 || n <= 0)
            goto usage;
        int di = strcmp(size, "1k") == 0 ? 0 : strcmp(size, "64k") == 0 ? 1 : -1;
        int flags = 0;
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
            if (strcmp(what, steps[i].doc) == 0)
                flags = steps[i].flags;
        if (di < 0 || !flags)
            goto usage;
        if (strcmp(side, "doc") == 0)
            run_doc(docs[di], lens[di], flags, n);
        else if (strcmp(side, "jsonc") == 0)
            run_jsonc(docs[di], lens[di], flags, n);
        else
            goto usage;
        free(big);
        return 0;
    }
    if (argc != 1)
        goto usage;
    printf("# doc vs json-c, median of 7 interleaved runs; documents of %zu and %zu bytes\n",
           lens[0], lens[1]);
    for (int di = 0; di < 2; di++)
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
            char label[32];
            snprintf(label, sizeof label, "%s %s", names[di], steps[i].what);
            compare(label, docs[di], lens[di], steps[i].flags, di ? 200 : 10000);
        }
    free(big);
    return 0;
usage:
    fprintf(stderr, "usage: %s [{doc,jsonc}-{1k,64k}-{parse,write,both} N]\n", argv[0]);
    free(big);
    return 2;
}
