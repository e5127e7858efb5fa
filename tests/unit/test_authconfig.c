/* Loading AuthConfigs: every error names file, line and path; unknown
 * fields are errors at every level; one broken AuthConfig never stops or
 * changes the others, whatever the order of the files. */
#include "cu_main.h"
#include "pc_testutil.h"
#include "host/hostimpl.h"

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
    {"typo next to a method",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      anonymous: {}\n      priorty: 1\n",
     0, ":10: spec.authentication.j.priorty: unknown field"},
    {"typo in a method's config",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      anonymous: {enabled: true}\n",
     0, ":9: spec.authentication.j.anonymous.enabled: unknown field"},
    {"typo in a pattern",
     H "  hosts: [a.test]\n  authorization:\n    p:\n      patternMatching:\n        patterns:\n"
       "        - selector: auth.identity.user\n          operator: neq\n          valu: mallory\n",
     0, ":13: spec.authorization.p.patternMatching.patterns[0].valu: unknown field"},
    {"a rule without a value",
     H "  hosts: [a.test]\n  authorization:\n    p:\n      patternMatching:\n        patterns:\n"
       "        - selector: auth.identity.user\n          operator: neq\n",
     0, ":11: spec.authorization.p.patternMatching.patterns[0].value: the neq operator needs a value"},
    {"a null value",
     H "  hosts: [a.test]\n  when:\n  - {selector: request.path, operator: eq, value: }\n",
     0, ":8: spec.when[0].value: the eq operator needs a value"},
    /* A null value has no line of its own: reported at its key's. */
    {"a null spec", H, 0, ":5: spec: expected an object"},
    {"null hosts", H "  hosts:\n", 0, ":6: spec.hosts: expected a non-empty list of strings"},
    {"a null evaluator",
     H "  hosts: [a.test]\n  authentication:\n    \"a.b\":\n", 0,
     ":8: spec.authentication.a.b: expected an evaluator object"},
    {"a null method config",
     H "  hosts: [a.test]\n  authentication:\n    j:\n      jwt:\n", 0,
     ":9: spec.authentication.j.jwt: expected an object"},
    {"a top-level when without a value",
     H "  hosts: [a.test]\n  when:\n  - selector: request.path\n    operator: matches\n",
     0, ":8: spec.when[0].value: the matches operator needs a value"},
    {"a named pattern without a value",
     H "  hosts: [a.test]\n  patterns:\n    admin:\n    - {selector: request.path, operator: incl}\n"
       "  when:\n  - patternRef: admin\n",
     0, ":9: spec.patterns.admin[0].value: the incl operator needs a value"},
    {"patternRef with a stray field",
     H "  hosts: [a.test]\n  patterns:\n    p: [{selector: a, operator: eq, value: b}]\n"
       "  when:\n  - patternRef: p\n    operator: neq\n",
     0, ":11: spec.when[0].operator: unknown field"},
    {"any with a stray field",
     H "  hosts: [a.test]\n  when:\n  - any: []\n    selector: request.path\n",
     0, ":9: spec.when[0].selector: unknown field"},
    {"unknown field in spec",
     H "  hosts: [a.test]\n  autorization: {}\n",
     0, ":7: spec.autorization: unknown field"},
    {"unknown top-level field",
     H "  hosts: [a.test]\nspecs: {}\n",
     0, ":7: specs: unknown field"},
    {"status is allowed",
     H "  hosts: [a.test]\nstatus: {summary: {ready: true}}\n",
     1, NULL},
    {"metadata typo",
     "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nmetadata:\n  name: t\n"
     "  namepsace: prod\nspec: {hosts: [a.test]}\n",
     0, ":5: metadata.namepsace: unknown field"},
    {"unknown field in a denial",
     H "  hosts: [a.test]\n  response:\n    unauthorized:\n      mesage: {value: no}\n",
     0, ":9: spec.response.unauthorized.mesage: unknown field"},
    {"unknown field in response.success",
     H "  hosts: [a.test]\n  response:\n    success:\n      header: {}\n",
     0, ":9: spec.response.success.header: unknown field"},
    {"unknown field in a value or selector",
     H "  hosts: [a.test]\n  authentication:\n    u:\n      plain: {selector: request.headers.u}\n"
       "      defaults:\n        org: {valeu: acme}\n",
     0, ":11: spec.authentication.u.defaults.org.valeu: unknown field"},
    {"unknown field in cache",
     H "  hosts: [a.test]\n  authentication:\n    a:\n      anonymous: {}\n"
       "      cache: {key: {selector: request.path}, tll: 5}\n",
     0, ":10: spec.authentication.a.cache.tll: unknown field"},
    {"unknown field in credentials",
     H "  hosts: [a.test]\n  authentication:\n    k:\n      apiKey: {selector: {matchLabels: {a: b}}}\n"
       "      credentials: {authorizationHeader: {prefx: APIKEY}}\n",
     0, ":10: spec.authentication.k.credentials.authorizationHeader.prefx: unknown field"},
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
    {"CEL syntax error: line and column",
     H "  hosts: [a.test]\n  when:\n  - predicate: request.method ==\n",
     0, ":8: spec.when[0].predicate: CEL: unexpected end of expression at column 18"},
    {"CEL unknown variable in an evaluator's when",
     H "  hosts: [a.test]\n  authorization:\n    z:\n      when:\n"
       "      - predicate: requets.method == 'GET'\n      patternMatching: {patterns: []}\n",
     0, ":10: spec.authorization.z.when[0].predicate: CEL: undeclared reference to 'requets' "
        "at column 1"},
    {"CEL in all, on its second line",
     H "  hosts: [a.test]\n  when:\n  - all:\n    - predicate: |\n        true &&\n"
       "          nosuch(1)\n",
     0, ":9: spec.when[0].all[0].predicate: CEL: undeclared reference to 'nosuch' "
        "at line 2, column 3"},
    {"CEL predicate with a stray field",
     H "  hosts: [a.test]\n  when:\n  - {predicate: 'true', value: x}\n",
     0, ":8: spec.when[0].value: unknown field"},
    {"CEL expression in a header",
     H "  hosts: [a.test]\n  response:\n    success:\n      headers:\n        x:\n          plain:\n"
       "            expression: \"'a' +\"\n",
     0, ":12: spec.response.success.headers.x.plain.expression: CEL: unexpected end of "
        "expression at column 6"},
    {"CEL expression in a deny message",
     H "  hosts: [a.test]\n  response:\n    unauthorized:\n      message:\n"
       "        expression: auth.identity.(\n",
     0, ":10: spec.response.unauthorized.message.expression: CEL: expected field name "
        "at column 15"},
    {"value and expression together",
     H "  hosts: [a.test]\n  response:\n    unauthorized:\n      message:\n"
       "        {value: a, expression: \"'b'\"}\n",
     0, ":10: spec.response.unauthorized.message: set one of value, selector or expression"},
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
        H "  hosts: [a.test, shared.test]\n  authentication:\n    a:\n"
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
    snapshot *s = snapshot_load(host_table(), &path, 1, &sink);
    CU_ASSERT_EQUAL(s->n_configs, 2);
    CU_ASSERT_EQUAL(s->errors, 0);
    CU_ASSERT_EQUAL_FATAL(warns.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(warns.w[0], "spec.hosts[0]: host \"shared.test\" is already "
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
    snapshot *s = snapshot_load(host_table(), paths, 1, &sink);
    CU_ASSERT_EQUAL(s->n_configs, 1);
    CU_ASSERT_EQUAL_FATAL(errs.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs.lines[0], "bad.yaml:"));
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    snapshot_unref(s);
}

/* ---- schema defaults reach create ---- */

#ifndef PC_ENGINE_PLUGIN_DIR
#define PC_ENGINE_PLUGIN_DIR "tests/plugins/engine"
#endif

/* The abiDefaults plugin refuses a config without its schema's defaults and
 * answers with what its create saw. */
static void test_defaults_reach_create(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    static int loaded;
    if (!loaded++)
        CU_ASSERT_EQUAL_FATAL(loader_load_file(PC_ENGINE_PLUGIN_DIR "/engine_defaults.so", NULL, NULL), 0);
    static const struct {
        const char *conf, *want;
    } dc[] = {
        {"{}", "hello 60 3"},
        {"{ttl: 5}", "hello 5 3"},
        {"{greeting: hi, retry: {count: 0}}", "hi 60 0"},
        {"{retry: {}}", "hello 60 3"},
    };
    for (size_t i = 0; i < sizeof dc / sizeof dc[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 H "  hosts: [a.test]\n  response:\n    success:\n      headers:\n"
                   "        x-seen: {abiDefaults: %s}\n", dc[i].conf);
        tu_errors errs = {0};
        snapshot *s = tu_snapshot(yaml, &errs);
        CU_ASSERT_EQUAL(errs.n, 0);
        if (errs.n)
            fprintf(stderr, "  [%s] %s\n", dc[i].conf, errs.lines[0]);
        pipe_result r;
        char v[256];
        tu_decide(s, "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\","
                     "\"method\":\"GET\",\"path\":\"/\"}}}}", &r, 0);
        const char *got = tu_header(&r, "x-seen", v, sizeof v);
        CU_ASSERT(got && strcmp(got, dc[i].want) == 0);
        if (!got || strcmp(got, dc[i].want) != 0)
            fprintf(stderr, "  [%s] x-seen: %s, want %s\n", dc[i].conf, got ? got : "(none)",
                    dc[i].want);
        pipe_result_free(&r);
        snapshot_unref(s);
    }
    /* The defaults are checked like the rest: a typo is still refused. */
    tu_errors errs = {0};
    snapshot *s = tu_snapshot(H "  hosts: [a.test]\n  response:\n    success:\n      headers:\n"
                                "        x-seen: {abiDefaults: {retry: {cuont: 1}}}\n", &errs);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(errs.n > 0 && strstr(errs.lines[0], ":10: spec.response.success.headers.x-seen."
                                                  "abiDefaults.retry.cuont: unknown field"));
    snapshot_unref(s);
}

/* ---- load order: a broken AuthConfig changes nothing else ---- */

#define AC(name) "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n" \
                 "metadata: {name: " name "}\nspec:\n"

/* Two good files and three broken ones; the broken ones claim the good
 * ones' hosts too. */
static const char *const order_files[] = {
    /* good: no authentication (the implicit anonymous identity) */
    AC("implicit") "  hosts: [a.test]\n  authorization:\n    get-only:\n      patternMatching:\n"
    "        patterns: [{selector: request.method, operator: eq, value: GET}]\n",
    /* good: an identity from a header, echoed in a response header */
    AC("plain") "  hosts: [b.test]\n  authentication:\n    u: {plain: {selector: request.headers.x-user}}\n"
    "  response:\n    success:\n      headers:\n        x-who: {plain: {selector: auth.identity}}\n",
    /* broken: a method no plugin provides */
    AC("no-plugin") "  hosts: [a.test, c.test]\n  authentication:\n    j: {jwt: {issuerUrl: x}}\n",
    /* broken: YAML syntax */
    "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\nspec: [unclosed\n",
    /* broken: a typo in a pattern, no authentication either */
    AC("typo") "  hosts: [b.test, e.test]\n  authorization:\n    p:\n      patternMatching:\n"
    "        patterns: [{selector: request.method, operator: neq, valu: GET}]\n",
};
#define N_ORDER_FILES (sizeof order_files / sizeof order_files[0])

static const char *const order_requests[] = {
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\",\"method\":\"GET\",\"path\":\"/\"}}}}",
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\",\"method\":\"POST\",\"path\":\"/\"}}}}",
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"b.test\",\"method\":\"GET\",\"path\":\"/\","
    "\"headers\":{\"x-user\":\"ann\"}}}}}",
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"b.test\",\"method\":\"GET\",\"path\":\"/\"}}}}",
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"c.test\",\"method\":\"GET\",\"path\":\"/\"}}}}",
    "{\"attributes\":{\"request\":{\"http\":{\"host\":\"e.test\",\"method\":\"GET\",\"path\":\"/\"}}}}",
};
#define N_ORDER_REQUESTS (sizeof order_requests / sizeof order_requests[0])

/* A decision as text: verdict, codes, reason and every header. */
static void decision_text(snapshot *s, const char *req, char *out, size_t len)
{
    pipe_result r;
    if (tu_decide(s, req, &r, 0) < 0) {
        snprintf(out, len, "bad request");
        return;
    }
    size_t n = (size_t)snprintf(out, len, "allowed=%d grpc=%d http=%d reason=%s", r.allowed,
                                r.grpc_code, r.http_status, r.reason ? r.reason : "-");
    for (size_t i = 0; i < r.n_headers && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, " %.*s: %.*s", (int)r.headers[i].name.len,
                              r.headers[i].name.ptr, (int)r.headers[i].value.len,
                              r.headers[i].value.ptr);
    pipe_result_free(&r);
}

/* Writes the files in the given order (names sort in that order) into a
 * fresh directory and loads it. */
static snapshot *load_in_order(const size_t *order, size_t n, int *errors)
{
    char dir[] = "/tmp/pc-order-XXXXXX";
    if (!mkdtemp(dir))
        return NULL;
    char paths[N_ORDER_FILES][64];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%zu.yaml", dir, i);
        FILE *f = fopen(paths[i], "w");
        if (!f)
            return NULL;
        fputs(order_files[order[i]], f);
        fclose(f);
    }
    const char *p = dir;
    snapshot *s = snapshot_load(host_table(), &p, 1, NULL);
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    rmdir(dir);
    *errors = s ? s->errors : -1;
    return s;
}

static int next_permutation(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return 0;
    size_t j = n - 1;
    while (a[j] <= a[i - 1])
        j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

/* Every order of the files gives every request the decision it gets with
 * the good files alone, and the same errors. */
static void test_load_order(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    static char want[N_ORDER_REQUESTS][2048], got[2048];
    size_t good[] = {0, 1};
    int errors;
    snapshot *s = load_in_order(good, 2, &errors);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(errors, 0);
    for (size_t q = 0; q < N_ORDER_REQUESTS; q++)
        decision_text(s, order_requests[q], want[q], sizeof want[q]);
    snapshot_unref(s);
    /* The cases mean something: allow, deny, 401, 404. */
    CU_ASSERT_PTR_NOT_NULL(strstr(want[0], "allowed=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want[1], "http=403"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want[2], "x-who: ann"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want[3], "http=401"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want[4], "http=404"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want[5], "http=404"));

    size_t order[N_ORDER_FILES];
    for (size_t i = 0; i < N_ORDER_FILES; i++)
        order[i] = i;
    int errors0 = -1, orders = 0, bad = 0;
    do {
        s = load_in_order(order, N_ORDER_FILES, &errors);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        orders++;
        if (errors0 < 0)
            errors0 = errors;
        int ok = s->n_configs == 2 && errors == errors0;
        for (size_t q = 0; q < N_ORDER_REQUESTS; q++) {
            decision_text(s, order_requests[q], got, sizeof got);
            if (strcmp(got, want[q]) != 0) {
                if (bad < 5)
                    fprintf(stderr, "  order %zu%zu%zu%zu%zu request %zu: got %s, want %s\n",
                            order[0], order[1], order[2], order[3], order[4], q, got, want[q]);
                ok = 0;
            }
        }
        if (!ok)
            bad++;
        snapshot_unref(s);
    } while (next_permutation(order, N_ORDER_FILES));
    CU_ASSERT_EQUAL(orders, 120);
    CU_ASSERT(errors0 >= 3);
    CU_ASSERT_EQUAL(bad, 0);
}

int cu_register(void)
{
    static const cu_case c[] = {{"errors name file, line and path", test_errors},
                                {"warnings", test_warnings},
                                {"syntax errors and directories", test_syntax_and_dirs},
                                {"every load order decides the same", test_load_order},
                                {"schema defaults reach create", test_defaults_reach_create},
                                {NULL, NULL}};
    return cu_add_suite("authconfig loading", c);
}
