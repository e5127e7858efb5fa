#!/usr/bin/python3
"""AdmissionReview on the raw HTTP /check endpoint: `portcullis serve`,
called with http.client (HTTP/1.1) and curl (HTTP/2 prior knowledge), the
way the Kubernetes API server calls a validating webhook. A POSTed
admission.k8s.io/v1 AdmissionReview is authorized with the review as
request.body and answered with an AdmissionReview (response.uid, allowed,
status.code/message), always HTTP 200. Covers the validating-webhook
guide's AuthConfig (its OPA rules need the OPA plugin; the `when`, the plain
identity from request.userInfo and the host are tested with pattern rules in
their place), denials of each kind, and bodies that are not reviews."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       plugin_args, started)

GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides", "validating-webhook.yaml")
HOST = "authorino-authorino-authorization.authorino.svc"

checks = Checks(limit=None)
check = checks.check


def review(obj, uid="705ab4f5-6393-11e8-b7cc-42010a800002", user=None, op="CREATE",
           api="admission.k8s.io/v1"):
    """An AdmissionReview as the API server sends it for an AuthConfig."""
    req = {"uid": uid,
           "kind": {"group": "authorino.kuadrant.io", "version": "v1beta3",
                    "kind": "AuthConfig"},
           "resource": {"group": "authorino.kuadrant.io", "version": "v1beta3",
                        "resource": "authconfigs"},
           "requestKind": {"group": "authorino.kuadrant.io", "version": "v1beta3",
                           "kind": "AuthConfig"},
           "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
           "operation": op, "object": obj, "oldObject": None, "dryRun": False,
           "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}
    if user is not False:
        req["userInfo"] = user or {"username": "kubernetes-admin",
                                   "groups": ["system:masters", "system:authenticated"]}
    return {"kind": "AdmissionReview", "apiVersion": api, "request": req}


def authconfig(name, ns, spec):
    return {"apiVersion": "authorino.kuadrant.io/v1beta3", "kind": "AuthConfig",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


KEYCLOAK = {"hosts": ["myapp.io"], "authentication": {"keycloak": {"jwt": {
    "issuerUrl": "http://keycloak.keycloak.svc.cluster.local:8080/realms/kuadrant"}}}}
NO_AUTHN = {"hosts": ["myapp.io"]}
ANONYMOUS = {"hosts": ["myapp.io"], "authentication": {"anonymous-access": {"anonymous": {}}}}


def post(srv, body, host=HOST, method="POST", path="/check"):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        c.request(method, path, body=data,
                  headers={"Host": host, "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        c.close()


def answer(srv, body, **kw):
    st, ctype, raw = post(srv, body, **kw)
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    return st, ctype, doc, raw


def pattern_variant():
    """The guide's AuthConfig with its OPA rules replaced by pattern rules
    that express two of them (an AuthConfig needs authentication, and no
    anonymous access) over the same request.body."""
    text = open(GUIDE).read()
    head, _, _ = text.partition("  authorization:\n")
    return head + """\
  authorization:
    "has-authentication":
      patternMatching:
        patterns:
        - selector: context.request.http.body.@fromstr|request.object.spec.authentication
          operator: neq
          value: ""
    "no-anonymous":
      patternMatching:
        patterns:
        - selector: context.request.http.body.@fromstr|request.object.spec.authentication.@values.#.anonymous|#
          operator: eq
          value: "0"
"""


def test_guide_loads(tmp):
    p = subprocess.run([PC_BIN, "check", GUIDE] + plugin_args(), capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    out = p.stdout + p.stderr
    # Without an OPA plugin the guide's AuthConfig is refused by name.
    have_opa = "opa" in subprocess.run([PC_BIN, "plugins"] + plugin_args(),
                                       capture_output=True, text=True,
                                       env=clean_env(), timeout=60).stdout
    if have_opa:
        check(p.returncode == 0, "guide: the validator AuthConfig loads", out)
    else:
        check(p.returncode == 1 and "opa" in out and "spec.authorization.features" in out,
              "guide: without the OPA plugin the validator is refused, naming opa", out)


def test_reviews(tmp):
    srv = started(Server(tmp, authconfig_text=pattern_variant(), name="admission"), check,
                  "admission")
    if not srv:
        return
    try:
        st, ctype, doc, raw = answer(srv, review(authconfig("myapp-protection", "myapp",
                                                            KEYCLOAK)))
        check(st == 200 and ctype == "application/json" and doc == {
            "kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
            "response": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}},
              "an allowed review: AdmissionReview with the uid, allowed true", raw)

        st, _, doc, raw = answer(srv, review(authconfig("myapp-protection", "myapp", NO_AUTHN),
                                             uid="u-2"))
        resp = (doc or {}).get("response", {})
        check(st == 200 and resp.get("uid") == "u-2" and resp.get("allowed") is False and
              resp.get("status", {}).get("code") == 403 and
              resp.get("status", {}).get("message"),
              "no authentication: denied in the body (HTTP 200, status.code 403, message)",
              raw)

        st, _, doc, raw = answer(srv, review(authconfig("myapp-protection", "myapp",
                                                        ANONYMOUS), uid="u-3"))
        resp = (doc or {}).get("response", {})
        check(resp.get("allowed") is False and resp.get("status", {}).get("code") == 403,
              "anonymous access: denied", raw)

        # The guide's `when`: the validator's own namespace is not checked.
        st, _, doc, raw = answer(srv, review(authconfig("x", "authorino", NO_AUTHN), uid="u-4"))
        check(doc and doc["response"] == {"uid": "u-4", "allowed": True},
              "guide's when: the authorino namespace is skipped (allowed)", raw)

        # The plain identity reads request.userInfo; without it: 401.
        st, _, doc, raw = answer(srv, review(authconfig("m", "myapp", KEYCLOAK), uid="u-5",
                                             user=False))
        resp = (doc or {}).get("response", {})
        check(st == 200 and resp.get("allowed") is False and
              resp.get("status", {}).get("code") == 401,
              "no userInfo: unauthenticated, status.code 401", raw)

        # No AuthConfig for the host: 404 in the review.
        st, _, doc, raw = answer(srv, review(authconfig("m", "myapp", KEYCLOAK), uid="u-6"),
                                 host="other.svc")
        resp = (doc or {}).get("response", {})
        check(st == 200 and resp.get("allowed") is False and
              resp.get("status", {}).get("code") == 404, "unknown host: status.code 404", raw)

        # The uid comes back exactly, JSON-escaped.
        odd = 'a"b\\c/\u00e9<'
        st, _, doc, raw = answer(srv, review(authconfig("m", "myapp", KEYCLOAK), uid=odd))
        check(doc and doc["response"]["uid"] == odd, "an unusual uid is echoed exactly", raw)
        st, _, doc, raw = answer(srv, review(authconfig("m", "myapp", KEYCLOAK), uid=odd),
                                 method="GET")
        check(doc and doc["response"]["uid"] == odd, "a GET with a review is one too "
              "(as Authorino)", raw)

        # Not reviews: the usual /check answer.
        for what, body in (
                ("admission.k8s.io/v1beta1", review(authconfig("m", "myapp", NO_AUTHN),
                                                    api="admission.k8s.io/v1beta1")),
                ("no request", {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}),
                ("truncated JSON", json.dumps(review(authconfig("m", "myapp", NO_AUTHN)))
                 .encode()[:-5]),
                ("trailing garbage", json.dumps(review(authconfig("m", "myapp", NO_AUTHN)))
                 .encode() + b"}x")):
            st, ctype, raw = post(srv, body)
            check(st != 200 and b'"AdmissionReview"' not in raw[:40],
                  "%s: answered as a plain /check (HTTP %d)" % (what, st), raw[:200])
        # Envoy's http_service mode never takes the admission form.
        st, _, raw = post(srv, review(authconfig("m", "myapp", KEYCLOAK)), path="/other")
        check(b"AdmissionReview" not in raw, "only /check answers with a review", raw[:200])

        # HTTP/2 (prior knowledge), as an API server may speak to a webhook.
        curl = shutil.which("curl")
        if curl:
            p = subprocess.run(
                [curl, "-s", "--http2-prior-knowledge", "-H", "Host: " + HOST,
                 "-H", "Content-Type: application/json", "--data-binary",
                 json.dumps(review(authconfig("m", "myapp", NO_AUTHN), uid="h2")),
                 "-w", "\n%{http_code} %{http_version}",
                 "http://127.0.0.1:%d/check" % srv.http_port],
                capture_output=True, text=True, timeout=30)
            body, _, tail = p.stdout.rpartition("\n")
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            check(tail == "200 2" and doc and doc["response"]["uid"] == "h2" and
                  doc["response"]["allowed"] is False, "HTTP/2: the same review answer",
                  p.stdout + p.stderr)
        else:
            check(False, "curl is installed (scripts/install-deps.sh)")
    finally:
        srv.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-admission-")
    for t in (test_guide_loads, test_reviews):
        with checks.guard(t.__name__):
            t(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
