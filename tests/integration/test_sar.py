#!/usr/bin/python3
"""kubernetesSubjectAccessReview end to end: the real binary (`portcullis
eval`, and `portcullis serve` over its gRPC port with python3-grpcio)
against the fake kube-apiserver's SubjectAccessReview
(tests/fixtures/kube_apiserver/kubefake_sar.py), with the AuthConfig of
Authorino's kubernetes-subjectaccessreview guide unchanged and the guide's
ClusterRoles and bindings as the fixture's rules."""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       plugin_args, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

GUIDES = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides")
GUIDE_AC = os.path.join(GUIDES, "kubernetes-subjectaccessreview.yaml")
GUIDE_RBAC = os.path.join(GUIDES, "kubernetes-subjectaccessreview-rbac.yaml")
HOST = "talker-api.127.0.0.1.nip.io"
AUD = "https://kubernetes.default.svc.cluster.local"

checks = Checks(limit=None)
check = checks.check


def rbac_rules(path):
    """The guide's ClusterRoles and ClusterRoleBindings as fixture rules."""
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    roles = {d["metadata"]["name"]: d["rules"] for d in docs if d["kind"] == "ClusterRole"}
    out = []
    for b in (d for d in docs if d["kind"] == "ClusterRoleBinding"):
        users = ["system:serviceaccount:%s:%s" % (s["namespace"], s["name"])
                 for s in b["subjects"] if s["kind"] == "ServiceAccount"]
        for r in roles[b["roleRef"]["name"]]:
            rule = {"name": b["metadata"]["name"], "users": users}
            rule.update({k: r[k] for k in ("verbs", "nonResourceURLs", "apiGroups",
                                           "resources", "resourceNames") if k in r})
            out.append(rule)
    return out


def check_request(path, method="POST", headers=None, host=HOST):
    hdrs = {":authority": host, ":method": method, ":path": path}
    hdrs.update(headers or {})
    return {"attributes": {"request": {"http": {
        "id": "1", "method": method, "headers": hdrs, "path": path, "host": host,
        "scheme": "http", "protocol": "HTTP/1.1"}}}}


def run_eval(tmp, ac, kubeconfig, path, method="POST", headers=None):
    rq = write(os.path.join(tmp, "request.json"),
               json.dumps(check_request(path, method, headers)))
    cmd = [PC_BIN, "eval", "--output", "json", "--explain", "-a", ac, "-r", rq,
           "--kubeconfig", kubeconfig] + plugin_args()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=60)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    return p, out, time.monotonic() - t0


def bearer(tok):
    return {"authorization": "Bearer " + tok}


def authconfig(tmp, name, sar, extra=""):
    text = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: %s, namespace: default}
spec:
  hosts: [%s]
  authentication:
    sa:
      kubernetesTokenReview:
        audiences: ["%s"]
  authorization:
    k8s-rbac:
%s
%s""" % (name, HOST, AUD, sar, extra)
    return write(os.path.join(tmp, name + ".yaml"), text)


def test_guide(api, tmp):
    api.sar_rules(rbac_rules(GUIDE_RBAC))
    kc = api.kubeconfig_path
    t1 = api.token_request("default", "api-consumer-1", [AUD], 600)
    t2 = api.token_request("default", "api-consumer-2", [AUD], 600)
    for who, tok, path, want in (("api-consumer-1", t1, "/hi", True),
                                 ("api-consumer-1", t1, "/say/blah", True),
                                 ("api-consumer-2", t2, "/say/blah", False),
                                 ("api-consumer-2", t2, "/hello", True),
                                 ("api-consumer-2", t2, "/say/something", False)):
        p, out, _ = run_eval(tmp, GUIDE_AC, kc, path, headers=bearer(tok))
        ok = out is not None and out["allowed"] == want
        if ok and not want:
            ok = (out["http_status"] == 403 and
                  out["reason"] == "not authorized: unknown reason" and
                  out["headers"].get("x-ext-auth-reason") == "not authorized: unknown reason")
        check(ok, "guide: %s POST %s -> %s" % (who, path, 200 if want else 403),
              (p.returncode, p.stdout[-1500:], p.stderr[-500:]))
    last = api.sar_state()["last"]
    check(last == {"user": "system:serviceaccount:default:api-consumer-2",
                   "nonResourceAttributes": {"path": "/say/something", "verb": "post"}},
          "guide: the review is non-resource with the path and the lower-cased method", last)
    p, out, _ = run_eval(tmp, GUIDE_AC, kc, "/hi", method="GET", headers=bearer(t1))
    check(out is not None and not out["allowed"], "guide: GET /hi is not bound: 403", p.stdout)


def test_resource_attributes(api, tmp):
    kc = api.kubeconfig_path
    api.sar_rules([
        {"name": "pod-readers", "groups": ["system:serviceaccounts:default"],
         "verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/log"],
         "namespaces": ["default"]},
        {"name": "blocked", "users": ["system:serviceaccount:default:api-consumer-3"],
         "deny": True, "reason": "blocked by policy", "verbs": ["*"], "apiGroups": ["*"],
         "resources": ["*"]},
        {"name": "static", "groups": ["auditors"], "verbs": ["get"], "apiGroups": [""],
         "resources": ["pods"]},
    ])
    ac = authconfig(tmp, "resources", """\
      kubernetesSubjectAccessReview:
        user: {selector: auth.identity.user.username}
        authorizationGroups: {selector: auth.identity.user.groups}
        resourceAttributes:
          namespace: {value: default}
          group: {value: ""}
          resource: {selector: request.headers.x-resource}
          subresource: {selector: request.headers.x-subresource}
          name: {selector: request.headers.x-name}
          verb: {selector: request.method.@case:lower}""")
    t1 = api.token_request("default", "api-consumer-1", [AUD], 600)
    t3 = api.token_request("default", "api-consumer-3", [AUD], 600)
    p, out, _ = run_eval(tmp, ac, kc, "/x", "GET",
                         dict(bearer(t1), **{"x-resource": "pods", "x-name": "p1"}))
    last = api.sar_state()["last"]
    check(out is not None and out["allowed"], "resource: get pods by group is allowed", p.stdout)
    check(last.get("resourceAttributes") == {"namespace": "default", "verb": "get",
                                             "resource": "pods", "name": "p1"} and
          "system:serviceaccounts:default" in last.get("groups", []) and
          last.get("user") == "system:serviceaccount:default:api-consumer-1" and
          "nonResourceAttributes" not in last,
          "resource: attributes resolved, empty ones left out, groups from the identity", last)
    p, out, _ = run_eval(tmp, ac, kc, "/x", "GET",
                         dict(bearer(t1), **{"x-resource": "pods", "x-subresource": "log"}))
    check(out is not None and out["allowed"], "resource: subresource pods/log", p.stdout)
    p, out, _ = run_eval(tmp, ac, kc, "/x", "DELETE",
                         dict(bearer(t1), **{"x-resource": "pods"}))
    check(out is not None and not out["allowed"] and
          out["reason"] == "not authorized: unknown reason", "resource: delete pods: 403",
          p.stdout)
    p, out, _ = run_eval(tmp, ac, kc, "/x", "GET", dict(bearer(t3), **{"x-resource": "pods"}))
    check(out is not None and not out["allowed"] and
          out["reason"] == "not authorized: blocked by policy",
          "resource: an explicit deny carries status.reason", p.stdout)

    # The deprecated static groups, without a user.
    ac_groups = authconfig(tmp, "groups", """\
      kubernetesSubjectAccessReview:
        groups: [auditors]
        resourceAttributes:
          resource: {value: pods}
          verb: {value: get}""")
    p, out, _ = run_eval(tmp, ac_groups, kc, "/x", "GET", bearer(t1))
    last = api.sar_state()["last"]
    check(out is not None and out["allowed"] and last.get("groups") == ["auditors"] and
          "user" not in last, "groups (deprecated): static list, no user", (p.stdout, last))

    # authorizationGroups that is not a list of strings fails closed.
    ac_bad = authconfig(tmp, "badgroups", """\
      kubernetesSubjectAccessReview:
        user: {selector: auth.identity.user.username}
        authorizationGroups: {selector: auth.identity.user.username}""")
    p, out, _ = run_eval(tmp, ac_bad, kc, "/hello", "POST", bearer(t1))
    check(out is not None and not out["allowed"] and "not a list of strings" in out["reason"],
          "authorizationGroups that is a plain string: 403 with the reason", p.stdout)


def test_failures(api, tmp):
    kc = api.kubeconfig_path
    api.sar_rules(rbac_rules(GUIDE_RBAC))
    t1 = api.token_request("default", "api-consumer-1", [AUD], 600)
    ac = authconfig(tmp, "fail", """\
      kubernetesSubjectAccessReview:
        user: {selector: auth.identity.user.username}
        timeout: 400""")
    for what, fault, reason in (
            ("API 500", {"status": 500}, "SubjectAccessReview failed: HTTP 500 InternalError"),
            ("API 503", {"status": 503}, "SubjectAccessReview failed: HTTP 503"),
            ("garbage", {"garbage": True}, "SubjectAccessReview failed: malformed response"),
            ("connection closed", {"close": True}, "SubjectAccessReview failed: ")):
        api.set_fault("subjectaccessreviews", **fault)
        p, out, took = run_eval(tmp, ac, kc, "/hi", headers=bearer(t1))
        api.clear_faults()
        check(out is not None and not out["allowed"] and out["http_status"] == 403 and
              out["reason"].startswith(reason) and took < 5,
              "%s: 403, fails closed with the reason" % what, p.stdout)
    api.set_fault("subjectaccessreviews", delay_ms=3000)
    p, out, took = run_eval(tmp, ac, kc, "/hi", headers=bearer(t1))
    api.clear_faults()
    check(out is not None and not out["allowed"] and
          out["reason"].startswith("SubjectAccessReview failed: ") and took < 2.5,
          "slow API past timeout 400 ms: 403 in %.2fs" % took, p.stdout)

    # Both user and groups empty: the API refuses (422), the request is denied.
    ac_empty = authconfig(tmp, "empty", """\
      kubernetesSubjectAccessReview:
        user: {selector: request.headers.x-nobody}""")
    p, out, _ = run_eval(tmp, ac_empty, kc, "/hi", headers=bearer(t1))
    check(out is not None and not out["allowed"] and
          out["reason"] == "SubjectAccessReview failed: HTTP 422 Invalid",
          "user that resolves to nothing: the API's 422 denies", p.stdout)


def test_fixture_and_rights(api, tmp):
    """The fixture answers like the API server, and a caller without the
    right to create SubjectAccessReviews is denied with the API's 403."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=api.ca_file)

    def call(method, body, token):
        c = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=10)
        c.request(method, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                  json.dumps(body) if body is not None else None,
                  {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = c.getresponse()
        out = json.loads(r.read() or b"{}")
        c.close()
        return r.status, out
    st, out = call("GET", None, api.admin_token)
    check(st == 405, "fixture: GET subjectaccessreviews is 405", (st, out))
    st, out = call("POST", {"spec": {"user": "u", "resourceAttributes": {},
                                     "nonResourceAttributes": {}}}, api.admin_token)
    check(st == 422 and "cannot be specified in combination" in out.get("message", ""),
          "fixture: both attribute kinds is 422 Invalid", (st, out))
    noright = api.caller_token_without_rights()
    st, out = call("POST", {"spec": {"user": "u", "nonResourceAttributes": {"path": "/"}}},
                   noright)
    check(st == 403 and "cannot create resource \"subjectaccessreviews\"" in
          out.get("message", ""), "fixture: a caller without the right gets 403", (st, out))

    k = yaml.safe_load(open(api.kubeconfig_path))
    for u in k["users"]:
        if u["name"] == "portcullis":
            u["user"] = {"token": noright}
    kc = write(os.path.join(tmp, "kubeconfig-norights"), yaml.safe_dump(k))
    ac = write(os.path.join(tmp, "anon-sar.yaml"), """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: anon-sar, namespace: default}
spec:
  hosts: [%s]
  authorization:
    k8s-rbac:
      kubernetesSubjectAccessReview:
        user: {value: someone}
""" % HOST)
    p, out, _ = run_eval(tmp, ac, kc, "/hi")
    check(out is not None and not out["allowed"] and out["http_status"] == 403 and
          out["reason"] == "SubjectAccessReview failed: HTTP 403 Forbidden",
          "caller without create subjectaccessreviews: 403 Forbidden", p.stdout)
    check(noright not in p.stdout + p.stderr, "caller token not printed")


def test_config_errors(api, tmp):
    for what, sar, needle in (
            ("no subject", "resourceAttributes: {verb: {value: get}}",
             "give user, authorizationGroups or groups"),
            ("empty groups", "groups: []", "groups must not be empty"),
            ("typo", "usr: {value: x}", "usr"),
            ("attribute typo", "user: {value: x}\n        resourceAttributes: {verbs: {value: get}}",
             "verbs"),
            ("CEL", "user: {expression: 'auth.identity.user.username +'}",
             "user.expression: CEL: unexpected end of expression at column 30")):
        ac = authconfig(tmp, "cfg", "      kubernetesSubjectAccessReview:\n        " + sar)
        p = subprocess.run([PC_BIN, "check", ac] + plugin_args(), capture_output=True,
                           text=True, env=clean_env(), timeout=60)
        check(p.returncode == 1 and needle in p.stdout + p.stderr and
              "spec.authorization.k8s-rbac" in p.stdout + p.stderr,
              "config error (%s) names the path" % what, (p.stdout, p.stderr))


def grpc_client():
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    import extauthz_client
    return extauthz_client


def test_grpc(api, tmp):
    ec = grpc_client()
    api.sar_rules(rbac_rules(GUIDE_RBAC))
    ac = authconfig(tmp, "grpc", """\
      kubernetesSubjectAccessReview:
        user: {selector: auth.identity.user.username}
        timeout: 4000
      cache:
        key: {selector: "{auth.identity.user.username} {request.method} {request.path}"}
        ttl: 60""")
    # One worker: a cached verdict must not wait behind a blocked worker.
    srv = Server(tmp, ac, extra=["--kubeconfig", api.kubeconfig_path, "--workers", "1"],
                 name="grpc")
    if not srv.ready():
        srv.stop()
        check(False, "grpc: portcullis serve starts", srv.logtext()[-2000:])
        return
    try:
        t1 = api.token_request("default", "api-consumer-1", [AUD], 600)
        t2 = api.token_request("default", "api-consumer-2", [AUD], 600)
        with ec.Client(srv.grpc, timeout=30) as c:
            def req(tok, path):
                return ec.build_check_request(HOST, path, method="POST", headers=bearer(tok))
            r = c.check(req(t1, "/say/blah"))
            check(r.status.code == 0, "grpc: api-consumer-1 POST /say/blah allowed", r)
            r = c.check(req(t2, "/say/blah"))
            h = {o.header.key.lower(): o.header.value for o in r.denied_response.headers}
            check(r.status.code == 7 and r.denied_response.status.code == 403 and
                  h.get("x-ext-auth-reason") == "not authorized: unknown reason",
                  "grpc: api-consumer-2 POST /say/blah denied with Authorino's reason", r)
            n = api.sar_state()["count"]
            r = c.check(req(t1, "/say/blah"))
            check(r.status.code == 0 and api.sar_state()["count"] == n,
                  "grpc: a cached grant sends no SubjectAccessReview", api.sar_state()["count"])
            r = c.check(req(t2, "/say/blah"))
            check(r.status.code == 7 and api.sar_state()["count"] == n + 1,
                  "grpc: a denial is not cached (asked again)", api.sar_state()["count"])

            # The only worker waits on a slow review; a cached grant is
            # answered meanwhile, on the I/O thread.
            api.set_fault("subjectaccessreviews", delay_ms=2500)
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
                slow = ex.submit(c.check, req(t1, "/hi"))
                time.sleep(0.4)
                t0 = time.monotonic()
                r = c.check(req(t1, "/say/blah"))
                took = time.monotonic() - t0
                slow_r = slow.result()
            api.clear_faults()
            check(r.status.code == 0 and took < 1.0 and slow_r.status.code == 0,
                  "grpc: a cache hit answers in %.3fs while the worker is blocked" % took,
                  (r, slow_r))
            api.set_fault("subjectaccessreviews", status=500, times=1)
            r = c.check(req(t1, "/hello"))
            api.clear_faults()
            check(r.status.code == 7 and r.denied_response.status.code == 403,
                  "grpc: an API error denies", r)
            r = c.check(req(t1, "/hello"))
            check(r.status.code == 0, "grpc: the error was not cached", r)
    finally:
        srv.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-sar-")
    with FakeApiServer(quiet=True) as api:
        for t in (test_guide, test_resource_attributes, test_failures,
                  test_fixture_and_rights, test_config_errors, test_grpc):
            with checks.guard(t.__name__):
                api.clear_faults()
                t(api, tmp)
    __import__("shutil").rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
