#!/usr/bin/python3
"""jwt (OpenID Connect) identity end to end: the real binary (`portcullis
eval`, `portcullis check`, and `portcullis serve` over its gRPC and HTTP
ports) against the fixture OIDC provider (tests/fixtures/oidc_provider):
every signature algorithm, the claim checks, forgeries, key rotation, a
provider that is down or failing, the token cache, and the RBAC pattern of
Authorino's OIDC guide."""

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
import oidc_keys  # noqa: E402
from oidc_keys import ALGS, Key  # noqa: E402
from oidc_provider import OidcProvider  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
REALM = 'Bearer realm="keycloak-kuadrant-realm"'

AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %(name)s
  namespace: default
spec:
  hosts:
  - %(host)s
  authentication:
    keycloak-kuadrant-realm:
%(method)s
  response:
    success:
      headers:
        x-sub:
          plain:
            selector: auth.identity.sub
"""

checks = Checks(limit=None)
check = checks.check
TOKENS = []


def authconfig(method, name="talker-api-protection", host=HOST):
    """method: the evaluator body, e.g. 'jwt: {issuerUrl: X}' (one line or
    several, indented by the caller relative to the evaluator)."""
    body = "\n".join("      " + line for line in method.strip("\n").split("\n"))
    return AUTHCONFIG % {"name": name, "host": host, "method": body}


def check_request(headers, host=HOST, path="/hello", method="GET"):
    hdrs = {":authority": host, ":method": method, ":path": path}
    hdrs.update(headers)
    return {"attributes": {"request": {"http": {
        "id": "1", "method": method, "headers": hdrs, "path": path,
        "host": host, "scheme": "http", "protocol": "HTTP/1.1"}}}}


def run_eval(tmp, ac_text, headers, host=HOST, path="/hello", method="GET"):
    ac = write(os.path.join(tmp, "eval-authconfig.yaml"), ac_text)
    req = write(os.path.join(tmp, "request.json"),
                json.dumps(check_request(headers, host, path, method)))
    cmd = [PC_BIN, "eval", "--output", "json", "-a", ac, "-r", req] + plugin_args()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=60)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, took


def bearer(tok):
    TOKENS.append(tok)
    return {"authorization": "Bearer " + tok}


def allowed(p, out, sub="user-1"):
    return (out is not None and p.returncode == 0 and out["allowed"] and
            out["headers"].get("x-sub") == sub)


def denied(p, out, reason=None, status=401):
    ok = (out is not None and p.returncode == 1 and not out["allowed"] and
          out["http_status"] == status)
    if ok and status == 401:
        ok = out["headers"].get("www-authenticate") == REALM
    if ok and reason is not None:
        ok = out["reason"] == reason and out["headers"].get("x-ext-auth-reason") == reason
    return ok


def no_token_in(text, what):
    check(not any(t and t in text for t in TOKENS), what + ": no token in the output")


def test_eval(op, tmp):
    ac = authconfig("jwt:\n  issuerUrl: %s" % op.issuer)
    for alg in ALGS:
        p, out, _ = run_eval(tmp, ac, bearer(op.mint(alg)))
        check(allowed(p, out), "eval: %s token from the provider is allowed; identity = claims"
              % alg, (p.returncode, p.stdout, p.stderr))

    cases = [
        ("expired token", op.mint(exp_in=-120), "oidc: token is expired"),
        ("token without exp", op.mint(exp=None), "oidc: token is expired"),
        ("not yet valid (nbf in 10 min)", op.mint(nbf=int(time.time()) + 600),
         "oidc: current time before the nbf (not before) time"),
        ("issued in the future (iat in 10 min)", op.mint(iat=int(time.time()) + 600),
         "oidc: token issued in the future (iat)"),
        ("wrong issuer", op.mint(iss="https://evil.example.com/realms/kuadrant"),
         "oidc: id token issued by a different provider"),
        ("wrong signature (another key, same kid)",
         oidc_keys.mint(Key(op.key("RS256").kid, "RS256"), op.claims()),
         "failed to verify signature: failed to verify id token signature"),
        ("alg none", oidc_keys.mint_none(op.claims(), kid=op.key("RS256").kid),
         "oidc: id token signed with unsupported algorithm"),
        ("HS256 keyed with the RSA public key",
         oidc_keys.mint_hmac_confusion(op.key("RS256"), op.claims()),
         "oidc: id token signed with unsupported algorithm"),
        ("ES256 token naming an RSA key's kid",
         oidc_keys.mint(op.key("ES256"), op.claims(), kid=op.key("RS256").kid),
         "failed to verify signature: failed to verify id token signature"),
        ("PS256 token for a JWK with alg RS256",
         oidc_keys.mint(op.key("RS256"), op.claims(), alg="PS256"),
         "failed to verify signature: failed to verify id token signature"),
        ("ES384 signature under an ES256 header",
         oidc_keys.compact({"alg": "ES256", "kid": op.key("ES384").kid}, op.claims(),
                           lambda m: op.key("ES384").sign(m)),
         "failed to verify signature: failed to verify id token signature"),
        ("tampered payload",
         (lambda t: t.split(".")[0] + "." + oidc_keys.b64u(json.dumps(
             op.claims(sub="admin")).encode()) + "." + t.split(".")[2])(op.mint()),
         "failed to verify signature: failed to verify id token signature"),
        ("garbage", 'not-a-jwt "quoted" \\', "oidc: malformed jwt"),
        ("two segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", "oidc: malformed jwt"),
        ("crit header", oidc_keys.mint(op.key("RS256"), op.claims(),
                                       header_extra={"crit": ["exp"], "exp": 1}),
         "oidc: malformed jwt: unsupported crit header"),
    ]
    for what, tok, reason in cases:
        p, out, _ = run_eval(tmp, ac, bearer(tok))
        check(denied(p, out, reason), "eval: %s -> 401 %r" % (what, reason),
              (p.returncode, p.stdout, p.stderr))
        no_token_in(p.stdout + p.stderr, "eval: " + what)

    p, out, _ = run_eval(tmp, ac, {})
    check(denied(p, out, "credential not found"), "eval: no Authorization header -> 401",
          (p.returncode, p.stdout))

    # Leeway: a token that expired 10 s ago is still within the clock skew.
    p, out, _ = run_eval(tmp, ac, bearer(op.mint(exp_in=-10)))
    check(allowed(p, out), "eval: expired 10 s ago is within the 30 s leeway", p.stdout)

    # jwksUrl: no discovery, and no issuer to compare iss with.
    ac_jwks = authconfig("jwt:\n  jwksUrl: %s" % op.jwks_url)
    op.reset_counters()
    p, out, _ = run_eval(tmp, ac_jwks, bearer(op.mint("ES256", iss="https://other")))
    c = op.get_counters()
    check(allowed(p, out) and c["discovery"] == 0 and c["jwks"] >= 1,
          "eval: jwksUrl verifies without discovery and without an iss check",
          (p.stdout, p.stderr, c))

    # The older spelling.
    p, out, _ = run_eval(tmp, authconfig("oidc:\n  endpoint: %s\n  ttl: 60" % op.issuer),
                         bearer(op.mint("EdDSA")))
    check(allowed(p, out), "eval: oidc: {endpoint} is the same evaluator", (p.stdout, p.stderr))

    # Credentials from other places.
    tok = op.mint("RS384")
    for what, creds, hdrs, path in (
            ("custom header", "customHeader: {name: X-Token}", {"x-token": tok}, "/hello"),
            ("query string", "queryString: {name: access_token}", {}, "/hello?access_token=" + tok),
            ("cookie", "cookie: {name: jwt}", {"cookie": "a=b; jwt=%s; c=d" % tok}, "/hello"),
            ("authorization header, other prefix", "authorizationHeader: {prefix: JWT}",
             {"authorization": "JWT " + tok}, "/hello")):
        TOKENS.append(tok)
        ac_c = authconfig("jwt:\n  issuerUrl: %s\ncredentials:\n  %s" % (op.issuer, creds))
        p, out, _ = run_eval(tmp, ac_c, hdrs, path=path)
        check(allowed(p, out), "eval: token from the %s" % what, (p.stdout, p.stderr))
    p, out, _ = run_eval(tmp, authconfig("jwt:\n  issuerUrl: %s\ncredentials:\n  "
                                         "customHeader: {name: X-Token}" % op.issuer),
                         bearer(tok))
    check(out is not None and not out["allowed"] and out["reason"] == "credential not found",
          "eval: customHeader credentials ignore the Authorization header", p.stdout)

    # The provider's discovery document must name the configured issuer.
    p, out, _ = run_eval(tmp, authconfig("jwt:\n  issuerUrl: %s/" % op.issuer),
                         bearer(op.mint(iss=op.issuer + "/")))
    check(out is not None and not out["allowed"] and
          out["reason"] == "missing openid connect configuration" and
          "issuer returned by the provider is not the configured issuerUrl" in p.stderr,
          "eval: an issuerUrl that differs from the discovered issuer never verifies",
          (p.stdout, p.stderr))


def test_eval_provider_faults(op, tmp):
    ac = authconfig("jwt:\n  issuerUrl: %s\n  timeout: 400" % op.issuer)
    tok = op.mint()
    for what, fault in (("JWKS 500", ("jwks", 500, 0)), ("discovery 500", ("discovery", 500, 0)),
                        ("JWKS slow (3 s, timeout 400 ms)", ("jwks", None, 3000))):
        op.set_fault(fault[0], status=fault[1], delay_ms=fault[2])
        p, out, took = run_eval(tmp, ac, bearer(tok))
        op.clear_faults()
        check(denied(p, out, "missing openid connect configuration") and took < 2.5,
              "eval: %s at start -> 401 within the timeout (%.2fs)" % (what, took),
              (p.stdout, p.stderr))
    # Slower than the load waits (3 s): the request waits for the fetch
    # under way instead of failing.
    op.set_fault("discovery", delay_ms=4000, times=1)
    op.reset_counters()
    p, out, took = run_eval(tmp, authconfig("jwt:\n  issuerUrl: %s" % op.issuer), bearer(tok))
    op.clear_faults()
    check(allowed(p, out) and 3.5 < took < 7 and op.get_counters()["discovery"] == 1,
          "eval: a provider answering after 4 s: the request waits for that one fetch (%.2fs)"
          % took, (p.stdout, p.stderr, op.get_counters()))
    # Credentials in a URL stay out of logs and reasons.
    p, out, _ = run_eval(tmp, authconfig("jwt:\n  jwksUrl: %s" % op.jwks_url.replace(
        "http://", "http://reader:s3cret-pw@") + "-missing"), bearer(tok))
    check(out is not None and not out["allowed"] and "HTTP 404" in p.stderr and
          "s3cret-pw" not in p.stdout + p.stderr and "reader" not in p.stderr,
          "eval: a failing jwksUrl with user:password is logged without them",
          (p.stdout, p.stderr))
    ac_j = authconfig("jwt:\n  jwksUrl: %s\n  timeout: 400" % op.jwks_url)
    op.set_fault("jwks", status=500)
    p, out, _ = run_eval(tmp, ac_j, bearer(tok))
    op.clear_faults()
    check(denied(p, out, "failed to verify signature: no keys fetched from the JWKS endpoint"),
          "eval: jwksUrl failing -> 401 with a reason", (p.stdout, p.stderr))


def run_check(tmp, text):
    path = write(os.path.join(tmp, "check.yaml"), text)
    p = subprocess.run([PC_BIN, "check"] + plugin_args() + [path], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_config_errors(op, tmp):
    base = "spec.authentication.keycloak-kuadrant-realm.jwt"
    for what, method, want in (
            ("both URLs", "jwt:\n  issuerUrl: %s\n  jwksUrl: %s" % (op.issuer, op.jwks_url),
             base + ": use one of: jwksUrl, issuerUrl"),
            ("no URL", "jwt:\n  ttl: 10", base + ": use one of: jwksUrl, issuerUrl"),
            ("misspelt field", "jwt:\n  issuerUrl: %s\n  tll: 10" % op.issuer,
             base + '.tll: unknown field'),
            ("negative ttl", "jwt:\n  issuerUrl: %s\n  ttl: -5" % op.issuer,
             base + ".ttl: must be at least 0"),
            ("timeout of the wrong type", "jwt:\n  issuerUrl: %s\n  timeout: soon" % op.issuer,
             base + ".timeout:"),
            ("not an http(s) URL", "jwt:\n  jwksUrl: file:///etc/passwd",
             base + ".jwksUrl: must match the pattern"),
            ("oidc without endpoint", "oidc:\n  ttl: 3",
             "spec.authentication.keycloak-kuadrant-realm.oidc")):
        rc, out = run_check(tmp, authconfig(method))
        check(rc == 1 and want in out and "check.yaml:" in out,
              "check: %s is an error naming %s" % (what, want), (rc, out))
    rc, out = run_check(tmp, authconfig("jwt:\n  issuerUrl: %s\n  ttl: 30" % op.issuer))
    check(rc == 0, "check: a correct jwt config loads", (rc, out))


def headers_of(opts):
    return {o.header.key.lower(): o.header.value for o in opts}


def grpc_client():
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    import extauthz_client
    return extauthz_client


def http_check(srv, token=None, host=HOST, path="/hello", method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=30)
    h = {"Host": host}
    if token is not None:
        TOKENS.append(token)
        h["Authorization"] = "Bearer " + token
    c.request(method, path, headers=h)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def start(tmp, text, name):
    srv = Server(tmp, authconfig_text=text, name=name, extra=["--log-level", "info"])
    if not srv.ready():
        srv.stop()
        check(False, "%s: portcullis serve starts" % name, srv.logtext()[-2000:])
        return None
    return srv


def test_serve(op, tmp):
    """gRPC and HTTP ports: allow/deny shapes, rotation on an unknown kid
    with its rate limit, the token cache and its expiry."""
    ec = grpc_client()
    ac = authconfig("jwt:\n  issuerUrl: %s\n  ttl: 60\n  timeout: 1000" % op.issuer)
    srv = start(tmp, ac, "serve")
    if not srv:
        return

    def grpc(c, tok=None, path="/hello"):
        if tok:
            TOKENS.append(tok)
        h = {"authorization": "Bearer " + tok} if tok else {}
        return c.check(ec.build_check_request(HOST, path, headers=h))

    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            for alg in ("RS256", "ES256", "EdDSA", "PS512"):
                r = grpc(c, op.mint(alg))
                check(r.status.code == 0 and
                      headers_of(r.ok_response.headers).get("x-sub") == "user-1",
                      "grpc: %s token allowed, x-sub from the claims" % alg, r)
            r = grpc(c, op.mint(exp_in=-120))
            h = headers_of(r.denied_response.headers)
            check(r.status.code == 16 and r.denied_response.status.code == 401 and
                  h.get("www-authenticate") == REALM and
                  h.get("x-ext-auth-reason") == "oidc: token is expired",
                  "grpc: expired token -> UNAUTHENTICATED, 401, Bearer challenge, reason", r)
            r = grpc(c, oidc_keys.mint_hmac_confusion(op.key("RS256"), op.claims()))
            check(r.status.code == 16 and r.denied_response.status.code == 401,
                  "grpc: HMAC-confusion token -> 401", r)
            r = grpc(c)
            check(r.status.code == 16 and r.denied_response.status.code == 401,
                  "grpc: no credential -> 401", r)

            st, h = http_check(srv, op.mint("ES512"))
            check(st == 200 and h.get("x-sub") == "user-1", "http: ES512 token allowed", (st, h))
            st, h = http_check(srv, op.mint(iss="https://evil"))
            check(st == 401 and h.get("www-authenticate") == REALM and
                  h.get("x-ext-auth-reason") == "oidc: id token issued by a different provider",
                  "http: wrong issuer -> 401 with the reason", (st, h))
            st, h = http_check(srv, oidc_keys.mint_none(op.claims()))
            check(st == 401, "http: alg none -> 401", (st, h))

            # Rotation: a token with a kid the instance has not seen makes it
            # fetch the JWKS once, and the new key verifies.
            op.reset_counters()
            new = op.rotate("RS256", retire=False)
            r = grpc(c, op.mint(key=new))
            n = op.get_counters()["jwks"]
            check(r.status.code == 0 and n == 1,
                  "grpc: a token signed with a rotated-in key is allowed after one JWKS fetch",
                  (r, op.get_counters()))
            r = grpc(c, op.mint(key=new, sub="user-2"))
            check(r.status.code == 0 and op.get_counters()["jwks"] == 1,
                  "grpc: the next token with that kid needs no fetch", op.get_counters())

            # An unknown kid that stays unknown: one fetch per kid per 30 s.
            time.sleep(1.1)
            ghost = Key("ghost-1", "RS256")
            op.reset_counters()
            r1 = grpc(c, oidc_keys.mint(ghost, op.claims()))
            n1 = op.get_counters()["jwks"]
            r2 = grpc(c, oidc_keys.mint(ghost, op.claims(sub="other")))
            n2 = op.get_counters()["jwks"]
            check(r1.status.code == 16 and r2.status.code == 16 and n1 == 1 and n2 == 1,
                  "grpc: an unknown kid is fetched for once, then refused without fetching",
                  (n1, n2))
            check(headers_of(r2.denied_response.headers).get("x-ext-auth-reason") ==
                  "failed to verify signature: failed to verify id token signature",
                  "grpc: unknown kid -> the signature reason", r2)

            # Cache: a verified token is answered from the cache (no
            # re-verification), until its own exp.
            old = op.key("ES256")
            short = op.mint("ES256", exp_in=4, sub="short")
            long_ = op.mint("ES256", exp_in=600, sub="long")
            ok1 = grpc(c, short).status.code == 0 and grpc(c, long_).status.code == 0
            # Retire the key and make the instance see the new JWKS (an
            # unknown kid triggers the fetch).
            op.rotate("ES256", retire=True)
            time.sleep(1.1)
            op.reset_counters()
            grpc(c, oidc_keys.mint(Key("ghost-2", "ES256"), op.claims()))
            fetched = op.get_counters()["jwks"]
            hit_short = grpc(c, short)
            hit_long = grpc(c, long_)
            fresh = grpc(c, oidc_keys.mint(old, op.claims(sub="fresh")))
            check(ok1 and fetched == 1 and hit_short.status.code == 0 and
                  hit_long.status.code == 0 and fresh.status.code == 16,
                  "grpc: cached tokens are allowed after their key left the JWKS; "
                  "an uncached token with that key is refused",
                  (ok1, fetched, hit_short.status.code, hit_long.status.code, fresh))
            op.reset_counters()
            hits = [grpc(c, long_).status.code for _ in range(20)]
            check(hits == [0] * 20 and op.get_counters()["jwks"] == 0 and
                  op.get_counters()["discovery"] == 0,
                  "grpc: 20 cache hits, no JWKS or discovery fetch", (hits, op.get_counters()))
            time.sleep(3.6)
            r = grpc(c, short)
            check(r.status.code == 16 and grpc(c, long_).status.code == 0,
                  "grpc: a cache entry ends at the token's exp (re-verified, refused)", r)
    finally:
        srv.stop()
    no_token_in(srv.logtext(), "serve log")


def test_provider_down(tmp):
    """A provider down when the server starts, then up; down mid-life."""
    ec = grpc_client()
    op = OidcProvider(algs=["RS256", "ES256"]).start()
    try:
        op.down()
        ac = authconfig("jwt:\n  issuerUrl: %s\n  ttl: 2\n  timeout: 500" % op.issuer)
        srv = start(tmp, ac, "down")
        if not srv:
            return
        try:
            with ec.Client(srv.grpc, timeout=30) as c:
                tok = op.mint()
                TOKENS.append(tok)
                req = ec.build_check_request(HOST, "/hello",
                                             headers={"authorization": "Bearer " + tok})
                t0 = time.monotonic()
                r = c.check(req)
                took = time.monotonic() - t0
                h = headers_of(r.denied_response.headers)
                check(r.status.code == 16 and r.denied_response.status.code == 401 and
                      h.get("x-ext-auth-reason") == "missing openid connect configuration" and
                      took < 2.5,
                      "down at start: the server starts and denies (%.2fs)" % took, r)
                op.up()
                t0 = time.monotonic()
                code = None
                while time.monotonic() - t0 < 20:
                    code = c.check(req).status.code
                    if code == 0:
                        break
                    time.sleep(0.25)
                check(code == 0, "down at start: allowed once the provider is up (%.1fs)"
                      % (time.monotonic() - t0))

                # Mid-life: refreshes fail, the keys fetched before keep working.
                op.down()
                time.sleep(2.5)
                st, h = http_check(srv, op.mint("ES256", sub="user-1"))
                check(st == 200, "down mid-life: a new token with a known key is allowed",
                      (st, h))
                op.up()
                op.set_fault("jwks", status=500)
                time.sleep(2.5)
                st, h = http_check(srv, op.mint("RS256", sub="user-1", jti="x"))
                check(st == 200, "JWKS 500 mid-life: the keys fetched before keep working",
                      (st, h))
                op.clear_faults()
                # Slow JWKS on an unknown kid: denied within the timeout.
                op.set_fault("jwks", delay_ms=3000)
                time.sleep(0.2)
                new = op.rotate("RS256", retire=False)
                t0 = time.monotonic()
                st, h = http_check(srv, op.mint(key=new))
                took = time.monotonic() - t0
                op.clear_faults()
                check(st == 401 and took < 2.0,
                      "slow JWKS: an unknown kid is refused within the timeout (%.2fs)" % took,
                      (st, h))
        finally:
            srv.stop()
        log = srv.logtext()
        check("fetching the signing keys failed" in log and "signing keys loaded" in log,
              "down: failures and recovery are logged", log[-2000:])
        no_token_in(log, "down log")
    finally:
        op.stop()


def test_rbac(op, tmp):
    """Authorino's OIDC RBAC guide: jwt + patternMatching on
    auth.identity.realm_access.roles, through gRPC."""
    ec = grpc_client()
    with open(os.path.join(PC_SOURCE_DIR, "tests", "data", "jwt",
                           "oidc-rbac-authconfig.yaml")) as f:
        text = f.read().replace("@ISSUER@", op.issuer).replace("@HOST@", HOST)
    srv = start(tmp, text, "rbac")
    if not srv:
        return
    member = op.mint(realm_access={"roles": ["offline_access", "member"]}, sub="john")
    admin = op.mint(realm_access={"roles": ["member", "admin"]}, sub="jane")
    nobody = op.mint(realm_access={"roles": ["offline_access"]}, sub="peter")
    TOKENS.extend([member, admin, nobody])
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def code(tok, path, method="GET"):
                req = ec.build_check_request(HOST, path, method=method,
                                             headers={"authorization": "Bearer " + tok})
                r = c.check(req)
                return r.status.code, (r.denied_response.status.code
                                       if r.status.code else 200)
            for who, tok, path, method, want in (
                    ("member", member, "/hello", "GET", 200),
                    ("no role", nobody, "/hello", "GET", 200),
                    ("member", member, "/resources", "GET", 200),
                    ("member", member, "/resources/123", "GET", 200),
                    ("no role", nobody, "/resources", "GET", 403),
                    ("member", member, "/resources/123", "DELETE", 403),
                    ("admin", admin, "/resources/123", "DELETE", 200),
                    ("member", member, "/admin/settings", "GET", 403),
                    ("admin", admin, "/admin/settings", "GET", 200)):
                got = code(tok, path, method)
                check(got[1] == want, "rbac: %s %s %s -> %d" % (who, method, path, want), got)
            r = c.check(ec.build_check_request(HOST, "/resources"))
            check(r.status.code == 16, "rbac: no token -> 401", r)
    finally:
        srv.stop()


def test_guide_basic(op, tmp):
    """Authorino's OIDC JWT guide over the HTTP port, as it prints:
    200 with a token, 401 with the Bearer challenge without one."""
    with open(os.path.join(PC_SOURCE_DIR, "tests", "data", "jwt",
                           "oidc-jwt-authentication-authconfig.yaml")) as f:
        text = f.read().replace("@ISSUER@", op.issuer).replace("@HOST@", HOST)
    srv = start(tmp, text, "guide")
    if not srv:
        return
    try:
        st, h = http_check(srv, op.mint(sub="john"))
        check(st == 200, "guide: GET /hello with the access token -> 200", (st, h))
        st, h = http_check(srv)
        check(st == 401 and h.get("www-authenticate") == REALM and
              h.get("x-ext-auth-reason") == "credential not found",
              "guide: GET /hello without a token -> 401, Bearer realm=\"keycloak-kuadrant-realm\", "
              "credential not found", (st, h))
    finally:
        srv.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-jwt-")
    op = OidcProvider().start()
    try:
        with checks.guard("eval cases"):
            test_eval(op, tmp)
        with checks.guard("eval provider faults"):
            test_eval_provider_faults(op, tmp)
        with checks.guard("config errors"):
            test_config_errors(op, tmp)
        with checks.guard("serve cases"):
            test_serve(op, tmp)
        with checks.guard("guide"):
            test_guide_basic(op, tmp)
        with checks.guard("rbac"):
            test_rbac(op, tmp)
        with checks.guard("provider down"):
            test_provider_down(tmp)
    finally:
        op.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
