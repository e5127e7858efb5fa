#!/usr/bin/python3
"""The fake kube-apiserver fixture (tests/fixtures/kube_apiserver) against
the contract in reference/kubernetes-tokenreview.md: started as a
subprocess and spoken to with http.client over TLS verified against the CA
it generated. Response bodies are compared byte for byte where the
reference fixes the shape."""

import base64
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import yaml
from cryptography.hazmat.primitives import serialization

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import Checks  # noqa: E402

FIXTURE_DIR = os.path.normpath(os.path.join(HERE, "..", "fixtures", "kube_apiserver"))
FIXTURE = os.path.join(FIXTURE_DIR, "fake_apiserver.py")
ISSUER = "https://kubernetes.default.svc.cluster.local"
REVIEW = "/apis/authentication.k8s.io/v1/tokenreviews"
AUD = "https://my-svc.example"

# Tokens in a FAIL detail are redacted by Checks.
checks = Checks(limit=None)
check = checks.check


def go(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, _ = token.split(".")
    return b64d(h), b64d(p)


class Client:
    """One keep-alive connection."""

    def __init__(self, port, ctx, cert=None):
        if cert:
            ctx = ssl.create_default_context(cafile=ctx.ca)
            ctx.load_cert_chain(*cert)
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)

    def req(self, method, path, body=None, token=None, ctype="application/json"):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, resp, raw

    def close(self):
        self.conn.close()


def review_body(token, audiences=None):
    spec = {"token": token}
    if audiences is not None:
        spec["audiences"] = audiences
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}


def failed_review(token, error, audiences=None):
    spec = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    return go({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
               "spec": spec, "status": {"user": {}, "error": error}})


def start_fixture(state_dir):
    proc = subprocess.Popen(
        ["/usr/bin/python3", FIXTURE, "--port", "0", "--state-dir", state_dir, "--quiet",
         "--exit-with-parent"], stdout=subprocess.DEVNULL)
    port_file = os.path.join(state_dir, "port")
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None:
            raise RuntimeError("fixture exited with %d" % proc.returncode)
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fixture did not write its port file")
        time.sleep(0.02)
    with open(port_file) as f:
        return proc, int(f.read())


def test_files(d, port, kid_from_jwks):
    with open(os.path.join(d, "kubeconfig")) as f:
        kc = yaml.safe_load(f)
    with open(os.path.join(d, "caller-token")) as f:
        caller = f.read().strip()
    cluster = kc["clusters"][0]["cluster"]
    check(cluster["server"] == "https://127.0.0.1:%d" % port, "kubeconfig server is the bound port")
    check(os.path.samefile(cluster["certificate-authority"], os.path.join(d, "ca.crt")),
          "kubeconfig certificate-authority is DIR/ca.crt")
    ctx_name = kc["current-context"]
    user_name = [c for c in kc["contexts"] if c["name"] == ctx_name][0]["context"]["user"]
    user = [u for u in kc["users"] if u["name"] == user_name][0]["user"]
    check(user.get("token") == caller, "kubeconfig current user carries the caller token")
    for name in ("ca.key", "server.crt", "server.key", "client.crt", "client.key", "admin-token",
                 "sa.key", "serviceaccount/token", "serviceaccount/namespace"):
        check(os.path.exists(os.path.join(d, name)), "state dir has " + name)
    with open(os.path.join(d, "sa.pub"), "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    check(kid == kid_from_jwks, "JWKS kid is base64url(SHA-256(DER SPKI)) of sa.pub",
          "%s != %s" % (kid, kid_from_jwks))
    check(pub.key_size == 2048, "service-account key is RSA 2048")
    return kid, caller


def run_subprocess_tests(d):
    proc, port = start_fixture(d)
    try:
        ca = os.path.join(d, "ca.crt")
        ctx = ssl.create_default_context(cafile=ca)
        ctx.ca = ca
        with open(os.path.join(d, "admin-token")) as f:
            admin = f.read().strip()
        c = Client(port, ctx)

        # TLS: the generated CA is needed, and it verifies the server for 127.0.0.1.
        try:
            bare = http.client.HTTPSConnection("127.0.0.1", port,
                                               context=ssl.create_default_context(), timeout=5)
            bare.request("GET", "/healthz")
            bare.getresponse()
            check(False, "server certificate is not trusted without the fixture CA")
        except ssl.SSLCertVerificationError:
            check(True, "server certificate is not trusted without the fixture CA")

        # Discovery and health.
        code, resp, raw = c.req("GET", "/healthz")
        check(code == 200 and raw == b"ok", "anonymous GET /healthz is 200 ok", raw)
        code, resp, raw = c.req("GET", "/version")
        check(code == 200 and json.loads(raw)["gitVersion"].startswith("v1."), "GET /version")
        code, _, raw = c.req("GET", "/openid/v1/jwks")
        check(code == 403 and json.loads(raw)["message"] ==
              'forbidden: User "system:anonymous" cannot get path "/openid/v1/jwks"',
              "anonymous JWKS is forbidden like the default RBAC", raw)
        code, resp, raw = c.req("GET", "/openid/v1/jwks", token=admin)
        jwks = json.loads(raw)
        check(code == 200 and resp.getheader("Content-Type") == "application/jwk-set+json"
              and resp.getheader("Cache-Control") == "public, max-age=3600",
              "JWKS content type and cache control")
        key = jwks["keys"][0]
        check(list(key) == ["use", "kty", "kid", "alg", "n", "e"] and key["e"] == "AQAB",
              "JWK field order use,kty,kid,alg,n,e", key)
        code, resp, raw = c.req("GET", "/.well-known/openid-configuration", token=admin)
        check(raw == json.dumps({
            "issuer": ISSUER, "jwks_uri": "https://127.0.0.1:%d/openid/v1/jwks" % port,
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]}, separators=(",", ":")).encode(),
            "openid-configuration document", raw)

        kid, caller = test_files(d, port, key["kid"])

        # TokenRequest.
        sock_before = c.conn.sock
        code, resp, raw = c.req("POST", "/api/v1/namespaces/ns1/serviceaccounts/sa1/token",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                 "spec": {"audiences": [AUD]}}, token=admin)
        check(code == 201, "TokenRequest answers 201", raw)
        check(int(resp.getheader("Content-Length")) == len(raw), "Content-Length matches the body")
        tr = json.loads(raw)
        check(list(tr) == ["kind", "apiVersion", "metadata", "spec", "status"]
              and tr["kind"] == "TokenRequest", "TokenRequest response shape")
        check(tr["spec"] == {"audiences": [AUD], "expirationSeconds": 3600, "boundObjectRef": None}
              and '"boundObjectRef":null' in raw.decode(),
              "TokenRequest spec: defaults 3600, boundObjectRef null", tr["spec"])
        token = tr["status"]["token"]
        sa_uid = tr["metadata"]["uid"]
        header, payload = jwt_parts(token)
        check(header == ('{"alg":"RS256","kid":"%s"}' % kid).encode(),
              "JWT header is exactly alg RS256 + kid, no typ", header)
        claims = json.loads(payload)
        check(list(claims) == sorted(claims) and
              list(claims) == ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"],
              "JWT claim keys sorted and complete", list(claims))
        check(claims["aud"] == [AUD] and claims["iss"] == ISSUER
              and claims["sub"] == "system:serviceaccount:ns1:sa1"
              and claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
              and claims["kubernetes.io"] == {"namespace": "ns1", "serviceaccount": {
                  "name": "sa1", "uid": sa_uid}},
              "JWT claims follow the TokenRequest", claims)
        check(c.conn.sock is sock_before, "HTTP/1.1 keep-alive: same connection reused")

        code, _, raw = c.req("POST", "/api/v1/namespaces/ns1/serviceaccounts/sa1/token",
                             {"spec": {"expirationSeconds": 60}}, token=admin)
        check(code == 422 and raw == go({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
                       'Invalid value: 60: may not specify a duration less than 10 minutes',
            "reason": "Invalid",
            "details": {"group": "authentication.k8s.io", "kind": "TokenRequest", "causes": [{
                "reason": "FieldValueInvalid",
                "message": "Invalid value: 60: may not specify a duration less than 10 minutes",
                "field": "spec.expirationSeconds"}]},
            "code": 422}), "expirationSeconds 60 gives the 422 Status", raw)

        # TokenReview: authenticated with the right audience.
        code, resp, raw = c.req("POST", REVIEW, review_body(token, ["other", AUD]), token=caller)
        expected = go({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
            "spec": {"token": token, "audiences": ["other", AUD]},
            "status": {"authenticated": True, "user": {
                "username": "system:serviceaccount:ns1:sa1", "uid": sa_uid,
                "groups": ["system:serviceaccounts", "system:serviceaccounts:ns1",
                           "system:authenticated"],
                "extra": {"authentication.kubernetes.io/credential-id": ["JTI=" + claims["jti"]]}},
                "audiences": [AUD]}})
        check(code == 201 and raw == expected, "TokenReview authenticated: exact body",
              "%s\n       %s" % (raw, expected))
        check(int(resp.getheader("Content-Length")) == len(raw), "TokenReview Content-Length")

        # Failures.
        code, _, raw = c.req("POST", REVIEW, review_body(token, ["y", "z"]), token=caller)
        check(code == 201 and raw == failed_review(
            token, '[invalid bearer token, token audiences ["%s"] is invalid for the target '
                   'audiences ["y" "z"]]' % AUD, ["y", "z"]), "wrong audience error string", raw)
        code, _, raw = c.req("POST", REVIEW, review_body(token), token=caller)
        check(code == 201 and raw == failed_review(
            token, '[invalid bearer token, token audiences ["%s"] is invalid for the target '
                   'audiences ["%s"]]' % (AUD, ISSUER)),
              "empty spec.audiences means the API audiences", raw)

        def mint(**opts):
            code, _, raw = c.req("POST", "/_fixture/mint", opts, token=admin)
            assert code == 200, raw
            return json.loads(raw)["token"]

        cases = [
            ("expired", {"expired": True}, "[invalid bearer token, service account token has expired]"),
            ("bad signature", {"signing": "wrong-key"},
             "[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]"),
            ("unknown kid", {"signing": "unknown-kid"},
             "[invalid bearer token, invalid signature, no keys found]"),
            ("nbf in the future", {"nbf_offset": 600},
             "[invalid bearer token, service account token is not valid yet]"),
            ("iat in the future", {"iat_offset": 600, "nbf_offset": 0},
             "[invalid bearer token, service account token is issued in the future]"),
            ("unknown issuer", {"issuer": "https://elsewhere.example"}, "invalid bearer token"),
        ]
        for name, opts, err in cases:
            t = mint(audiences=[AUD], **opts)
            code, _, raw = c.req("POST", REVIEW, review_body(t, [AUD]), token=caller)
            check(code == 201 and raw == failed_review(t, err, [AUD]), name + ": " + err, raw)
        t = mint(audiences=[AUD], exp_offset=-30)
        code, _, raw = c.req("POST", REVIEW, review_body(t, [AUD]), token=caller)
        check(json.loads(raw)["status"].get("authenticated") is True,
              "exp 30 s ago is still inside the 60 s leeway", raw)
        code, _, raw = c.req("POST", REVIEW, review_body("not-a-jwt"), token=caller)
        check(code == 201 and raw == failed_review("not-a-jwt", "invalid bearer token"),
              "garbage token: invalid bearer token", raw)
        code, _, raw = c.req("POST", REVIEW, review_body(""), token=caller)
        check(code == 400 and raw == go({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "token is required for TokenReview in authentication",
            "reason": "BadRequest", "code": 400}), "empty token gives the 400 Status", raw)

        # A deleted service account.
        gone = mint(namespace="ns1", name="gone", audiences=[AUD])
        code, _, raw = c.req("POST", "/_fixture/serviceaccounts",
                             {"namespace": "ns1", "name": "gone", "action": "delete"}, token=admin)
        check(code == 200 and json.loads(raw)["deleted"] is True, "control: SA marked deleted")
        code, _, raw = c.req("POST", REVIEW, review_body(gone, [AUD]), token=caller)
        check(raw == failed_review(gone, '[invalid bearer token, serviceaccounts "gone" not found]',
                                   [AUD]), "token of a deleted SA", raw)
        code, _, raw = c.req("POST", "/api/v1/namespaces/ns1/serviceaccounts/gone/token", {},
                             token=admin)
        check(code == 404 and raw == go({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'serviceaccounts "gone" not found', "reason": "NotFound",
            "details": {"name": "gone", "kind": "serviceaccounts"}, "code": 404}),
            "TokenRequest for a deleted SA is 404", raw)

        # Callers.
        code, _, raw = c.req("POST", REVIEW, review_body(token), token="no-such-token")
        check(code == 401 and raw == go({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
            "unknown bearer caller: 401 Status", raw)
        forbidden = ('tokenreviews.authentication.k8s.io is forbidden: User "%s" cannot create '
                     'resource "tokenreviews" in API group "authentication.k8s.io" at the '
                     'cluster scope')

        def forbidden_body(user):
            return go({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": forbidden % user, "reason": "Forbidden",
                       "details": {"group": "authentication.k8s.io", "kind": "tokenreviews"},
                       "code": 403})
        code, _, raw = c.req("POST", REVIEW, review_body(token))
        check(code == 403 and raw == forbidden_body("system:anonymous"),
              "no credentials: 403 as system:anonymous", raw)
        code, _, raw = c.req("POST", "/_fixture/caller-tokens", {"rights": False}, token=admin)
        weak = json.loads(raw)
        code, _, raw = c.req("POST", REVIEW, review_body(token), token=weak["token"])
        check(code == 403 and raw == forbidden_body(weak["username"]),
              "caller without rights: 403 with its username", raw)
        code, _, raw = c.req("POST", "/_fixture/counters/reset", token=caller)
        check(code == 403, "control endpoints need the admin token", raw)
        cc = Client(port, ctx, cert=(os.path.join(d, "client.crt"), os.path.join(d, "client.key")))
        code, _, raw = cc.req("POST", REVIEW, review_body(token, [AUD]))
        check(code == 201 and json.loads(raw)["status"].get("authenticated") is True,
              "client certificate caller (portcullis-client) may review", raw)
        cc.close()

        # Faults and counters.
        code, _, raw = c.req("POST", "/_fixture/counters/reset", token=admin)
        check(code == 200, "counters reset")
        body = review_body(token, [AUD])

        code, _, raw = c.req("POST", "/_fixture/faults", {"target": "tokenreviews",
                                                          "delay_ms": 1000}, token=admin)
        check(code == 200, "fault set: delay", raw)
        slow = {}

        def slow_review():
            sc = Client(port, ctx)
            t0 = time.monotonic()
            slow["code"] = sc.req("POST", REVIEW, body, token=caller)[0]
            slow["elapsed"] = time.monotonic() - t0
            sc.close()
        th = threading.Thread(target=slow_review)
        th.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        code, _, _ = c.req("GET", "/healthz")
        fast = time.monotonic() - t0
        th.join()
        check(slow.get("code") == 201 and slow.get("elapsed", 0) >= 1.0,
              "delay fault holds the review >= 1000 ms", slow)
        check(code == 200 and fast < 0.8, "other requests are not held by the delay", fast)

        code, _, raw = c.req("POST", "/_fixture/faults", {"target": "tokenreviews", "status": 500},
                             token=admin)
        code, _, raw = c.req("POST", REVIEW, body, token=caller)
        check(code == 500 and raw == go({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Internal error occurred: injected fault", "reason": "InternalError",
            "details": {"causes": [{"message": "injected fault"}]}, "code": 500}),
            "500 fault answers an InternalError Status", raw)
        code, _, raw = c.req("POST", "/_fixture/faults", {"target": "tokenreviews", "status": 503,
                                                          "times": 1}, token=admin)
        code, _, raw = c.req("POST", REVIEW, body, token=caller)
        check(code == 503 and json.loads(raw)["reason"] == "ServiceUnavailable",
              "503 fault with times=1", raw)
        code, _, raw = c.req("POST", REVIEW, body, token=caller)
        check(code == 201, "a times=1 fault clears itself", code)

        c.req("POST", "/_fixture/faults", {"target": "tokenreviews", "close": True}, token=admin)
        try:
            dc = Client(port, ctx)
            dc.req("POST", REVIEW, body, token=caller)
            check(False, "close fault drops the connection without an answer")
        except (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError,
                http.client.BadStatusLine) as e:
            check(True, "close fault drops the connection without an answer (%s)" %
                  type(e).__name__)

        c.req("POST", "/_fixture/faults", {"target": "tokenreviews", "garbage": True}, token=admin)
        code, resp, raw = c.req("POST", REVIEW, body, token=caller)
        try:
            json.loads(raw)
            parsed = True
        except ValueError:
            parsed = False
        check(code == 201 and not parsed and int(resp.getheader("Content-Length")) == len(raw),
              "garbage fault: 201 with a non-JSON body of the stated length", raw)

        code, _, raw = c.req("POST", "/_fixture/faults/clear", {}, token=admin)
        check(code == 200 and json.loads(raw) == {}, "faults cleared")
        code, _, raw = c.req("POST", REVIEW, body, token="no-such-token")
        check(code == 401, "401 after clearing faults")
        code, _, raw = c.req("POST", "/api/v1/namespaces/ns2/serviceaccounts/sa2/token",
                             {"spec": {}}, token=admin)
        check(code == 201, "TokenRequest auto-creates any SA", raw)
        code, _, raw = c.req("GET", "/_fixture/counters", token=admin)
        # delay, 500, 503, after-503, close, garbage, 401 = 7 reviews; 1 request.
        check(code == 200 and raw == b'{"tokenreviews":7,"tokenrequests":1}\n',
              "counters count every request received", raw)
        code, _, raw = c.req("POST", "/_fixture/counters/reset", token=admin)
        check(json.loads(raw) == {"tokenreviews": 7, "tokenrequests": 1},
              "counter reset returns the values before the reset", raw)
        code, _, raw = c.req("GET", "/_fixture/counters", token=admin)
        check(json.loads(raw) == {"tokenreviews": 0, "tokenrequests": 0}, "counters are zero")
        c.close()

        # The helper other integration tests use to drive a subprocess fixture.
        sys.path.insert(0, FIXTURE_DIR)
        from fake_apiserver import FixtureClient
        fc = FixtureClient(d)
        t = fc.token_request("ns3", "sa3", audiences=[AUD])
        fc.set_fault("tokenreviews", status=503, times=1)
        rc = Client(port, ctx)
        first = rc.req("POST", REVIEW, review_body(t, [AUD]), token=fc.caller_token)[0]
        second = json.loads(rc.req("POST", REVIEW, review_body(t, [AUD]),
                                   token=fc.caller_token)[2])
        rc.close()
        check(first == 503 and second["status"]["user"]["username"] ==
              "system:serviceaccount:ns3:sa3" and fc.counters() == {"tokenreviews": 2,
                                                                    "tokenrequests": 1},
              "FixtureClient: token_request, set_fault, counters", (first, second))
    finally:
        proc.terminate()
        try:
            rc = proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        check(rc == 0, "fixture exits cleanly on SIGTERM", rc)


def run_library_tests():
    sys.path.insert(0, FIXTURE_DIR)
    from fake_apiserver import ApiError, FakeApiServer
    with FakeApiServer(api_audiences=["api-a", "api-b"]) as api:
        check(os.path.exists(api.kubeconfig_path) and os.path.exists(api.ca_file)
              and api.url == "https://127.0.0.1:%d" % api.port, "library: files and url")
        tok = api.token_request("lib", "sa", audiences=["api-b"])
        out = api.token_review(tok)
        check(out["status"].get("authenticated") is True and out["status"]["audiences"] == ["api-b"]
              and "audiences" not in out["spec"],
              "library: default API audiences intersect in requested order", out["status"])
        tok2 = api.mint("lib", "sa", audiences=["api-b", "api-a"])
        out = api.token_review(tok2, ["api-a", "api-b"])
        check(out["status"]["audiences"] == ["api-a", "api-b"],
              "library: status.audiences follows the requested order", out["status"])
        try:
            api.token_request("lib", "sa", expiration=599)
            check(False, "library: expiration 599 raises ApiError 422")
        except ApiError as e:
            check(e.code == 422, "library: expiration 599 raises ApiError 422")
        api.set_fault("tokenreviews", status=500, times=1)
        ctx = ssl.create_default_context(cafile=api.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=5)
        conn.request("POST", REVIEW, json.dumps(review_body(tok)),
                     {"Authorization": "Bearer " + api.caller_token,
                      "Content-Type": "application/json"})
        code = conn.getresponse().status
        conn.close()
        check(code == 500 and api.counters() == {"tokenreviews": 1, "tokenrequests": 0},
              "library: fault and counters over HTTP", code)
        state_dir = api.state_dir
    check(not os.path.exists(state_dir), "library: stop() removes its temporary state dir")


def main():
    t0 = time.monotonic()
    d = tempfile.mkdtemp(prefix="kube-fixture-test-")
    try:
        # A crash is a failure with its reason, not a traceback only.
        with checks.guard("ran without an unexpected exception"):
            run_subprocess_tests(d)
            run_library_tests()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # Reported, not asserted: wall time on a loaded 2-core machine says
    # little about the fixture (about 1.5 s of CPU in all).
    print("\nfinished in %.1f s" % (time.monotonic() - t0))
    checks.finish()


if __name__ == "__main__":
    main()
