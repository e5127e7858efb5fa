#!/usr/bin/python3
"""Lua evaluators end to end: `portcullis serve` over gRPC with the
documented example policies (tests/data/plugins/lua_examples) and the
sandbox's promises: identity from a header, metadata feeding a pattern,
errors, the instruction budget, the memory cap, refused escapes and
per-request isolation across I/O threads. Skipped when the Lua plugin was
not built."""

import calendar
import concurrent.futures
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import Client, build_check_request  # noqa: E402
from pcharness import (Checks, PC_PLUGIN_DIR, PC_SOURCE_DIR, Server,  # noqa: E402
                       SMALL)

EXAMPLES = os.path.join(PC_SOURCE_DIR, "tests", "data", "plugins", "lua_examples",
                        "examples.yaml")
JWT_NS = "envoy.filters.http.jwt_authn"

SANDBOX = """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %(name)s
  namespace: tests
spec:
  hosts:
  - %(name)s.lua.test
  authentication:
    public:
      anonymous: {}
  authorization:
    script:
      lua:
        maxInstructions: 200000
        maxMemory: 1048576
        script: |
%(script)s
"""

SCRIPTS = {
    "error": "function evaluate() error('internal detail 42') end",
    "loop": "function evaluate() while true do end end",
    "pcall-loop": "function evaluate() while true do pcall(function() while true do end end) end end",
    "membomb": "function evaluate() local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end end",
    "strbomb": "function evaluate() local s = ('x'):rep(1024) while true do s = s .. s end end",
    "os-execute": "function evaluate() os.execute('touch /tmp/pc-lua-it-pwned') return true end",
    "io-open": "function evaluate() return io.open('/etc/passwd', 'r') ~= nil end",
    "require": "function evaluate() local os = require('os') return os ~= nil end",
    "dump-load": "function evaluate() return load(string.dump(function() return true end), nil, 'b')() end",
    "isolation": "local n = 0\nfunction evaluate()\n  n = n + 1\n  if leaked ~= nil or n ~= 1 then return false, 'state leaked' end\n  leaked = true\n  return true\nend",
}

PIPELINE = """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: pipeline
  namespace: tests
spec:
  hosts:
  - pipeline.lua.test
  authentication:
    header-user:
      lua:
        script: |
          function evaluate()
            local u = request.headers["x-user"]
            if u == nil then return nil, "x-user header required" end
            return {sub = u}
          end
  metadata:
    plan:
      lua:
        script: |
          local plans = {alice = "pro"}
          function evaluate() return {plan = plans[auth.identity.sub] or "free"} end
  authorization:
    pro-plan:
      patternMatching:
        patterns:
        - selector: auth.metadata.plan.plan
          operator: eq
          value: pro
  response:
    success:
      headers:
        x-plan:
          lua:
            script: |
              function evaluate() return auth.metadata.plan.plan end
"""

checks = Checks()
check = checks.check


def indent(text, n=10):
    return "\n".join(" " * n + line for line in text.split("\n"))


def jwt(sub, roles=(), groups=()):
    return {JWT_NS: {"verified_jwt": {"sub": sub, "realm_access": {"roles": list(roles)},
                                      "groups": list(groups)}}}


def hdrs(opts):
    return {o.header.key: o.header.value for o in opts}


def req(host, path="/", method="GET", **kw):
    return build_check_request(host + ".lua.test", path, method=method, **kw)


def test_examples(c):
    r = c.check(req("roles", metadata=jwt("ann", roles=["admin", "dev"])))
    check(r.status.code == 0, "role check: admin allowed", r)
    r = c.check(req("roles", metadata=jwt("bob", roles=["dev"])))
    check(r.status.code == 7 and hdrs(r.denied_response.headers).get("x-ext-auth-reason")
          == "the admin role is required", "role check: no admin role, 403 with reason", r)
    r = c.check(req("roles"))
    check(r.status.code == 16, "role check: no JWT, 401", r)

    cases = [("GET", "/public/logo.png", (), 0), ("GET", "/api/v1/items/12", (), 0),
             ("POST", "/api/v1/items", ("writers",), 0), ("POST", "/api/v1/items", (), 7),
             ("DELETE", "/api/v1/items/3", ("writers",), 7),
             ("DELETE", "/api/v1/items/3", ("admins",), 0), ("GET", "/private", (), 7)]
    for method, path, groups, code in cases:
        r = c.check(req("acl", path, method, metadata=jwt("u", groups=groups)))
        check(r.status.code == code, "acl: %s %s groups=%s -> %d" % (method, path, groups, code), r)

    wed10 = calendar.timegm((2024, 5, 1, 10, 0, 0))
    wed19 = calendar.timegm((2024, 5, 1, 19, 0, 0))
    sat10 = calendar.timegm((2024, 5, 4, 10, 0, 0))
    for t, code, what in ((wed10, 0, "Wednesday 10:00"), (wed19, 7, "Wednesday 19:00"),
                          (sat10, 7, "Saturday 10:00")):
        r = c.check(req("hours", metadata=jwt("u"), time=(t, 0)))
        check(r.status.code == code, "business hours: %s -> %d" % (what, code), r)
    r = c.check(req("hours", metadata=jwt("u"), time=(sat10, 0)))
    check(hdrs(r.denied_response.headers).get("x-ext-auth-reason") == "outside business hours",
          "business hours: the table's reason", r)

    r = c.check(req("owner", "/users/alice/orders", metadata=jwt("alice")))
    check(r.status.code == 0 and hdrs(r.ok_response.headers).get("x-user") == "alice",
          "ownership: the owner, x-user from a Lua response", r)
    r = c.check(req("owner", "/users/alice/orders", metadata=jwt("bob")))
    check(r.status.code == 7 and "only alice" in
          hdrs(r.denied_response.headers).get("x-ext-auth-reason", ""),
          "ownership: another user is refused", r)
    r = c.check(req("owner", "/users/alice/orders", metadata=jwt("root", roles=["admin"])))
    check(r.status.code == 0, "ownership: an admin may", r)


def test_pipeline(c):
    r = c.check(req("pipeline", headers={"x-user": "alice"}))
    check(r.status.code == 0 and hdrs(r.ok_response.headers).get("x-plan") == "pro",
          "pipeline: identity from a header, metadata feeds the pattern, response header", r)
    r = c.check(req("pipeline", headers={"x-user": "bob"}))
    check(r.status.code == 7, "pipeline: metadata says free, the pattern refuses", r)
    r = c.check(req("pipeline"))
    check(r.status.code == 16 and hdrs(r.denied_response.headers).get("x-ext-auth-reason")
          == "x-user header required", "pipeline: no identity, 401 with the script's reason", r)


def test_sandbox(c, srv):
    for name in ("error", "loop", "pcall-loop", "membomb", "strbomb", "os-execute",
                 "io-open", "require", "dump-load"):
        r = c.check(req(name), timeout=10)
        reason = hdrs(r.denied_response.headers).get("x-ext-auth-reason", "")
        check(r.status.code != 0 and r.denied_response.status.code != 0 and
              reason == "lua evaluation failed", "%s: denied, generic reason" % name, r)
    check(not os.path.exists("/tmp/pc-lua-it-pwned"), "os.execute ran nothing")
    log = srv.logtext()
    check("error/script:1: internal detail 42" in log,
          "the Lua message and line are in the server log", srv.logtail())
    check("instruction budget exceeded" in log, "the budget is logged")
    check("memory limit exceeded" in log, "the memory cap is logged")


def test_isolation(srv):
    """Many requests over several connections (both I/O threads): each
    sees a fresh environment."""
    def run(i):
        with Client(srv.grpc, timeout=5) as c:
            return [c.check(req("isolation")).status.code for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        codes = [x for lst in ex.map(run, range(4)) for x in lst]
    check(len(codes) == 80 and all(x == 0 for x in codes),
          "isolation: 80 requests on 4 connections, no state leaked", codes)


def main():
    if not os.path.exists(os.path.join(PC_PLUGIN_DIR, "lua_evaluators.so")):
        print("lua_evaluators.so not built: skipped")
        return
    with open(EXAMPLES) as f:
        text = f.read()
    for name, script in SCRIPTS.items():
        text += SANDBOX % {"name": name, "script": indent(script)}
    text += PIPELINE
    with tempfile.TemporaryDirectory() as tmp, checks.guard():
        with Server(tmp, authconfig_text=text, extra=SMALL) as srv:
            if not check(srv.ready(), "server ready", srv.logtail()):
                checks.finish()
            with Client(srv.grpc, timeout=5) as c:
                test_examples(c)
                test_pipeline(c)
                test_sandbox(c, srv)
            test_isolation(srv)
            check(srv.stop() == 0, "clean shutdown", srv.logtail())
    checks.finish()


main()
