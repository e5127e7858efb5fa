#!/usr/bin/python3
"""`http` metadata end to end: the real binary (`portcullis eval`, and
`portcullis serve` over its gRPC port with python3-grpcio) against the
metadata service fixture (tests/fixtures/metadata_service): what is sent
(placeholders, method, body, headers, credentials), what comes back (JSON,
text), failures (5xx, garbage, slow, refused) and how the pipeline treats
them, the OAuth2 client-credentials token shared by all requests, the
evaluator cache with single flight, config errors, and the selector forms
of Authorino's external-metadata and caching guides."""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       free_port, plugin_args, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "metadata_service"))
from metadata_service import MetadataService  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
GUIDES = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides")
CLIENT_ID, CLIENT_SECRET = "portcullis", "s3cr3t w/ specials&="
SECRETS = """\
---
apiVersion: v1
kind: Secret
metadata: {name: metadata-creds, namespace: default}
stringData: {token: shared-s3cret}
---
apiVersion: v1
kind: Secret
metadata: {name: oauth-client, namespace: default}
data: {secret: %s}
""" % __import__("base64").b64encode(CLIENT_SECRET.encode()).decode()

checks = Checks(limit=None)
check = checks.check


def authconfig(metadata, authorization="", response="", name="meta"):
    text = ("apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
            "metadata: {name: %s, namespace: default}\nspec:\n  hosts: [%s]\n"
            "  metadata:\n%s" % (name, HOST, metadata))
    if authorization:
        text += "  authorization:\n" + authorization
    if response:
        text += "  response:\n    success:\n      headers:\n" + response
    return text + SECRETS


def check_request(path="/hello", method="GET", headers=None, body=None):
    hdrs = {":authority": HOST, ":method": method, ":path": path}
    hdrs.update(headers or {})
    http = {"id": "1", "method": method, "headers": hdrs, "path": path, "host": HOST,
            "scheme": "http", "protocol": "HTTP/1.1"}
    if body is not None:
        http["body"] = body
    return {"attributes": {"request": {"http": http}}}


def run_eval(tmp, ac_text, **req):
    ac = write(os.path.join(tmp, "ac.yaml"), ac_text)
    rq = write(os.path.join(tmp, "request.json"), json.dumps(check_request(**req)))
    cmd = [PC_BIN, "eval", "--output", "json", "--explain", "-a", ac, "-r", rq] + plugin_args()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=60)
    took = time.monotonic() - t0
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, took


def trace_of(out, name):
    for t in (out or {}).get("explain", []):
        if t["name"] == name:
            return t
    return {}


def run_check(tmp, ac_text):
    ac = write(os.path.join(tmp, "check.yaml"), ac_text)
    return subprocess.run([PC_BIN, "check", ac] + plugin_args(), capture_output=True,
                          text=True, env=clean_env(), timeout=60)


ECHO_ALLOW = """\
    echo-ok:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.method, operator: neq, value: ""}
"""


def test_requests(svc, tmp):
    url = svc.url
    # GET: placeholders, headers, the shared secret as a Bearer credential.
    ac = authconfig("""\
    echo:
      http:
        url: "%s/users/{request.headers.x-user}?from={request.url_path}"
        headers:
          X-Trace: {value: trace-1}
          X-Method: {selector: request.method}
        sharedSecretRef: {name: metadata-creds, key: token}
""" % url, ECHO_ALLOW, """\
        x-echo:
          json:
            properties:
              path: {selector: auth.metadata.echo.path}
              auth: {selector: auth.metadata.echo.headers.authorization}
""")
    p, out, _ = run_eval(tmp, ac, headers={"x-user": "alice"})
    seen = svc.last()["request"] or {}
    check(out is not None and out["allowed"] and
          json.loads(out["headers"].get("x-echo", "{}")) ==
          {"path": "/users/alice", "auth": "Bearer shared-s3cret"},
          "GET: the answer is auth.metadata.NAME (placeholders resolved, Bearer secret)",
          (p.returncode, p.stdout, p.stderr))
    check(seen.get("method") == "GET" and seen.get("args") == {"from": "/hello"} and
          seen["headers"].get("x-trace") == "trace-1" and
          seen["headers"].get("x-method") == "GET" and
          seen["headers"].get("content-type") == "text/plain" and seen.get("body") == "",
          "GET: query placeholder, static and selected headers, text/plain, no body", seen)

    # POST form (the default content type), credentials in a custom header.
    ac = authconfig("""\
    echo:
      http:
        url: "%s/form"
        method: POST
        bodyParameters:
          user: {selector: request.headers.x-user}
          static: {value: "a b&c"}
          n: {value: 3}
        sharedSecretRef: {name: metadata-creds, key: token}
        credentials:
          customHeader: {name: X-Api-Key}
""" % url, ECHO_ALLOW)
    p, out, _ = run_eval(tmp, ac, headers={"x-user": "bob"})
    seen = svc.last()["request"] or {}
    check(out is not None and out["allowed"] and seen.get("method") == "POST" and
          seen["headers"].get("content-type") == "application/x-www-form-urlencoded" and
          seen.get("body") == "n=3&static=a+b%26c&user=bob" and
          seen["headers"].get("x-api-key") == "shared-s3cret" and
          "authorization" not in seen["headers"],
          "POST form: sorted, encoded bodyParameters; secret in customHeader", (seen, p.stdout))

    # PUT JSON body parameters; credentials in the query string.
    ac = authconfig("""\
    echo:
      http:
        url: "%s/json-params?x=1"
        method: PUT
        contentType: application/json
        bodyParameters:
          user: {selector: request.headers.x-user}
          groups: {value: [a, b]}
        sharedSecretRef: {name: metadata-creds, key: token}
        credentials:
          queryString: {name: api_key}
""" % url, ECHO_ALLOW)
    p, out, _ = run_eval(tmp, ac, headers={"x-user": "carol"})
    seen = svc.last()["request"] or {}
    check(out is not None and out["allowed"] and seen.get("method") == "PUT" and
          seen.get("json") == {"user": "carol", "groups": ["a", "b"]} and
          seen.get("args") == {"x": "1", "api_key": "shared-s3cret"},
          "PUT JSON bodyParameters; secret in the query string", (seen, p.stdout))

    # PATCH with a raw body from a selector, cookie credentials; DELETE.
    ac = authconfig("""\
    echo:
      http:
        url: "%s/raw"
        method: PATCH
        body: {selector: request.body}
        headers:
          Content-Type: {value: application/evil}
        sharedSecretRef: {name: metadata-creds, key: token}
        credentials:
          cookie: {name: session}
""" % url, ECHO_ALLOW)
    p, out, _ = run_eval(tmp, ac, method="POST", body='{"k":"v"}')
    seen = svc.last()["request"] or {}
    check(out is not None and out["allowed"] and seen.get("method") == "PATCH" and
          seen.get("body") == '{"k":"v"}' and
          seen["headers"].get("content-type") == "application/x-www-form-urlencoded" and
          seen["headers"].get("cookie") == "session=shared-s3cret",
          "PATCH raw body from a selector; Content-Type from contentType; cookie credential",
          (seen, p.stdout))
    ac = authconfig("""\
    echo:
      http:
        url: "%s/gone"
        method: DELETE
""" % url, ECHO_ALLOW)
    p, out, _ = run_eval(tmp, ac)
    seen = svc.last()["request"] or {}
    check(out is not None and out["allowed"] and seen.get("method") == "DELETE" and
          "authorization" not in seen["headers"],
          "DELETE, and no credential without a secret", (seen, p.stdout))

    # A placeholder cannot smuggle a header or a second request line.
    ac = authconfig("""\
    echo:
      http:
        url: "%s/h"
        headers:
          X-User: {selector: request.headers.x-user}
""" % url, ECHO_ALLOW)
    svc.reset()
    p, out, _ = run_eval(tmp, ac, headers={"x-user": "a\r\nx-admin: 1"})
    check(out is not None and not out["allowed"] and svc.counters()["requests"] == 0 and
          "line break" in trace_of(out, "echo").get("reason", ""),
          "a header value with CR/LF is refused before sending", p.stdout)


def test_answers(svc, tmp):
    url = svc.url
    needs = """\
    needs-metadata:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.path, operator: eq, value: /check}
"""
    ac = authconfig("""\
    echo:
      http:
        url: "%s/check"
        timeout: 400
""" % url, needs)
    p, out, _ = run_eval(tmp, ac)
    check(out is not None and out["allowed"], "JSON answer: allowed", p.stdout)

    # A text answer is kept as a string.
    ac_text = authconfig("""\
    echo:
      http:
        url: "%s/text/x"
""" % url, """\
    is-text:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo, operator: eq, value: plain text answer}
""")
    p, out, _ = run_eval(tmp, ac_text)
    check(out is not None and out["allowed"], "text answer: auth.metadata.NAME is the string",
          p.stdout)

    # Failures publish nothing: the pattern that needs the metadata denies.
    for what, fault, reason in (
            ("5xx", {"status": 503}, "the service answered HTTP 503"),
            ("4xx", {"status": 404}, "the service answered HTTP 404"),
            ("garbage with a 500", {"garbage": True, "status": 500}, "HTTP 500")):
        svc.set_fault(**fault)
        p, out, _ = run_eval(tmp, ac)
        svc.clear_fault()
        t = trace_of(out, "echo")
        check(out is not None and not out["allowed"] and out["http_status"] == 403 and
              t.get("outcome") == "error" and reason in t.get("reason", ""),
              "%s: metadata error denies" % what, p.stdout)
    # Garbage with a 200 is not JSON: it is kept as the text it is.
    svc.set_fault(garbage=True)
    p, out, _ = run_eval(tmp, ac)
    svc.clear_fault()
    check(out is not None and not out["allowed"] and
          trace_of(out, "echo").get("outcome") == "ok" and
          trace_of(out, "needs-metadata").get("outcome") == "deny",
          "garbage 200: kept as a string; a field of it is missing, so the pattern denies",
          p.stdout)

    svc.set_fault(delay_ms=3000)
    p, out, took = run_eval(tmp, ac)
    svc.clear_fault()
    t = trace_of(out, "echo")
    check(out is not None and not out["allowed"] and t.get("outcome") == "error" and
          took < 2.5, "slow service past timeout 400 ms: error, denied in %.2fs" % took,
          p.stdout)

    closed = free_port()
    ac_refused = authconfig("""\
    echo:
      http:
        url: "http://127.0.0.1:%d/x"
""" % closed, needs)
    p, out, _ = run_eval(tmp, ac_refused)
    check(out is not None and not out["allowed"] and out["http_status"] == 403 and
          trace_of(out, "echo").get("outcome") == "error" and
          out["reason"].startswith("http metadata: "),
          "connection refused: error, denied", p.stdout)

    # Even without an authorization that needs it, a failed metadata denies
    # (Authorino would leave it out and go on).
    svc.set_fault(status=503)
    p, out, _ = run_eval(tmp, authconfig("""\
    echo:
      http:
        url: "%s/check"
""" % url, "", """\
        x-meta:
          plain: {selector: auth.metadata.echo.path}
"""))
    svc.clear_fault()
    check(out is not None and not out["allowed"] and out["http_status"] == 403 and
          out["reason"] == "http metadata: the service answered HTTP 503" and
          "x-meta" not in out["headers"],
          "failed metadata without a dependent rule: denied, 403 with the reason", p.stdout)


def test_url_expression(svc, tmp):
    # urlExpression (CEL), as the external-metadata guide writes it.
    p, out, _ = run_eval(tmp, authconfig("""\
    geo:
      http:
        urlExpression: |
          '%s/json/' + request.headers['x-forwarded-for'].split(',')[0] + '?fields=countryCode'
        headers:
          "Accept":
            expression: '"application/json"'
""" % svc.url, "", """\
        x-country:
          plain: {selector: auth.metadata.geo.countryCode}
"""), headers={"x-forwarded-for": "79.123.45.67, 10.0.0.1"})
    check(out is not None and out["allowed"] and
          out["headers"].get("x-country") == "GB",
          "urlExpression: the URL built by CEL is the one called", p.stdout + p.stderr)
    p, out, _ = run_eval(tmp, authconfig("""\
    geo:
      http:
        urlExpression: "'%s/json/' + request.headers['x-missing']"
""" % svc.url, "", ""))
    check(out is not None and not out["allowed"],
          "urlExpression that cannot be evaluated: denied", p.stdout + p.stderr)
    p = run_check(tmp, authconfig("""\
    geo:
      http:
        urlExpression: "'http://x/' +"
""", ""))
    check(p.returncode == 1 and "spec.metadata.geo.http" in p.stdout + p.stderr and
          "CEL" in p.stdout + p.stderr and "column" in p.stdout + p.stderr,
          "urlExpression that does not compile: a load error naming it",
          (p.returncode, p.stdout, p.stderr))


def test_config_errors(svc, tmp):
    url = svc.url
    cases = (
        ("missing Secret", "sharedSecretRef: {name: nope, key: token}", "Secret default/nope not found"),
        ("missing key", "sharedSecretRef: {name: metadata-creds, key: other}", "has no key other"),
        ("typo", "methd: POST", "methd"),
        ("bad method", "method: TRACE", "method"),
        ("GET with a body", "bodyParameters: {a: {value: 1}}", "has no body"),
        ("url and urlExpression", "urlExpression: \"'http://x'\"", "not both"),
        ("bad header name", "headers: {\"bad name\": {value: x}}", "not a valid header name"),
        ("credentials without a secret", "credentials: {customHeader: {name: X}}", "needs sharedSecretRef"),
        ("oauth2 without clientSecretRef", "oauth2: {tokenUrl: %s/oauth/token, clientId: a}" % url,
         "clientSecretRef"),
    )
    for what, line, needle in cases:
        p = run_check(tmp, authconfig("""\
    echo:
      http:
        url: "%s/x"
        %s
""" % (url, line)))
        check(p.returncode == 1 and needle in p.stdout + p.stderr and
              "spec.metadata.echo.http" in p.stdout + p.stderr,
              "config error (%s) names the path" % what, (p.returncode, p.stdout, p.stderr))
    p = run_check(tmp, authconfig("""\
    echo:
      http:
        url: "%s/x"
        sharedSecretRef: {name: metadata-creds, key: token}
""" % url))
    check(p.returncode == 0 and "shared-s3cret" not in p.stdout + p.stderr,
          "a good config checks clean", (p.returncode, p.stdout, p.stderr))
    p = run_check(tmp, authconfig("""\
    echo:
      http:
        url: "%s/x"
        method: POST
        bodyParameters: {a: {value: 1}}
""" % url).replace("authorino.kuadrant.io/v1beta3", "authorino.kuadrant.io/v1beta2"))
    check(p.returncode == 0, "a v1beta2 AuthConfig's http metadata (same fields) loads",
          (p.returncode, p.stdout, p.stderr))


OAUTH = """\
    echo:
      http:
        url: "%s/protected/data"
        oauth2:
          tokenUrl: %s/oauth/token
          clientId: portcullis
          clientSecretRef: {name: oauth-client, key: secret}
          scopes: [read, write]
          extraParams: {resource: "urn:x y", audience: metadata-api}
      cache:
        key: {selector: request.headers.x-user}
        ttl: 60
"""


def test_oauth2_eval(svc, tmp):
    svc.reset()
    p, out, _ = run_eval(tmp, authconfig(OAUTH % (svc.url, svc.url), """\
    token-ok:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.token_client, operator: eq, value: portcullis}
"""), headers={"x-user": "u1"})
    last = svc.last()["token_request"] or {}
    check(out is not None and out["allowed"] and last.get("scope") == "read write" and
          last.get("extra") == {"audience": "metadata-api", "resource": "urn:x y"} and last.get("basic"),
          "oauth2: client credentials (Basic, scopes, extraParams) get a token the "
          "service accepts", (p.stdout, last))
    check(CLIENT_SECRET not in p.stdout + p.stderr, "oauth2: the client secret is not printed")
    svc.token_settings(status=500)
    p, out, _ = run_eval(tmp, authconfig(OAUTH % (svc.url, svc.url), """\
    token-ok:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.token_client, operator: eq, value: portcullis}
"""), headers={"x-user": "u1"})
    svc.token_settings(status=0)
    check(out is not None and not out["allowed"] and
          "token endpoint answered HTTP 500" in trace_of(out, "echo").get("reason", ""),
          "oauth2: a failing token endpoint is a metadata error", p.stdout)


def grpc_client():
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    import extauthz_client
    return extauthz_client


def headers_of(opts):
    return {o.header.key.lower(): o.header.value for o in opts}


def test_grpc(svc, tmp):
    ec = grpc_client()
    cached = authconfig("""\
    echo:
      http:
        url: "%s/users/{request.headers.x-user}"
        timeout: 3000
      cache:
        key: {selector: request.headers.x-user}
        ttl: 60
""" % svc.url, """\
    user-ok:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.path, operator: matches, value: ^/users/}
""", """\
        x-uuid:
          plain: {selector: auth.metadata.echo.uuid}
""", name="cached")
    oauth = authconfig(OAUTH % (svc.url, svc.url), """\
    token-ok:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.token_client, operator: eq, value: portcullis}
""", name="oauth").replace(HOST, "oauth." + HOST)
    d = os.path.join(tmp, "grpc-acs")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "cached.yaml"), cached)
    write(os.path.join(d, "oauth.yaml"), oauth)
    nocache = authconfig((OAUTH % (svc.url, svc.url)).replace(
        "          extraParams", "          cache: false\n          extraParams").split(
        "      cache:\n")[0], "", name="nocache").replace(HOST, "nocache." + HOST)
    write(os.path.join(d, "nocache.yaml"), nocache)
    srv = Server(tmp, d, name="grpc")
    if not srv.ready():
        srv.stop()
        check(False, "grpc: portcullis serve starts", srv.logtext()[-2000:])
        return
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def req(user, host=HOST):
                return ec.build_check_request(host, "/hello", headers={"x-user": user})
            svc.reset()
            r1 = c.check(req("alice"))
            r2 = c.check(req("alice"))
            u1 = headers_of(r1.ok_response.headers).get("x-uuid")
            u2 = headers_of(r2.ok_response.headers).get("x-uuid")
            check(r1.status.code == 0 and u1 and u1 == u2 and svc.counters()["requests"] == 1,
                  "grpc: cached metadata - second check answered from the cache",
                  (r1, r2, svc.counters()))
            r3 = c.check(req("bob"))
            check(r3.status.code == 0 and
                  headers_of(r3.ok_response.headers).get("x-uuid") not in (None, u1) and
                  svc.counters()["requests"] == 2, "grpc: another key, another call")

            # A failure is not cached: the next request calls again.
            svc.set_fault(status=502, times=1)
            r4 = c.check(req("carol"))
            r5 = c.check(req("carol"))
            check(r4.status.code == 7 and r4.denied_response.status.code == 403 and
                  r5.status.code == 0 and svc.counters()["requests"] == 4,
                  "grpc: 502 denies and is not cached; the retry succeeds",
                  (r4, r5, svc.counters()))
            svc.set_fault(delay_ms=5000, times=1)
            t0 = time.monotonic()
            r6 = c.check(req("dave"))
            took = time.monotonic() - t0
            check(r6.status.code == 7 and took < 4.5,
                  "grpc: a slow service past the timeout denies (%.2fs)" % took, r6)

            # 1,000 concurrent requests for one uncached key: one upstream call.
            svc.reset()
            svc.set_fault(delay_ms=800, path_prefix="/users/herd")
            futs = [c._check_v3.future(req("herd"), timeout=60) for _ in range(1000)]
            codes = [f.result().status.code for f in futs]
            svc.clear_fault()
            check(codes.count(0) == 1000 and svc.counters()["requests"] == 1,
                  "grpc: 1000 concurrent checks of one uncached key -> 1 upstream call",
                  ({k: codes.count(k) for k in set(codes)}, svc.counters()))

            # OAuth2: one token for every request and key until it expires.
            svc.reset()
            rs = [c.check(req("o%d" % i, "oauth." + HOST)) for i in range(5)]
            check(all(r.status.code == 0 for r in rs) and svc.counters()["token_requests"] == 1
                  and svc.counters()["requests"] == 5,
                  "grpc: oauth2 token fetched once, shared by 5 requests", svc.counters())
            svc.token_settings(expires_in=11)      # renewed 10 s early: lives 1 s
            svc.control("revoke", {})
            r = c.check(req("o-revoked", "oauth." + HOST))
            check(r.status.code == 7, "grpc: a revoked token is refused by the service (401)", r)
            time.sleep(0.2)
            r = c.check(req("o-new", "oauth." + HOST))
            check(r.status.code == 7 and svc.counters()["token_requests"] == 1,
                  "grpc: the cached token is kept until it expires", svc.counters())
            svc.reset()
            rs = [c.check(req("n", "nocache." + HOST)) for i in range(3)]
            check(all(r.status.code == 0 for r in rs) and svc.counters()["token_requests"] == 3,
                  "grpc: oauth2 cache: false fetches a token per call", svc.counters())
    finally:
        srv.stop()
    log = srv.logtext()
    check(CLIENT_SECRET not in log and "shared-s3cret" not in log,
          "grpc: no secret in the server log")


def test_token_expiry(svc, tmp):
    """Tokens are renewed shortly before expires_in; concurrent misses
    share one token request."""
    ec = grpc_client()
    svc.reset()
    svc.token_settings(expires_in=11)
    srv = Server(tmp, authconfig_text=authconfig(OAUTH % (svc.url, svc.url)), name="expiry")
    if not srv.ready():
        srv.stop()
        check(False, "expiry: portcullis serve starts", srv.logtext()[-2000:])
        return
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            svc.set_fault(delay_ms=500, path_prefix="/oauth/token")
            futs = [c._check_v3.future(ec.build_check_request(HOST, "/", headers={
                "x-user": "e%d" % i}), timeout=30) for i in range(50)]
            codes = [f.result().status.code for f in futs]
            svc.clear_fault()
            check(codes.count(0) == 50 and svc.counters()["token_requests"] == 1,
                  "expiry: 50 concurrent checks with distinct keys -> 1 token request",
                  ({k: codes.count(k) for k in set(codes)}, svc.counters()))
            time.sleep(1.3)
            r = c.check(ec.build_check_request(HOST, "/", headers={"x-user": "late"}))
            check(r.status.code == 0 and svc.counters()["token_requests"] == 2,
                  "expiry: a token past expires_in - 10 s is fetched again", svc.counters())
    finally:
        srv.stop()
    svc.token_settings(expires_in=3600)


def test_guides(svc, tmp):
    # Authorino's guides, unchanged: what needs CEL or OPA is refused with
    # a message naming it.
    for guide, needles in (("external-metadata.yaml", ["\"opa\""]),
                           ("caching.yaml", ["\"opa\""])):
        p = subprocess.run([PC_BIN, "check", os.path.join(GUIDES, guide)] + plugin_args(),
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        check(p.returncode == 1 and all(n in p.stdout + p.stderr for n in needles),
              "guide %s as printed: refused only for CEL/OPA" % guide, p.stdout + p.stderr)

    # The external-metadata guide with selectors: geofence by country.
    geo = authconfig("""\
    geo:
      http:
        url: 'http://127.0.0.1:%d/json/{request.headers.x-forwarded-for.@extract:{"sep":","}}?fields=countryCode'
        headers:
          Accept: {value: application/json}
""" % svc.port, """\
    geofence:
      patternMatching:
        patterns:
        - {selector: request.method, operator: eq, value: GET}
        - any:
          - all:
            - {selector: request.url_path, operator: matches, value: ^/gb/}
            - {selector: auth.metadata.geo.countryCode, operator: eq, value: GB}
          - all:
            - {selector: request.url_path, operator: matches, value: ^/it/}
            - {selector: auth.metadata.geo.countryCode, operator: eq, value: IT}
""")
    for ip, path, allowed in (("79.123.45.67", "/gb/hello", True),
                              ("79.123.45.67", "/it/hello", False),
                              ("109.112.34.56", "/gb/hello", False),
                              ("109.112.34.56, 10.0.0.1", "/it/hello", True)):
        p, out, _ = run_eval(tmp, geo, path=path, headers={"x-forwarded-for": ip})
        check(out is not None and out["allowed"] == allowed,
              "external-metadata guide (selectors): %s from %s -> %s" % (
                  path, ip, "200" if allowed else "403"), p.stdout)

    # The caching guide with the OPA part dropped: same uuid within the TTL
    # for one path, another for another path.
    ec = grpc_client()
    cache_ac = authconfig("""\
    cached-metadata:
      http:
        url: "%s/metadata/{context.request.http.path}"
      cache:
        key: {selector: context.request.http.path}
        ttl: 60
""" % svc.url, "", """\
        x-authz-data:
          json:
            properties:
              cached-metadata: {selector: auth.metadata.cached-metadata.uuid}
""")
    srv = Server(tmp, authconfig_text=cache_ac, name="caching")
    if not srv.ready():
        srv.stop()
        check(False, "caching guide: serve starts", srv.logtext()[-2000:])
        return
    try:
        with ec.Client(srv.grpc, timeout=30) as c:
            def uuid_for(path):
                r = c.check(ec.build_check_request(HOST, path))
                return json.loads(headers_of(r.ok_response.headers).get(
                    "x-authz-data", "{}")).get("cached-metadata")
            a, b, a2 = uuid_for("/hello"), uuid_for("/goodbye"), uuid_for("/hello")
            check(a and b and a != b and a == a2,
                  "caching guide (selectors): same cache id for /hello, another for /goodbye",
                  (a, b, a2))
    finally:
        srv.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-http-metadata-")
    with MetadataService(clients={CLIENT_ID: CLIENT_SECRET}) as svc:
        for t in (test_requests, test_answers, test_url_expression, test_config_errors,
                  test_oauth2_eval,
                  test_grpc, test_token_expiry, test_guides):
            with checks.guard(t.__name__):
                svc.reset()
                t(svc, tmp)
    __import__("shutil").rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
