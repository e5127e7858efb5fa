#!/usr/bin/python3
"""`uma` metadata end to end: the real binary (`portcullis eval`,
`portcullis check`, and `portcullis serve` over its gRPC port with
python3-grpcio) against the fixture UMA server (tests/fixtures/uma_server),
mounted under the fixture OIDC provider's issuer for Authorino's
resource-level-authorization-uma guide (its OPA policy replaced by the same
rule as a CEL predicate in tests/data/guides, as the file says) and
standalone for the rest: the decisions the guide prints, the resource list
as output, the request path sent encoded, one PAT shared by all requests
until it expires, failures of every endpoint (5xx, garbage, not the JSON
expected, slow, refused, an issuer that differs, bad client credentials)
and config errors."""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       free_port, grpc_client, plugin_args, started, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "oidc_provider"))
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "uma_server"))
from oidc_provider import OidcProvider  # noqa: E402
from uma_server import CLIENT_SECRET, UmaServer  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides",
                     "resource-level-authorization-uma.yaml")
KEYCLOAK = "http://keycloak.keycloak.svc.cluster.local:8080/realms/kuadrant"
JOHN, JANE, PETER = ("9f5a0c46-11b1-4d5e-8a0e-john00000001",
                     "0d2c6e1a-4b7f-4f0a-9b1e-jane00000002",
                     "5e8d1f2b-7c3a-4e6b-8d2f-peter0000003")

checks = Checks(limit=None)
check = checks.check

AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: %(name)s, namespace: default}
spec:
  hosts: [%(host)s]
  metadata:
    resource-data:
      uma:
        endpoint: %(endpoint)s
        credentialsRef: {name: uma-creds}
        timeout: 500
%(extra)s
  response:
    success:
      headers:
        x-resources:
          plain: {selector: auth.metadata.resource-data}
---
apiVersion: v1
kind: Secret
metadata: {name: uma-creds, namespace: default}
stringData: {clientID: talker-api, clientSecret: "%(secret)s"}
"""


def authconfig(endpoint, extra="", secret=CLIENT_SECRET, name="uma", host=HOST):
    return AC % {"endpoint": endpoint, "extra": extra, "secret": secret, "name": name,
                 "host": host}


def run_eval(tmp, ac_text, path="/greetings/1", method="GET"):
    ac = write(os.path.join(tmp, "eval.yaml"), ac_text)
    req = {"attributes": {"request": {"http": {
        "id": "1", "method": method, "path": path, "host": HOST, "scheme": "http",
        "protocol": "HTTP/1.1", "headers": {":authority": HOST, ":method": method,
                                            ":path": path}}}}}
    rq = write(os.path.join(tmp, "request.json"), json.dumps(req))
    t0 = time.monotonic()
    p = subprocess.run([PC_BIN, "eval", "--output", "json", "-a", ac, "-r", rq] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, took


def resources_of(p, out):
    if out is None or p.returncode != 0 or not out["allowed"]:
        return None
    return json.loads(out["headers"].get("x-resources", "null"))


def denied(p, out, reason_part):
    return (out is not None and p.returncode == 1 and not out["allowed"] and
            out["http_status"] == 403 and reason_part in out["reason"])


def test_eval(uma, tmp):
    ep = uma.issuer
    r1 = uma.resources[uma.match("/greetings/1")[0]]
    p, out, _ = run_eval(tmp, authconfig(ep))
    check(resources_of(p, out) == [r1], "eval: auth.metadata.resource-data is the list of the "
          "resources registered for the path", (p.stdout, p.stderr))
    check(uma.last["token"] == {"grant_type": "client_credentials", "basic": True},
          "eval: the PAT is asked for by client credentials in HTTP Basic", uma.last)
    p, out, _ = run_eval(tmp, authconfig(ep), path="/greetings")
    check(resources_of(p, out) == [], "eval: a path without resources -> []", p.stdout)
    both = uma.add_resource("both", ["/greetings/shared"], JOHN, rid="zz-both")
    first = uma.add_resource("first", ["/greetings/shared"], JANE, rid="aa-first")
    uma.set_fault("query", body=[both, first], times=1)
    p, out, _ = run_eval(tmp, authconfig(ep), path="/greetings/shared")
    check([r["_id"] for r in resources_of(p, out) or []] == [both, first],
          "eval: several matches, in the order of the ids", p.stdout)
    p, out, _ = run_eval(tmp, authconfig(ep), path="/greetings/1&uri=/greetings/2#x")
    check(uma.last["query"]["uri"] == ["/greetings/1&uri=/greetings/2#x"] and
          resources_of(p, out) == [],
          "eval: the request path is sent URL-encoded (its & adds no parameter)",
          (uma.last["query"], p.stdout))

    cases = [
        ("discovery", {"status": 500}, "uma: the discovery endpoint answered HTTP 500"),
        ("discovery", {"raw": "<html>"}, "uma: the discovery endpoint answered something "
                                         "that is not JSON"),
        ("discovery", {"body": dict(uma.discovery(), issuer="http://other.example")},
         "uma: the issuer returned by the provider is not the configured one"),
        ("discovery", {"body": dict(uma.discovery(), resource_registration_endpoint=None)},
         "uma: the discovery document has no usable resource_registration_endpoint"),
        ("token", {"status": 500}, "uma: the token endpoint answered HTTP 500"),
        ("token", {"body": {"token_type": "Bearer"}},
         "uma: the token endpoint gave no usable access_token"),
        ("query", {"status": 503}, "uma: the resource registration endpoint answered HTTP 503"),
        ("query", {"raw": "not json"}, "uma: the resource registration endpoint answered "
                                       "something that is not JSON"),
        ("query", {"body": {"ids": []}}, "uma: the resource query answered JSON that is not "
                                         "a list"),
        ("query", {"body": [1]}, "uma: the resource query answered an id that is not a string"),
        ("query", {"body": ["r%d" % i for i in range(101)]},
         "uma: more than 100 resources match the path"),
        ("query", {"body": ["no-such-id"]}, "uma: the resource endpoint answered HTTP 404"),
        ("resource", {"status": 502}, "uma: the resource endpoint answered HTTP 502"),
        ("resource", {"raw": "{{"}, "uma: the resource endpoint answered something that is "
                                    "not JSON"),
        ("query", {"delay_ms": 3000}, "uma: the resource registration endpoint:"),
    ]
    for what, fault, reason in cases:
        uma.set_fault(what, **fault)
        p, out, took = run_eval(tmp, authconfig(ep))
        uma.clear_faults()
        check(denied(p, out, reason) and took < 2.5,
              "eval: %s %s -> 403 %r (%.2fs)" % (what, sorted(fault)[0], reason, took),
              (p.stdout, p.stderr))
    p, out, _ = run_eval(tmp, authconfig(ep, secret="wrong"))
    check(denied(p, out, "uma: the token endpoint answered HTTP 401") and
          "wrong" not in p.stdout + p.stderr,
          "eval: client credentials the server refuses -> 403, the secret not shown",
          (p.stdout, p.stderr))
    port = free_port()
    p, out, took = run_eval(tmp, authconfig("http://127.0.0.1:%d/realms/kuadrant" % port))
    check(denied(p, out, "uma: the discovery endpoint:") and took < 2.5,
          "eval: a UMA server refusing connections -> 403", (p.stdout, took))


def run_check(tmp, text):
    path = write(os.path.join(tmp, "check.yaml"), text)
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + [path], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_config_errors(uma, tmp):
    base = "spec.metadata.resource-data.uma"
    ok = authconfig(uma.issuer)
    for what, text, want in (
            ("a missing Secret", ok.replace("name: uma-creds}", "name: nope}", 1),
             base + ": credentialsRef: Secret default/nope not found"),
            ("a Secret without clientSecret",
             ok.replace(', clientSecret: "%s"' % CLIENT_SECRET, ""),
             base + ": credentialsRef: Secret default/uma-creds has no key clientSecret"),
            ("a misspelt field", ok.replace("timeout: 500", "timout: 500"),
             base + ".timout: unknown field"),
            ("a misspelt credentialsRef field", ok.replace("{name: uma-creds}", "{nam: uma-creds}"),
             base + ".credentialsRef"),
            ("no endpoint", ok.replace("endpoint: %s\n        " % uma.issuer, "", 1),
             base + ': missing required field "endpoint"'),
            ("an endpoint that is not http(s)", ok.replace(uma.issuer, "ftp://x", 1),
             base + ".endpoint: must match the pattern"),
            ("a negative timeout", ok.replace("timeout: 500", "timeout: -3"),
             base + ".timeout: must be at least 0")):
        rc, out = run_check(tmp, text)
        check(rc == 1 and want in out and "check.yaml:" in out,
              "check: %s is an error naming %s" % (what, want), (rc, out))
    rc, out = run_check(tmp, ok)
    check(rc == 0, "check: a correct uma config loads", (rc, out))


def test_guide(tmp):
    """The guide's table over gRPC, with one Keycloak-like realm serving
    the tokens and the UMA registry."""
    ec = grpc_client()
    text = open(GUIDE).read()
    check(text.count(KEYCLOAK) == 2 and "opa:" not in text and "predicate:" in text and
          "replaced by the same rule as a CEL predicate" in text,
          "guide: the guide's resources, the OPA policy replaced by a CEL predicate")
    op = OidcProvider().start()
    uma = op.mount(UmaServer())
    uma.add_resource("greeting-1", ["/greetings/1"], JOHN, "john")
    uma.add_resource("greeting-2", ["/greetings/2"], JANE, "jane")
    srv = started(Server(tmp, authconfig_text=text.replace(KEYCLOAK, op.issuer), name="guide"),
                  check, "guide")
    if not srv:
        op.stop()
        return
    tokens = {"john": op.mint(sub=JOHN), "jane": op.mint(sub=JANE), "peter": op.mint(sub=PETER)}
    table = []
    for who, grants in (("john", (200, 200, 200, 403)), ("jane", (200, 403, 403, 200)),
                        ("peter", (200, 403, 403, 403))):
        for (method, path), want in zip((("GET", "/greetings"), ("GET", "/greetings/1"),
                                         ("DELETE", "/greetings/1"), ("DELETE", "/greetings/2")),
                                        grants):
            table.append((who, method, path, want))
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            for who, method, path, want in table:
                r = c.check(ec.build_check_request(HOST, path, method=method, headers={
                    "authorization": "Bearer " + tokens[who]}))
                got = 200 if r.status.code == 0 else r.denied_response.status.code
                check(got == want, "guide: %s %s %s -> %d" % (who, method, path, want),
                      (got, r.status.message))
            cnt = uma.get_counters()
            check(cnt["discovery"] == 1 and cnt["token"] == 1 and cnt["query"] == len(table),
                  "guide: one discovery and one PAT for %d requests" % len(table), cnt)
            r = c.check(ec.build_check_request(HOST, "/greetings"))
            check(r.status.code == 16, "guide: no token -> 401", r.status)
    finally:
        srv.stop()
        op.stop()
    log = srv.logtext()
    check(CLIENT_SECRET not in log and not any(t in log for t in tokens.values()),
          "guide: no client secret or token in the server log")


def test_serve(tmp):
    """gRPC against a standalone server: a PAT made once for concurrent
    first requests, renewed after expires_in, the evaluator cache, and a
    5xx and a timeout over the real port."""
    ec = grpc_client()
    uma = UmaServer(pat_ttl=11).start()    # renewed 10 s early: lives 1 s
    uma.add_resource("greeting-1", ["/greetings/1"], JOHN)
    d = os.path.join(tmp, "serve-acs")
    os.makedirs(d, exist_ok=True)
    # A loaded test machine may take a while to answer 40 requests at once.
    write(os.path.join(d, "plain.yaml"), authconfig(uma.issuer).replace("timeout: 500",
                                                                        "timeout: 1500"))
    write(os.path.join(d, "cached.yaml"), authconfig(
        uma.issuer, "      cache:\n        key: {selector: request.path}\n        ttl: 60",
        name="cached", host="cached." + HOST).replace("name: uma-creds, namespace",
                                                      "name: uma-creds-2, namespace").replace(
        "{name: uma-creds}", "{name: uma-creds-2}"))
    srv = started(Server(tmp, d, name="serve"), check, "serve")
    if not srv:
        uma.stop()
        return
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def req(path="/greetings/1", host=HOST):
                return ec.build_check_request(host, path)
            uma.set_fault("token", delay_ms=300, times=1)
            futs = [c._check_v3.future(req(), timeout=30) for _ in range(40)]
            res = [f.result() for f in futs]
            codes = [x.status.code for x in res]
            cnt = uma.get_counters()
            check(codes.count(0) == 40 and cnt["discovery"] == 1 and cnt["token"] == 1 and
                  cnt["query"] == 40,
                  "grpc: 40 concurrent first requests -> one discovery, one PAT",
                  (codes, cnt, sorted(set(x.status.message for x in res))))
            time.sleep(1.2)
            r = c.check(req())
            check(r.status.code == 0 and uma.get_counters()["token"] == 2,
                  "grpc: the PAT is renewed once it expires", uma.get_counters())
            for what, fault in (("query 500", ("query", {"status": 500})),
                                ("resource 503", ("resource", {"status": 503})),
                                ("query slow", ("query", {"delay_ms": 4000}))):
                uma.set_fault(fault[0], **fault[1])
                t0 = time.monotonic()
                r = c.check(req())
                took = time.monotonic() - t0
                uma.clear_faults()
                check(r.status.code == 7 and r.denied_response.status.code == 403 and
                      took < 3.5, "grpc: %s -> 403 (%.2fs)" % (what, took), r.status)
            r = c.check(req())
            check(r.status.code == 0, "grpc: the next request succeeds (failures not kept)",
                  r.status)
            uma.reset_counters()
            rs = [c.check(req(host="cached." + HOST)) for _ in range(3)]
            check(all(x.status.code == 0 for x in rs) and uma.get_counters()["query"] == 1,
                  "grpc: with `cache` one resource query for 3 requests of one path",
                  uma.get_counters())
    finally:
        srv.stop()
        uma.stop()
    check(CLIENT_SECRET not in srv.logtext(), "serve: no client secret in the server log")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-uma-")
    uma = UmaServer().start()
    uma.add_resource("greeting-1", ["/greetings/1"], JOHN, "john")
    try:
        with checks.guard("eval"):
            test_eval(uma, tmp)
        with checks.guard("config errors"):
            test_config_errors(uma, tmp)
        with checks.guard("guide"):
            test_guide(tmp)
        with checks.guard("serve"):
            test_serve(tmp)
    finally:
        uma.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
