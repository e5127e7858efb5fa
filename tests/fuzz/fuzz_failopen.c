/*
 * fuzz_failopen.c - the engine never allows what its AuthConfig forbids.
 *
 * Mutated CheckRequest bytes are decoded with the frontend's codec and
 * decided along the serving path (submit_decide) against one restrictive
 * AuthConfig: a top-level `when` (the AuthConfig applies under /api/), an
 * apiKey identity read from `Authorization: APIKEY <key>`, and
 * patternMatching on the method, the path and a header. Oracle: an allow
 * must be confirmed by a check written here, independently of the engine,
 * from the decoded request view with Authorino's semantics (Go regexp
 * meaning, header values joined with ",", eq/neq comparing bytes with
 * their length). Where a value cannot be evaluated (not valid UTF-8 under
 * `matches`) the check says "not satisfied": the engine must deny such
 * requests rather than skip the rule.
 * A denial is always acceptable.
 * The Authorization JSON is also built on its own (as the doc the pipeline
 * reads) and must hold the very values the check computes: the joined
 * headers, the method and request.url_path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "doc/doc.h"
#include "host/hostimpl.h"
#include "plugin/loader.h"
#include "request/authjson.h"
#include "server/submit.h"
#include "snapshot/snapshot.h"
#include "util/log.h"

#define API_KEY "fo-key-0123456789"

static const char CONFIG[] =
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
    "metadata: {name: guarded, namespace: fuzz}\n"
    "spec:\n"
    "  hosts: [api.test]\n"
    "  when:\n"
    "  - {selector: request.url_path, operator: matches, value: '^/api/'}\n"
    "  authentication:\n"
    "    keys:\n"
    "      apiKey: {selector: {matchLabels: {app: fuzz}}}\n"
    "      credentials: {authorizationHeader: {prefix: APIKEY}}\n"
    "  authorization:\n"
    "    rules:\n"
    "      patternMatching:\n"
    "        patterns:\n"
    "        - {selector: request.method, operator: eq, value: GET}\n"
    "        - {selector: request.url_path, operator: matches, value: '^/api/pets/[0-9]+$'}\n"
    "        - {selector: request.headers.x-env, operator: neq, value: prod}\n"
    "---\napiVersion: v1\nkind: Secret\n"
    "metadata: {name: k1, namespace: fuzz, labels: {app: fuzz}}\n"
    "stringData: {api_key: " API_KEY "}\n";

static snapshot *g_snap;

static void setup(void)
{
    plog_setup(PC_LOG_ERROR, PLOG_TEXT);
    if (loader_load_dir(PC_FUZZ_PLUGIN_DIR, NULL, NULL) != 0)
        abort();
    char path[] = "/tmp/fuzz-failopen-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, CONFIG, sizeof CONFIG - 1) != (ssize_t)(sizeof CONFIG - 1))
        abort();
    close(fd);
    const char *paths[] = {path};
    g_snap = snapshot_load(host_table(), paths, 1, NULL);
    unlink(path);
    if (!g_snap || g_snap->n_configs != 1 || g_snap->errors)
        abort();
    /* The oracle only has teeth if the engine does allow: one request that
     * meets every rule must pass, and the same without its key must not. */
    pc_kv hdr = {pc_str_c("authorization"), pc_str_c("APIKEY " API_KEY)};
    pc_request_view v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.method = pc_str_c("GET");
    v.path = pc_str_c("/api/pets/1");
    v.host = pc_str_c("api.test");
    v.headers = &hdr;
    v.n_headers = 1;
    pipe_result r;
    submit_decide(g_snap, &v, 0, &r);
    int good = r.allowed;
    pipe_result_free(&r);
    v.n_headers = 0;
    submit_decide(g_snap, &v, 0, &r);
    int bad = r.allowed;
    pipe_result_free(&r);
    if (!good || bad) {
        fprintf(stderr, "fuzz_failopen: the AuthConfig does not decide as written "
                        "(good %d, keyless %d)\n", good, bad);
        abort();
    }
}

/* ---- the independent check ---- */

/* Strict UTF-8 (RFC 3629): no overlongs, surrogates or values past
 * U+10FFFF. NUL is a character like any other: comparisons below use
 * lengths, so a value cannot hide a tail behind it. */
static int utf8_clean(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        int more;
        unsigned min, cp;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (end - p < more)
            return 0;
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more;
    }
    return 1;
}

/* Every value of header `name` joined with ",", as Envoy and the
 * Authorization JSON present repeated headers; -1 when absent. *len is the
 * joined length even past cap (only cap bytes are kept), so a value too
 * long to keep still compares unequal to every shorter literal. */
static int header_joined(const pc_request_view *v, const char *name, char *out,
                         size_t cap, size_t *len)
{
    int found = 0;
    *len = 0;
    for (size_t i = 0; i < v->n_headers; i++) {
        const pc_kv *h = &v->headers[i];
        if (h->key.len != strlen(name) || memcmp(h->key.ptr, name, h->key.len) != 0)
            continue;
        if (found) {
            if (*len < cap)
                out[*len] = ',';
            (*len)++;
        }
        for (size_t j = 0; j < h->value.len; j++, (*len)++)
            if (*len < cap)
                out[*len] = h->value.ptr[j];
        found = 1;
    }
    return found ? 0 : -1;
}

/* s holds the first bytes of a value n bytes long. */
static int equals(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ^/api/pets/[0-9]+$ with Go's meaning: $ is the end of the text. */
static int pets_path(const char *s, size_t n)
{
    static const char pre[] = "/api/pets/";
    const size_t pl = sizeof pre - 1;
    if (n <= pl || memcmp(s, pre, pl) != 0)
        return 0;
    for (size_t i = pl; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* 1 when allowing v is right: the AuthConfig does not apply to it (its
 * `when` is cleanly false), or every rule holds. */
static int may_allow(const pc_request_view *v)
{
    /* request.url_path: the path up to its first '?'. */
    const char *q = memchr(v->path.ptr, '?', v->path.len);
    size_t ul = q ? (size_t)(q - v->path.ptr) : v->path.len;
    if (!utf8_clean(v->path.ptr, ul))
        return 0; /* the `when` cannot be evaluated */
    if (ul < 5 || memcmp(v->path.ptr, "/api/", 5) != 0)
        return 1; /* the AuthConfig does not apply */

    char buf[256];
    size_t n;
    /* The identity: exactly "APIKEY <key>". */
    if (header_joined(v, "authorization", buf, sizeof buf, &n) != 0 ||
        !equals(buf, n, "APIKEY " API_KEY))
        return 0;
    if (!utf8_clean(v->method.ptr, v->method.len) || !equals(v->method.ptr, v->method.len, "GET"))
        return 0;
    if (!pets_path(v->path.ptr, ul))
        return 0;
    if (header_joined(v, "x-env", buf, sizeof buf, &n) == 0 && equals(buf, n, "prod"))
        return 0;
    return 1;
}

/* 1 when member name of obj is s, or absent exactly when s is empty
 * (Authorino leaves empty parts out). */
static int member_is(const doc *obj, const char *name, const char *s, size_t n)
{
    int found;
    size_t dl;
    const char *d = doc_str(doc_get(obj, name, strlen(name), &found), &dl);
    if (!n)
        return !found;
    return d && dl == n && memcmp(d, s, n) == 0;
}

/* The document says what the view says, for every value may_allow reads. */
static void check_document(const pc_request_view *v)
{
    static struct arena a;
    arena_reset(&a);
    const doc *root = authjson_build(v, 0, &a);
    if (!root)
        return; /* refused: the request is denied */
    const doc *req = doc_getz(root, "request"), *hs = doc_getz(req, "headers");
    static const char *const names[] = {"authorization", "x-env"};
    for (size_t i = 0; i < 2; i++) {
        char buf[256];
        size_t n, dl;
        int found;
        const char *d = doc_str(doc_get(hs, names[i], strlen(names[i]), &found), &dl);
        int in_view = header_joined(v, names[i], buf, sizeof buf, &n) == 0;
        if (found != in_view || (found && (!d || dl != n ||
                                           (n <= sizeof buf && memcmp(d, buf, n) != 0)))) {
            fprintf(stderr, "document: header %s differs from the view\n", names[i]);
            abort();
        }
    }
    /* request.url_path: the path up to its first '?', absent without a path */
    const char *q = v->path.len ? memchr(v->path.ptr, '?', v->path.len) : NULL;
    size_t ul = q ? (size_t)(q - v->path.ptr) : v->path.len, dl;
    int found;
    const char *d = doc_str(doc_get(req, "url_path", 8, &found), &dl);
    int url_ok = v->path.len ? d && dl == ul && memcmp(d, v->path.ptr, ul) == 0 : !found;
    if (!url_ok || !member_is(req, "method", v->method.ptr, v->method.len)) {
        fprintf(stderr, "document: url_path or method differs from the view\n");
        abort();
    }
}

static void dump(const char *what, const pc_str *s)
{
    fprintf(stderr, "  %s (%zu bytes):", what, s->len);
    for (size_t i = 0; i < s->len && i < 200; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_snap)
        setup();
    codec_check c;
    char err[128];
    if (codec_decode_check(data, size, NULL, &c, err, sizeof err) != 0) {
        codec_check_free(&c); /* the frontend rejects it: nothing to decide */
        return 0;
    }
    check_document(&c.view);
    pipe_result r;
    submit_decide(g_snap, &c.view, 0, &r);
    if (r.allowed && !may_allow(&c.view)) {
        fprintf(stderr, "fail-open: allowed (authconfig %s) a request the AuthConfig "
                        "forbids\n", r.authconfig ? r.authconfig : "-");
        dump("host", &c.view.host);
        dump("method", &c.view.method);
        dump("path", &c.view.path);
        for (size_t i = 0; i < c.view.n_headers; i++) {
            dump("header name", &c.view.headers[i].key);
            dump("header value", &c.view.headers[i].value);
        }
        abort();
    }
    pipe_result_free(&r);
    codec_check_free(&c);
    return 0;
}
