#!/usr/bin/python3
"""`userInfo` metadata end to end: the real binary (`portcullis eval`,
`portcullis check`, and `portcullis serve` over its gRPC port with
python3-grpcio) against the fixture OIDC provider's discovery and UserInfo
endpoint (tests/fixtures/oidc_provider): Authorino's oidc-user-info guide
as it prints (200 with an active token, 403 once it is revoked), the token
sent where the identity took it, the identity's issuer check, discovery
cached per issuer, the evaluator cache, userInfoUrl, failures (5xx,
garbage, not an object, slow, refused, discovery down) and config errors."""

import os
import subprocess
import sys
import tempfile
import shutil
import time
import json
import secrets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       free_port, grpc_client, plugin_args, started, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "oidc_provider"))
from oidc_provider import OidcProvider  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides", "oidc-user-info.yaml")
KEYCLOAK = "http://keycloak.keycloak.svc.cluster.local:8080/realms/kuadrant"

checks = Checks(limit=None)
check = checks.check
TOKENS = []

AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: userinfo, namespace: default}
spec:
  hosts: [%(host)s]
  authentication:
    keycloak:
      jwt: {issuerUrl: %(issuer)s}
%(ident_extra)s
  metadata:
    userinfo:
      userInfo:
%(userinfo)s
%(meta_extra)s
  authorization:
    has-email:
      patternMatching:
        patterns:
        - {selector: auth.metadata.userinfo.email, operator: neq, value: ""}
  response:
    success:
      headers:
        x-email:
          plain: {selector: auth.metadata.userinfo.email}
"""


def authconfig(op, userinfo=None, ident_extra="", meta_extra="", host=HOST):
    if userinfo is None:
        userinfo = "identitySource: keycloak\ntimeout: 500"
    ind = lambda s, n: "\n".join(" " * n + line for line in s.strip("\n").split("\n"))  # noqa
    return AC % {"host": host, "issuer": op.issuer, "userinfo": ind(userinfo, 8),
                 "ident_extra": ind(ident_extra, 6) if ident_extra else "",
                 "meta_extra": ind(meta_extra, 6) if meta_extra else ""}


def check_request(headers, path="/hello"):
    hdrs = {":authority": HOST, ":method": "GET", ":path": path}
    hdrs.update(headers)
    return {"attributes": {"request": {"http": {
        "id": "1", "method": "GET", "headers": hdrs, "path": path, "host": HOST,
        "scheme": "http", "protocol": "HTTP/1.1"}}}}


def mint(op, **claims):
    """A token of its own: RS256 is deterministic, so two tokens with the
    same claims minted in the same second would be one (and one revoked)."""
    return op.mint(jti=secrets.token_hex(8), **claims)


def bearer(tok):
    TOKENS.append(tok)
    return {"authorization": "Bearer " + tok}


def run_eval(tmp, ac_text, headers, path="/hello"):
    ac = write(os.path.join(tmp, "eval.yaml"), ac_text)
    rq = write(os.path.join(tmp, "request.json"), json.dumps(check_request(headers, path)))
    t0 = time.monotonic()
    p = subprocess.run([PC_BIN, "eval", "--output", "json", "-a", ac, "-r", rq] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, took


def allowed(p, out, email):
    return (out is not None and p.returncode == 0 and out["allowed"] and
            out["headers"].get("x-email") == email)


def denied(p, out, reason_part):
    return (out is not None and p.returncode == 1 and not out["allowed"] and
            out["http_status"] == 403 and reason_part in out["reason"])


def no_token_in(text, what):
    check(not any(t in text for t in TOKENS), what + ": no token in the output or log")


def test_eval(op, tmp):
    op.set_profile("jane", email="jane@example.org", name="Jane Smith")
    tok = mint(op, sub="jane")
    p, out, _ = run_eval(tmp, authconfig(op), bearer(tok))
    check(allowed(p, out, "jane@example.org") and op.last_userinfo_auth == "Bearer " + tok,
          "eval: the UserInfo answer is auth.metadata.userinfo; the token went as Bearer",
          (p.stdout, p.stderr))

    # The token is taken where the identity takes it.
    ac = authconfig(op, ident_extra="credentials:\n  customHeader: {name: X-Token}")
    tok2 = mint(op, sub="jane")
    TOKENS.append(tok2)
    p, out, _ = run_eval(tmp, ac, {"x-token": tok2})
    check(allowed(p, out, "jane@example.org") and op.last_userinfo_auth == "Bearer " + tok2,
          "eval: the identity's customHeader credential is the token sent", (p.stdout,))
    ac = authconfig(op, ident_extra="credentials:\n  queryString: {name: access_token}")
    p, out, _ = run_eval(tmp, ac, {}, path="/hello?x=1&access_token=" + tok2)
    check(allowed(p, out, "jane@example.org"), "eval: a queryString credential", (p.stdout,))

    # userInfoUrl: a fixed endpoint, no discovery.
    op.reset_counters()
    ac = authconfig(op, "userInfoUrl: %s/protocol/openid-connect/userinfo" % op.issuer)
    p, out, _ = run_eval(tmp, ac, bearer(mint(op, sub="bob")))
    check(allowed(p, out, "bob@kuadrant.io") and op.get_counters()["userinfo"] == 1,
          "eval: userInfoUrl calls that endpoint with the token", (p.stdout, p.stderr))

    # An identity of another issuer resolved the request.
    op2 = OidcProvider().start()
    try:
        two = authconfig(op, ident_extra="") .replace(
            "  metadata:\n", "    other:\n      jwt: {issuerUrl: %s}\n  metadata:\n"
            % op2.issuer, 1)
        p, out, _ = run_eval(tmp, two, bearer(mint(op2, sub="jane")))
        check(denied(p, out, "userinfo: missing identity for oidc issuer %s" % op.issuer),
              "eval: a token of another jwt identity's issuer -> 403 (Authorino's reason)",
              (p.stdout, p.stderr))
        p, out, _ = run_eval(tmp, two, bearer(mint(op, sub="jane")))
        check(allowed(p, out, "jane@example.org"),
              "eval: the same AuthConfig with the identitySource's token -> 200", p.stdout)
    finally:
        op2.stop()

    # Failures of the UserInfo endpoint deny within the timeout.
    ac = authconfig(op)
    for what, fault, reason in (
            ("HTTP 503", {"status": 503}, "userinfo: the userinfo endpoint answered HTTP 503"),
            ("HTTP 500", {"status": 500}, "answered HTTP 500"),
            ("garbage (HTML)", {"raw": "<html>oops</html>"},
             "userinfo: the userinfo endpoint answered something that is not JSON"),
            ("JSON that is not an object", {"body": ["jane@example.org"]},
             "answered JSON that is not an object"),
            ("slow (3 s, timeout 500 ms)", {"delay_ms": 3000}, "userinfo: the userinfo endpoint:")):
        op.set_fault("userinfo", **fault)
        p, out, took = run_eval(tmp, ac, bearer(mint(op, sub="jane")))
        op.clear_faults()
        check(denied(p, out, reason) and took < 2.5,
              "eval: UserInfo %s -> 403 %r (%.2fs)" % (what, reason, took),
              (p.stdout, p.stderr))
    tok3 = mint(op, sub="jane")
    op.revoke(tok3)
    p, out, _ = run_eval(tmp, ac, bearer(tok3))
    check(denied(p, out, "answered HTTP 401"), "eval: a revoked token (UserInfo 401) -> 403",
          p.stdout)
    no_token_in(p.stdout + p.stderr, "eval: revoked token")
    port = free_port()
    p, out, took = run_eval(tmp, authconfig(
        op, "userInfoUrl: http://127.0.0.1:%d/userinfo\ntimeout: 500" % port),
        bearer(mint(op, sub="jane")))
    check(denied(p, out, "userinfo: the userinfo endpoint:") and took < 2.5,
          "eval: a UserInfo endpoint refusing connections -> 403", (p.stdout, took))


def run_check(tmp, text):
    path = write(os.path.join(tmp, "check.yaml"), text)
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + [path], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_config_errors(op, tmp):
    base = "spec.metadata.userinfo.userInfo"
    jwks_ident = authconfig(op).replace("jwt: {issuerUrl: %s}" % op.issuer,
                                        "jwt: {jwksUrl: %s}" % op.jwks_url)
    for what, text, want in (
            ("an identitySource that does not exist",
             authconfig(op, "identitySource: nope"), base + ": missing identity config nope"),
            ("an identitySource without issuerUrl", jwks_ident,
             base + ": identitySource keycloak is not a jwt authentication with an issuerUrl"),
            ("both identitySource and userInfoUrl",
             authconfig(op, "identitySource: keycloak\nuserInfoUrl: http://x/u"),
             base + ": use one of: identitySource, userInfoUrl"),
            ("neither", authconfig(op, "timeout: 10"),
             base + ": use one of: identitySource, userInfoUrl"),
            ("a misspelt field", authconfig(op, "identitySorce: keycloak"),
             base + ".identitySorce: unknown field"),
            ("a negative timeout", authconfig(op, "identitySource: keycloak\ntimeout: -1"),
             base + ".timeout: must be at least 0"),
            ("a userInfoUrl that is not http(s)", authconfig(op, "userInfoUrl: file:///x"),
             base + ".userInfoUrl: must match the pattern")):
        rc, out = run_check(tmp, text)
        check(rc == 1 and want in out and "check.yaml:" in out,
              "check: %s is an error naming %s" % (what, want), (rc, out))
    rc, out = run_check(tmp, open(GUIDE).read().replace(KEYCLOAK, op.issuer))
    check(rc == 0, "check: the guide's AuthConfig loads", (rc, out))


def test_guide(op, tmp):
    """The guide over gRPC: 200 with an active token, 403 once Keycloak
    revoked it (its UserInfo answers 401), 401 without one."""
    ec = grpc_client()
    text = open(GUIDE).read()
    check(KEYCLOAK in text, "guide: the AuthConfig names the guide's Keycloak realm")
    srv = started(Server(tmp, authconfig_text=text.replace(KEYCLOAK, op.issuer), name="guide",
                         extra=["--log-level", "debug"]), check, "guide")
    if not srv:
        return
    op.set_profile("jane", email="jane@kuadrant.io")
    tok = mint(op, sub="jane")
    TOKENS.append(tok)
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def call(t=None):
                h = {"authorization": "Bearer " + t} if t else {}
                return c.check(ec.build_check_request(HOST, "/hello", headers=h))
            r = call(tok)
            check(r.status.code == 0, "guide: GET /hello with the access token -> 200", r)
            op.reset_counters()
            rs = [call(tok) for _ in range(3)]
            cnt = op.get_counters()
            check(all(x.status.code == 0 for x in rs) and cnt["discovery"] == 0 and
                  cnt["userinfo"] == 3,
                  "guide: discovery cached per issuer; UserInfo asked on every request", cnt)
            op.revoke(tok)
            r = call(tok)
            check(r.status.code == 7 and r.denied_response.status.code == 403,
                  "guide: GET /hello with the revoked token -> 403", r)
            r = call()
            check(r.status.code == 16 and r.denied_response.status.code == 401,
                  "guide: GET /hello without a token -> 401", r)
    finally:
        srv.stop()
    no_token_in(srv.logtext(), "guide")


def test_serve(op, tmp):
    """gRPC: the discovery document failing (not kept), the evaluator cache,
    and a 5xx and a timeout over the real port."""
    ec = grpc_client()
    d = os.path.join(tmp, "serve-acs")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "plain.yaml"), authconfig(op))
    write(os.path.join(d, "cached.yaml"), authconfig(
        op, meta_extra="cache:\n  key: {selector: request.headers.authorization}\n  ttl: 60",
        host="cached." + HOST).replace("name: userinfo", "name: cached"))
    srv = started(Server(tmp, d, name="serve"), check, "serve")
    if not srv:
        return
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def call(tok, host=HOST):
                TOKENS.append(tok)
                return c.check(ec.build_check_request(
                    host, "/hello", headers={"authorization": "Bearer " + tok}))
            tok = mint(op, sub="jane")
            op.set_fault("discovery", status=500, times=1)
            r1 = call(tok)
            r2 = call(tok)
            check(r1.status.code == 7 and r1.denied_response.status.code == 403 and
                  r2.status.code == 0,
                  "grpc: discovery answering 500 -> 403, not kept: the next request -> 200",
                  (r1, r2))
            check(headers_of(r2.ok_response.headers).get("x-email") == "jane@kuadrant.io",
                  "grpc: x-email from auth.metadata.userinfo", r2)
            for what, fault in (("503", {"status": 503}), ("garbage", {"raw": "]["}),
                                ("timeout", {"delay_ms": 2000})):
                op.set_fault("userinfo", **fault)
                t0 = time.monotonic()
                r = call(mint(op, sub="jane"))
                took = time.monotonic() - t0
                op.clear_faults()
                check(r.status.code == 7 and r.denied_response.status.code == 403 and
                      took < 1.8, "grpc: UserInfo %s -> 403 (%.2fs)" % (what, took), r)
            op.reset_counters()
            rs = [call(tok, "cached." + HOST) for _ in range(4)]
            check(all(x.status.code == 0 for x in rs) and op.get_counters()["userinfo"] == 1,
                  "grpc: with `cache` one UserInfo call for 4 requests of one token",
                  op.get_counters())
    finally:
        srv.stop()
    no_token_in(srv.logtext(), "serve")


def headers_of(opts):
    return {o.header.key.lower(): o.header.value for o in opts}


def main():
    tmp = tempfile.mkdtemp(prefix="pc-userinfo-")
    op = OidcProvider().start()
    try:
        for name, fn in (("eval", test_eval), ("config errors", test_config_errors),
                         ("guide", test_guide), ("serve", test_serve)):
            with checks.guard(name):
                fn(op, tmp)
    finally:
        op.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
