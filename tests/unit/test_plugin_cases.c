/* Data-driven cases for every built-in evaluator plugin
 * (tests/data/plugins/README.md): each folder's authconfig.yaml, each
 * <case>.request.json through the engine, compared with
 * <case>.expected.json; invalid-*.authconfig.yaml must fail to load. */
#include <dirent.h>
#include <math.h>
#include "cu_main.h"
#include "pc_testutil.h"
#include "host/hostimpl.h"

static char g_root[512];

static struct json_object *read_json(const char *path)
{
    return json_object_from_file(path);
}

/* Structural equality: member order ignored, numbers by value. */
static int same(struct json_object *a, struct json_object *b)
{
    enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
    int na = ta == json_type_int || ta == json_type_double;
    int nb = tb == json_type_int || tb == json_type_double;
    if (na && nb)
        return fabs(json_object_get_double(a) - json_object_get_double(b)) < 1e-9;
    if (ta != tb)
        return 0;
    switch (ta) {
    case json_type_null: return 1;
    case json_type_boolean: return json_object_get_boolean(a) == json_object_get_boolean(b);
    case json_type_string: return strcmp(json_object_get_string(a), json_object_get_string(b)) == 0;
    case json_type_array:
        if (json_object_array_length(a) != json_object_array_length(b))
            return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++)
            if (!same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return 0;
        return 1;
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b))
            return 0;
        json_object_object_foreach(a, k, v) {
            struct json_object *w;
            if (!json_object_object_get_ex(b, k, &w) || !same(v, w))
                return 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

static int check_case(snapshot *s, const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.request.json", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    static char req[65536];
    size_t n = fread(req, 1, sizeof req - 1, f);
    fclose(f);
    req[n] = '\0';
    snprintf(p, sizeof p, "%s/%s.expected.json", dir, name);
    struct json_object *exp = read_json(p);
    if (!exp)
        return 0;
    pipe_result r;
    if (tu_decide(s, req, &r, 0) < 0) {
        json_object_put(exp);
        return 0;
    }
    int ok = 1;
    struct json_object *v;
    char hv[4096];
#define FAILF(...) do { fprintf(stderr, "  [%s/%s] ", dir + strlen(g_root) + 1, name); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); ok = 0; } while (0)
    if (json_object_object_get_ex(exp, "allowed", &v) && json_object_get_boolean(v) != r.allowed)
        FAILF("allowed=%d", r.allowed);
    if (json_object_object_get_ex(exp, "grpc_code", &v) && json_object_get_int(v) != r.grpc_code)
        FAILF("grpc_code=%d", r.grpc_code);
    if (json_object_object_get_ex(exp, "http_status", &v) && json_object_get_int(v) != r.http_status)
        FAILF("http_status=%d", r.http_status);
    if (json_object_object_get_ex(exp, "reason", &v) &&
        strcmp(json_object_get_string(v), r.reason ? r.reason : ""))
        FAILF("reason=%s", r.reason ? r.reason : "");
    if (json_object_object_get_ex(exp, "headers", &v)) {
        json_object_object_foreach(v, k, want) {
            const char *got = tu_header(&r, k, hv, sizeof hv);
            if (!got || strcmp(got, json_object_get_string(want)))
                FAILF("header %s=%s", k, got ? got : "(absent)");
        }
    }
    if (json_object_object_get_ex(exp, "json_headers", &v)) {
        json_object_object_foreach(v, k, want) {
            const char *got = tu_header(&r, k, hv, sizeof hv);
            struct json_object *g = got ? json_tokener_parse(got) : NULL;
            if (!got || !same(g, want))
                FAILF("json header %s=%s", k, got ? got : "(absent)");
            json_object_put(g);
        }
    }
    if (json_object_object_get_ex(exp, "absent_headers", &v)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *h = json_object_get_string(json_object_array_get_idx(v, i));
            if (tu_header(&r, h, hv, sizeof hv))
                FAILF("header %s should be absent", h);
        }
    }
    struct json_object *dm = NULL;
    if (r.dynmeta && doc_to_jsonc(r.dynmeta, &dm) != 0)
        FAILF("dynamic_metadata cannot be converted");
    if (json_object_object_get_ex(exp, "dynamic_metadata", &v) && !same(v, dm))
        FAILF("dynamic_metadata=%s", dm ? json_object_to_json_string(dm) : "null");
    json_object_put(dm);
    pipe_result_free(&r);
    json_object_put(exp);
    return ok ? 1 : -1;
}

static int run_invalid(const char *dir, const char *file)
{
    char p[1024], want[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    char base[512];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(file) - strlen(".authconfig.yaml")), file);
    char ep[1024];
    snprintf(ep, sizeof ep, "%s/%s.expected.txt", dir, base);
    FILE *f = fopen(ep, "r");
    if (!f || !fgets(want, sizeof want, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    want[strcspn(want, "\n")] = '\0';
    tu_errors errs = {0};
    const char *paths[] = {p};
    snapshot_sink sink = {tu_on_error, NULL, &errs};
    snapshot *s = snapshot_load(host_table(), paths, 1, &sink);
    int ok = s->n_configs == 0 && errs.n > 0;
    int found = 0;
    for (int i = 0; i < errs.n; i++)
        if (strstr(errs.lines[i], want))
            found = 1;
    if (!ok || !found)
        fprintf(stderr, "  [%s] want an error containing \"%s\" (got %d errors%s%s)\n",
                file, want, errs.n, errs.n ? ": " : "", errs.n ? errs.lines[0] : "");
    snapshot_unref(s);
    return ok && found ? 1 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_folders(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    const char *src = getenv("PC_SOURCE_DIR");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    snprintf(g_root, sizeof g_root, "%s/tests/data/plugins", src);
    DIR *d = opendir(g_root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *de;
    int cases = 0, failed = 0, folders = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char dir[1024], cfg[1100];
        snprintf(dir, sizeof dir, "%s/%s", g_root, de->d_name);
        snprintf(cfg, sizeof cfg, "%s/authconfig.yaml", dir);
        if (access(cfg, R_OK) != 0)
            continue;
        folders++;
        tu_errors errs = {0};
        const char *paths[] = {cfg};
        snapshot_sink sink = {tu_on_error, NULL, &errs};
        snapshot *s = snapshot_load(host_table(), paths, 1, &sink);
        for (int i = 0; i < errs.n; i++)
            fprintf(stderr, "  [%s] config: %s\n", de->d_name, errs.lines[i]);
        CU_ASSERT_EQUAL(errs.n, 0);
        DIR *cd = opendir(dir);
        char *names[256];
        int nn = 0;
        struct dirent *ce;
        while (cd && (ce = readdir(cd)) && nn < 256)
            names[nn++] = strdup(ce->d_name);
        if (cd)
            closedir(cd);
        qsort(names, (size_t)nn, sizeof *names, cmp_str);
        for (int i = 0; i < nn; i++) {
            const char *nm = names[i];
            size_t l = strlen(nm);
            if (l > 13 && strcmp(nm + l - 13, ".request.json") == 0) {
                char base[256];
                snprintf(base, sizeof base, "%.*s", (int)(l - 13), nm);
                cases++;
                if (check_case(s, dir, base) != 1)
                    failed++;
            } else if (l > 16 && strncmp(nm, "invalid-", 8) == 0 &&
                       strcmp(nm + l - 16, ".authconfig.yaml") == 0) {
                cases++;
                if (run_invalid(dir, nm) != 1)
                    failed++;
            }
            free(names[i]);
        }
        snapshot_unref(s);
    }
    closedir(d);
    printf("\n  %d plugin folders, %d cases, %d failed\n", folders, cases, failed);
    CU_ASSERT(folders >= 6);
    CU_ASSERT(cases >= 20);
    CU_ASSERT_EQUAL(failed, 0);
}

int cu_register(void)
{
    static const cu_case c[] = {{"built-in plugin cases", test_folders}, {NULL, NULL}};
    return cu_add_suite("plugin cases", c);
}
