#!/usr/bin/python3
"""Operating the server as Authorino's users do: decision logs (one JSON
line per check at info, Authorino's fields, redaction of credentials at
debug), Authorino's flags and environment variables (an operator-generated
Deployment's args start `portcullis server` unchanged against the fake
kube-apiserver; wrong values are refused with the flag's name), and the
probes (/healthz, /readyz, /readyz/authconfigs on --health-probe-addr,
/metrics and /server-metrics on --metrics-addr, or all on one port).

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_SOURCE_DIR."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
from extauthz_client import Client, build_check_request  # noqa: E402
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, SMALL, Server,  # noqa: E402
                       api_key_authconfig, clean_env, free_ports, plugin_args, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

checks = Checks()
check = checks.check

AUTHCONFIG = api_key_authconfig("""\
  authorization:
    not-denied:
      patternMatching:
        patterns:
          - selector: request.headers.x-deny
            operator: neq
            value: "yes"
""")

KEY = "alice-secret-key"
SECRETS = ["alice-secret-key", "cookie-secret-value", "tenant-secret-value",
           "query-secret-value", "sk-secret-value"]
REDACTED = "***REDACTED***"


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    except OSError as e:
        return None, repr(e)
    finally:
        c.close()


def json_lines(text):
    """Every line as JSON; the lines that are not JSON go to bad."""
    good, bad = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            good.append(json.loads(line))
        except ValueError:
            bad.append(line)
    return good, bad


def wait_ready(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if get(port, "/readyz")[0] == 200:
            return True
        time.sleep(0.05)
    return False


def eventually(fn, timeout=8.0):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.1)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ---- decision logs ----

def decision_logs(tmp):
    extra = SMALL + ["--log-mode", "production", "--log-level", "debug",
                     "--log-redact-add-header", "X-Tenant-Token",
                     "--log-redact-add-field", "session_key"]
    srv = Server(tmp, authconfig_text=AUTHCONFIG, extra=extra, name="logs")
    try:
        check(srv.ready(), "JSON-logging server ready", srv.logtail())
        with Client(srv.grpc, timeout=5) as c:
            ok = c.check(build_check_request(
                "api.test", "/p?token=query-secret-value&session_key=sk-secret-value&a=1",
                request_id="http-id-1",
                headers={"authorization": "APIKEY " + KEY, "cookie": "s=cookie-secret-value",
                         "x-tenant-token": "tenant-secret-value",
                         "x-request-id": "rid-allowed"}))
            denied = c.check(build_check_request(
                "api.test", "/", request_id="http-id-77",
                headers={"authorization": "APIKEY " + KEY, "x-deny": "yes"}))
            anon = c.check(build_check_request("api.test", "/", request_id="http-id-88"))
        check(ok.status.code == 0 and denied.status.code == 7 and anon.status.code == 16,
              "checks allowed, denied, unauthenticated",
              (ok.status.code, denied.status.code, anon.status.code))
        # At most a moment between the verdict and its line on stderr.
        eventually(lambda: srv.logtext().count("outgoing authorization response") >= 3)
    finally:
        srv.stop()
    text = srv.logtext()
    lines, bad = json_lines(text)
    check(not bad, "every log line is one JSON object", bad[:3])
    decisions = [ln for ln in lines if ln.get("msg") == "outgoing authorization response"]
    check(len(decisions) == 3, "one decision line per check", len(decisions))
    out = {ln.get("request id"): ln for ln in decisions}
    a = out.get("rid-allowed", {})
    check(a.get("level") == "info" and isinstance(a.get("ts"), float) and
          a.get("logger") == "portcullis.service.auth" and a.get("authorized") is True and
          a.get("response") == "OK" and a.get("namespace") == "default" and
          a.get("authconfig") == "api-protection" and "object" not in a,
          "allowed: level, ts, logger, msg, request id (x-request-id), namespace, "
          "authconfig, authorized, response", a)
    d = out.get("http-id-77", {})
    obj = d.get("object", {})
    check(d.get("authorized") is False and d.get("response") == "PERMISSION_DENIED" and
          obj.get("code") == 7 and obj.get("status") == 403 and
          obj.get("evaluator") == "spec.authorization.not-denied" and obj.get("message"),
          "denied: request id from the CheckRequest's http id, the deciding evaluator "
          "and why", d)
    u = out.get("http-id-88", {})
    check(u.get("response") == "UNAUTHENTICATED" and
          u.get("object", {}).get("evaluator") == "spec.authentication.friends" and
          u.get("object", {}).get("status") == 401, "unauthenticated: evaluator and status", u)
    inc = [ln for ln in lines if ln.get("msg") == "incoming authorization request" and
           ln.get("request id") == "rid-allowed"]
    h = inc[0]["object"]["request"]["http"] if inc else {}
    hdrs = h.get("headers", {})
    check(inc and inc[0]["level"] == "debug" and hdrs.get("authorization") == REDACTED and
          hdrs.get("cookie") == REDACTED and hdrs.get("x-tenant-token") == REDACTED and
          hdrs.get("x-request-id") == "rid-allowed",
          "debug: incoming request with authorization, cookie and the added header "
          "redacted", inc[:1])
    check(h.get("path") == "/p" and h.get("query") ==
          "token=%s&session_key=%s&a=1" % (REDACTED, REDACTED),
          "debug: sensitive query fields (default and added) redacted", h)
    leaked = [s for s in SECRETS if s in text]
    check(not leaked, "no token, key, cookie or secret value in any log line", leaked)

    # info in development mode: text lines; no incoming line below debug.
    srv = Server(tmp, authconfig_text=AUTHCONFIG, extra=SMALL + ["--log-mode", "development"],
                 name="text")
    try:
        check(srv.ready(), "text-logging server ready", srv.logtail())
        with Client(srv.grpc, timeout=5) as c:
            c.check(build_check_request("api.test", "/", headers={
                "authorization": "APIKEY " + KEY, "x-request-id": "rid-text"}))
        eventually(lambda: "rid-text" in srv.logtext())
    finally:
        srv.stop()
    t = srv.logtext()
    dl = [ln for ln in t.splitlines() if "outgoing authorization response" in ln]
    check(dl and "request id=rid-text" in dl[0] and "authorized=true" in dl[0] and
          "response=OK" in dl[0] and not dl[0].lstrip().startswith("{"),
          "--log-mode development: the decision as a text line", dl[:1])
    check("incoming authorization request" not in t and KEY not in t,
          "info: no request dump, no key", t[-500:])

    srv = Server(tmp, authconfig_text=AUTHCONFIG, extra=SMALL + ["--log-level", "warn"],
                 name="warn")
    try:
        check(srv.ready(), "warn-level server ready", srv.logtail())
        with Client(srv.grpc, timeout=5) as c:
            c.check(build_check_request("api.test", "/"))
    finally:
        srv.stop()
    check("outgoing authorization response" not in srv.logtext(),
          "--log-level warn: no decision lines")


# ---- Authorino's flags and environment ----

def refused(args, env=None, want=""):
    p = subprocess.run([PC_BIN, "server"] + args + plugin_args(), capture_output=True,
                       text=True, timeout=20, env=clean_env(env))
    return p.returncode == 2 and want in p.stderr, p.returncode, p.stderr[-600:]


def wrong_values():
    for args, env, want in [
        (["--ext-auth-grpc-port=abc"], None, "--ext-auth-grpc-port"),
        (["--ext-auth-http-port=70000"], None, "--ext-auth-http-port"),
        (["--timeout=soon"], None, "--timeout"),
        (["--max-http-request-body-size=-1"], None, "--max-http-request-body-size"),
        (["--evaluator-cache-size=0"], None, "--evaluator-cache-size"),
        (["--log-level=loud"], None, "--log-level"),
        (["--log-mode=verbose"], None, "--log-mode"),
        (["--tls-min-version=1.0"], None, "--tls-min-version"),
        (["--tls-cipher-suites=TLS_AES_128_GCM_SHA256"], None, "--tls-cipher-suites"),
        (["--tls-max-version=1.2"], None, "--tls-max-version"),
        ([], {"EXT_AUTH_GRPC_PORT": "x"}, "EXT_AUTH_GRPC_PORT (--ext-auth-grpc-port)"),
        ([], {"EVALUATOR_CACHE_SIZE": "big"}, "EVALUATOR_CACHE_SIZE"),
        ([], {"LOG_MODE": "loud"}, "LOG_MODE (--log-mode)"),
    ]:
        ok, rc, err = refused(args, env, want)
        check(ok, "refused with its name: %s" % (args or env), (rc, err))
    # JSON logs: a fatal start-up error is a JSON line too.
    p = subprocess.run([PC_BIN, "server", "--log-mode=production", "--ext-auth-grpc-port=abc"],
                       capture_output=True, text=True, timeout=20, env=clean_env())
    lines, bad = json_lines(p.stderr)
    check(p.returncode == 2 and lines and not bad and lines[-1].get("level") == "error" and
          "--ext-auth-grpc-port" in lines[-1].get("msg", ""),
          "fatal start-up error as a JSON line", p.stderr)


def make_cert(d):
    key, crt = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


def tls12_refused(port, crt):
    ctx = ssl.create_default_context(cafile=crt)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                return False
    except (ssl.SSLError, OSError):
        return True


def kubectl(kc, *args, stdin=None):
    p = subprocess.run(["kubectl", "--kubeconfig", kc] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


MANAGED = "authorino.kuadrant.io/managed-by=authorino"
AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %(name)s
  namespace: default
  labels: {authorino.kuadrant.io/managed-by: authorino}
spec:
  hosts: [%(host)s]
  authentication:
    anon:
      %(kind)s: {}
"""


def operator_deployment(tmp):
    """The args the Authorino Operator writes into its Deployment
    (pkg/reconcilers/deployment.go: buildAuthorinoArgs) for an Authorino
    with namespaced watching, TLS, every optional setting given."""
    api = FakeApiServer(os.path.join(tmp, "api"))
    api.start()
    proc = None
    try:
        kc = os.path.join(api.state_dir, "kubeconfig-admin")
        crt, key = make_cert(tmp)
        grpc, http_, oidc, metrics, health = free_ports(5)
        args = [
            "--watch-namespace=default",
            "--auth-config-label-selector=" + MANAGED,
            "--secret-label-selector=" + MANAGED,
            "--allow-superseding-host-subsets",
            "--log-level=info",
            "--log-mode=production",
            "--timeout=3000",
            "--ext-auth-grpc-port=%d" % grpc,
            "--ext-auth-http-port=%d" % http_,
            "--tls-cert=" + crt,
            "--tls-cert-key=" + key,
            "--tls-min-version=1.3",
            "--oidc-http-port=%d" % oidc,
            "--evaluator-cache-size=2",
            "--deep-metrics-enabled",
            "--metrics-addr=:%d" % metrics,
            "--health-probe-addr=:%d" % health,
            "--enable-leader-election",
            "--max-http-request-body-size=64",
        ]
        log = open(os.path.join(tmp, "operator.log"), "w+")
        # In a pod the client config is in-cluster; here the fixture's.
        env = clean_env({"KUBECONFIG": api.kubeconfig_path, "POD_NAMESPACE": "default"})
        # Authorino's image runs `authorino server` and the Deployment gives
        # only these flags: the image's entrypoint takes them as they are.
        proc = subprocess.Popen([PC_BIN] + args + plugin_args() +
                                ["--io-threads", "2", "--workers", "4"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        up = wait_ready(health, proc)
        log.flush()
        check(up, "portcullis with the operator's Deployment args is ready "
              "(controller mode)", open(log.name).read()[-2000:])
        rc, o = kubectl(kc, "apply", "-f", "-",
                        stdin=AC % {"name": "good", "host": "good.test", "kind": "anonymous"})
        check(rc == 0, "kubectl apply of an AuthConfig", o)
        tls = {"ca": crt, "server_name": "127.0.0.1"}

        def allowed():
            try:
                with Client("127.0.0.1:%d" % grpc, tls=tls, timeout=3) as c:
                    return c.check(build_check_request("good.test", "/")).status.code == 0
            except Exception:  # noqa: BLE001 - not served yet
                return False
        check(eventually(allowed), "gRPC over TLS on --ext-auth-grpc-port decides")
        check(tls12_refused(grpc, crt), "--tls-min-version=1.3: a TLS 1.2 client is refused")
        st, body = get(health, "/readyz/authconfigs?verbose")
        check(st == 200 and "[+]default/good ok" in body,
              "/readyz/authconfigs lists the ready AuthConfig", (st, body))
        rc, o = kubectl(kc, "apply", "-f", "-",
                        stdin=AC % {"name": "broken", "host": "broken.test",
                                    "kind": "noSuchIdentity"})

        def broken_listed():
            st, body = get(health, "/readyz/authconfigs")
            return (st, body) if st == 500 else None
        r = eventually(broken_listed)
        check(r and "authconfig is not ready: default/broken (reason: Invalid)" in r[1],
              "/readyz/authconfigs: 500 naming the AuthConfig that is not ready", r)
        st, body = get(health, "/readyz/authconfigs?verbose")
        check("[-]default/broken Invalid" in body and "[+]default/good ok" in body,
              "/readyz/authconfigs?verbose: one line per AuthConfig", body)
        check(get(health, "/readyz")[0] == 200 and get(health, "/healthz")[0] == 200,
              "/readyz and /healthz on --health-probe-addr")
        check(get(health, "/metrics")[0] == 404, "no metrics on the probe port")
        sm, m = get(metrics, "/metrics"), get(metrics, "/server-metrics")
        check(sm[0] == 200 and m[0] == 200 and "auth_server_authconfig_total" in m[1] and
              "auth_server_authconfig_total" in sm[1],
              "/metrics and /server-metrics on --metrics-addr", (sm[0], m[0]))
        # --max-http-request-body-size reaches the HTTP listener (TLS too).
        ctx = ssl.create_default_context(cafile=crt)
        c = http.client.HTTPSConnection("127.0.0.1", http_, timeout=5, context=ctx)
        try:
            c.request("POST", "/check", body="x" * 200, headers={"Host": "good.test"})
            st = c.getresponse().status
        except OSError as e:
            st = repr(e)
        finally:
            c.close()
        check(st == 413, "--max-http-request-body-size=64: a 200-byte body is refused", st)
    finally:
        if proc:
            stop(proc)
        api.stop()
    text = open(os.path.join(tmp, "operator.log")).read()
    lines, bad = json_lines(text)
    check(not bad and any(ln.get("msg") == "outgoing authorization response" for ln in lines),
          "--log-mode=production: JSON lines with decisions", bad[:3])


def authorino_env(tmp):
    """Authorino's environment variables, no flags but the AuthConfigs."""
    ac = write(os.path.join(tmp, "env.yaml"), AUTHCONFIG)
    grpc, http_, metrics, health = free_ports(4)
    env = {"EXT_AUTH_GRPC_PORT": str(grpc), "EXT_AUTH_HTTP_PORT": str(http_),
           "LOG_LEVEL": "info", "LOG_MODE": "development", "TIMEOUT": "2000",
           "MAX_HTTP_REQUEST_BODY_SIZE": "32", "EVALUATOR_CACHE_SIZE": "1",
           "DEEP_METRICS_ENABLED": "true", "PORTCULLIS_METRICS_ADDR": "127.0.0.1:%d" % metrics,
           "PORTCULLIS_HEALTH_PROBE_ADDR": "127.0.0.1:%d" % health}
    log = open(os.path.join(tmp, "env.log"), "w+")
    proc = subprocess.Popen([PC_BIN, "server", "--authconfigs", ac, "--io-threads", "2",
                             "--workers", "4"] + plugin_args(),
                            stdout=log, stderr=subprocess.STDOUT, env=clean_env(env))
    try:
        up = wait_ready(health, proc)
        check(up, "server ready from Authorino's environment variables",
              open(log.name).read()[-1500:])
        with Client("127.0.0.1:%d" % grpc, timeout=5) as c:
            r = c.check(build_check_request("api.test", "/", headers={
                "authorization": "APIKEY " + KEY}))
        check(r.status.code == 0, "EXT_AUTH_GRPC_PORT serves gRPC")
        c = http.client.HTTPConnection("127.0.0.1", http_, timeout=5)
        try:
            c.request("POST", "/check", body="y" * 100, headers={"Host": "api.test"})
            st = c.getresponse().status
        finally:
            c.close()
        check(st == 413, "EXT_AUTH_HTTP_PORT and MAX_HTTP_REQUEST_BODY_SIZE", st)
        check(get(metrics, "/server-metrics")[0] == 200 and get(health, "/readyz")[0] == 200,
              "metrics and probes on their own ports")
    finally:
        stop(proc)
    t = open(log.name).read()
    check(not t.lstrip().startswith("{") and "outgoing authorization response" in t,
          "LOG_MODE=development: text lines", t[:300])


def one_port(tmp):
    """--metrics-addr and --health-probe-addr the same: one listener."""
    ac = write(os.path.join(tmp, "one.yaml"), AUTHCONFIG)
    grpc, http_, both = free_ports(3)
    addr = "127.0.0.1:%d" % both
    log = open(os.path.join(tmp, "one.log"), "w+")
    proc = subprocess.Popen([PC_BIN, "server", "--authconfigs", ac, "--grpc-addr",
                             "127.0.0.1:%d" % grpc, "--http-addr", "127.0.0.1:%d" % http_,
                             "--metrics-addr", addr, "--health-probe-addr", addr,
                             "--log-mode", "development", "--io-threads", "2",
                             "--workers", "4"] + plugin_args(),
                            stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    try:
        check(wait_ready(both, proc), "probes and metrics on one address: ready",
              open(log.name).read()[-1500:])
        paths = ["/healthz", "/readyz", "/readyz/authconfigs", "/metrics", "/server-metrics"]
        got = {p: get(both, p)[0] for p in paths}
        check(all(v == 200 for v in got.values()), "every probe and metrics path on it", got)
        st, body = get(both, "/readyz/authconfigs?verbose")
        check(st == 200 and "[+]default/api-protection ok" in body,
              "file mode: every loaded AuthConfig is ready", body)
    finally:
        stop(proc)
    t = open(log.name).read()
    check("admin=%s health=%s" % (addr, addr) in t, "one listener, named for both",
          t[-600:])


def admin_port(tmp):
    """--admin-addr alone still carries everything (the harness's way)."""
    srv = Server(tmp, authconfig_text=AUTHCONFIG, extra=SMALL, name="admin")
    try:
        check(srv.ready(), "--admin-addr server ready", srv.logtail())
        got = {p: get(srv.admin_port, p)[0] for p in
               ["/healthz", "/readyz", "/readyz/authconfigs", "/metrics", "/server-metrics"]}
        check(all(v == 200 for v in got.values()), "--admin-addr: probes and metrics", got)
        m1, m2 = get(srv.admin_port, "/metrics")[1], get(srv.admin_port, "/server-metrics")[1]
        fam = lambda t: sorted(ln for ln in t.splitlines() if ln.startswith("# TYPE"))  # noqa
        check(fam(m1) == fam(m2) and fam(m1), "/server-metrics is /metrics")
    finally:
        srv.stop()


def main():
    if not shutil.which("kubectl") or not shutil.which("openssl"):
        print("skip - kubectl or openssl missing")
        return 77
    tmp = tempfile.mkdtemp(prefix="pc-ops-")
    try:
        with checks.guard("decision logs"):
            decision_logs(tmp)
        with checks.guard("wrong values"):
            wrong_values()
        with checks.guard("operator Deployment"):
            operator_deployment(tmp)
        with checks.guard("Authorino env"):
            authorino_env(tmp)
        with checks.guard("one port"):
            one_port(tmp)
        with checks.guard("admin port"):
            admin_port(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    sys.exit(main())
