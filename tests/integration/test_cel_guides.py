#!/usr/bin/python3
"""CEL in AuthConfigs, end to end: Authorino's user guides that use CEL
(tests/data/guides, as the guides print them) load unchanged and decide as
the guides show, through `portcullis eval` and through `portcullis serve`'s
gRPC port (python3-grpcio); CEL evaluation errors deny (fail closed);
`eval --explain` lists each predicate's value; the serve setting
--cel-max-steps bounds an evaluation."""

import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       plugin_args, write)

GUIDES = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides")
TALKER = "talker-api.127.0.0.1.nip.io"
MATRIX = "matrix-quotes.127.0.0.1.nip.io"
checks = Checks(limit=None)
check = checks.check


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def check_request(host, path="/hello", headers=None, metadata=None, time=None):
    hdrs = {":authority": host, ":method": "GET", ":path": path}
    hdrs.update(headers or {})
    req = {"http": {"id": "1", "method": "GET", "headers": hdrs, "path": path,
                    "host": host, "scheme": "http", "protocol": "HTTP/1.1"}}
    if time:
        req["time"] = time
    attrs = {"request": req}
    if metadata:
        attrs["metadataContext"] = {"filterMetadata": metadata}
    return {"attributes": attrs}


def run_eval(tmp, authconfig, host=TALKER, **req):
    rq = write(os.path.join(tmp, "request.json"), json.dumps(check_request(host, **req)))
    cmd = [PC_BIN, "eval", "--output", "json", "--explain", "-a", authconfig, "-r", rq]
    p = subprocess.run(cmd + plugin_args(), capture_output=True, text=True,
                       env=clean_env(), timeout=60)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out


def guide(name):
    return os.path.join(GUIDES, name + ".yaml")


def test_load(tmp):
    # Unchanged, every CEL guide loads (json-pattern-matching is left to the
    # eval cases below: its jwt issuer is a cluster host name).
    for name in ("http-basic-authentication", "injecting-data", "authenticated-rate-limiting",
                 "deny-with-redirect"):
        p = subprocess.run([PC_BIN, "check", guide(name)] + plugin_args(),
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        check(p.returncode == 0 and "1 AuthConfig loaded" in p.stdout + p.stderr,
              "guide %s loads unchanged" % name, p.stdout + p.stderr)


def test_eval_guides(tmp):
    # http-basic-authentication: /bye only for john.
    for user, pw, path, code in (("john", "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx", "/hello", 200),
                                 ("john", "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx", "/bye", 200),
                                 ("jane", "dNsRrsapy0nNCwmt537fHFpyx0cBsLEp", "/hello", 200),
                                 ("jane", "dNsRrsapy0nNCwmt537fHFpyx0cBsLEp", "/bye", 403),
                                 ("unknown", "invalid", "/hello", 401)):
        p, out = run_eval(tmp, guide("http-basic-authentication"), path=path,
                          headers={"authorization": basic(user, pw)})
        check(out is not None and out["http_status"] == code,
              "http-basic-authentication: %s %s -> %d" % (user, path, code), p.stdout + p.stderr)
        if out and path == "/bye" and user != "unknown":
            preds = out.get("predicates", [])
            check(preds == [{"path": "spec.authorization.acl.when[0].predicate",
                             "predicate": "request.path == '/bye'", "value": "true"}],
                  "eval --explain lists the predicate and its value (%s)" % user, preds)
        if out and code == 401:
            check(out["headers"].get("www-authenticate") == 'Basic realm="http-basic-auth"',
                  "http-basic-authentication: the challenge", out["headers"])

    # injecting-data: a JSON header of three CEL expressions.
    p, out = run_eval(tmp, guide("injecting-data"),
                      headers={"authorization": "APIKEY ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx"},
                      time="2021-11-26T19:24:04Z")
    data = out and out["headers"].get("x-ext-auth-data")
    check(out is not None and out["allowed"] and data and json.loads(data) == {
        "authorized": True, "request-time": 1637954644, "greeting-message": "Hello, Rita"},
          "injecting-data: x-ext-auth-data from CEL", p.stdout + p.stderr)
    check(data and '"request-time":1637954644,' in data,
          "injecting-data: a whole number is written without a fraction", data)

    # authenticated-rate-limiting: dynamic metadata from a CEL expression.
    for key, user in (("ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx", "john"),
                      ("7BNaTmYGItSzXiwQLNHu82+x52p1XHgY", "jane")):
        p, out = run_eval(tmp, guide("authenticated-rate-limiting"),
                          headers={"authorization": "APIKEY " + key})
        check(out is not None and out["allowed"] and
              out["dynamic_metadata"] == {"ext_auth_data": {"username": user}},
              "authenticated-rate-limiting: username %s in dynamic metadata" % user,
              p.stdout + p.stderr)

    # deny-with-redirect: a CEL Location on 302; basic auth lets john in.
    p, out = run_eval(tmp, guide("deny-with-redirect"), host=MATRIX, path="/neo.html")
    check(out is not None and out["http_status"] == 302 and out["headers"].get("location") ==
          "http://matrix-quotes.127.0.0.1.nip.io:8000/login.html?redirect_to=/neo.html",
          "deny-with-redirect: 302 to the login page with redirect_to", p.stdout + p.stderr)
    p, out = run_eval(tmp, guide("deny-with-redirect"), host=MATRIX, path="/neo.html",
                      headers={"authorization": basic("john", "p")})
    check(out is not None and out["http_status"] == 200, "deny-with-redirect: john:p -> 200",
          p.stdout + p.stderr)

    # json-pattern-matching: the guide's authorization unchanged; the JWT
    # (verified by Keycloak in the guide) stands in as plain identity.
    with open(guide("json-pattern-matching")) as f:
        text = f.read()
    jwt = "      jwt:\n        issuerUrl: http://keycloak.keycloak.svc.cluster.local:8080/realms/kuadrant\n"
    check(jwt in text, "json-pattern-matching: the guide's jwt identity is where expected")
    local = write(os.path.join(tmp, "json-pattern-matching.yaml"), text.replace(
        jwt, "      plain:\n        expression: metadata.filter_metadata.jwt.claims\n"))
    for who, verified, ip, code in (("jane", True, "123.45.6.78", 200),
                                    ("jane", True, "192.168.1.10", 200),
                                    ("peter", False, "123.45.6.78", 200),
                                    ("peter", False, "192.168.1.10", 403),
                                    ("peter", False, "192.168.1.10, 10.0.0.1", 403)):
        p, out = run_eval(tmp, local, headers={"x-forwarded-for": ip}, metadata={
            "jwt": {"claims": {"preferred_username": who, "email_verified": verified}}})
        check(out is not None and out["http_status"] == code,
              "json-pattern-matching: %s from %s -> %d" % (who, ip, code), p.stdout + p.stderr)
        if out and code == 403:
            check(out["reason"] == "Unauthorized", "json-pattern-matching: reason Unauthorized",
                  out["reason"])
    # The plain identity's expression erring (no JWT in the metadata) fails the identity.
    p, out = run_eval(tmp, local, headers={"x-forwarded-for": "192.168.1.10"})
    check(out is not None and out["http_status"] == 401,
          "a plain identity whose expression errs is not an identity (401)", p.stdout)


FAILCLOSED = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: %(name)s}
spec:
  hosts: [%(name)s.test]
%(spec)s"""

# Nested macros: 10^5 iterations, past the default step limit.
COSTLY = "[0,1,2,3,4,5,6,7,8,9]"
COSTLY = "%s.all(a, %s.all(b, %s.all(c, %s.all(d, %s.all(e, true)))))" % ((COSTLY,) * 5)


def failclosed_configs():
    return {
        # A top-level predicate on a missing header: an error, which denies.
        "missing": "  when:\n  - predicate: request.headers['x-tenant'] == 'acme'\n",
        # The same written to hold when the header is absent: allows.
        "guarded": "  when:\n  - predicate: \"'x-tenant' in request.headers && "
                   "request.headers['x-tenant'] == 'acme'\"\n"
                   "  authorization:\n    never:\n      patternMatching:\n        patterns:\n"
                   "        - predicate: 'false'\n",
        # Not a bool.
        "notbool": "  authorization:\n    z:\n      patternMatching:\n        patterns:\n"
                   "        - predicate: request.method\n",
        # An evaluator's when that errs denies (Authorino would skip it).
        "evwhen": "  authorization:\n    z:\n      when:\n      - predicate: request.size > 1\n"
                  "      patternMatching:\n        patterns:\n        - predicate: 'false'\n",
        # Past the step limit.
        "costly": "  when:\n  - predicate: \"%s\"\n" % COSTLY,
        # Under the default limit, over --cel-max-steps 1000.
        "steps": "  when:\n  - predicate: \"[0,1,2,3,4,5,6,7,8,9].all(a, "
                 "[0,1,2,3,4,5,6,7,8,9].all(b, [0,1,2,3,4,5,6,7,8,9].all(c, true)))\"\n",
        # any/all with CEL terms and patterns together.
        "mixed": "  authorization:\n    z:\n      patternMatching:\n        patterns:\n"
                 "        - any:\n          - predicate: request.path.startsWith('/admin')\n"
                 "          - {selector: request.method, operator: eq, value: GET}\n",
        # A header value that errs leaves the header out, never "null".
        "badheader": "  response:\n    success:\n      headers:\n        x-a:\n          plain:\n"
                     "            expression: request.headers['nope']\n"
                     "        x-b:\n          plain:\n            expression: request.path + '!'\n",
    }


def write_failclosed(tmp):
    d = os.path.join(tmp, "failclosed")
    os.makedirs(d, exist_ok=True)
    for name, spec in failclosed_configs().items():
        write(os.path.join(d, name + ".yaml"), FAILCLOSED % {"name": name, "spec": spec})
    return d


def test_eval_failclosed(tmp):
    d = write_failclosed(tmp)

    def ev(name, **req):
        return run_eval(tmp, os.path.join(d, name + ".yaml"), host=name + ".test", **req)

    p, out = ev("missing")
    check(out is not None and out["http_status"] == 403 and
          "spec.when[0].predicate: CEL: no such key: x-tenant at column 16" in out["reason"],
          "fail closed: a top-level predicate that errs denies with the column", p.stdout)
    p, out = ev("missing", headers={"x-tenant": "acme"})
    check(out is not None and out["allowed"], "the same predicate holding allows", p.stdout)
    p, out = ev("guarded")
    check(out is not None and out["allowed"] and
          out["predicates"][0]["value"] == "false",
          "`in` guards an absent header: when is false, the AuthConfig does not apply",
          p.stdout)
    p, out = ev("guarded", headers={"x-tenant": "acme"})
    check(out is not None and out["http_status"] == 403, "guarded: applies, then denies",
          p.stdout)
    p, out = ev("notbool")
    check(out is not None and out["http_status"] == 403 and "not bool" in out["reason"]
          if out else False, "fail closed: a predicate that is not a bool denies",
          p.stdout)
    p, out = ev("evwhen")
    check(out is not None and out["http_status"] == 403 and "size" in out["reason"],
          "fail closed: an evaluator's when that errs denies", p.stdout)
    p, out = ev("costly")
    check(out is not None and out["http_status"] == 403 and "cost" in out["reason"].lower(),
          "fail closed: a predicate past the step limit denies", p.stdout)
    p, out = ev("steps")
    check(out is not None and out["allowed"], "1000-iteration predicate within the default",
          p.stdout)
    for path, method, allowed in (("/admin/x", "POST", True), ("/x", "GET", True),
                                  ("/x", "POST", False)):
        p, out = run_eval(tmp, os.path.join(d, "mixed.yaml"), host="mixed.test", path=path)
        # run_eval sends GET: POST is covered through gRPC below.
        if method == "GET":
            check(out is not None and out["allowed"] == allowed,
                  "any of CEL and pattern: %s %s" % (method, path), p.stdout)
    p, out = ev("badheader", path="/p")
    check(out is not None and out["allowed"] and "x-a" not in out["headers"] and
          out["headers"].get("x-b") == "/p!",
          "an expression that errs leaves its header out; the other is set", p.stdout)
    ex = [e for e in out["explain"] if e["name"] == "x-a"] if out else []
    check(ex and ex[0]["outcome"] == "error" and "no such key: nope" in ex[0].get("reason", ""),
          "eval --explain shows the expression's error", ex)


def headers_of(opts):
    return {o.header.key.lower(): o.header.value for o in opts}


def grpc_client():
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    import extauthz_client
    return extauthz_client


def test_grpc(tmp):
    ec = grpc_client()
    d = write_failclosed(tmp)
    for name in ("http-basic-authentication", "deny-with-redirect"):
        with open(guide(name)) as f:
            write(os.path.join(d, name + ".yaml"), f.read())
    srv = Server(tmp, d, name="grpc", extra=["--cel-max-steps", "1000"])
    if not srv.ready():
        srv.stop()
        check(False, "grpc: portcullis serve starts", srv.logtail())
        return
    try:
        with ec.Client(srv.grpc, timeout=10) as c:
            def code(resp):
                return resp.status.code, (resp.denied_response.status.code
                                          if resp.HasField("denied_response") else 200)
            john = basic("john", "ndyBzreUzF4zqDQsqSPMHkRhriEOtcRx")
            jane = basic("jane", "dNsRrsapy0nNCwmt537fHFpyx0cBsLEp")
            for who, path, want in ((john, "/bye", (0, 200)), (jane, "/bye", (7, 403)),
                                    (jane, "/hello", (0, 200))):
                r = c.check(ec.build_check_request(TALKER, path, headers={"authorization": who}))
                check(code(r) == want, "grpc: http-basic-authentication %s -> %s" % (path, want),
                      r)
            r = c.check(ec.build_check_request(MATRIX, "/neo.html"))
            check(r.denied_response.status.code == 302 and
                  headers_of(r.denied_response.headers).get("location") ==
                  "http://matrix-quotes.127.0.0.1.nip.io:8000/login.html?redirect_to=/neo.html",
                  "grpc: deny-with-redirect Location", r)
            r = c.check(ec.build_check_request("missing.test", "/"))
            check(code(r) == (7, 403), "grpc: a predicate that errs denies", r)
            r = c.check(ec.build_check_request("steps.test", "/"))
            check(code(r) == (7, 403) and "cost" in str(r).lower(),
                  "grpc: --cel-max-steps 1000 stops a 1000-iteration predicate", r)
            for path, method, want in (("/admin/x", "POST", (0, 200)), ("/x", "GET", (0, 200)),
                                       ("/x", "POST", (7, 403))):
                r = c.check(ec.build_check_request("mixed.test", path, method=method))
                check(code(r) == want, "grpc: any of CEL and pattern: %s %s" % (method, path), r)
    finally:
        srv.stop()
    # A bad setting is refused at start.
    p = subprocess.run([PC_BIN, "serve", "--cel-max-steps", "10", "--authconfigs", d,
                        "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
                        "--admin-addr", "127.0.0.1:0"] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=30)
    check(p.returncode == 2 and "--cel-max-steps must be" in p.stderr,
          "serve refuses --cel-max-steps 10", p.stderr)
    base = [PC_BIN, "serve", "--authconfigs", d, "--grpc-addr", "127.0.0.1:0",
            "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"] + plugin_args()
    p = subprocess.run(base, capture_output=True, text=True, timeout=30,
                       env=clean_env({"PORTCULLIS_CEL_MAX_BYTES": "1k"}))
    check(p.returncode == 2 and "--cel-max-bytes must be" in p.stderr,
          "serve refuses PORTCULLIS_CEL_MAX_BYTES=1k", p.stderr)
    cfg = write(os.path.join(tmp, "server.yaml"), "cel: {maxSteps: 50}\n")
    p = subprocess.run(base + ["--config", cfg], capture_output=True, text=True, timeout=30,
                       env=clean_env())
    check(p.returncode == 2 and "cel.maxSteps" in p.stdout + p.stderr,
          "serve refuses cel.maxSteps: 50 in its config file", p.stdout + p.stderr)
    # The file's setting applies (the environment and flags are unset).
    write(cfg, "cel: {maxSteps: 1000, maxBytes: 1048576}\n")
    srv = Server(tmp, d, name="grpc-file", extra=["--config", cfg])
    try:
        ok = srv.ready()
        check(ok, "serve starts with cel settings from its file", srv.logtail())
        if ok:
            with ec.Client(srv.grpc, timeout=10) as c:
                r = c.check(ec.build_check_request("steps.test", "/"))
                check(r.status.code == 7 and "cost" in str(r).lower(),
                      "grpc: cel.maxSteps from the config file bounds a predicate", r)
    finally:
        srv.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with checks.guard():
            test_load(tmp)
            test_eval_guides(tmp)
            test_eval_failclosed(tmp)
            test_grpc(tmp)
    checks.finish()


if __name__ == "__main__":
    main()
