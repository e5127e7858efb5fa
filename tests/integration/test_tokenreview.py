#!/usr/bin/python3
"""kubernetesTokenReview end to end: the real binary (`portcullis eval`, and
`portcullis serve` over its HTTP authorization port when the frontend plugin
is built) against the fake kube-apiserver fixture, with the AuthConfig of
the user guide docs/user-guides/kubernetes-tokenreview.md."""

import concurrent.futures
import http.client
import json
import os
import shutil
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

HOST = "talker-api.127.0.0.1.nip.io"

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

checks = Checks(limit=None)
check = checks.check


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
    cmd += plugin_args()
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=60)
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

    # An exec credential plugin (as EKS/GKE/AKS kubeconfigs have): it prints
    # the caller token as an ExecCredential; a relative command is taken
    # from the kubeconfig's directory.
    plugin = write(os.path.join(tmp, "get-token.sh"),
                   "#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                   "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$(cat %s)\"\n"
                   % ("%s", tf))
    os.chmod(plugin, 0o700)

    def exec_user(k):
        for u in k["users"]:
            if u["name"] == "portcullis":
                u["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                      "command": "./get-token.sh", "interactiveMode": "Never"}}
    p, out, _ = run_eval(tmp, ac, variant("kc-exec", exec_user), bearer(good))
    check(out is not None and out["allowed"], "exec credential plugin user",
          (p.returncode, p.stdout, p.stderr))
    check(api.caller_token not in p.stdout + p.stderr, "the exec plugin's token is not printed")

    # $KUBECONFIG with a list: merged as kubectl merges it.
    first = write(os.path.join(tmp, "kc-part1"), yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Config", "current-context": "fake"}))
    p, out, _ = run_eval(tmp, ac, None, bearer(good),
                         env={"KUBECONFIG": first + ":" + os.path.join(api.state_dir, "kubeconfig")})
    check(out is not None and out["allowed"], "$KUBECONFIG with two files, merged",
          (p.returncode, p.stdout, p.stderr))

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


def serve_check(srv, token=None):
    """GET /hello on the server's HTTP port: (status, lower-cased headers)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=30)
    h = {"Host": HOST}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    c.request("GET", "/hello", headers=h)
    r = c.getresponse()
    r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def test_serve(api, tmp):
    ac = authconfig(tmp, "ac-aud", "audiences: [talker-api]")
    tf = write(os.path.join(tmp, "serve-caller-token"), "not-a-valid-caller\n")
    k = yaml.safe_load(open(api.kubeconfig_path))
    for u in k["users"]:
        if u["name"] == "portcullis":
            u["user"] = {"tokenFile": tf}
    kc = write(os.path.join(tmp, "kc-serve"), yaml.safe_dump(k))
    srv = Server(tmp, ac, extra=["--kubeconfig", kc, "--log-level", "debug"], name="serve")
    if not srv.ready():
        srv.stop()
        log = srv.logtext()
        if "no plugin provides the frontend" in log:
            print("skip - portcullis serve: the frontend plugin is not built")
            return
        check(False, "portcullis serve starts", log[-2000:])
        return
    tokens = []
    try:
        good = api.token_request("default", "api-consumer-1", ["talker-api"], 600)
        tokens.append(good)
        st, h = serve_check(srv, good)
        check(st == 401 and h.get("x-ext-auth-reason", "").startswith("TokenReview failed: HTTP 401"),
              "serve: a rejected caller token fails closed", (st, h))
        # The caller token is rotated on disk: the next 401 makes the client
        # read it again and retry once.
        write(tf, api.caller_token + "\n")
        st, h = serve_check(srv, good)
        check(st == 200 and h.get("x-username") == "system:serviceaccount:default:api-consumer-1",
              "serve: token file re-read after a 401", (st, h))

        api.reset_counters()
        st, _ = serve_check(srv, good)
        check(st == 200 and api.counters()["tokenreviews"] == 0,
              "serve: a cached success needs no TokenReview", api.counters())

        # Single flight: many concurrent checks of one new token, one review.
        fresh = api.token_request("default", "api-consumer-2", ["talker-api"], 600)
        tokens.append(fresh)
        api.reset_counters()
        api.set_fault("tokenreviews", delay_ms=700)
        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
            res = list(ex.map(lambda _: serve_check(srv, fresh)[0], range(200)))
        api.clear_faults()
        check(res.count(200) == 200, "serve: 200 concurrent checks all allowed",
              {s: res.count(s) for s in set(res)})
        check(api.counters()["tokenreviews"] == 1,
              "serve: 200 concurrent checks -> exactly 1 TokenReview", api.counters())

        # Denials are cached for denyTTL, errors never.
        bad = api.mint("default", "api-consumer-1", ["talker-api"], expired=True)
        tokens.append(bad)
        api.reset_counters()
        st1, h1 = serve_check(srv, bad)
        st2, _ = serve_check(srv, bad)
        check(st1 == 401 and st2 == 401 and h1.get("x-ext-auth-reason") == "Not authenticated"
              and api.counters()["tokenreviews"] == 1,
              "serve: a denial is cached", (st1, st2, h1, api.counters()))
        third = api.token_request("default", "api-consumer-3", ["talker-api"], 600)
        tokens.append(third)
        api.reset_counters()
        api.set_fault("tokenreviews", status=503, times=1)
        st1, h1 = serve_check(srv, third)
        st2, _ = serve_check(srv, third)
        check(st1 == 401 and h1.get("x-ext-auth-reason", "").startswith("TokenReview failed")
              and st2 == 200 and api.counters()["tokenreviews"] == 2,
              "serve: an API error is not cached", (st1, st2, h1, api.counters()))
        st, h = serve_check(srv)
        check(st == 401 and h.get("www-authenticate") ==
              'Bearer realm="authorized-service-accounts"', "serve: no credential: 401", (st, h))
    finally:
        srv.stop()
    no_token_in(srv.logtext(), tokens + [api.caller_token], "serve log")


def headers_of(opts):
    return {o.header.key.lower(): o.header.value for o in opts}


def test_grpc(api, tmp):
    """The seed guide's story through Envoy's gRPC Check, plus the cache
    and single-flight guarantees and recovery after an API outage."""
    sys.path.insert(0, os.path.join(HERE, "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and os.environ.get("PC_BUILD_DIR"):
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    from extauthz_client import Client, build_check_request

    ac = authconfig(tmp, "ac-grpc", "audiences: [talker-api]\n        timeout: 2000")
    srv = Server(tmp, ac, extra=["--kubeconfig", api.kubeconfig_path], name="grpc")
    if not srv.ready():
        srv.stop()
        check(False, "grpc: portcullis serve starts", srv.logtext()[-2000:])
        return
    tokens = []

    def grpc_check(c, token=None):
        h = {"authorization": "Bearer " + token} if token else {}
        return c.check(build_check_request(HOST, "/hello", headers=h))

    try:
        with Client(srv.grpc, timeout=30) as c:
            good = api.token_request("default", "api-consumer-1", ["talker-api"], 600)
            tokens.append(good)
            r = grpc_check(c, good)
            check(r.status.code == 0 and headers_of(r.ok_response.headers).get("x-username") ==
                  "system:serviceaccount:default:api-consumer-1",
                  "grpc: a TokenRequest token with audience talker-api is allowed", r)

            expired = api.mint("default", "api-consumer-1", ["talker-api"], expired=True)
            tokens.append(expired)
            r = grpc_check(c, expired)
            h = headers_of(r.denied_response.headers)
            check(r.status.code == 16 and r.denied_response.status.code == 401 and
                  h.get("www-authenticate") == 'Bearer realm="authorized-service-accounts"' and
                  h.get("x-ext-auth-reason") == "Not authenticated",
                  "grpc: an expired token gets 401 with the guide's headers", r)
            for name, tok in (("wrong audience",
                               api.token_request("default", "api-consumer-1", ["other"], 600)),
                              ("wrong signature",
                               api.mint("default", "api-consumer-1", ["talker-api"],
                                        signing="wrong-key")),
                              ("garbage", "not-a-token")):
                tokens.append(tok)
                r = grpc_check(c, tok)
                check(r.status.code == 16 and r.denied_response.status.code == 401,
                      "grpc: %s gets 401" % name, r)
            r = grpc_check(c)
            check(r.status.code == 16 and r.denied_response.status.code == 401,
                  "grpc: a missing Authorization header gets 401", r)

            # A cached success never outlives the token's own exp.
            short = api.mint("default", "api-consumer-1", ["talker-api"], exp_offset=3)
            tokens.append(short)
            api.reset_counters()
            first = grpc_check(c, short).status.code
            again = grpc_check(c, short).status.code
            n1 = api.counters()["tokenreviews"]
            time.sleep(3.5)
            later = grpc_check(c, short).status.code
            n2 = api.counters()["tokenreviews"]
            check(first == 0 and again == 0 and n1 == 1 and n2 == 2,
                  "grpc: a cached success ends at the token's exp (1 review, then 1 more "
                  "after exp)", (first, again, later, n1, n2))

        # 1,000 concurrent checks with one new token: exactly one TokenReview.
        fresh = api.token_request("default", "api-consumer-2", ["talker-api"], 600)
        tokens.append(fresh)
        api.reset_counters()
        api.set_fault("tokenreviews", delay_ms=800)
        with Client(srv.grpc, timeout=30) as c:
            req = build_check_request(HOST, "/hello", headers={"authorization": "Bearer " + fresh})
            # All 1,000 in flight at once on one connection, as Envoy multiplexes.
            futs = [c._check_v3.future(req, timeout=30) for _ in range(1000)]
            codes = [f.result().status.code for f in futs]
        api.clear_faults()
        check(codes.count(0) == 1000, "grpc: 1,000 concurrent checks of one new token allowed",
              {x: codes.count(x) for x in set(codes)})
        check(api.counters()["tokenreviews"] == 1,
              "grpc: 1,000 concurrent checks -> exactly 1 TokenReview", api.counters())

        # The API server down: 401 quickly; back up: checks recover by themselves.
        down = api.token_request("default", "api-consumer-3", ["talker-api"], 600)
        tokens.append(down)
        api.set_fault("tokenreviews", close=True)
        with Client(srv.grpc, timeout=30) as c:
            t0 = time.monotonic()
            r = grpc_check(c, down)
            took = time.monotonic() - t0
            check(r.status.code == 16 and r.denied_response.status.code == 401 and took < 3,
                  "grpc: API server down -> 401 within the timeout (%.2fs)" % took, r)
            api.clear_faults()
            r = grpc_check(c, down)
            check(r.status.code == 0, "grpc: API server back -> the same token is allowed", r)
    finally:
        srv.stop()
    no_token_in(srv.logtext(), tokens + [api.caller_token], "grpc serve log")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-tokenreview-")
    try:
        with FakeApiServer(quiet=True) as api:
            test_eval(api, tmp)
            test_clients(api, tmp)
            api.reset()
            test_serve(api, tmp)
            api.reset()
            test_grpc(api, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
