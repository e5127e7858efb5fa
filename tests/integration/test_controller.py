#!/usr/bin/python3
"""Controller mode end to end: `portcullis serve --watch-authconfigs`
against the fake kube-apiserver, driven by the real kubectl. The TokenReview
guide's steps (apply the AuthConfig, wait for Ready, TokenRequest, 200 and
401) run as the guide writes them; then edits, typos, deletes, host
conflicts, label selectors, namespaces, history compaction (410) and
dropped watches, each checked from the outside."""

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
from pcharness import Checks, PC_SOURCE_DIR, Server  # noqa: E402
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
checks = Checks(limit=None)
check = checks.check

# The TokenReview guide's step ❺, verbatim.
GUIDE_AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: talker-api-protection
spec:
  hosts:
  - talker-api.127.0.0.1.nip.io
  - envoy.default.svc.cluster.local
  authentication:
    "authorized-service-accounts":
      kubernetesTokenReview:
        audiences:
        - talker-api
"""

ANON = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %(name)s
  namespace: %(ns)s
  labels: {%(labels)s}
spec:
  hosts: [%(host)s]
  authentication:
    anon:
      anonymous: {}
"""


def kubectl(kubeconfig, *args, stdin=None, timeout=30):
    p = subprocess.run(["kubectl", "--kubeconfig", kubeconfig] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def check_http(server, host, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        h = {"Host": host}
        h.update(headers or {})
        c.request("GET", "/check", headers=h)
        r = c.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()


def eventually(fn, want, timeout=5.0):
    """Polls fn() until it returns want; the last value otherwise."""
    end = time.monotonic() + timeout
    got = fn()
    while got != want and time.monotonic() < end:
        time.sleep(0.05)
        got = fn()
    return got


def status_code(server, host):
    return check_http(server, host)[0]


def anon(kc, name, host, ns="default", labels=""):
    return kubectl(kc, "apply", "-f", "-", stdin=ANON % {"name": name, "ns": ns, "host": host,
                                                         "labels": labels})


def condition(kc, name, ctype="Ready", ns="default"):
    rc, out = kubectl(kc, "get", "authconfig", name, "-n", ns, "-o", "json")
    if rc != 0:
        return None
    for c in json.loads(out).get("status", {}).get("conditions", []):
        if c.get("type") == ctype:
            return c
    return None


def main():
    tmp = tempfile.mkdtemp(prefix="pc-controller-")
    api = FakeApiServer(os.path.join(tmp, "api"))
    api.start()
    try:
        run(tmp, api)
    finally:
        api.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def admin_kubeconfig(tmp, api):
    return os.path.join(api.state_dir, "kubeconfig-admin")


def run(tmp, api):
    kc = admin_kubeconfig(tmp, api)
    srv = Server(tmp, extra=["--watch-authconfigs", "--kubeconfig", api.kubeconfig_path])
    try:
        guide(srv, kc, api)
        lifecycle(srv, kc)
        conflicts(srv, kc)
        secrets(srv, kc)
        faults(srv, kc, api)
    finally:
        srv.stop()
    check(srv.rc == 0, "the controller-mode server exits 0 on SIGTERM", srv.logtail())
    check("Bearer ey" not in srv.logtext(), "no token in the server log")
    scoped(tmp, kc, api)
    replicas(tmp, kc, api)


def guide(srv, kc, api):
    check(srv.ready(), "ready once the first list is compiled", srv.logtail())
    rc, out = kubectl(kc, "apply", "-f", "-", stdin=GUIDE_AUTHCONFIG)
    check(rc == 0 and "created" in out, "kubectl apply -f - creates the guide's AuthConfig", out)
    rc, out = kubectl(kc, "wait", "--for=condition=Ready", "authconfig/talker-api-protection",
                      "--timeout=10s")
    check(rc == 0 and "condition met" in out,
          "kubectl wait --for=condition=Ready authconfig/talker-api-protection", out)
    rc, out = kubectl(kc, "get", "authconfigs")
    lines = out.splitlines()
    check(rc == 0 and lines and lines[0].split()[:3] == ["NAME", "READY", "HOSTS"]
          and "talker-api-protection   true    2/2" in out,
          "kubectl get authconfigs shows READY true and HOSTS 2/2", out)
    rc, out = kubectl(kc, "apply", "-f", "-", stdin="apiVersion: v1\nkind: ServiceAccount\n"
                      "metadata:\n  name: api-consumer-1\n")
    check(rc == 0, "kubectl apply of the guide's ServiceAccount", out)
    req = ('{ "apiVersion": "", "kind": "TokenRequest", "spec": { "audiences": ["talker-api"], '
           '"expirationSeconds": 600 } }')
    rc, out = kubectl(kc, "create", "--raw",
                      "/api/v1/namespaces/default/serviceaccounts/api-consumer-1/token",
                      "-f", "-", stdin=req)
    token = json.loads(out)["status"]["token"] if rc == 0 else ""
    check(bool(token), "kubectl create --raw …/token gives the guide's ACCESS_TOKEN", out)
    st, _ = check_http(srv, HOST, {"Authorization": "Bearer " + token})
    check(st == 200, "the guide's token: HTTP/1.1 200 OK", "status %s" % st)
    expired = api.mint(namespace="default", name="api-consumer-1", audiences=["talker-api"],
                       expired=True)
    st, h = check_http(srv, HOST, {"Authorization": "Bearer " + expired})
    check(st == 401 and h.get("www-authenticate") == 'Bearer realm="authorized-service-accounts"'
          and h.get("x-ext-auth-reason") == "Not authenticated",
          "an expired token: 401 with the guide's headers", "%s %s" % (st, h))


def lifecycle(srv, kc):
    broken = GUIDE_AUTHCONFIG.replace("kubernetesTokenReview", "kubernetesTokenRevue")
    rc, out = kubectl(kc, "apply", "-f", "-", stdin=broken)
    c = eventually(lambda: (condition(kc, "talker-api-protection") or {}).get("reason"), "Invalid")
    cond = condition(kc, "talker-api-protection") or {}
    check(c == "Invalid" and cond.get("status") == "False" and
          "spec.authentication.authorized-service-accounts.kubernetesTokenRevue" in
          cond.get("message", ""),
          "a typo: Ready False, reason Invalid, the message names the path", json.dumps(cond))
    check(eventually(lambda: status_code(srv, HOST), 404) == 404,
          "a broken AuthConfig serves nothing (404)")
    rc, out = kubectl(kc, "get", "authconfigs")
    check("false   0/2" in out, "kubectl get authconfigs shows READY false", out)
    kubectl(kc, "apply", "-f", "-", stdin=GUIDE_AUTHCONFIG)
    check(eventually(lambda: status_code(srv, HOST), 401) == 401,
          "fixed again: served again (401 without a token)")
    rc, out = kubectl(kc, "delete", "authconfig", "talker-api-protection")
    check(rc == 0 and eventually(lambda: status_code(srv, HOST), 404) == 404,
          "kubectl delete: no longer served", out)
    # Many quick changes: the last one wins.
    for i in range(20):
        anon(kc, "churn", "churn-%d.example.com" % i)
    check(eventually(lambda: status_code(srv, "churn-19.example.com"), 200) == 200
          and status_code(srv, "churn-5.example.com") == 404,
          "twenty quick edits: the last host is served, earlier ones are not")
    kubectl(kc, "delete", "authconfig", "churn")


def conflicts(srv, kc):
    anon(kc, "first", "shared.example.com")
    time.sleep(1.1)   # creationTimestamp has one-second resolution
    anon(kc, "second", "shared.example.com")
    cond = eventually(lambda: (condition(kc, "second") or {}).get("reason"), "HostsNotLinked")
    c2 = condition(kc, "second") or {}
    c1 = condition(kc, "first") or {}
    check(cond == "HostsNotLinked" and c2.get("status") == "False" and
          "default/first" in c2.get("message", "") and c1.get("status") == "True",
          "two AuthConfigs claim a host: the older keeps it, the newer is not Ready",
          json.dumps([c1, c2]))
    kubectl(kc, "delete", "authconfig", "first")
    got = eventually(lambda: (condition(kc, "second") or {}).get("status"), "True")
    check(got == "True" and status_code(srv, "shared.example.com") == 200,
          "the older one deleted: the newer takes the host and becomes Ready")
    kubectl(kc, "delete", "authconfig", "second")


APIKEY_AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: keys
spec:
  hosts: [keys.example.com]
  authentication:
    friends:
      apiKey:
        selector:
          matchLabels: {group: friends}
      credentials:
        authorizationHeader: {prefix: APIKEY}
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: %(name)s
  labels: {%(labels)s}
stringData:
  api_key: %(key)s
type: Opaque
"""


def secrets(srv, kc):
    """apiKey Secrets come from the API too, filtered by the Secret label
    selector, and take effect as they change."""
    kubectl(kc, "apply", "-f", "-", stdin=APIKEY_AC)
    managed = "authorino.kuadrant.io/managed-by: authorino, group: friends"
    kubectl(kc, "apply", "-f", "-", stdin=SECRET % {"name": "friend", "labels": managed,
                                                    "key": "key-one"})
    kubectl(kc, "apply", "-f", "-", stdin=SECRET % {"name": "unmanaged",
                                                    "labels": "group: friends",
                                                    "key": "key-unmanaged"})
    key = lambda k: check_http(srv, "keys.example.com", {"Authorization": "APIKEY " + k})[0]
    check(eventually(lambda: key("key-one"), 200) == 200,
          "an apiKey Secret applied with kubectl: its key is accepted", srv.logtail())
    check(key("key-unmanaged") == 401,
          "a Secret without the managed-by label is not read (--secret-label-selector)")
    t0 = time.monotonic()
    kubectl(kc, "apply", "-f", "-", stdin=SECRET % {"name": "friend", "labels": managed,
                                                    "key": "key-two"})
    got = eventually(lambda: key("key-two"), 200)
    took = time.monotonic() - t0
    check(got == 200 and key("key-one") == 401 and took < 3,
          "the Secret's key rotated: the new key works and the old one is refused "
          "(%.2f s, kubectl included)" % took)
    kubectl(kc, "delete", "secret", "friend")
    check(eventually(lambda: key("key-two"), 401) == 401,
          "the Secret deleted: its key is refused")
    kubectl(kc, "delete", "authconfig", "keys")
    kubectl(kc, "delete", "secret", "unmanaged")


def faults(srv, kc, api):
    anon(kc, "f1", "f1.example.com")
    check(eventually(lambda: status_code(srv, "f1.example.com"), 200) == 200, "f1 served")
    # Watches cut: the controller reconnects (with backoff) from its
    # resourceVersion and converges without listing again.
    api._server.close_connections()
    kubectl(kc, "delete", "authconfig", "f1")
    anon(kc, "f2", "f2.example.com")
    check(eventually(lambda: status_code(srv, "f2.example.com"), 200, 15) == 200 and
          eventually(lambda: status_code(srv, "f1.example.com"), 404, 5) == 404,
          "the API server dropped every connection: the watch resumes and converges",
          srv.logtail())
    # History compacted and open watches expired (an API server restart):
    # the controller's resourceVersion is gone (410), so it lists again.
    anon(kc, "f3", "f3.example.com")
    kubectl(kc, "delete", "authconfig", "f2")
    kubectl(kc, "create", "--raw", "/_fixture/compact", "-f", "-",
            stdin='{"expire_watches": true}')
    check(eventually(lambda: status_code(srv, "f3.example.com"), 200, 15) == 200 and
          eventually(lambda: status_code(srv, "f2.example.com"), 404, 5) == 404,
          "history compacted while disconnected: the served set equals the API's",
          srv.logtail())
    check("is gone; listing again" in srv.logtext(),
          "the 410 made the controller list again", srv.logtail())
    # The API answers 500 to the next lists and watches: the controller
    # keeps serving what it has, backs off, and converges once they pass.
    api.set_fault("authconfigs", status=500, times=2)
    api._server.close_connections()
    anon(kc, "f4", "f4.example.com")
    check(status_code(srv, "f3.example.com") == 200,
          "while the API answers 500, the last AuthConfigs keep serving")
    check(eventually(lambda: status_code(srv, "f4.example.com"), 200, 40) == 200,
          "after two 500s: backed off, watched again, the new AuthConfig served",
          srv.logtail())
    check("AuthConfigs: HTTP 500" in srv.logtext(), "the 500s were logged as such",
          "\n".join(l for l in srv.logtext().splitlines() if "controller" in l)[-3000:])
    api.clear_faults()
    kubectl(kc, "delete", "authconfig", "f3")
    kubectl(kc, "delete", "authconfig", "f4")


def fixture_counters(kc):
    rc, out = kubectl(kc, "get", "--raw", "/_fixture/objects/counters")
    return json.loads(out) if rc == 0 else {}


def replicas(tmp, kc, api):
    """Two replicas with leader election: both serve, one writes status;
    when it stops (or dies) the other takes over within the lease."""
    flags = ["--watch-authconfigs", "--kubeconfig", api.kubeconfig_path,
             "--enable-leader-election", "--leader-election-lease-duration", "2000"]
    a = Server(tmp, name="replica-a", extra=flags)
    b = Server(tmp, name="replica-b", extra=flags)
    try:
        check(a.ready() and b.ready(), "two replicas get ready")
        leader = lambda: [s for s in (a, b) if "became leader" in s.logtext()]
        end = time.monotonic() + 10
        while not leader() and time.monotonic() < end:
            time.sleep(0.1)
        lead = leader()
        check(len(lead) == 1, "exactly one replica leads", a.logtail() + b.logtail())
        if len(lead) != 1:
            return
        first = lead[0]
        other = b if first is a else a
        c0 = fixture_counters(kc).get("status", 0)
        anon(kc, "replicated", "replicated.example.com")
        ok = eventually(lambda: (condition(kc, "replicated") or {}).get("status"), "True")
        time.sleep(0.5)
        c1 = fixture_counters(kc).get("status", 0)
        check(ok == "True" and c1 - c0 == 1,
              "a new AuthConfig: both replicas serve it, its status is written once",
              "%d status writes" % (c1 - c0))
        check(status_code(a, "replicated.example.com") == 200 and
              status_code(b, "replicated.example.com") == 200, "both replicas serve it")
        first.proc.kill()       # no release: the lease must run out
        t0 = time.monotonic()
        end = t0 + 10
        while "became leader" not in other.logtext() and time.monotonic() < end:
            time.sleep(0.05)
        took = time.monotonic() - t0
        check("became leader" in other.logtext() and took < 5,
              "the leader killed: the other takes over within the lease (%.1f s)" % took,
              other.logtail())
        anon(kc, "replicated", "replicated2.example.com")
        gen = eventually(lambda: ((condition(kc, "replicated") or {}) and
                                  json.loads(kubectl(kc, "get", "authconfig", "replicated",
                                                     "-o", "json")[1])
                                  .get("status", {}).get("observedGeneration")), 2)
        check(gen == 2, "the new leader writes status (observedGeneration 2)")
        kubectl(kc, "delete", "authconfig", "replicated")
    finally:
        a.stop()
        b.stop()


def scoped(tmp, kc, api):
    """--watch-namespace and --auth-config-label-selector reach the API
    server as the collection path and labelSelector."""
    anon(kc, "team-a", "a.example.com", labels="team: a")
    anon(kc, "team-b", "b.example.com", labels="team: b")
    anon(kc, "elsewhere", "other.example.com", ns="other", labels="team: a")
    srv = Server(tmp, name="scoped", extra=[
        "--watch-authconfigs", "--kubeconfig", api.kubeconfig_path,
        "--watch-namespace", "default", "--auth-config-label-selector", "team=a"])
    try:
        check(srv.ready(), "a scoped controller gets ready", srv.logtail())
        got = [status_code(srv, h) for h in ("a.example.com", "b.example.com",
                                             "other.example.com")]
        check(got == [200, 404, 404],
              "only AuthConfigs in the namespace with the labels are served", str(got))
        kubectl(kc, "label", "authconfig", "team-b", "team=a", "--overwrite")
        check(eventually(lambda: status_code(srv, "b.example.com"), 200) == 200,
              "relabelled into the selector: served")
        kubectl(kc, "label", "authconfig", "team-a", "team=c", "--overwrite")
        check(eventually(lambda: status_code(srv, "a.example.com"), 404) == 404,
              "relabelled out of the selector: no longer served")
    finally:
        srv.stop()


if __name__ == "__main__":
    with checks.guard():
        main()
    checks.finish()
