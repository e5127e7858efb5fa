/* Loading AuthConfigs: every error names file, line and path; warnings for
 * unknown fields; one broken AuthConfig never stops the others. */
#include "cu_main.h"
#include "pc_testutil.h"

typedef struct lcase {
    const char *name;
    const char *yaml;
    size_t loaded;           /* AuthConfigs expected to load */
    const char *error;       /* substring of the first error, after "file:" */
} lcase;

#define H "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nmetadata:\n  name: t\nspec:\n"

static const lcase cases[] = {
    {"audiences must be a list",
     H "  hosts: [a.test]\n  authentication:\n    sa:\n      kubernetesTokenReview:\n"
       "        audiences: talker-api\n",
     0, ":10: spec.authentication.sa.kubernetesTokenReview.audiences: expected a list of strings"},
    {"unknown method",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      hmac: {secret: x}\n",
     0, ":9: spec.authentication.j.hmac: no loaded plugin provides the authentication method \"hmac\""},
    {"typo next to a method is a warning, config loads",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      anonymous: {}\n      priorty: 1\n",
     1, NULL},
    {"two methods",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      anonymous: {}\n      plain: {selector: x}\n",
     0, ":10: spec.authentication.j.plain: only one method per evaluator (already has anonymous)"},
    {"bad operator",
     H "  hosts: [a.test]\n  authorization:\n    p:\n      patternMatching:\n        patterns:\n"
       "        - selector: request.method\n          operator: equals\n          value: GET\n",
     0, ":12: spec.authorization.p.patternMatching.patterns[0].operator: expected one of eq, neq, incl, excl, matches"},
    {"bad regex",
     H "  hosts: [a.test]\n  when:\n  - selector: request.path\n    operator: matches\n    value: '(['\n",
     0, ":10: spec.when[0].value: invalid regular expression"},
    {"unknown patternRef",
     H "  hosts: [a.test]\n  when:\n  - patternRef: nope\n",
     0, ":8: spec.when[0].patternRef: no pattern named \"nope\" in spec.patterns"},
    {"hosts required",
     H "  authentication: {a: {anonymous: {}}}\n",
     0, "spec.hosts: expected a non-empty list of strings"},
    {"v1beta1 refused",
     "apiVersion: authorino.kuadrant.io/v1beta1\nkind: AuthConfig\nmetadata: {name: t}\nspec: {hosts: [a]}\n",
     0, ":1: apiVersion: v1beta1 AuthConfigs are not supported yet"},
    {"CEL refused",
     H "  hosts: [a.test]\n  when:\n  - predicate: request.method == 'GET'\n",
     0, ":8: spec.when[0].predicate: CEL predicates are not supported yet"},
    {"deny code range",
     H "  hosts: [a.test]\n  response:\n    unauthorized:\n      code: 200\n",
     0, ":9: spec.response.unauthorized.code: expected an HTTP status from 300 to 599"},
    {"cache needs a key",
     H "  hosts: [a.test]\n  authentication:\n    a:\n      anonymous: {}\n      cache: {ttl: 5}\n",
     0, ":10: spec.authentication.a.cache: expected {key: {value|selector}, ttl: seconds}"},
    {"selector syntax",
     H "  hosts: [a.test]\n  response:\n    success:\n      headers:\n        x:\n          plain:\n"
       "            selector: request.headers.@nosuch\n",
     0, ":12: spec.response.success.headers.x.plain.selector: unknown modifier '@nosuch'"},
    {"credentials",
     H "  hosts: [a.test]\n  authentication:\n    k:\n      apiKey: {selector: {matchLabels: {a: b}}}\n"
       "      credentials: {header: {name: x}}\n",
     0, "spec.authentication.k.credentials.header: expected one of authorizationHeader"},
    {"one broken AuthConfig, one good",
     H "  hosts: [a.test]\n  authentication: {a: {nosuch: {}}}\n---\n"
       "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nmetadata: {name: good}\n"
       "spec: {hosts: [b.test]}\n",
     1, ":7: spec.authentication.a.nosuch: no loaded plugin provides"},
    {"same name twice",
     H "  hosts: [a.test]\n---\n" H "  hosts: [b.test]\n",
     1, ":11: metadata.name: AuthConfig default/t is defined twice"},
};

static void test_errors(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const lcase *c = &cases[i];
        tu_errors errs = {0};
        snapshot *s = tu_snapshot(c->yaml, &errs);
        int ok = s->n_configs == c->loaded &&
                 (c->error ? errs.n > 0 && strstr(errs.lines[0], c->error) : errs.n == 0);
        if (!ok)
            fprintf(stderr, "  [%s] loaded %zu, first error: %s\n", c->name, s->n_configs,
                    errs.n ? errs.lines[0] : "(none)");
        CU_ASSERT(ok);
        snapshot_unref(s);
    }
}

typedef struct lines {
    char w[8][512];
    int n;
} lines;

static void on_warn(void *arg, const char *line)
{
    lines *l = arg;
    if (l->n < 8)
        snprintf(l->w[l->n++], 512, "%s", line);
}

static void test_warnings(void)
{
    tu_load_plugins();
    const char *path = tu_write_temp(
        H "  hosts: [a.test, shared.test]\n  hostz: [x]\n  authentication:\n    a:\n"
          "      anonymous: {}\n---\n"
          "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nmetadata: {name: second}\n"
          "spec: {hosts: [shared.test]}\n", ".yaml");
    lines warns = {0};
    tu_errors errs = {0};
    snapshot_sink sink = {tu_on_error, on_warn, &errs};
    /* one arg for both sinks: route warnings separately */
    sink.on_warning = on_warn;
    sink.arg = &warns;
    sink.on_error = NULL;
    snapshot *s = snapshot_load(&path, 1, &sink);
    CU_ASSERT_EQUAL(s->n_configs, 2);
    CU_ASSERT_EQUAL(s->errors, 0);
    CU_ASSERT_EQUAL_FATAL(warns.n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(warns.w[0], ":7: spec.hostz: unknown field"));
    CU_ASSERT_PTR_NOT_NULL(strstr(warns.w[1], "spec.hosts[0]: host \"shared.test\" is already "
                                              "taken by default/t"));
    unlink(path);
    snapshot_unref(s);
}

/* A YAML syntax error names file:line:col; other files still load. */
static void test_syntax_and_dirs(void)
{
    tu_load_plugins();
    char dir[] = "/tmp/pc-dir-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "%s/bad.yaml", dir);
    snprintf(p2, sizeof p2, "%s/good.json", dir);
    FILE *f = fopen(p1, "w");
    fputs("apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nspec: [unclosed\n", f);
    fclose(f);
    f = fopen(p2, "w");
    fputs("{\"apiVersion\":\"authorino.kuadrant.io/v1beta2\",\"kind\":\"AuthConfig\","
          "\"metadata\":{\"name\":\"j\"},\"spec\":{\"hosts\":[\"j.test\"]}}", f);
    fclose(f);
    tu_errors errs = {0};
    const char *paths[] = {dir};
    snapshot_sink sink = {tu_on_error, NULL, &errs};
    snapshot *s = snapshot_load(paths, 1, &sink);
    CU_ASSERT_EQUAL(s->n_configs, 1);
    CU_ASSERT_EQUAL_FATAL(errs.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs.lines[0], "bad.yaml:"));
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    snapshot_unref(s);
}

int cu_register(void)
{
    static const cu_case c[] = {{"errors name file, line and path", test_errors},
                                {"warnings", test_warnings},
                                {"syntax errors and directories", test_syntax_and_dirs},
                                {NULL, NULL}};
    return cu_add_suite("authconfig loading", c);
}
