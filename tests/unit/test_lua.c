/* The Lua evaluators (plugins/lua/evaluators) through the engine: each
 * phase's results, the request view and library, the sandbox, the limits
 * and isolation between requests. Skipped when the plugin was not built
 * (no liblua5.4-dev or PORTCULLIS_LUA=OFF). */
#include <time.h>
#include "cu_main.h"
#include "pc_testutil.h"
#include "plugin/confhook.h"

static int g_have_lua;

static int have_lua(void)
{
    static int checked;
    if (!checked) {
        char p[1024];
        const char *dir = getenv("PC_PLUGIN_DIR");
        checked = 1;
        snprintf(p, sizeof p, "%s/lua_evaluators.so", dir ? dir : ".");
        g_have_lua = access(p, R_OK) == 0;
        if (!g_have_lua)
            printf("\n  lua_evaluators.so not built: Lua suite skipped\n");
        else if (tu_load_plugins() != 0)
            g_have_lua = 0;
    }
    return g_have_lua;
}

/* An AuthConfig for host lua.test with the given spec body (indented by
 * two spaces under spec:). */
static snapshot *load_spec(const char *spec, tu_errors *errs)
{
    static char y[16384];
    snprintf(y, sizeof y,
             "apiVersion: authorino.kuadrant.io/v1beta3\n"
             "kind: AuthConfig\n"
             "metadata: {name: lua-test, namespace: ns}\n"
             "spec:\n  hosts: [lua.test]\n%s", spec);
    tu_errors local = {0};
    snapshot *s = tu_snapshot(y, errs ? errs : &local);
    if (!errs)
        for (int i = 0; i < local.n; i++)
            fprintf(stderr, "  config: %s\n", local.lines[i]);
    return s;
}

/* A CheckRequest for lua.test; headers as "name","value",...,NULL. */
static int decide(snapshot *s, const char *method, const char *path,
                  pipe_result *r, ...)
{
    char req[8192], hdrs[4096] = "";
    size_t o = 0;
    va_list ap;
    va_start(ap, r);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        o += (size_t)snprintf(hdrs + o, sizeof hdrs - o, ",\"%s\":\"%s\"", k, v);
    }
    va_end(ap);
    snprintf(req, sizeof req,
             "{\"attributes\":{\"request\":{\"http\":{\"id\":\"1\",\"method\":\"%s\","
             "\"path\":\"%s\",\"host\":\"lua.test\",\"scheme\":\"http\","
             "\"headers\":{\":authority\":\"lua.test\"%s}}},"
             "\"source\":{\"address\":{\"socketAddress\":{\"address\":\"10.0.0.7\","
             "\"portValue\":4242}}}}}",
             method, path, hdrs);
    return tu_decide(s, req, r, 0);
}

#define AUTHZ(script)                                                        \
    "  authorization:\n    policy:\n      lua:\n        script: |\n" script

static const char *hdr(pipe_result *r, const char *name)
{
    static char buf[4096];
    return tu_header(r, name, buf, sizeof buf);
}

/* Decides GET / and returns allowed (1/0); the reason into reason. */
static int run_authz(const char *script, char *reason, size_t rl)
{
    char spec[8192];
    snprintf(spec, sizeof spec, "  authorization:\n    policy:\n      lua:\n"
             "        script: |\n%s", script);
    snapshot *s = load_spec(spec, NULL);
    if (!s || s->n_configs != 1) {
        if (s)
            snapshot_unref(s);
        return -1;
    }
    pipe_result r;
    int rc = decide(s, "GET", "/things/7?x=1", &r, "x-user", "alice",
                    "x-roles", "admin,dev", NULL);
    int allowed = rc == 0 ? r.allowed : -1;
    if (reason)
        snprintf(reason, rl, "%s", r.reason ? r.reason : "");
    pipe_result_free(&r);
    snapshot_unref(s);
    return allowed;
}

static void test_authorization(void)
{
    if (!have_lua())
        return;
    char reason[256];
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            return request.method == 'GET' and request.headers['x-user'] == 'alice'\n"
        "          end\n", NULL, 0), 1);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() return request.method == 'POST' end\n",
        reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "Unauthorized");
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            return {allowed = false, reason = 'not on weekends'}\n"
        "          end\n", reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "not on weekends");
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() return {allowed = true} end\n", NULL, 0), 1);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() return false, 'custom' end\n",
        reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "custom");
    /* A result that is neither denies as an error. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() return 'yes' end\n", reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "lua evaluation failed");
    /* Another function name, and the root passed as argument. */
    char spec[2048];
    snprintf(spec, sizeof spec, "%s",
             "  authorization:\n    policy:\n      lua:\n        function: check\n"
             "        script: |\n"
             "          function check(input) return input.request.url_path == '/things/7' end\n");
    snapshot *s = load_spec(spec, NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    CU_ASSERT_EQUAL(decide(s, "GET", "/things/7", &r, NULL), 0);
    CU_ASSERT_EQUAL(r.allowed, 1);
    pipe_result_free(&r);
    snapshot_unref(s);
}

static void test_view(void)
{
    if (!have_lua())
        return;
    /* pairs, #, ipairs, nested objects, numbers, tostring, missing keys. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            local n = 0\n"
        "            for k, v in pairs(request.headers) do n = n + 1 end\n"
        "            assert(n == 3, 'headers: ' .. n)\n"
        "            assert(#request.headers == 0)\n"
        "            assert(request.headers['x-missing'] == nil)\n"
        "            assert(source.address == '10.0.0.7' and source.port == 4242)\n"
        "            assert(math.type(source.port) == 'integer')\n"
        "            assert(request.url_path == '/things/7')\n"
        "            assert(tostring(request.headers):find('alice', 1, true))\n"
        "            assert(not pcall(function() request.method = 'POST' end))\n"
        "            local roles = {}\n"
        "            for r in request.headers['x-roles']:gmatch('[^,]+') do roles[#roles+1] = r end\n"
        "            assert(#roles == 2 and roles[2] == 'dev')\n"
        "            return true\n"
        "          end\n", NULL, 0), 1);
    /* Arrays: the identity's roles from a JSON header via metadata. */
    snapshot *s = load_spec(
        "  metadata:\n    facts:\n      lua:\n        script: |\n"
        "          function evaluate() return {roles = {'a', 'b', 'c'}, n = 3} end\n"
        "  authorization:\n    policy:\n      lua:\n        script: |\n"
        "          function evaluate()\n"
        "            local r = auth.metadata.facts.roles\n"
        "            assert(#r == 3 and r[1] == 'a' and r[3] == 'c' and r[4] == nil)\n"
        "            local s = ''\n"
        "            for i, v in ipairs(r) do s = s .. i .. v end\n"
        "            assert(s == '1a2b3c', s)\n"
        "            s = ''\n"
        "            for i, v in pairs(r) do s = s .. i .. v end\n"
        "            assert(s == '1a2b3c', s)\n"
        "            return true\n"
        "          end\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, NULL), 0);
    CU_ASSERT_EQUAL(r.allowed, 1);
    pipe_result_free(&r);
    snapshot_unref(s);
}

static void test_library(void)
{
    if (!have_lua())
        return;
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            assert(sha256('abc') == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')\n"
        "            assert(hmac('key', 'The quick brown fox jumps over the lazy dog') ==\n"
        "              'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8')\n"
        "            assert(base64.encode('hello?') == 'aGVsbG8/')\n"
        "            assert(base64.encode('hi', true) == 'aGk')\n"
        "            assert(base64.decode('aGVsbG8/') == 'hello?')\n"
        "            assert(base64.decode('!!') == nil)\n"
        "            local t = json.decode('{\"a\":[1,2.5,\"x\",true],\"b\":{\"c\":null}}')\n"
        "            assert(t.a[1] == 1 and t.a[2] == 2.5 and t.a[3] == 'x' and t.a[4] == true)\n"
        "            t.a[5] = 'mutable'\n"
        "            assert(t.b.c == json.null and json.encode({json.null, 1}) == '[null,1]')\n"
        "            assert(json.decode('{') == nil)\n"
        "            assert(json.decode('92') == 92 and json.decode('\"s\"') == 's')\n"
        "            assert(json.encode({1, 2, 'x'}) == '[1,2,\"x\"]')\n"
        "            assert(json.encode({k = {v = false}}) == '{\"k\":{\"v\":false}}')\n"
        "            assert(json.encode(request.headers):find('\"x-user\":\"alice\"', 1, true))\n"
        "            assert(not pcall(json.encode, {f = print or function() end}))\n"
        "            assert(re.test('^/things/[0-9]+$', request.url_path))\n"
        "            assert(re.match('^/things/([0-9]+)', request.url_path) == '7')\n"
        "            assert(re.match('(?i)ALICE', 'xalicex') == 'alice')\n"
        "            assert(re.match('^z', 'abc') == nil)\n"
        "            assert(not pcall(re.test, '(', 'x'))\n"
        "            assert(not pcall(re.test, '(a+)+$', string.rep('a', 40) .. 'b'))\n"
        "            local now = time.now()\n"
        "            assert(now > 1.7e9)\n"
        "            local u = time.utc(0)\n"
        "            assert(u.year == 1970 and u.month == 1 and u.day == 1 and u.wday == 4)\n"
        "            assert(('abc'):upper() == 'ABC' and string.format('%d', 3) == '3')\n"
        "            assert(table.concat({'a', 'b'}, ',') == 'a,b' and math.max(1, 2) == 2)\n"
        "            log.info('lua log line')\n"
        "            return true\n"
        "          end\n", NULL, 0), 1);
}

static void test_identity_metadata_response(void)
{
    if (!have_lua())
        return;
    snapshot *s = load_spec(
        "  authentication:\n    header-user:\n      lua:\n        script: |\n"
        "          function evaluate()\n"
        "            local u = request.headers['x-user']\n"
        "            if not u then return nil, 'no x-user header' end\n"
        "            return {sub = u, groups = {'staff'}}\n"
        "          end\n"
        "  metadata:\n    tier:\n      lua:\n        script: |\n"
        "          function evaluate()\n"
        "            return {tier = auth.identity.sub == 'alice' and 'gold' or 'basic'}\n"
        "          end\n"
        "  authorization:\n    gold-only:\n      patternMatching:\n        patterns:\n"
        "        - selector: auth.metadata.tier.tier\n          operator: eq\n          value: gold\n"
        "  response:\n    success:\n      headers:\n        x-greeting:\n          lua:\n"
        "            script: |\n"
        "              function evaluate() return 'hello ' .. auth.identity.sub end\n"
        "        x-identity:\n          json:\n            properties:\n"
        "              identity: {selector: auth.identity}\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, "x-user", "alice", NULL), 0);
    CU_ASSERT_EQUAL(r.allowed, 1);
    const char *g = hdr(&r, "x-greeting");
    CU_ASSERT_PTR_NOT_NULL(g);
    if (g)
        CU_ASSERT_STRING_EQUAL(g, "hello alice");
    const char *id = hdr(&r, "x-identity");
    CU_ASSERT(id && strstr(id, "\"sub\":\"alice\"") && strstr(id, "[\"staff\"]"));
    pipe_result_free(&r);
    /* metadata feeds the pattern: bob is "basic" and refused. */
    CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, "x-user", "bob", NULL), 0);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, 7);
    pipe_result_free(&r);
    /* no identity: 401 with the script's reason. */
    CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, NULL), 0);
    CU_ASSERT_EQUAL(r.allowed, 0);
    CU_ASSERT_EQUAL(r.grpc_code, 16);
    CU_ASSERT_STRING_EQUAL(r.reason ? r.reason : "", "no x-user header");
    pipe_result_free(&r);
    snapshot_unref(s);
}

static void test_errors_and_limits(void)
{
    if (!have_lua())
        return;
    char reason[256];
    struct timespec a, b;
    /* A runtime error denies; the Lua message stays in the log. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() error('secret detail') end\n", reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "lua evaluation failed");
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() return nil + 1 end\n", reason, sizeof reason), 0);
    CU_ASSERT_EQUAL(run_authz("          x = \n", NULL, 0), -1);  /* syntax: config error */
    CU_ASSERT_EQUAL(run_authz("          local y = 1\n", reason, sizeof reason), 0);  /* no evaluate */
    clock_gettime(CLOCK_MONOTONIC, &a);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() while true do end end\n", reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "lua evaluation failed");
    /* pcall cannot swallow the budget. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            while true do pcall(function() while true do end end) end\n"
        "          end\n", reason, sizeof reason), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CU_ASSERT((b.tv_sec - a.tv_sec) < 5);
    /* Memory bombs: a huge string, a growing table, swallowed errors. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() local s = string.rep('x', 64 * 1024 * 1024) return #s > 0 end\n",
        reason, sizeof reason), 0);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            local t = {}\n"
        "            for i = 1, 1e7 do t[i] = {i} end\n"
        "            return true\n"
        "          end\n", reason, sizeof reason), 0);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            local ok = pcall(string.rep, 'x', 64 * 1024 * 1024)\n"
        "            return true\n"
        "          end\n", reason, sizeof reason), 0);
    /* Unbounded recursion, and a cyclic result. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() local function f() return 1 + f() end return f() end\n",
        reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "lua evaluation failed");
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate() local t = {} t.self = t return {allowed = true, t = t} end\n",
        NULL, 0), 1);
    /* A result's metamethods never run after the evaluation (outside
     * the budget): __index is not consulted. */
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            return setmetatable({}, {__index = function() while true do end end})\n"
        "          end\n", reason, sizeof reason), 0);
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            return setmetatable({allowed = false}, {__index = function() while true do end end})\n"
        "          end\n", reason, sizeof reason), 0);
    CU_ASSERT_STRING_EQUAL(reason, "Unauthorized");
    /* The limits are settings. */
    snapshot *s = load_spec(
        "  authorization:\n    policy:\n      lua:\n        maxInstructions: 100\n"
        "        script: |\n"
        "          function evaluate() local n = 0 for i = 1, 1000 do n = n + i end return true end\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    decide(s, "GET", "/", &r, NULL);
    CU_ASSERT_EQUAL(r.allowed, 0);
    pipe_result_free(&r);
    snapshot_unref(s);
    s = load_spec(
        "  authorization:\n    policy:\n      lua:\n        maxMemory: 65536\n"
        "        script: |\n"
        "          function evaluate() local s = string.rep('x', 100000) return true end\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    decide(s, "GET", "/", &r, NULL);
    CU_ASSERT_EQUAL(r.allowed, 0);
    pipe_result_free(&r);
    snapshot_unref(s);
}

static void test_sandbox(void)
{
    if (!have_lua())
        return;
    char reason[256];
    CU_ASSERT_EQUAL(run_authz(
        "          function evaluate()\n"
        "            for _, n in ipairs({'io', 'os', 'package', 'require', 'load', 'loadstring',\n"
        "                'dofile', 'loadfile', 'debug', 'collectgarbage', 'rawset', 'coroutine',\n"
        "                'print', '_G'}) do\n"
        "              assert(_ENV[n] == nil, n)\n"
        "            end\n"
        "            assert(string.dump == nil)\n"
        "            assert(getmetatable('') == false)\n"
        "            assert(not pcall(function() string.upper = nil end))\n"
        "            assert(not pcall(setmetatable, string, {}))\n"
        "            assert(not pcall(setmetatable, {}, {__gc = function() end}))\n"
        "            assert(getmetatable(_ENV) == false)\n"
        "            return true\n"
        "          end\n", NULL, 0), 1);
    static const char *const escapes[] = {
        "          function evaluate() os.execute('touch /tmp/pc-lua-pwned') return true end\n",
        "          function evaluate() return io.open('/etc/passwd') ~= nil end\n",
        "          function evaluate() return require('os') ~= nil end\n",
        "          function evaluate() return load(string.dump(function() return true end))() end\n",
        "          function evaluate() return load('return true')() end\n",
        "          function evaluate() return getmetatable('').__index.dump ~= nil end\n",
        "          function evaluate() return debug.getregistry() ~= nil end\n",
        NULL};
    for (int i = 0; escapes[i]; i++) {
        CU_ASSERT_EQUAL(run_authz(escapes[i], reason, sizeof reason), 0);
        CU_ASSERT_STRING_EQUAL(reason, "lua evaluation failed");
    }
    CU_ASSERT_EQUAL(access("/tmp/pc-lua-pwned", F_OK), -1);
}

static void test_isolation(void)
{
    if (!have_lua())
        return;
    /* Globals, chunk upvalues and changes to the library do not outlive
     * a request, on this thread or any other. */
    snapshot *s = load_spec(
        "  authorization:\n    policy:\n      lua:\n        script: |\n"
        "          local count = 0\n"
        "          function evaluate()\n"
        "            count = count + 1\n"
        "            if seen or count ~= 1 then return false, 'state leaked' end\n"
        "            seen = true\n"
        "            _ENV.table_copy = {}\n"
        "            return true\n"
        "          end\n"
        "    second:\n      lua:\n        script: |\n"
        "          function evaluate() return seen == nil and table_copy == nil end\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    for (int i = 0; i < 5; i++) {
        pipe_result r;
        CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, NULL), 0);
        CU_ASSERT_EQUAL(r.allowed, 1);
        if (!r.allowed)
            fprintf(stderr, "  isolation: %s\n", r.reason ? r.reason : "");
        pipe_result_free(&r);
    }
    snapshot_unref(s);

    /* A script that fails after assigning globals leaves none behind,
     * however many it wrote (past the size at which the environment is
     * dropped rather than emptied too). */
    for (int n = 1; n <= 200; n *= 200) {
        char spec[1024];
        snprintf(spec, sizeof spec, AUTHZ(
            "          function evaluate()\n"
            "            if poisoned ~= nil or g1 ~= nil then return false, 'leaked' end\n"
            "            poisoned = true\n"
            "            for i = 1, %d do _ENV['g' .. i] = i end\n"
            "            error('boom')\n"
            "          end\n"), n);
        s = load_spec(spec, NULL);
        CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
        for (int i = 0; i < 3; i++) {
            pipe_result r;
            CU_ASSERT_EQUAL(decide(s, "GET", "/", &r, NULL), 0);
            CU_ASSERT_EQUAL(r.allowed, 0);
            CU_ASSERT_STRING_EQUAL(r.reason ? r.reason : "", "lua evaluation failed");
            pipe_result_free(&r);
        }
        snapshot_unref(s);
    }
}

/* A top level that only defines functions runs once per thread; one that
 * reads the request, the clock or random numbers runs every time, and a
 * script still cannot see what an earlier request assigned or changed. */
static void test_top_level(void)
{
    if (!have_lua())
        return;
    snapshot *s = load_spec(
        "  authorization:\n    kept:\n      lua:\n        script: |\n"
        "          function helper() return true end\n"
        "          LIMIT = 3\n"
        "          function evaluate()\n"
        "            if seen ~= nil then return false, 'a global leaked' end\n"
        "            if helper() ~= true or LIMIT ~= 3 then return false, 'a definition changed' end\n"
        "            seen = true\n"
        "            helper = function() return false end\n"
        "            LIMIT = 4\n"
        "            evaluate = nil\n"
        "            return true\n"
        "          end\n"
        "    per-request:\n      lua:\n        script: |\n"
        "          METHOD = request.method\n"
        "          function evaluate() return METHOD == request.method, 'stale: ' .. METHOD end\n"
        "  response:\n    success:\n      headers:\n"
        "        x-random:\n          lua:\n            script: |\n"
        "              R = tostring(math.random(1, 1000000000))\n"
        "              function evaluate() return R end\n"
        "        x-time:\n          lua:\n            script: |\n"
        "              T = string.format('%.9f', time.now())\n"
        "              function evaluate() return T end\n", NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    char prev_r[64] = "", prev_t[64] = "";
    static const char *const methods[] = {"GET", "POST", "GET", "PUT", "DELETE"};
    for (int i = 0; i < 5; i++) {
        pipe_result r;
        CU_ASSERT_EQUAL(decide(s, methods[i], "/", &r, NULL), 0);
        CU_ASSERT_EQUAL(r.allowed, 1);
        if (!r.allowed)
            fprintf(stderr, "  top level: %s\n", r.reason ? r.reason : "");
        const char *x = hdr(&r, "x-random");
        CU_ASSERT(x && strcmp(x, prev_r) != 0);
        snprintf(prev_r, sizeof prev_r, "%s", x ? x : "");
        x = hdr(&r, "x-time");
        CU_ASSERT(x && strcmp(x, prev_t) != 0);
        snprintf(prev_t, sizeof prev_t, "%s", x ? x : "");
        pipe_result_free(&r);
        usleep(1000);
    }
    snapshot_unref(s);
}

static void test_config(void)
{
    if (!have_lua())
        return;
    tu_errors e = {0};
    snapshot *s = load_spec("  authorization:\n    p:\n      lua:\n        script: 'x ='\n", &e);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(e.n > 0 && strstr(e.lines[0], "lua-test/p:1:"));
    snapshot_unref(s);
    memset(&e, 0, sizeof e);
    s = load_spec("  authorization:\n    p:\n      lua:\n        script: 'x = 1'\n"
                  "        scirpt: typo\n", &e);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(e.n > 0 && strstr(e.lines[0], "scirpt"));
    snapshot_unref(s);
    memset(&e, 0, sizeof e);
    s = load_spec("  authorization:\n    p:\n      lua: {}\n", &e);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(e.n > 0 && strstr(e.lines[0], "exactly one of script and file"));
    snapshot_unref(s);
    memset(&e, 0, sizeof e);
    s = load_spec("  authorization:\n    p:\n      lua: {file: no/such/policy.lua}\n", &e);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(e.n > 0 && strstr(e.lines[0], "relative to the working directory"));
    snapshot_unref(s);
    /* A script from a file. */
    const char *path = tu_write_temp("function evaluate() return request.method == 'GET' end\n", ".lua");
    char spec[512];
    snprintf(spec, sizeof spec, "  authorization:\n    p:\n      lua: {file: '%s'}\n", path);
    s = load_spec(spec, NULL);
    CU_ASSERT_EQUAL_FATAL(s->n_configs, 1);
    pipe_result r;
    decide(s, "GET", "/", &r, NULL);
    CU_ASSERT_EQUAL(r.allowed, 1);
    pipe_result_free(&r);
    decide(s, "PUT", "/", &r, NULL);
    CU_ASSERT_EQUAL(r.allowed, 0);
    pipe_result_free(&r);
    snapshot_unref(s);
    unlink(path);
}

/* ---- config hooks ---- */

/* Installs one Lua config hook with this script; returns its path. */
static const char *use_hook(const char *script)
{
    char err[600] = "", spec[128];
    const char *path = tu_write_temp(script, ".lua");
    confhook_reset();
    snprintf(spec, sizeof spec, "lua:%s", path);
    CU_ASSERT_EQUAL(confhook_add_spec(host_table(), spec, err, sizeof err), 0);
    if (err[0])
        fprintf(stderr, "  hook: %s\n", err);
    return path;
}

#define HOOK_AC(name, ns, body)                                               \
    "---\napiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"      \
    "metadata: {name: " name ", namespace: " ns "}\n"                         \
    "spec:\n  hosts: [" name "." ns ".test]\n" body

#define ALLOWED_HEADER                                                        \
    "  authorization:\n    header:\n      patternMatching:\n"                 \
    "        patterns: [{selector: request.headers.x-allowed, operator: eq, value: 'yes'}]\n"

/* Three AuthConfigs: dev/open (no when; lines 1-10), prod/anon (anonymous
 * in prod; from line 11, its mapping at 12), dev/scoped (its own when). */
static const char HOOK_ACS[] =
    HOOK_AC("open", "dev", ALLOWED_HEADER)
    HOOK_AC("anon", "prod", "  authentication:\n    anon: {anonymous: {}}\n")
    HOOK_AC("scoped", "dev", "  when: [{selector: request.method, operator: eq, value: POST}]\n"
            ALLOWED_HEADER);

/* The policy of docs/lua.md's config hook section, in short. */
static const char HOOK_POLICY[] =
    "local PROTECTED = {prod = true}\n"
    "function on_load(ac)\n"
    "  local ns = ac.metadata.namespace or 'default'\n"
    "  if PROTECTED[ns] then\n"
    "    for name, m in pairs(ac.spec.authentication or {}) do\n"
    "      if m.anonymous ~= nil then\n"
    "        return nil, 'spec.authentication.' .. name .. ': anonymous access is not allowed in namespace ' .. ns\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if ac.spec.when == nil then\n"
    "    ac.spec.when = {{selector = 'request.path', operator = 'neq', value = '/healthz'}}\n"
    "    return ac\n"
    "  end\n"
    "end\n";

static int decide_host(snapshot *s, const char *host, const char *method,
                       const char *path, const char *allowed_hdr)
{
    char req[2048];
    pipe_result r;
    snprintf(req, sizeof req,
             "{\"attributes\":{\"request\":{\"http\":{\"id\":\"1\",\"method\":\"%s\","
             "\"path\":\"%s\",\"host\":\"%s\",\"headers\":{\":authority\":\"%s\"%s%s%s}}}}}",
             method, path, host, host, allowed_hdr ? ",\"x-allowed\":\"" : "",
             allowed_hdr ? allowed_hdr : "", allowed_hdr ? "\"" : "");
    int rc = tu_decide(s, req, &r, 0);
    /* 404: no AuthConfig serves the host. */
    int allowed = rc != 0 ? -1 : r.http_status == 404 ? 404 : r.allowed;
    pipe_result_free(&r);
    return allowed;
}

static int has_line(const tu_errors *e, const char *a, const char *b)
{
    for (int i = 0; i < e->n; i++)
        if (strstr(e->lines[i], a) && (!b || strstr(e->lines[i], b)))
            return 1;
    return 0;
}

static void dump_errors(const tu_errors *e)
{
    for (int i = 0; i < e->n; i++)
        fprintf(stderr, "  config: %s\n", e->lines[i]);
}

static void test_hook_rewrite_and_reject(void)
{
    if (!have_lua())
        return;
    tu_errors e = {0};
    /* Without the hook all three load, and /healthz is checked too. */
    snapshot *s = tu_snapshot(HOOK_ACS, &e);
    CU_ASSERT_EQUAL(s->n_configs, 3);
    CU_ASSERT_EQUAL(decide_host(s, "open.dev.test", "GET", "/healthz", NULL), 0);
    snapshot_unref(s);

    const char *hook = use_hook(HOOK_POLICY);
    memset(&e, 0, sizeof e);
    s = tu_snapshot(HOOK_ACS, &e);
    /* prod/anon is rejected at its own line; the others load. */
    CU_ASSERT_EQUAL(s->n_configs, 2);
    CU_ASSERT_EQUAL(e.n, 1);
    char want[512];
    snprintf(want, sizeof want, ":12: config hook lua (%s) rejected the AuthConfig: "
             "spec.authentication.anon: anonymous access is not allowed in namespace prod",
             hook);
    CU_ASSERT(has_line(&e, want, NULL));
    dump_errors(&e);
    /* The default when: /healthz passes without the header, the rest is
     * still checked. */
    CU_ASSERT_EQUAL(decide_host(s, "open.dev.test", "GET", "/healthz", NULL), 1);
    CU_ASSERT_EQUAL(decide_host(s, "open.dev.test", "GET", "/data", NULL), 0);
    CU_ASSERT_EQUAL(decide_host(s, "open.dev.test", "GET", "/data", "yes"), 1);
    /* An AuthConfig with its own when is left as written. */
    CU_ASSERT_EQUAL(decide_host(s, "scoped.dev.test", "POST", "/healthz", NULL), 0);
    CU_ASSERT_EQUAL(decide_host(s, "scoped.dev.test", "GET", "/data", NULL), 1);
    CU_ASSERT_EQUAL(decide_host(s, "anon.prod.test", "GET", "/", NULL), 404);
    snapshot_unref(s);
    confhook_reset();
}

/* What a hook returns is checked as if written by hand; a typo the hook
 * left alone is still reported at its own line; failures reject only the
 * AuthConfig at hand. */
static void test_hook_errors(void)
{
    if (!have_lua())
        return;
    static const struct {
        const char *script, *want;
    } cases[] = {
        {"function on_load(ac) ac.spec.typo = true return ac end",
         "spec.typo: unknown field"},
        {"function on_load(ac) ac.metadata.name = 'other' return ac end",
         "a rewrite may not change kind, metadata.name or metadata.namespace"},
        {"function on_load(ac) ac.kind = 'Secret' return ac end",
         "a rewrite may not change kind, metadata.name or metadata.namespace"},
        {"function on_load(ac)\n  if ac.metadata.name == 'anon' then\n"
         "    error('no ' .. ac.metadata.name)\n  end\nend",
         ".lua:3: no anon"},
        {"function on_load(ac) if ac.metadata.name == 'anon' then while true do end end end",
         "failed: instruction budget exceeded (maxInstructions 1000000)"},
        {"function on_load(ac)\n  if ac.metadata.name ~= 'anon' then return end\n"
         "  local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end\nend",
         "failed: memory limit exceeded (maxMemory 4194304 bytes)"},
        {"function on_load(ac) if ac.metadata.name == 'anon' then return 42 end end",
         "failed: result: want the AuthConfig (a table), nothing, or nil and a reason; "
         "got a number"},
        {"function on_load(ac) if ac.metadata.name == 'anon' then return false end end",
         "rejected the AuthConfig: on_load returned false"},
        {"function on_load(ac) if ac.metadata.name == 'anon' then os.exit(1) end end",
         "attempt to index a nil value (global 'os')"},
        {"function on_load(ac) if ac.metadata.name == 'anon' then return request.http end end",
         "attempt to index a nil value (global 'request')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        use_hook(cases[i].script);
        tu_errors e = {0};
        snapshot *s = tu_snapshot(HOOK_ACS, &e);
        int all = i < 3; /* the first three reject all three */
        CU_ASSERT_EQUAL(s->n_configs, all ? 0 : 2);
        CU_ASSERT_EQUAL(e.n, all ? 3 : 1);
        if (!has_line(&e, all ? "" : ":12: config hook lua (", cases[i].want)) {
            fprintf(stderr, "  hook case %zu: want \"%s\"\n", i, cases[i].want);
            dump_errors(&e);
            CU_FAIL("the hook's error is reported");
        }
        snapshot_unref(s);
    }

    /* A rewrite keeps the lines of what it did not touch. */
    use_hook(HOOK_POLICY);
    tu_errors e = {0};
    snapshot *s = tu_snapshot(HOOK_AC("typo", "dev", "  authorization:\n"
                                      "    p:\n      patternMatchin: {}\n"), &e);
    CU_ASSERT_EQUAL(s->n_configs, 0);
    CU_ASSERT(has_line(&e, ":9: spec.authorization.p.patternMatchin", NULL));
    if (!has_line(&e, ":9: spec.authorization.p.patternMatchin", NULL))
        dump_errors(&e);
    snapshot_unref(s);
    confhook_reset();
}

int cu_register(void)
{
    static const cu_case c[] = {
        {"authorization results", test_authorization},
        {"request view", test_view},
        {"library", test_library},
        {"identity, metadata, response", test_identity_metadata_response},
        {"errors and limits", test_errors_and_limits},
        {"sandbox", test_sandbox},
        {"isolation", test_isolation},
        {"top level: run once or every time", test_top_level},
        {"config errors", test_config},
        {"config hook: rewrite and reject", test_hook_rewrite_and_reject},
        {"config hook: errors and limits", test_hook_errors},
        {NULL, NULL}};
    return cu_add_suite("lua", c);
}
