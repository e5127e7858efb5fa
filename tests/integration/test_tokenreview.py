#!/usr/bin/python3
"""kubernetesTokenReview end to end: the real binary (`portcullis eval`, and
`portcullis serve` over its HTTP authorization port when the frontend plugin
is built) against the fake kube-apiserver fixture, with the AuthConfig of
the user guide docs/user-guides/kubernetes-tokenreview.md."""

import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PC_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests", "fixtures", "kube_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

PC_BIN = os.environ.get("PC_BIN", "portcullis")
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR", "")
HOST = "talker-api.127.0.0.1.nip.io"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: talker-api-protection
spec:
  hosts:
  - %(host)s
  authentication:
    authorized-service-accounts:
      kubernetesTokenReview:
        %(method)s
  response:
    success:
      headers:
        x-username:
          plain:
            selector: auth.identity.user.username
"""

failures = []
passes = 0


def check(cond, what, detail=""):
    global passes
    if cond:
        passes += 1
        print("ok   - " + what)
    else:
        failures.append(what)
        detail = JWT_RE.sub("<token>", str(detail)) if detail != "" else ""
        print("FAIL - %s%s" % (what, ("\n       " + detail) if detail else ""))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def authconfig(tmp, name, method, host=HOST):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "authconfig.yaml"), AUTHCONFIG % {"host": host, "method": method})
    return d


def check_request(headers, host=HOST):
    hdrs = {":authority": host, ":method": "GET", ":path": "/hello"}
    hdrs.update(headers)
    return {"attributes": {"request": {"http": {
        "id": "1", "method": "GET", "headers": hdrs, "path": "/hello",
        "host": host, "scheme": "http", "protocol": "HTTP/1.1"}}}}


def run_eval(tmp, acdir, kubeconfig, headers, host=HOST, env=None):
    req = write(os.path.join(tmp, "request.json"), json.dumps(check_request(headers, host)))
    cmd = [PC_BIN, "eval", "--output", "json", "--explain", "-a", acdir, "-r", req]
    if PC_PLUGIN_DIR:
        cmd += ["--plugin-dir", PC_PLUGIN_DIR]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    e = dict(os.environ)
    for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"):
        e.pop(k, None)
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60)
    took = time.monotonic() - t0
    out = None
    try:
        out = json.loads(p.stdout)
    except ValueError:
        pass
    return p, out, took


def bearer(tok):
    return {"authorization": "Bearer " + tok}


def expect_401(p, out, what, reason=None, reason_prefix=None):
    ok = (out is not None and p.returncode == 1 and not out["allowed"] and
          out["http_status"] == 401 and
          out["headers"].get("www-authenticate") ==
          'Bearer realm="authorized-service-accounts"')
    if ok and reason is not None:
        ok = out["reason"] == reason and out["headers"].get("x-ext-auth-reason") == reason
    if ok and reason_prefix is not None:
        ok = out["reason"].startswith(reason_prefix)
    check(ok, what, (p.returncode, p.stdout, p.stderr))


def no_token_in(text, tokens, what):
    check(not any(t and t in text for t in tokens), what + ": no token in the output")


def test_eval(api, tmp):
    kc = api.kubeconfig_path
    ac = authconfig(tmp, "ac-aud", "audiences: [talker-api]")

    good = api.token_request("default", "api-consumer-1", ["talker-api"], 600)
    p, out, _ = run_eval(tmp, ac, kc, bearer(good))
    check(out is not None and p.returncode == 0 and out["allowed"] and
          out["headers"].get("x-username") == "system:serviceaccount:default:api-consumer-1",
          "TokenRequest token for talker-api is allowed; identity is the status",
          (p.returncode, p.stdout, p.stderr))
    no_token_in(p.stdout + p.stderr, [good], "allowed")

    expired = api.mint("default", "api-consumer-1", ["talker-api"], expired=True)
    p, out, _ = run_eval(tmp, ac, kc, bearer(expired))
    expect_401(p, out, "expired token: 401, Bearer challenge, Not authenticated",
               reason="Not authenticated")
    no_token_in(p.stdout + p.stderr, [expired], "expired")

    other = api.token_request("default", "api-consumer-1", ["other-api"], 600)
    p, out, _ = run_eval(tmp, ac, kc, bearer(other))
    expect_401(p, out, "token for another audience: 401", reason="Not authenticated")

    forged = api.mint("default", "api-consumer-1", ["talker-api"], signing="wrong-key")
    p, out, _ = run_eval(tmp, ac, kc, bearer(forged))
    expect_401(p, out, "bad signature: 401", reason="Not authenticated")

    p, out, _ = run_eval(tmp, ac, kc, bearer('garbage "quoted" \\ not-a-jwt'))
    expect_401(p, out, "garbage token (JSON specials escaped): 401",
               reason="Not authenticated")

    p, out, _ = run_eval(tmp, ac, kc, {})
    expect_401(p, out, "no Authorization header: 401")
    check(api.counters()["tokenreviews"] >= 5, "TokenReviews reached the API server",
          api.counters())

    # Default audience: the request host exactly as sent.
    ac_host = authconfig(tmp, "ac-host", "{}")
    host_tok = api.token_request("default", "api-consumer-1", [HOST], 600)
    p, out, _ = run_eval(tmp, ac_host, kc, bearer(host_tok))
    check(out is not None and out["allowed"], "no audiences: the request host is the audience",
          (p.returncode, p.stdout, p.stderr))
    p, out, _ = run_eval(tmp, ac_host, kc, bearer(good))
    expect_401(p, out, "no audiences: a talker-api token is refused", reason="Not authenticated")

    # API failures fail closed, quickly, with a reason that names the cause.
    api.set_fault("tokenreviews", status=500)
    p, out, took = run_eval(tmp, ac, kc, bearer(good))
    expect_401(p, out, "API 500: 401", reason_prefix="TokenReview failed: HTTP 500")
    check(took < 5, "API 500 answered quickly (%.2fs)" % took)
    no_token_in(p.stdout + p.stderr, [good], "API 500")
    api.set_fault("tokenreviews", close=True)
    p, out, took = run_eval(tmp, ac, kc, bearer(good))
    expect_401(p, out, "API closes the connection: 401", reason_prefix="TokenReview failed: ")
    check(took < 5, "closed connection answered quickly (%.2fs)" % took)
    api.set_fault("tokenreviews", garbage=True)
    p, out, _ = run_eval(tmp, ac, kc, bearer(good))
    expect_401(p, out, "API answers garbage: 401",
               reason="TokenReview failed: malformed response")
    api.clear_faults()

    ac_fast = authconfig(tmp, "ac-fast", "audiences: [talker-api]\n        timeout: 300")
    api.set_fault("tokenreviews", delay_ms=3000)
    p, out, took = run_eval(tmp, ac_fast, kc, bearer(good))
    expect_401(p, out, "slow API with timeout 300 ms: 401", reason_prefix="TokenReview failed: ")
    check(took < 2.5, "timeout honoured (%.2fs)" % took)
    api.clear_faults()

    # Caller without the auth-delegator right.
    noright = api.caller_token_without_rights()
    kc_nr = os.path.join(tmp, "kubeconfig-norights")
    k = yaml.safe_load(open(kc))
    for u in k["users"]:
        if u["name"] == "portcullis":
            u["user"] = {"token": noright}
    write(kc_nr, yaml.safe_dump(k))
    p, out, _ = run_eval(tmp, ac, kc_nr, bearer(good))
    expect_401(p, out, "caller without create tokenreviews: 401 Forbidden",
               reason="TokenReview failed: HTTP 403 Forbidden")


def test_clients(api, tmp):
    """Every way of reaching the API server."""
    ac = authconfig(tmp, "ac-aud", "audiences: [talker-api]")
    good = api.token_request("default", "api-consumer-1", ["talker-api"], 600)
    base = yaml.safe_load(open(api.kubeconfig_path))

    def variant(name, mutate):
        k = yaml.safe_load(yaml.safe_dump(base))
        mutate(k)
        return write(os.path.join(tmp, name), yaml.safe_dump(k))

    emb = os.path.join(api.state_dir, "kubeconfig-embedded")
    p, out, _ = run_eval(tmp, ac, emb, bearer(good))
    check(out is not None and out["allowed"], "kubeconfig with *-data (embedded CA)",
          (p.returncode, p.stdout, p.stderr))

    def client_cert(k):
        k["current-context"] = "fake-client-cert"
    p, out, _ = run_eval(tmp, ac, variant("kc-cert", client_cert), bearer(good))
    check(out is not None and out["allowed"], "client certificate user",
          (p.returncode, p.stdout, p.stderr))
    k = yaml.safe_load(open(emb))
    k["current-context"] = "fake-client-cert"
    p, out, _ = run_eval(tmp, ac, write(os.path.join(tmp, "kc-cert-emb"), yaml.safe_dump(k)),
                         bearer(good))
    check(out is not None and out["allowed"], "client certificate from *-data",
          (p.returncode, p.stdout, p.stderr))

    tf = write(os.path.join(tmp, "caller-token"), api.caller_token + "\n")

    def token_file(k):
        for u in k["users"]:
            if u["name"] == "portcullis":
                u["user"] = {"tokenFile": tf}
    p, out, _ = run_eval(tmp, ac, variant("kc-tokenfile", token_file), bearer(good))
    check(out is not None and out["allowed"], "tokenFile user", (p.returncode, p.stdout, p.stderr))

    def insecure(k):
        for c in k["clusters"]:
            c["cluster"]["insecure-skip-tls-verify"] = True
    p, out, _ = run_eval(tmp, ac, variant("kc-insecure", insecure), bearer(good))
    check(p.returncode == 2 and "insecure-skip-tls-verify" in p.stderr,
          "insecure-skip-tls-verify is refused", (p.returncode, p.stderr))

    def no_ca(k):
        for c in k["clusters"]:
            c["cluster"].pop("certificate-authority", None)
    p, out, _ = run_eval(tmp, ac, variant("kc-noca", no_ca), bearer(good))
    expect_401(p, out, "unknown CA: TLS verification fails closed",
               reason_prefix="TokenReview failed: ")

    # In cluster, with the service account directory overridden.
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
           "KUBERNETES_SERVICE_PORT": str(api.port),
           "PORTCULLIS_SA_DIR": os.path.join(api.state_dir, "serviceaccount")}
    p, out, _ = run_eval(tmp, ac, None, bearer(good), env=env)
    check(out is not None and out["allowed"], "in-cluster service account",
          (p.returncode, p.stdout, p.stderr))
    p, out, _ = run_eval(tmp, ac, None, bearer(good),
                         env={"KUBECONFIG": api.kubeconfig_path})
    check(out is not None and out["allowed"], "$KUBECONFIG", (p.returncode, p.stdout, p.stderr))
    p, out, _ = run_eval(tmp, ac, None, bearer(good))
    expect_401(p, out, "no cluster configured: 401 with a reason",
               reason_prefix="TokenReview failed: no Kubernetes API server")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, tmp, acdir, kubeconfig):
        self.http_port, self.admin_port = free_port(), free_port()
        cmd = [PC_BIN, "serve", "--grpc-addr", "127.0.0.1:0",
               "--http-addr", "127.0.0.1:%d" % self.http_port,
               "--admin-addr", "127.0.0.1:%d" % self.admin_port,
               "--authconfigs", acdir, "--kubeconfig", kubeconfig,
               "--log-format", "text", "--log-level", "debug"]
        if PC_PLUGIN_DIR:
            cmd += ["--plugin-dir", PC_PLUGIN_DIR]
        self.log = open(os.path.join(tmp, "serve.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def check(self, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        h = {"Host": HOST}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        c.request("GET", "/hello", headers=h)
        r = c.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.seek(0)
        return self.log.read()


def test_serve(api, tmp):
    ac = authconfig(tmp, "ac-aud", "audiences: [talker-api]")
    tf = write(os.path.join(tmp, "serve-caller-token"), "not-a-valid-caller\n")
    k = yaml.safe_load(open(api.kubeconfig_path))
    for u in k["users"]:
        if u["name"] == "portcullis":
            u["user"] = {"tokenFile": tf}
    kc = write(os.path.join(tmp, "kc-serve"), yaml.safe_dump(k))
    srv = Server(tmp, ac, kc)
    if not srv.ready():
        log = srv.stop()
        if "no plugin provides the frontend" in log:
            print("skip - portcullis serve: the frontend plugin is not built")
            return
        check(False, "portcullis serve starts", log[-2000:])
        return
    tokens = []
    try:
        good = api.token_request("default", "api-consumer-1", ["talker-api"], 600)
        tokens.append(good)
        st, h = srv.check(good)
        check(st == 401 and h.get("x-ext-auth-reason", "").startswith("TokenReview failed: HTTP 401"),
              "serve: a rejected caller token fails closed", (st, h))
        # The caller token is rotated on disk: the next 401 makes the client
        # read it again and retry once.
        write(tf, api.caller_token + "\n")
        st, h = srv.check(good)
        check(st == 200 and h.get("x-username") == "system:serviceaccount:default:api-consumer-1",
              "serve: token file re-read after a 401", (st, h))

        api.reset_counters()
        st, _ = srv.check(good)
        check(st == 200 and api.counters()["tokenreviews"] == 0,
              "serve: a cached success needs no TokenReview", api.counters())

        # Single flight: many concurrent checks of one new token, one review.
        fresh = api.token_request("default", "api-consumer-2", ["talker-api"], 600)
        tokens.append(fresh)
        api.reset_counters()
        api.set_fault("tokenreviews", delay_ms=700)
        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
            res = list(ex.map(lambda _: srv.check(fresh)[0], range(200)))
        api.clear_faults()
        check(res.count(200) == 200, "serve: 200 concurrent checks all allowed",
              {s: res.count(s) for s in set(res)})
        check(api.counters()["tokenreviews"] == 1,
              "serve: 200 concurrent checks -> exactly 1 TokenReview", api.counters())

        # Denials are cached for denyTTL, errors never.
        bad = api.mint("default", "api-consumer-1", ["talker-api"], expired=True)
        tokens.append(bad)
        api.reset_counters()
        st1, h1 = srv.check(bad)
        st2, _ = srv.check(bad)
        check(st1 == 401 and st2 == 401 and h1.get("x-ext-auth-reason") == "Not authenticated"
              and api.counters()["tokenreviews"] == 1,
              "serve: a denial is cached", (st1, st2, h1, api.counters()))
        third = api.token_request("default", "api-consumer-3", ["talker-api"], 600)
        tokens.append(third)
        api.reset_counters()
        api.set_fault("tokenreviews", status=503, times=1)
        st1, h1 = srv.check(third)
        st2, _ = srv.check(third)
        check(st1 == 401 and h1.get("x-ext-auth-reason", "").startswith("TokenReview failed")
              and st2 == 200 and api.counters()["tokenreviews"] == 2,
              "serve: an API error is not cached", (st1, st2, h1, api.counters()))
        st, h = srv.check(None)
        check(st == 401 and h.get("www-authenticate") ==
              'Bearer realm="authorized-service-accounts"', "serve: no credential: 401", (st, h))
    finally:
        log = srv.stop()
    no_token_in(log, tokens + [api.caller_token], "serve log")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-tokenreview-")
    try:
        with FakeApiServer(quiet=True) as api:
            test_eval(api, tmp)
            test_clients(api, tmp)
            api.reset()
            test_serve(api, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passes, len(failures)))
    for f in failures:
        print("  failed: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
