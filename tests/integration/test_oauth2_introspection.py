#!/usr/bin/python3
"""oauth2Introspection identity end to end: the real binary (`portcullis
eval`, `portcullis check`, `portcullis serve` over gRPC and HTTP) against
the fixture provider's RFC 7662 endpoint (tests/fixtures/oidc_provider):
active, inactive, revoked, server errors, a slow server, bad client
credentials, the cache and single flight, and the AuthConfig of
Authorino's token-introspection guide."""

import concurrent.futures
import http.client
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
                       plugin_args, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "oidc_provider"))
from oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
REALM = 'Bearer realm="keycloak"'
A12N_SECRET = "V6g-2Eq2ALB1_WHAswzoeZofJ_e86RI4tdjClDDDb4g"

AUTHCONFIG = """\
apiVersion: v1
kind: Secret
metadata: {name: introspection-credentials, namespace: default}
stringData: {clientID: %(id)s, clientSecret: %(secret)s}
---
apiVersion: v1
kind: Secret
metadata: {name: introspection-credentials-data, namespace: default}
data: {clientID: %(id64)s, clientSecret: %(secret64)s}
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: talker-api-protection, namespace: default}
spec:
  hosts: [%(host)s]
  authentication:
    keycloak:
      oauth2Introspection:
%(method)s
  response:
    success:
      headers:
        x-sub:
          plain: {selector: auth.identity.sub}
        x-scope:
          plain: {selector: auth.identity.scope}
"""

checks = Checks(limit=None)
check = checks.check
TOKENS = []


def b64(s):
    import base64
    return base64.b64encode(s.encode()).decode()


def authconfig(endpoint, extra="", ref="introspection-credentials", secret=CLIENT_SECRET):
    lines = ["endpoint: " + endpoint] if endpoint else []
    if ref:
        lines.append("credentialsRef: {name: %s}" % ref)
    lines += [x for x in extra.split("\n") if x]
    return AUTHCONFIG % {"id": CLIENT_ID, "secret": secret, "id64": b64(CLIENT_ID),
                         "secret64": b64(secret), "host": HOST,
                         "method": "\n".join("        " + x for x in lines)}


def run_eval(tmp, ac_text, headers):
    ac = write(os.path.join(tmp, "eval.yaml"), ac_text)
    hdrs = {":authority": HOST, ":method": "GET", ":path": "/hello"}
    hdrs.update(headers)
    req = write(os.path.join(tmp, "request.json"), json.dumps({"attributes": {"request": {
        "http": {"id": "1", "method": "GET", "headers": hdrs, "path": "/hello", "host": HOST,
                 "scheme": "http", "protocol": "HTTP/1.1"}}}}))
    t0 = time.monotonic()
    p = subprocess.run([PC_BIN, "eval", "--output", "json", "-a", ac, "-r", req] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, took


def bearer(tok):
    TOKENS.append(tok)
    return {"authorization": "Bearer " + tok}


def denied(p, out, reason):
    return (out is not None and p.returncode == 1 and not out["allowed"] and
            out["http_status"] == 401 and out["headers"].get("www-authenticate") == REALM and
            out["reason"] == reason)


def no_token_in(text, what):
    check(not any(t and t in text for t in TOKENS + [CLIENT_SECRET, A12N_SECRET]),
          what + ": no token or client secret in the output")


def test_eval(op, tmp):
    ac = authconfig(op.introspection_url)
    tok = op.mint(sub="john")
    p, out, _ = run_eval(tmp, ac, bearer(tok))
    check(out is not None and out["allowed"] and out["headers"].get("x-sub") == "john" and
          out["headers"].get("x-scope") == "openid profile",
          "eval: an active token is allowed; the identity is the introspection response",
          (p.stdout, p.stderr))
    lt = op.last_introspection or {}
    check(lt.get("token_type_hint") == "access_token" and
          lt.get("content_type") == "application/x-www-form-urlencoded",
          "eval: the request is a form with token_type_hint=access_token by default", lt)
    p, out, _ = run_eval(tmp, authconfig(op.introspection_url, "tokenTypeHint: refresh token"),
                         bearer(tok))
    check(out is not None and out["allowed"] and
          (op.last_introspection or {}).get("token_type_hint") == "refresh token",
          "eval: tokenTypeHint is sent (form-escaped)", op.last_introspection)
    p, out, _ = run_eval(tmp, authconfig(op.introspection_url,
                                         ref="introspection-credentials-data"), bearer(tok))
    check(out is not None and out["allowed"], "eval: client credentials from Secret data (base64)",
          (p.stdout, p.stderr))

    revoked = op.mint(sub="mary")
    op.revoke(revoked)
    for what, t in (("revoked token", revoked), ("unknown token", "opaque-" + "x" * 30),
                    ("expired token", op.mint(exp_in=-5)),
                    ("token with form specials", "a&token=b%20c=d+e")):
        p, out, _ = run_eval(tmp, ac, bearer(t))
        check(denied(p, out, "token is not active"),
              "eval: %s -> 401 token is not active" % what, (p.stdout, p.stderr))

    p, out, _ = run_eval(tmp, ac, {})
    check(out is not None and not out["allowed"] and out["reason"] == "credential not found",
          "eval: no token -> 401 credential not found", p.stdout)

    for what, fault, reason in (
            ("500", {"status": 500},
             "token introspection request failed: 500 Internal Server Error"),
            ("503", {"status": 503},
             "token introspection request failed: 503 Service Unavailable"),
            ("no active field", {"body": {"sub": "john"}},
             'invalid token introspection response: missing or non-boolean "active" field'),
            ("active as a string", {"body": {"active": "true"}},
             'invalid token introspection response: missing or non-boolean "active" field')):
        op.set_fault("introspect", **fault)
        p, out, _ = run_eval(tmp, ac, bearer(tok))
        op.clear_faults()
        check(denied(p, out, reason), "eval: server answers %s -> 401 %r" % (what, reason),
              (p.stdout, p.stderr))

    p, out, _ = run_eval(tmp, authconfig(op.introspection_url, secret="wrong"), bearer(tok))
    check(denied(p, out, "token introspection request failed: 401 Unauthorized"),
          "eval: wrong client secret -> 401 with the server's status", (p.stdout, p.stderr))
    no_token_in(p.stdout + p.stderr, "eval, wrong client secret")

    op.set_fault("introspect", delay_ms=3000)
    p, out, took = run_eval(tmp, authconfig(op.introspection_url, "timeout: 400"), bearer(tok))
    op.clear_faults()
    check(out is not None and not out["allowed"] and out["http_status"] == 401 and
          out["reason"].startswith("token introspection request failed: ") and took < 2.5,
          "eval: slow server (3 s, timeout 400 ms) -> 401 within the timeout (%.2fs)" % took,
          (p.stdout, p.stderr))

    op.down()
    p, out, _ = run_eval(tmp, ac, bearer(tok))
    op.up()
    check(out is not None and not out["allowed"] and
          out["reason"].startswith("token introspection request failed: "),
          "eval: server down -> 401 with the transport error", p.stdout)


def run_check(tmp, text):
    path = write(os.path.join(tmp, "check.yaml"), text)
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + [path], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_config_errors(op, tmp):
    base = "spec.authentication.keycloak.oauth2Introspection"
    for what, text, want in (
            ("missing Secret", authconfig(op.introspection_url, ref="nosuch"),
             base + ": credentialsRef: Secret default/nosuch not found"),
            ("no credentialsRef", authconfig(op.introspection_url, ref=None),
             base + ": missing required field \"credentialsRef\""),
            ("no endpoint", authconfig(None), base + ": missing required field \"endpoint\""),
            ("misspelt field", authconfig(op.introspection_url, "tokenTypeHnt: x"),
             base + '.tokenTypeHnt: unknown field'),
            ("endpoint not http(s)", authconfig("ftp://x/introspect"),
             base + ".endpoint: must match the pattern"),
            ("negative timeout", authconfig(op.introspection_url, "timeout: -1"),
             base + ".timeout: must be at least 0"),
            ("Secret without clientSecret",
             authconfig(op.introspection_url).replace(", clientSecret: " + CLIENT_SECRET, ""),
             "needs clientID and clientSecret")):
        rc, out = run_check(tmp, text)
        check(rc == 1 and want in out and "check.yaml:" in out,
              "check: %s is an error naming %s" % (what, want), (rc, out))
    rc, out = run_check(tmp, authconfig(op.introspection_url))
    check(rc == 0, "check: a correct config loads", (rc, out))


def http_check(srv, token=None, host=HOST):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=30)
    h = {"Host": host}
    if token is not None:
        TOKENS.append(token)
        h["Authorization"] = "Bearer " + token
    c.request("GET", "/hello", headers=h)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def test_serve(op, tmp):
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    from extauthz_client import Client, build_check_request
    srv = Server(tmp, authconfig_text=authconfig(op.introspection_url, "ttl: 30\ndenyTTL: 2"),
                 name="serve")
    if not srv.ready():
        srv.stop()
        check(False, "serve: portcullis serve starts", srv.logtext()[-2000:])
        return
    try:
        with Client(srv.grpc, timeout=30) as c:
            def grpc(tok):
                TOKENS.append(tok)
                return c.check(build_check_request(HOST, "/hello",
                                                   headers={"authorization": "Bearer " + tok}))
            tok = op.mint(sub="john")
            op.reset_counters()
            r1, r2 = grpc(tok), grpc(tok)
            h = {o.header.key.lower(): o.header.value for o in r1.ok_response.headers}
            check(r1.status.code == 0 and r2.status.code == 0 and h.get("x-sub") == "john" and
                  op.get_counters()["introspect"] == 1,
                  "grpc: active token allowed; the second check is a cache hit",
                  (r1, op.get_counters()))
            st, hh = http_check(srv, tok)
            check(st == 200 and hh.get("x-sub") == "john" and
                  op.get_counters()["introspect"] == 1, "http: cached token allowed", (st, hh))

            bad = op.mint(sub="mary")
            op.revoke(bad)
            op.reset_counters()
            r1, r2 = grpc(bad), grpc(bad)
            h = {o.header.key.lower(): o.header.value for o in r2.denied_response.headers}
            check(r1.status.code == 16 and r2.status.code == 16 and
                  r2.denied_response.status.code == 401 and
                  h.get("x-ext-auth-reason") == "token is not active" and
                  h.get("www-authenticate") == REALM and op.get_counters()["introspect"] == 1,
                  "grpc: an inactive token is denied, and the denial is cached", (r2, op.get_counters()))
            time.sleep(2.2)
            grpc(bad)
            check(op.get_counters()["introspect"] == 2, "grpc: a cached denial ends after denyTTL",
                  op.get_counters())

            # A success never outlives the response's exp.
            short = op.mint(sub="short", exp_in=2)
            op.reset_counters()
            a1 = grpc(short).status.code
            time.sleep(2.3)
            a2 = grpc(short).status.code
            check(a1 == 0 and a2 == 16 and op.get_counters()["introspect"] == 2,
                  "grpc: a cached success ends at the response's exp", (a1, a2, op.get_counters()))

            # Errors are not cached.
            third = op.mint(sub="third")
            op.reset_counters()
            op.set_fault("introspect", status=500, times=1)
            e1, e2 = grpc(third).status.code, grpc(third).status.code
            check(e1 == 16 and e2 == 0 and op.get_counters()["introspect"] == 2,
                  "grpc: a server error is not cached", (e1, e2, op.get_counters()))

        # Single flight: 200 concurrent checks of one new token, one introspection.
        fresh = op.mint(sub="fresh")
        op.reset_counters()
        op.set_fault("introspect", delay_ms=600)
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as ex:
            res = list(ex.map(lambda _: http_check(srv, fresh)[0], range(200)))
        op.clear_faults()
        check(res.count(200) == 200 and op.get_counters()["introspect"] == 1,
              "http: 200 concurrent checks of a new token -> 1 introspection",
              ({s: res.count(s) for s in set(res)}, op.get_counters()))
    finally:
        srv.stop()
    no_token_in(srv.logtext(), "serve log")


def test_guide(tmp):
    """Authorino's guide: two introspection servers, one AuthConfig."""
    kc = OidcProvider(algs=["RS256"]).start()
    a12n = OidcProvider(algs=["RS256"]).start()
    a12n.clients = {CLIENT_ID: A12N_SECRET}
    try:
        with open(os.path.join(PC_SOURCE_DIR, "tests", "data", "oauth2_introspection",
                               "token-introspection-authconfig.yaml")) as f:
            text = (f.read().replace("@HOST@", HOST).replace("@KEYCLOAK@", kc.introspection_url)
                    .replace("@A12N@", a12n.introspection_url))
        srv = Server(tmp, authconfig_text=text, name="guide")
        if not srv.ready():
            srv.stop()
            check(False, "guide: portcullis serve starts", srv.logtext()[-2000:])
            return
        try:
            for what, tok, want in (
                    ("Keycloak token (no privileges claim)", kc.mint(sub="john"), 200),
                    ("a12n token with talker-api read", a12n.mint(
                        sub="jane", privileges={"talker-api": ["read", "write"]}), 200),
                    ("a12n token without read", a12n.mint(
                        sub="bob", privileges={"talker-api": ["write"]}), 403),
                    ("token neither server knows", "opaque-token-123", 401)):
                st, h = http_check(srv, tok)
                check(st == want, "guide: %s -> %d" % (what, want), (st, h))
            check((kc.last_introspection or {}).get("token_type_hint") == "requesting_party_token",
                  "guide: the Keycloak evaluator sends tokenTypeHint", kc.last_introspection)
        finally:
            srv.stop()
        no_token_in(srv.logtext(), "guide log")
    finally:
        kc.stop()
        a12n.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-introspection-")
    op = OidcProvider(algs=["RS256"]).start()
    try:
        with checks.guard("eval cases"):
            test_eval(op, tmp)
        with checks.guard("config errors"):
            test_config_errors(op, tmp)
        with checks.guard("serve cases"):
            test_serve(op, tmp)
        with checks.guard("guide"):
            test_guide(tmp)
    finally:
        op.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
