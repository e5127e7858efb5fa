#!/usr/bin/python3
"""`http` callbacks end to end: `portcullis serve` with its gRPC port
(python3-grpcio) and raw HTTP port (http.client) against the metadata
service fixture (tests/fixtures/metadata_service), which records what each
callback sent. Covers what is sent (placeholders, method, JSON and form
bodies, headers, the shared-secret credential), callbacks after allowed and
denied requests, `when`, that a slow, failing or absent service never
delays or changes the verdict, the failure and drop counters on /metrics,
the queueLimit bound, and config errors with their paths."""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       free_port, grpc_client, plugin_args, started, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "metadata_service"))
from metadata_service import MetadataService  # noqa: E402

HOST = "talker-api.127.0.0.1.nip.io"
SECRET = "cb-s3cret-value"
SECRETS = """\
---
apiVersion: v1
kind: Secret
metadata: {name: callback-creds, namespace: default}
stringData: {token: %s}
""" % SECRET

checks = Checks(limit=None)
check = checks.check


def authconfig(callbacks, name="cb", host=HOST, identity=None):
    identity = identity or """\
    anon:
      anonymous: {}
"""
    return ("apiVersion: authorino.kuadrant.io/v1beta3\nkind: AuthConfig\n"
            "metadata: {name: %s, namespace: default}\nspec:\n  hosts: [%s]\n"
            "  authentication:\n%s  callbacks:\n%s" % (name, host, identity, callbacks)
            ) + SECRETS



def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    return cond()


def path_count(svc, path):
    return svc.counters()["paths"].get(path, 0)


def metric(srv, name):
    c = http.client.HTTPConnection("127.0.0.1", srv.admin_port, timeout=5)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    m = re.search(r"^portcullis_%s(?:\{[^}]*\})? (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def start(tmp, text, name):
    return started(Server(tmp, authconfig_text=text, name=name), check, name)


def test_sent(svc, tmp):
    ec = grpc_client()
    text = authconfig("""\
    notify:
      http:
        url: "%s/events/{request.method}"
        method: POST
        contentType: application/json
        bodyParameters:
          path: {selector: request.path}
          user: {selector: request.headers.x-user}
          fixed: {value: 42}
        headers:
          X-Event: {value: decision}
          X-User: {selector: request.headers.x-user}
        sharedSecretRef: {name: callback-creds, key: token}
        credentials:
          authorizationHeader: {prefix: Shared}
    form:
      http:
        url: "%s/form-events"
        method: PUT
        bodyParameters:
          who: {selector: request.headers.x-user}
          "a b": {value: "c&d"}
    get-only:
      http:
        url: "%s/get-events?u={request.headers.x-user}"
""" % (svc.url, svc.url, svc.url)) + """\
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: denied, namespace: default}
spec:
  hosts: [denied.%s]
  authentication:
    keys:
      apiKey:
        selector: {matchLabels: {group: nobody}}
  callbacks:
    on-deny:
      http:
        url: "%s/denied-events"
        method: POST
        body: {selector: request.path}
    skipped:
      when:
      - {selector: request.headers.x-never, operator: eq, value: "1"}
      http:
        url: "%s/never"
""" % (HOST, svc.url, svc.url)
    srv = start(tmp, text, "sent")
    if not srv:
        return
    try:
        with ec.Client(srv.grpc, timeout=10) as c:
            r = c.check(ec.build_check_request(HOST, "/hello?x=1", method="GET",
                                               headers={"x-user": "alice"}))
            check(r.status.code == 0, "allowed request: verdict OK", r)
            check(wait_for(lambda: path_count(svc, "/events/GET") == 1),
                  "callback url placeholder resolved (/events/GET)", svc.counters())
            check(wait_for(lambda: path_count(svc, "/form-events") == 1) and
                  wait_for(lambda: path_count(svc, "/get-events") == 1),
                  "every callback of the AuthConfig fires once", svc.counters())
    finally:
        srv.stop()
    check("Shared " + SECRET not in srv.logtext() and SECRET not in srv.logtext(),
          "the shared secret never appears in the log")

    # The fixture keeps only the last request: one AuthConfig per callback.
    for cbname, path, want in (
            ("notify", "/events/GET", lambda q: q["method"] == "POST" and
             q["json"] == {"path": "/hello?x=1", "user": "alice", "fixed": 42} and
             q["headers"].get("authorization") == "Shared " + SECRET and
             q["headers"].get("x-event") == "decision" and
             q["headers"].get("x-user") == "alice" and
             q["headers"].get("content-type") == "application/json"),
            ("form", "/form-events", lambda q: q["method"] == "PUT" and
             q["form"] == {"a b": "c&d", "who": "alice"} and
             q["headers"].get("content-type") == "application/x-www-form-urlencoded"),
            ("get-only", "/get-events", lambda q: q["method"] == "GET" and
             q["args"] == {"u": "alice"} and q["body"] == "")):
        block = re.search(r"(    %s:\n(?:      .*\n)+)" % re.escape(cbname), text).group(1)
        one = authconfig(block, name=cbname)
        svc.reset()
        s2 = start(tmp, one, "one-" + cbname)
        if not s2:
            continue
        try:
            with ec.Client(s2.grpc, timeout=10) as c:
                c.check(ec.build_check_request(HOST, "/hello?x=1", headers={"x-user": "alice"}))
            wait_for(lambda: path_count(svc, path) == 1)
            q = svc.last()["request"]
            check(q is not None and q["path"] == path and want(q),
                  "callback %s sends what the config says" % cbname, q)
        finally:
            s2.stop()

    # A denied request fires its callbacks too; `when` skips one.
    svc.reset()
    srv = start(tmp, text, "denied")
    if not srv:
        return
    try:
        with ec.Client(srv.grpc, timeout=10) as c:
            r = c.check(ec.build_check_request("denied." + HOST, "/secret",
                                               headers={"authorization": "APIKEY nope"}))
            check(r.status.code == 16 or r.status.code == 7,
                  "denied request stays denied with a callback", r.status)
        check(wait_for(lambda: path_count(svc, "/denied-events") == 1) and
              svc.last()["request"]["body"] == "/secret",
              "callback fires after a denial, with the request's data", svc.last())
        time.sleep(0.2)
        check(path_count(svc, "/never") == 0, "a callback whose when fails is skipped",
              svc.counters())
        check(wait_for(lambda: metric(srv, "callback_http_sent_total") == 1),
              "sent counter counts the 2xx answer", metric(srv, "callback_http_sent_total"))
    finally:
        srv.stop()


def test_never_delays(svc, tmp):
    ec = grpc_client()
    dead = free_port()   # nothing listens there
    text = authconfig("""\
    slow:
      http:
        url: "%s/slow/{request.headers.x-n}"
        timeout: 4000
    broken:
      http:
        url: "%s/broken"
    refused:
      http:
        url: "http://127.0.0.1:%d/nothing"
        timeout: 1000
""" % (svc.url, svc.url, dead))
    srv = start(tmp, text, "delays")
    if not srv:
        return
    try:
        svc.set_fault(delay_ms=1500, path_prefix="/slow/")
        with ec.Client(srv.grpc, timeout=10) as c:
            t0 = time.monotonic()
            r = c.check(ec.build_check_request(HOST, "/a", headers={"x-n": "1"}))
            took = time.monotonic() - t0
            check(r.status.code == 0 and took < 0.5,
                  "a slow callback service does not delay the verdict (%.3fs)" % took, r.status)
            check(wait_for(lambda: path_count(svc, "/slow/1") == 1, 5),
                  "the slow callback still arrives later", svc.counters())
        svc.clear_fault()
        svc.set_fault(status=503, path_prefix="/broken")
        with ec.Client(srv.grpc, timeout=10) as c:
            r = c.check(ec.build_check_request(HOST, "/b", headers={"x-n": "2"}))
            check(r.status.code == 0, "a 503 from the callback service leaves the verdict", r)
        # Refused twice, 503 once (the first request's /broken had no fault).
        check(wait_for(lambda: (metric(srv, "callback_http_failed_total") or 0) >= 3, 5) and
              metric(srv, "callback_http_failed_total") == 3,
              "503 and refused callbacks are counted as failures (3)",
              metric(srv, "callback_http_failed_total"))
        log = srv.logtext()
        check("answered HTTP 503" in log, "a failed callback is logged with its status",
              log[-1500:])
        check("http callback failed" in log, "a refused connection is logged", log[-1500:])
    finally:
        svc.clear_fault()
        srv.stop()

    # Raw HTTP /check: the same callbacks, the same non-blocking behaviour.
    svc.reset()
    srv = start(tmp, authconfig("""\
    raw:
      http:
        url: "%s/raw{request.path}"
""" % svc.url), "raw")
    if not srv:
        return
    try:
        c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
        c.request("GET", "/check/page", headers={"Host": HOST})
        resp = c.getresponse()
        resp.read()
        c.close()
        check(resp.status == 200, "raw HTTP check allowed", resp.status)
        check(wait_for(lambda: sum(v for k, v in svc.counters()["paths"].items()
                                   if k.startswith("/raw")) == 1),
              "raw HTTP check fires the callback", svc.counters())
    finally:
        srv.stop()


def test_queue_limit(svc, tmp):
    ec = grpc_client()
    text = authconfig("""\
    bounded:
      http:
        url: "%s/q/{request.headers.x-n}"
        timeout: 5000
        queueLimit: 2
""" % svc.url)
    srv = start(tmp, text, "queue")
    if not srv:
        return
    try:
        svc.set_fault(delay_ms=800, path_prefix="/q/")
        n = 10
        with ec.Client(srv.grpc, timeout=10) as c:
            t0 = time.monotonic()
            codes = [c.check(ec.build_check_request(HOST, "/", headers={"x-n": str(i)})
                             ).status.code for i in range(n)]
            took = time.monotonic() - t0
        check(codes == [0] * n and took < 2.0,
              "a full callback queue never delays or denies (%.2fs for %d)" % (took, n), codes)
        dropped = wait_for(lambda: metric(srv, "callback_http_dropped_total"), 3) or 0
        # At most 4 calls in flight (the senders) and 2 queued; the rest is
        # dropped (more when a sender had not yet taken its call).
        check(4 <= dropped <= 8, "overflow beyond queueLimit 2 drops and counts", dropped)
        sent = wait_for(lambda: metric(srv, "callback_http_sent_total") == n - dropped, 6)
        check(sent, "the queued callbacks are still sent",
              (metric(srv, "callback_http_sent_total"), dropped))
        check("queueLimit" in srv.logtext(), "a drop is logged", srv.logtail())
    finally:
        svc.clear_fault()
        srv.stop()


def test_config_errors(svc, tmp):
    cases = (
        ("typo", "methd: POST", "methd"),
        ("queueLimit 0", "queueLimit: 0", "queueLimit"),
        ("queueLimit too large", "queueLimit: 1000000", "queueLimit"),
        ("GET with a body", "body: {value: x}", "has no body"),
        ("missing Secret", "sharedSecretRef: {name: nope, key: token}", "Secret default/nope"),
        ("not a URL", None, "http:// or https://"),
    )
    for what, line, needle in cases:
        body = ("        url: \"%s/x\"\n        %s\n" % (svc.url, line) if line
                else "        url: ftp://example\n")
        ac = write(os.path.join(tmp, "check.yaml"), authconfig("    bad:\n      http:\n" + body))
        p = subprocess.run([PC_BIN, "check", ac] + plugin_args(), capture_output=True,
                           text=True, env=clean_env(), timeout=60)
        out = p.stdout + p.stderr
        check(p.returncode == 1 and needle in out and "spec.callbacks.bad.http" in out,
              "config error (%s) names the path" % what, (p.returncode, out))
    ac = write(os.path.join(tmp, "check.yaml"), authconfig(
        "    ok:\n      http:\n        url: \"%s/x\"\n        queueLimit: 5\n" % svc.url))
    p = subprocess.run([PC_BIN, "check", ac] + plugin_args(), capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    check(p.returncode == 0, "a valid callback config passes check", p.stdout + p.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="pc-callbacks-")
    with MetadataService() as svc:
        for t in (test_sent, test_never_delays, test_queue_limit, test_config_errors):
            with checks.guard(t.__name__):
                svc.reset()
                t(svc, tmp)
    __import__("shutil").rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
