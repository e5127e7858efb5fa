#!/usr/bin/python3
"""Lua config hooks end to end: `portcullis serve --config-hook lua:FILE`
with the hook of docs/lua.md (tests/data/plugins/lua_examples/hooks.lua)
and a second hook that fails on purpose, in file mode (start and reload)
and in controller mode against the fake kube-apiserver driven by kubectl.
Each case checks the decision over gRPC or HTTP, or the error as reported:
file:line in the log, the Ready condition in the cluster. Skipped when the
Lua plugin was not built."""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import Client, build_check_request  # noqa: E402
from pcharness import (Checks, PC_PLUGIN_DIR, PC_SOURCE_DIR, Server,  # noqa: E402
                       SMALL, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

HOOKS = os.path.join(PC_SOURCE_DIR, "tests", "data", "plugins", "lua_examples", "hooks.lua")
DOCS = os.path.join(PC_SOURCE_DIR, "docs", "lua.md")

# Runs after the documented hook: fails for two AuthConfigs by name.
FAULTS = """\
function on_load(ac)
  if ac.metadata.name == "hook-error" then
    error("refusing " .. ac.metadata.name)
  end
  if ac.metadata.name == "hook-spin" then
    while true do end
  end
end
"""

AC = """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %(name)s
  namespace: %(ns)s
spec:
  hosts:
  - %(name)s.%(ns)s.test
%(body)s"""

ANON = "  authentication:\n    public:\n      anonymous: {}\n"
ALLOWED = ("  authorization:\n    header:\n      patternMatching:\n        patterns:\n"
           "        - {selector: request.headers.x-allowed, operator: eq, value: 'yes'}\n")
USER = "  authentication:\n    user:\n      plain:\n        selector: request.headers.x-user\n"

checks = Checks()
check = checks.check


def ac(name, ns, body):
    return AC % {"name": name, "ns": ns, "body": body}


def code(c, host, path="/", headers=None):
    return c.check(build_check_request(host, path, headers=headers or {})).status.code


def line_of(text, name, ns):
    """The line of the `apiVersion` of AuthConfig ns/name in text."""
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if l == "  name: %s" % name and lines[i + 1] == "  namespace: %s" % ns:
            return i - 2
    raise ValueError(name)


def docs_show_the_hook():
    with open(HOOKS) as f:
        hook = f.read()
    with open(DOCS) as f:
        docs = f.read()
    check(hook.strip() in docs, "docs/lua.md shows hooks.lua as the suite runs it")


def file_mode(tmp):
    faults = write(os.path.join(tmp, "faults.lua"), FAULTS)
    text = (ac("open", "dev", ALLOWED) + ac("anon", "prod", ANON) +
            ac("bare", "prod", ALLOWED) + ac("hook-error", "dev", ANON) +
            ac("hook-spin", "dev", ANON))
    path = write(os.path.join(tmp, "acs.yaml"), text)
    srv = Server(tmp, authconfigs=path, name="files",
                 extra=SMALL + ["--config-hook", "lua:" + HOOKS, "--config-hook", "lua:" + faults])
    with srv:
        check(srv.ready(), "file mode: ready with the AuthConfigs that passed", srv.logtail())
        log = srv.logtext()
        want = "%s:%d: config hook lua (%s) rejected the AuthConfig: spec.authentication.public: " \
               "anonymous access is not allowed in namespace prod" % (path, line_of(text, "anon", "prod"), HOOKS)
        check(want in log, "anonymous in prod: rejected at the AuthConfig's file:line", log[-3000:])
        want = "%s:%d: config hook lua (%s) rejected the AuthConfig: spec.authentication " \
               "is required in namespace prod" % (path, line_of(text, "bare", "prod"), HOOKS)
        check(want in log, "no authentication in prod (implicitly anonymous): rejected", log[-3000:])
        want = "%s:%d: config hook lua (%s) failed: %s:3: refusing hook-error" % (
            path, line_of(text, "hook-error", "dev"), faults, faults)
        check(want in log, "a script error: rejected, the Lua message and line reported", log[-3000:])
        want = "%s:%d: config hook lua (%s) failed: instruction budget exceeded " \
               "(maxInstructions 1000000)" % (path, line_of(text, "hook-spin", "dev"), faults)
        check(want in log, "a budget overrun: rejected and reported", log[-3000:])
        with Client(srv.grpc, timeout=5) as c:
            check(code(c, "open.dev.test", "/healthz") == 0,
                  "the default when: /healthz passes without the header")
            check(code(c, "open.dev.test", "/data") == 7,
                  "the default when: anything else is still checked (PERMISSION_DENIED)")
            check(code(c, "open.dev.test", "/data", {"x-allowed": "yes"}) == 0,
                  "the default when: and allowed with the header")
            for name, ns in (("anon", "prod"), ("bare", "prod"), ("hook-error", "dev"),
                             ("hook-spin", "dev")):
                check(code(c, "%s.%s.test" % (name, ns), "/healthz") == 5,
                      "%s/%s: not served (NOT_FOUND)" % (ns, name))

            # Reload: prod/anon fixed, a new anonymous one in prod, open
            # unchanged; only the new one is rejected.
            text2 = (ac("open", "dev", ALLOWED) + ac("anon", "prod", USER) +
                     ac("late", "prod", ANON))
            write(path, text2)
            srv.proc.send_signal(1)  # SIGHUP, besides the file watch
            end = time.monotonic() + 10
            while time.monotonic() < end and code(c, "anon.prod.test", "/x") != 16:
                time.sleep(0.05)
            check(code(c, "anon.prod.test", "/x") == 16,
                  "reload: the fixed AuthConfig is served (UNAUTHENTICATED without x-user)")
            check(code(c, "anon.prod.test", "/x", {"x-user": "ann"}) == 0,
                  "reload: and allowed with an identity")
            check(code(c, "anon.prod.test", "/healthz") == 0,
                  "reload: the hook added the default when to it too")
            check(code(c, "late.prod.test", "/healthz") == 5, "reload: the new anonymous one is not served")
            want = "%s:%d: config hook lua (%s) rejected the AuthConfig: spec.authentication.public: " \
                   "anonymous access is not allowed in namespace prod" % (
                       path, line_of(text2, "late", "prod"), HOOKS)
            check(want in srv.logtext(), "reload: the rejection names the new file:line",
                  srv.logtext()[-3000:])
            check(code(c, "open.dev.test", "/healthz") == 0 and code(c, "open.dev.test", "/d") == 7,
                  "reload: the others keep serving as before")
        check(srv.stop() == 0, "file mode: clean shutdown", srv.logtail())


def server_config(tmp):
    """configHooks in the server config file: the object form with limits,
    and bad entries that stop the start (exit 2) with a reason."""
    cfg = write(os.path.join(tmp, "server.yaml"),
                "configHooks:\n- lua: {file: %s, maxInstructions: 200000}\n" % HOOKS)
    text = ac("open", "dev", ALLOWED) + ac("anon", "prod", ANON)
    with Server(tmp, authconfig_text=text, name="cfgfile", extra=SMALL + ["--config", cfg]) as srv:
        check(srv.ready(), "configHooks: ready", srv.logtail())
        with Client(srv.grpc, timeout=5) as c:
            check(code(c, "open.dev.test", "/healthz") == 0 and
                  code(c, "anon.prod.test", "/healthz") == 5,
                  "configHooks: the hook rewrote one AuthConfig and rejected the other")
    # Logs are JSON here: no quotes in what is looked for.
    bad = (("- lua: {file: %s, typo: 1}" % HOOKS, "config hook lua: unknown field"),
           ("- nope: {file: %s}" % HOOKS, "no plugin provides the config hook"),
           ("- {lua: {file: a.lua}, js: {file: b.js}}", "want one hook name"),
           ("- lua:/nonexistent/hooks.lua", "cannot open /nonexistent/hooks.lua"),
           ("- lua: {file: %s, maxInstructions: 5}" % HOOKS, "maxInstructions: must be at least 100"))
    where = cfg + ":2: configHooks[0]: "
    for entry, want in bad:
        write(cfg, "configHooks:\n%s\n" % entry)
        p = subprocess.run([os.environ["PC_BIN"], "serve", "--config", cfg, "--authconfigs",
                            os.path.join(tmp, "cfgfile.yaml"), "--plugin-dir", PC_PLUGIN_DIR,
                            "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
                            "--admin-addr", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=20)
        check(p.returncode == 2 and where + "" in p.stdout + p.stderr and
              want in p.stdout + p.stderr,
              "configHooks %s: exit 2, %s" % (entry.split(",")[0], want),
              "rc=%d %s" % (p.returncode, (p.stdout + p.stderr)[-1500:]))
    p = subprocess.run([os.environ["PC_BIN"], "check", "--plugin-dir", PC_PLUGIN_DIR,
                        "--config-hook", "lua:" + HOOKS, os.path.join(tmp, "cfgfile.yaml")],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 1 and "anonymous access is not allowed in namespace prod" in p.stderr
          and "1 AuthConfig loaded" in p.stdout,
          "portcullis check --config-hook: the rejection, exit 1", p.stdout + p.stderr)


def kubectl(kc, *args, stdin=None):
    p = subprocess.run(["kubectl", "--kubeconfig", kc] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def condition(kc, name, ns):
    rc, out = kubectl(kc, "get", "authconfig", name, "-n", ns, "-o", "json")
    if rc != 0:
        return {}
    for c in json.loads(out).get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c
    return {}


def wait_condition(kc, name, ns, status, timeout=10):
    end = time.monotonic() + timeout
    c = condition(kc, name, ns)
    while c.get("status") != status and time.monotonic() < end:
        time.sleep(0.05)
        c = condition(kc, name, ns)
    return c


def http_status(srv, host, path):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def controller_mode(tmp):
    faults = write(os.path.join(tmp, "faults.lua"), FAULTS)
    api = FakeApiServer(os.path.join(tmp, "api"))
    api.start()
    try:
        kc = os.path.join(api.state_dir, "kubeconfig-admin")
        for ns in ("dev", "prod"):
            kubectl(kc, "create", "namespace", ns)
        srv = Server(tmp, name="controller",
                     extra=SMALL + ["--watch-authconfigs", "--kubeconfig", api.kubeconfig_path,
                                    "--config-hook", "lua:" + HOOKS,
                                    "--config-hook", "lua:" + faults])
        with srv:
            check(srv.ready(), "controller mode: ready", srv.logtail())
            rc, out = kubectl(kc, "apply", "-f", "-", stdin=(
                ac("open", "dev", ALLOWED) + ac("anon", "prod", ANON) +
                ac("hook-error", "dev", ANON) + ac("hook-spin", "dev", ANON)))
            check(rc == 0, "kubectl apply of four AuthConfigs", out)
            c = wait_condition(kc, "open", "dev", "True")
            check(c.get("status") == "True", "dev/open: Ready", json.dumps(c))
            check(http_status(srv, "open.dev.test", "/healthz") == 200 and
                  http_status(srv, "open.dev.test", "/data") == 403,
                  "dev/open: the default when (200 on /healthz, 403 elsewhere)")
            cases = (("anon", "prod", "config hook lua (%s) rejected the AuthConfig: "
                      "spec.authentication.public: anonymous access is not allowed in "
                      "namespace prod" % HOOKS),
                     ("hook-error", "dev", "config hook lua (%s) failed: %s:3: refusing "
                      "hook-error" % (faults, faults)),
                     ("hook-spin", "dev", "config hook lua (%s) failed: instruction budget "
                      "exceeded" % faults))
            for name, ns, want in cases:
                c = wait_condition(kc, name, ns, "False")
                check(c.get("status") == "False" and c.get("reason") == "Invalid" and
                      want in c.get("message", ""),
                      "%s/%s: Ready False, reason Invalid, the hook's message" % (ns, name),
                      json.dumps(c))
                check(http_status(srv, "%s.%s.test" % (name, ns), "/healthz") == 404,
                      "%s/%s: not served" % (ns, name))
            # Fixed in the cluster: the hook accepts it and it serves.
            kubectl(kc, "apply", "-f", "-", stdin=ac("anon", "prod", USER))
            c = wait_condition(kc, "anon", "prod", "True")
            check(c.get("status") == "True", "prod/anon fixed: Ready", json.dumps(c))
            check(http_status(srv, "anon.prod.test", "/x") == 401 and
                  http_status(srv, "anon.prod.test", "/healthz") == 200,
                  "prod/anon fixed: 401 without identity, /healthz open")
        check(srv.rc == 0, "controller mode: clean shutdown", srv.logtail())
    finally:
        api.stop()


def eval_mode(tmp):
    """`portcullis eval --config-hook`: the hooked AuthConfig decides."""
    path = write(os.path.join(tmp, "eval.yaml"), ac("open", "dev", ALLOWED))
    req = json.dumps({"attributes": {"request": {"http": {
        "host": "open.dev.test", "method": "GET", "path": "/healthz", "headers": {}}}}})

    def run(*extra):
        return subprocess.run([os.environ["PC_BIN"], "eval", "--plugin-dir", PC_PLUGIN_DIR,
                               "-a", path, "-r", "-"] + list(extra),
                              input=req, capture_output=True, text=True, timeout=20)
    p = run()
    check(p.returncode == 1, "portcullis eval without the hook: /healthz denied (exit 1)",
          p.stdout + p.stderr)
    p = run("--config-hook", "lua:" + HOOKS)
    check(p.returncode == 0, "portcullis eval --config-hook: the hook's default when lets "
          "/healthz through (exit 0)", p.stdout + p.stderr)
    p = run("--config-hook", "nosuch:" + HOOKS)
    check(p.returncode == 2 and "portcullis eval:" in p.stderr,
          "portcullis eval --config-hook with an unknown hook: exit 2", p.stdout + p.stderr)


def main():
    if not os.path.exists(os.path.join(PC_PLUGIN_DIR, "lua_evaluators.so")):
        print("lua_evaluators.so not built: skipped")
        return
    docs_show_the_hook()
    with tempfile.TemporaryDirectory() as tmp, checks.guard():
        file_mode(tmp)
        server_config(tmp)
        eval_mode(tmp)
        controller_mode(tmp)
    checks.finish()


main()
