/* Pipeline semantics, table-driven from reference/authorino.md §2, §4, §5:
 * each case is an AuthConfig, a request and the expected decision. */
#include "cu_main.h"
#include "pc_testutil.h"

#define HDR "apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n" \
            "metadata: {name: t, namespace: ns}\n"
#define SECRETS                                                                 \
    "\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: k1, namespace: ns, "    \
    "labels: {app: t}}\nstringData: {api_key: s3cret}\n"                        \
    "---\napiVersion: v1\nkind: Secret\nmetadata: {name: k2, namespace: other, " \
    "labels: {app: t}}\nstringData: {api_key: elsewhere}\n"

#define ADMIN_RE "{selector: request.path, operator: matches, value: '^/admin'}"
#define DENY_ALL "{deny: {patternMatching: {patterns: [{selector: request.method, " \
                 "operator: eq, value: NEVER}]}}}"

typedef struct pcase {
    const char *name;
    const char *yaml;
    const char *host, *method, *path;
    const char *headers;   /* JSON members, e.g. "\"x-a\":\"1\"" */
    const char *ctxext;    /* JSON members of contextExtensions */
    int allowed, grpc, http;
    const char *hname[3], *hvalue[3]; /* expected headers (exact) */
    const char *reason;    /* exact reason, or NULL */
} pcase;

static const pcase cases[] = {
    {"anonymous allows", HDR "spec: {hosts: [a.test], authentication: {anon: {anonymous: {}}}}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"no authentication means anonymous", HDR "spec: {hosts: [a.test]}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"unknown host is NOT_FOUND", HDR "spec: {hosts: [a.test]}",
     "b.test", "GET", "/", "", "", 0, 5, 404, {"x-ext-auth-reason"}, {"Service not found"},
     "Service not found"},
    {"context extension host wins", HDR "spec: {hosts: [a.test]}",
     "b.test", "GET", "/", "", "\"host\":\"a.test\"", 1, 0, 200, {0}, {0}, NULL},
    {"port is dropped on a miss", HDR "spec: {hosts: [a.test]}",
     "a.test:8000", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"wildcard host", HDR "spec: {hosts: ['*.a.test']}",
     "x.y.a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"apiKey without credential", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {authorizationHeader: "
     "{prefix: APIKEY}}}}}" SECRETS,
     "a.test", "GET", "/", "", "", 0, 16, 401,
     {"www-authenticate", "x-ext-auth-reason"}, {"APIKEY realm=\"friends\"", "credential not found"},
     "credential not found"},
    {"apiKey with a wrong key", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {authorizationHeader: "
     "{prefix: APIKEY}}}}}" SECRETS,
     "a.test", "GET", "/", "\"authorization\":\"APIKEY nope\"", "", 0, 16, 401,
     {"www-authenticate"}, {"APIKEY realm=\"friends\""}, "the API Key provided is invalid"},
    {"apiKey of another namespace", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}}}}" SECRETS,
     "a.test", "GET", "/", "\"authorization\":\"Bearer elsewhere\"", "", 0, 16, 401,
     {0}, {0}, "the API Key provided is invalid"},
    {"apiKey allows", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {authorizationHeader: "
     "{prefix: APIKEY}}}}}" SECRETS,
     "a.test", "GET", "/", "\"authorization\":\"APIKEY s3cret\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"apiKey from a custom header", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {customHeader: "
     "{name: X-API-Key}}}}}" SECRETS,
     "a.test", "GET", "/", "\"x-api-key\":\"s3cret\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"apiKey from the query string", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {queryString: "
     "{name: key}}}}}" SECRETS,
     "a.test", "GET", "/x?a=1&key=s3cr%65t", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"apiKey from a cookie", HDR "spec: {hosts: [a.test], authentication: {friends: "
     "{apiKey: {selector: {matchLabels: {app: t}}}, credentials: {cookie: "
     "{name: k}}}}}" SECRETS,
     "a.test", "GET", "/", "\"cookie\":\"a=b; k=s3cret\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"a failed metadata denies (Authorino would go on)", HDR "spec: {hosts: [a.test], "
     "metadata: {m: {http: {url: 'http://127.0.0.1:1/', timeout: 2000}}}}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, NULL},
    {"two identities fail: reason is a map", HDR "spec: {hosts: [a.test], authentication: {"
     "one: {apiKey: {selector: {matchLabels: {app: t}}}}, "
     "two: {plain: {selector: request.headers.x-user}}}}" SECRETS,
     "a.test", "GET", "/", "", "", 0, 16, 401, {"www-authenticate"}, {"Bearer realm=\"one\""},
     "{\"one\":\"credential not found\",\"two\":\"could not retrieve identity object or null\"}"},
    {"second identity wins", HDR "spec: {hosts: [a.test], authentication: {"
     "one: {apiKey: {selector: {matchLabels: {app: t}}}}, "
     "two: {plain: {selector: request.headers.x-user}}}, response: {success: {headers: "
     "{x-user: {plain: {selector: auth.identity}}}}}}" SECRETS,
     "a.test", "GET", "/", "\"x-user\":\"alice\"", "", 1, 0, 200, {"x-user"}, {"alice"}, NULL},
    {"all identities skipped", HDR "spec: {hosts: [a.test], authentication: {"
     "one: {when: [{selector: request.method, operator: eq, value: POST}], anonymous: {}}}}",
     "a.test", "GET", "/", "", "", 0, 16, 401, {0}, {0}, "{}"},
    {"priority groups run in order", HDR "spec: {hosts: [a.test], authentication: {"
     "late: {priority: 1, plain: {selector: request.headers.x-late}}, "
     "early: {priority: 0, plain: {selector: request.headers.x-early}}}, response: {success: "
     "{headers: {x-who: {plain: {selector: auth.identity}}}}}}",
     "a.test", "GET", "/", "\"x-late\":\"L\",\"x-early\":\"E\"", "", 1, 0, 200, {"x-who"}, {"E"}, NULL},
    {"pattern denies", HDR "spec: {hosts: [a.test], authorization: {ro: {patternMatching: "
     "{patterns: [{selector: request.method, operator: eq, value: GET}]}}}}",
     "a.test", "POST", "/", "", "", 0, 7, 403, {"x-ext-auth-reason"}, {"Unauthorized"},
     "Unauthorized"},
    {"context selectors still work", HDR "spec: {hosts: [a.test], authorization: {ro: {"
     "patternMatching: {patterns: [{selector: context.request.http.method, operator: eq, "
     "value: GET}, {selector: context.source.address.socket_address.address, operator: eq, "
     "value: 10.0.0.1}]}}}}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"pattern allows", HDR "spec: {hosts: [a.test], authorization: {ro: {patternMatching: "
     "{patterns: [{selector: request.method, operator: eq, value: GET}]}}}}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"regex matches", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.url_path, operator: matches, value: '^/pets/\\d+$'}]}}}}",
     "a.test", "GET", "/pets/42?x=1", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"regex does not match", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.url_path, operator: matches, value: '^/pets/\\d+$'}]}}}}",
     "a.test", "GET", "/pets/x", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"neq and excl", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.method, operator: neq, value: DELETE}, "
     "{selector: request.headers.x-groups.@fromstr, operator: excl, value: banned}]}}}}",
     "a.test", "GET", "/", "\"x-groups\":\"[\\\"a\\\",\\\"b\\\"]\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"incl over an array", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.headers.x-groups.@fromstr, operator: incl, value: admin}]}}}}",
     "a.test", "GET", "/", "\"x-groups\":\"[\\\"dev\\\",\\\"admin\\\"]\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"any of, with patternRef items as OR terms", HDR "spec: {hosts: [a.test], patterns: {"
     "writes: [{selector: request.method, operator: eq, value: POST}, "
     "{selector: request.method, operator: eq, value: PUT}]}, authorization: {p: {patternMatching: "
     "{patterns: [{any: [{patternRef: writes}]}]}}}}",
     "a.test", "PUT", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"patternRef outside any is all of", HDR "spec: {hosts: [a.test], patterns: {"
     "writes: [{selector: request.method, operator: eq, value: POST}, "
     "{selector: request.method, operator: eq, value: PUT}]}, authorization: {p: {patternMatching: "
     "{patterns: [{patternRef: writes}]}}}}",
     "a.test", "PUT", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"empty any is false", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{any: []}]}}}}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"top-level when not met allows bare", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.path, operator: matches, value: '^/admin'}], authorization: {deny: {"
     "patternMatching: {patterns: [{selector: request.method, operator: eq, value: NEVER}]}}}, "
     "response: {success: {headers: {x-h: {plain: {value: v}}}}}}",
     "a.test", "GET", "/public", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"top-level when met runs the pipeline", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.path, operator: matches, value: '^/admin'}], authorization: {deny: {"
     "patternMatching: {patterns: [{selector: request.method, operator: eq, value: NEVER}]}}}}",
     "a.test", "GET", "/admin/x", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    /* Conditions that cannot be evaluated deny, wherever they are. */
    {"top-level when on invalid UTF-8 denies", HDR "spec: {hosts: [a.test], when: [" ADMIN_RE
     "], authorization: " DENY_ALL "}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"evaluator when on invalid UTF-8 fails the evaluator", HDR "spec: {hosts: [a.test], "
     "authorization: {admins: {when: [" ADMIN_RE "], patternMatching: {patterns: ["
     "{selector: request.method, operator: eq, value: NEVER}]}}}}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0}, NULL},
    {"an identity's when on invalid UTF-8 denies, though another identity would pass", HDR
     "spec: {hosts: [a.test], authentication: {admins: {when: [" ADMIN_RE "], apiKey: {selector: "
     "{matchLabels: {app: t}}}}, others: {anonymous: {}}}}" SECRETS,
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"a response's when on invalid UTF-8 denies", HDR "spec: {hosts: [a.test], response: {"
     "success: {headers: {x-admin: {when: [" ADMIN_RE "], plain: {value: yes}}}}}}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"patternMatching on invalid UTF-8 is an error, not a no", HDR "spec: {hosts: [a.test], "
     "authorization: {p: {patternMatching: {patterns: [{any: [" ADMIN_RE ", {selector: "
     "request.method, operator: eq, value: GET}]}]}}}}",
     "a.test", "POST", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"a named pattern on invalid UTF-8 denies", HDR "spec: {hosts: [a.test], patterns: {admin: ["
     ADMIN_RE "]}, when: [{patternRef: admin}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"an error inside any denies", HDR "spec: {hosts: [a.test], when: [{any: [{selector: "
     "request.headers.x-a, operator: eq, value: yes}, " ADMIN_RE "]}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"an error inside all denies", HDR "spec: {hosts: [a.test], when: [{all: [{selector: "
     "request.method, operator: eq, value: GET}, " ADMIN_RE "]}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/admin\xff", "", "", 0, 7, 403, {0}, {0},
     "request.path is not valid UTF-8; cannot match it"},
    {"a regex past its match limit denies", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-a, operator: matches, value: '(a+)+$'}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "\"x-a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"", "", 0, 7, 403,
     {0}, {0}, "regular expression failed on request.headers.x-a: match limit exceeded"},
    {"neq '' on an object is true (its JSON text, as Authorino)", HDR "spec: {hosts: [a.test], "
     "authorization: {p: {patternMatching: {patterns: [{selector: request.headers, "
     "operator: neq, value: ''}]}}}}",
     "a.test", "GET", "/", "\"x-a\":\"1\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"eq on a list compares its JSON text", HDR "spec: {hosts: [a.test], authorization: "
     "{p: {patternMatching: {patterns: [{selector: request.headers.@keys, operator: eq, "
     "value: x-a}]}}}}",
     "a.test", "GET", "/", "\"x-a\":\"1\"", "", 0, 7, 403, {0}, {0}, NULL},
    {"excl on an object denies", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers, operator: excl, value: x}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0},
     "request.headers: excl needs a list or a single value, got an object"},
    {"incl on a single value is a one-element list", HDR "spec: {hosts: [a.test], authorization: "
     "{p: {patternMatching: {patterns: [{selector: request.headers.x-g, operator: incl, value: ops}]}}}}",
     "a.test", "GET", "/", "\"x-g\":\"ops\"", "", 1, 0, 200, {0}, {0}, NULL},
    {"incl over a list", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.headers.@keys, operator: incl, value: x-g}]}}}}",
     "a.test", "GET", "/", "\"x-g\":\"ops\"", "", 1, 0, 200, {0}, {0}, NULL},
    /* A missing value is "" (eq, neq, matches) or an empty list (incl, excl). */
    {"missing: neq holds, so the when applies", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-none, operator: neq, value: '1'}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"missing: eq with the empty string holds", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-none, operator: eq, value: ''}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"missing: excl holds", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-none, operator: excl, value: a}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"missing: incl does not hold", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-none, operator: incl, value: a}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"missing: matches reads the empty string", HDR "spec: {hosts: [a.test], when: [{selector: "
     "request.headers.x-none, operator: matches, value: '^$'}], authorization: " DENY_ALL "}",
     "a.test", "GET", "/", "", "", 0, 7, 403, {0}, {0}, "Unauthorized"},
    {"skipped authorization passes", HDR "spec: {hosts: [a.test], authorization: {deny: {"
     "when: [{selector: request.method, operator: eq, value: DELETE}], patternMatching: "
     "{patterns: [{selector: request.method, operator: eq, value: NEVER}]}}}}",
     "a.test", "GET", "/", "", "", 1, 0, 200, {0}, {0}, NULL},
    {"custom unauthenticated", HDR "spec: {hosts: [a.test], authentication: {k: {apiKey: "
     "{selector: {matchLabels: {app: t}}}}}, response: {unauthenticated: {code: 302, "
     "message: {value: login first}, headers: {location: {selector: "
     "'https://login.test/?from={request.path}'}}, body: {value: go away}}}}" SECRETS,
     "a.test", "GET", "/p", "", "", 0, 16, 302,
     {"location", "x-ext-auth-reason"}, {"https://login.test/?from=/p", "login first"}, "login first"},
    {"custom unauthorized", HDR "spec: {hosts: [a.test], authorization: {p: {patternMatching: "
     "{patterns: [{selector: request.method, operator: eq, value: GET}]}}}, response: "
     "{unauthorized: {message: {selector: request.method}}}}",
     "a.test", "POST", "/", "", "", 0, 7, 403, {"x-ext-auth-reason"}, {"POST"}, "POST"},
    {"success headers plain and json with key", HDR "spec: {hosts: [a.test], authentication: "
     "{u: {plain: {selector: request.headers.x-user}}}, response: {success: {headers: {"
     "who: {key: x-user-id, plain: {selector: auth.identity}}, "
     "x-data: {json: {properties: {m: {selector: request.method}, n: {value: 1}}}}}}}}",
     "a.test", "GET", "/", "\"x-user\":\"bob\"", "", 1, 0, 200,
     {"x-user-id", "x-data"}, {"bob", "{\"m\":\"GET\",\"n\":1}"}, NULL},
    {"defaults and overrides", HDR "spec: {hosts: [a.test], authentication: {u: {plain: "
     "{selector: request.headers.x-user.@fromstr}, defaults: {role: {value: viewer}, name: "
     "{value: nobody}}, overrides: {org: {value: acme}}}}, response: {success: {headers: "
     "{x-id: {json: {properties: {i: {selector: auth.identity}}}}}}}}",
     "a.test", "GET", "/", "\"x-user\":\"{\\\"name\\\":\\\"ann\\\",\\\"org\\\":\\\"x\\\"}\"", "",
     1, 0, 200, {"x-id"}, {"{\"i\":{\"name\":\"ann\",\"org\":\"acme\",\"role\":\"viewer\"}}"}, NULL},
    /* Token normalization: selectors in defaults and overrides read the
     * identity they extend through auth.identity. */
    {"defaults and overrides see auth.identity", HDR "spec: {hosts: [a.test], authentication: "
     "{u: {plain: {selector: request.headers.x-user.@fromstr}, defaults: {username: "
     "{selector: auth.identity.preferred_username}, name: {selector: auth.identity.sub}}, "
     "overrides: {roles: {selector: auth.identity.realm_access.roles}, self: "
     "{selector: auth.identity}}}}, response: {success: {headers: "
     "{x-id: {json: {properties: {u: {selector: auth.identity.username}, r: {selector: "
     "auth.identity.roles}, n: {selector: auth.identity.name}, s: {selector: "
     "auth.identity.self.sub}}}}}}}}",
     "a.test", "GET", "/", "\"x-user\":\"{\\\"sub\\\":\\\"u1\\\",\\\"preferred_username\\\":"
     "\\\"ann\\\",\\\"realm_access\\\":{\\\"roles\\\":[\\\"admin\\\"]}}\"", "",
     1, 0, 200, {"x-id"}, {"{\"u\":\"ann\",\"r\":[\"admin\"],\"n\":\"u1\",\"s\":\"u1\"}"}, NULL},
    {"customHeader challenge keeps the configured name", HDR "spec: {hosts: [a.test], "
     "authentication: {friends: {apiKey: {selector: {matchLabels: {app: t}}}, credentials: "
     "{customHeader: {name: X-API-Key}}}}}" SECRETS,
     "a.test", "GET", "/", "", "", 0, 16, 401,
     {"www-authenticate"}, {"X-API-Key realm=\"friends\""}, "credential not found"},
    {"customHeader matches the header whatever its case", HDR "spec: {hosts: [a.test], "
     "authentication: {friends: {apiKey: {selector: {matchLabels: {app: t}}}, credentials: "
     "{customHeader: {name: X-API-Key}}}}}" SECRETS,
     "a.test", "GET", "/", "\"x-api-key\":\"s3cret\"", "", 1, 0, 200, {0}, {0}, NULL},
};

static char *request_json(const pcase *c)
{
    static char b[4096];
    snprintf(b, sizeof b,
             "{\"attributes\":{\"source\":{\"address\":{\"socketAddress\":{"
             "\"address\":\"10.0.0.1\",\"portValue\":5000}}},"
             "\"contextExtensions\":{%s},\"request\":{\"http\":{"
             "\"method\":\"%s\",\"path\":\"%s\",\"host\":\"%s\",\"headers\":{%s}}}}}",
             c->ctxext, c->method, c->path, c->host, c->headers);
    return b;
}

static void run_case(const pcase *c)
{
    tu_errors errs = {0};
    snapshot *s = tu_snapshot(c->yaml, &errs);
    for (int i = 0; i < errs.n; i++)
        fprintf(stderr, "  [%s] config: %s\n", c->name, errs.lines[i]);
    CU_ASSERT_EQUAL_FATAL(errs.n, 0);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    CU_ASSERT_EQUAL_FATAL(tu_decide(s, request_json(c), &r, 0), 0);
    int ok = r.allowed == c->allowed && r.grpc_code == c->grpc && r.http_status == c->http;
    if (c->reason && (!r.reason || strcmp(r.reason, c->reason) != 0))
        ok = 0;
    char v[1024];
    for (int i = 0; i < 3 && c->hname[i]; i++) {
        const char *got = tu_header(&r, c->hname[i], v, sizeof v);
        if (!got || strcmp(got, c->hvalue[i]) != 0) {
            fprintf(stderr, "  [%s] header %s: got %s, want %s\n", c->name, c->hname[i],
                    got ? got : "(none)", c->hvalue[i]);
            ok = 0;
        }
    }
    if (!ok)
        fprintf(stderr, "  [%s] got allowed=%d grpc=%d http=%d reason=%s\n", c->name,
                r.allowed, r.grpc_code, r.http_status, r.reason ? r.reason : "(null)");
    CU_ASSERT(ok);
    pipe_result_free(&r);
    snapshot_unref(s);
}

static void test_table(void)
{
    CU_ASSERT_EQUAL_FATAL(tu_load_plugins(), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* Repeated challenges: one WWW-Authenticate per identity config. */
static void test_challenges(void)
{
    tu_load_plugins();
    snapshot *s = tu_snapshot(HDR "spec: {hosts: [a.test], authentication: {"
                                  "a: {apiKey: {selector: {matchLabels: {app: t}}}}, "
                                  "b: {apiKey: {selector: {matchLabels: {app: t}}}, "
                                  "credentials: {customHeader: {name: X-Key}}}}}" SECRETS,
                              NULL);
    pipe_result r;
    tu_decide(s, "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\","
                 "\"method\":\"GET\",\"path\":\"/\"}}}}", &r, 0);
    CU_ASSERT_EQUAL(r.http_status, 401);
    CU_ASSERT_EQUAL(tu_count_header(&r, "www-authenticate"), 2);
    pipe_result_free(&r);
    snapshot_unref(s);
}

/* The evaluator cache answers the second request without the plugin. */
static void test_evaluator_cache(void)
{
    tu_load_plugins();
    snapshot *s = tu_snapshot(HDR "spec: {hosts: [a.test], authentication: {k: {apiKey: "
                                  "{selector: {matchLabels: {app: t}}}, cache: {key: "
                                  "{selector: request.headers.authorization}, ttl: 60}}}}" SECRETS,
                              NULL);
    const char *req = "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\","
                      "\"method\":\"GET\",\"path\":\"/\",\"headers\":{\"authorization\":"
                      "\"Bearer s3cret\"}}}}}";
    pipe_result r;
    tu_decide(s, req, &r, 1);
    CU_ASSERT_EQUAL(r.allowed, 1);
    CU_ASSERT_FATAL(r.n_trace > 0);
    CU_ASSERT_STRING_EQUAL(r.trace[0].outcome, "ok");
    pipe_result_free(&r);
    tu_decide(s, req, &r, 1);
    CU_ASSERT_EQUAL(r.allowed, 1);
    CU_ASSERT_FATAL(r.n_trace > 0);
    CU_ASSERT_STRING_EQUAL(r.trace[0].outcome, "cached");
    pipe_result_free(&r);
    snapshot_unref(s);
}

/* Dynamic metadata goes to the verdict, not to headers. */
static void test_dynamic_metadata(void)
{
    tu_load_plugins();
    snapshot *s = tu_snapshot(HDR "spec: {hosts: [a.test], response: {success: {"
                                  "dynamicMetadata: {ext: {json: {properties: {m: "
                                  "{selector: request.method}}}}}}}}", NULL);
    pipe_result r;
    tu_decide(s, "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\","
                 "\"method\":\"GET\",\"path\":\"/\"}}}}", &r, 0);
    CU_ASSERT_EQUAL(r.allowed, 1);
    CU_ASSERT_EQUAL(r.n_headers, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.dynmeta);
    struct arena a;
    arena_init(&a, 0);
    CU_ASSERT_STRING_EQUAL(doc_to_json_arena(&a, r.dynmeta, NULL), "{\"ext\":{\"m\":\"GET\"}}");
    arena_free(&a);
    pipe_result_free(&r);
    snapshot_unref(s);
}

static int always_cancelled(void *arg)
{
    (void)arg;
    return 1;
}

/* A request whose deadline has passed fails closed with UNAVAILABLE, as
 * does one whose client went away. */
static void test_deadline(void)
{
    tu_load_plugins();
    snapshot *s = tu_snapshot(HDR "spec: {hosts: [a.test]}", NULL);
    checkjson cj;
    char err[128];
    const char *req = "{\"attributes\":{\"request\":{\"http\":{\"host\":\"a.test\","
                      "\"method\":\"GET\",\"path\":\"/\"}}}}";
    CU_ASSERT_EQUAL_FATAL(checkjson_parse(req, strlen(req), &cj, err, sizeof err), 0);
    pipe_result r;
    cj.view.deadline_ns = 1; /* long past */
    submit_decide(s, &cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    CU_ASSERT_EQUAL(r.http_status, 503);
    pipe_result_free(&r);
    cj.view.deadline_ns = 0;
    cj.view.cancelled = always_cancelled;
    submit_decide(s, &cj.view, 0, &r);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, PC_GRPC_UNAVAILABLE);
    pipe_result_free(&r);
    checkjson_free(&cj);
    snapshot_unref(s);
}

/* request.time has Authorino's shape, {"seconds": N, "nanos": N}, from the
 * JSON form of a CheckRequest as from its object form. */
static void test_request_time(void)
{
    tu_load_plugins();
    snapshot *s = tu_snapshot(HDR "spec: {hosts: [a.test], authorization: {t: "
                                  "{patternMatching: {patterns: [{selector: "
                                  "request.time.seconds, operator: eq, value: "
                                  "'1700000000'}]}}}, response: {success: {headers: "
                                  "{x-t: {plain: {selector: request.time.nanos}}}}}}",
                              NULL);
    static const char *const times[] = {"\"2023-11-14T22:13:20.5Z\"",
                                        "{\"seconds\":1700000000,\"nanos\":500000000}"};
    for (size_t i = 0; i < 2; i++) {
        char req[512], v[64];
        snprintf(req, sizeof req,
                 "{\"attributes\":{\"request\":{\"time\":%s,\"http\":{\"host\":"
                 "\"a.test\",\"method\":\"GET\",\"path\":\"/\"}}}}", times[i]);
        pipe_result r;
        CU_ASSERT_EQUAL_FATAL(tu_decide(s, req, &r, 0), 0);
        CU_ASSERT_EQUAL(r.http_status, 200);
        const char *got = tu_header(&r, "x-t", v, sizeof v);
        CU_ASSERT(got && strcmp(got, "500000000") == 0);
        pipe_result_free(&r);
    }
    snapshot_unref(s);
}

/* Missing http attributes: INVALID_ARGUMENT. */
static void test_invalid(void)
{
    tu_load_plugins();
    checkjson cj;
    char err[128];
    CU_ASSERT_EQUAL(checkjson_parse("{\"attributes\":{}}", 17, &cj, err, sizeof err),
                    CHECKJSON_NO_HTTP);
    checkjson_free(&cj);
    CU_ASSERT_EQUAL(checkjson_parse("{nope", 5, &cj, err, sizeof err), CHECKJSON_SYNTAX);
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"authorino semantics table", test_table},
        {"one challenge per identity", test_challenges},
        {"evaluator cache", test_evaluator_cache},
        {"dynamic metadata", test_dynamic_metadata},
        {"deadline and cancel fail closed", test_deadline},
        {"invalid requests", test_invalid},
        {"request.time is {seconds, nanos}", test_request_time},
        {NULL, NULL}};
    return cu_add_suite("pipeline", c);
}
