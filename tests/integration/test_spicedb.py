#!/usr/bin/python3
"""spicedb authorization end to end: the real binary (`portcullis check`,
`portcullis eval`, and `portcullis serve` over its gRPC port with
python3-grpcio) against a SpiceDB-like gRPC server
(tests/fixtures/spicedb), with the AuthConfig of Authorino's authzed guide
unchanged; then denials, gRPC errors, timeouts, garbage and broken HTTP/2
answers (a scripted python3-h2 server), TLS, and config errors."""

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, Server, clean_env,  # noqa: E402
                       grpc_client, plugin_args, started, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "spicedb"))
from spicedb_fixture import SpiceDB, TOKEN, messages  # noqa: E402
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "test_ca"))
from test_ca import TestCA  # noqa: E402

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

GUIDE = os.path.join(PC_SOURCE_DIR, "tests", "data", "guides", "authzed.yaml")
GUIDE_ENDPOINT = "spicedb.spicedb.svc.cluster.local:50051"
HOST = "talker-api.127.0.0.1.nip.io"
# The guide's permission schema and relationships.
SCHEMA = {"blog/post": {"read": ["reader", "writer"], "write": ["writer"]}}
RELS = [("blog/post", "1", "writer", "blog/user", "emilia"),
        ("blog/post", "1", "reader", "blog/user", "beatrice")]
KEY = "s3cr3t-preshared-key-7f3a"

checks = Checks()
check = checks.check


def seeded(db):
    db.write_schema(SCHEMA)
    for r in RELS:
        db.relate(*r)
    return db


def authconfig(tmp, name, endpoint, spicedb_extra="", key=KEY, response="", insecure=True):
    """Anonymous identity, then spicedb: subject blog/user:<x-user>, resource
    blog/post:1, permission <x-perm>."""
    text = """\
apiVersion: v1
kind: Secret
metadata: {name: spicedb, namespace: default}
stringData: {grpc-preshared-key: "%s"}
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: %s, namespace: default}
spec:
  hosts: [%s]
  authentication:
    anon: {anonymous: {}}
  authorization:
    check:
      spicedb:
        endpoint: "%s"
        insecure: %s
        sharedSecretRef: {name: spicedb, key: grpc-preshared-key}
        subject: {kind: {value: blog/user}, name: {selector: request.headers.x-user}}
        resource: {kind: {value: blog/post}, name: {value: "1"}}
        permission: {selector: request.headers.x-perm}
%s
%s""" % (key, name, HOST, endpoint, "true" if insecure else "false", spicedb_extra,
         response)
    return write(os.path.join(tmp, name + ".yaml"), text)


def check_request(path="/posts/1", method="GET", headers=None):
    hdrs = {":authority": HOST, ":method": method, ":path": path}
    hdrs.update(headers or {})
    return {"attributes": {"request": {"http": {
        "id": "1", "method": method, "headers": hdrs, "path": path, "host": HOST,
        "scheme": "http", "protocol": "HTTP/1.1"}}}}


def run_eval(tmp, ac, user="emilia", perm="read", env=None):
    rq = write(os.path.join(tmp, "request.json"),
               json.dumps(check_request(headers={"x-user": user, "x-perm": perm})))
    cmd = [PC_BIN, "eval", "--output", "json", "-a", ac, "-r", rq] + plugin_args()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=60)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = None
    if p.returncode not in (0, 1):
        # A crash or a sanitizer's report after the answer was printed.
        print("eval exited %d: %s" % (p.returncode, p.stderr[-2000:]))
        out = None
    return p, out, time.monotonic() - t0


def denied(out, reason):
    return (out is not None and not out["allowed"] and out["http_status"] == 403 and
            out["reason"] == reason)


def reason_of(out):
    return out["reason"] if out else None


# ---- the guide ----

def test_guide(tmp, ec):
    p = subprocess.run([PC_BIN, "check", GUIDE] + plugin_args(), capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    check(p.returncode == 0, "guide: the AuthConfig loads unchanged (check)",
          p.stdout + p.stderr)
    with seeded(SpiceDB(key="secret")) as db:
        # The endpoint's cluster name made the fixture's loopback address.
        text = open(GUIDE).read().replace(GUIDE_ENDPOINT, db.endpoint)
        srv = started(Server(tmp, authconfig_text=text, name="guide",
                             extra=["--workers", "8"]), check, "guide")
        if not srv:
            return
        try:
            with ec.Client(srv.grpc, timeout=10) as c:
                for who, key, method, want in (("emilia", "IAMEMILIA", "GET", 200),
                                               ("emilia", "IAMEMILIA", "POST", 200),
                                               ("beatrice", "IAMBEATRICE", "GET", 200),
                                               ("beatrice", "IAMBEATRICE", "POST", 403)):
                    r = c.check(ec.build_check_request(
                        HOST, "/posts/1", method=method,
                        headers={"authorization": "APIKEY " + key}))
                    last = db.last or {}
                    sent = (last.get("resource") == ("blog/post", "1") and
                            last.get("subject") == ("blog/user", who) and
                            last.get("permission") == {"GET": "read", "POST": "write"}[method] and
                            last.get("authorization") == "Bearer secret" and
                            not last.get("has_consistency"))
                    if want == 200:
                        ok = r.status.code == 0
                    else:
                        h = {o.header.key.lower(): o.header.value
                             for o in r.denied_response.headers}
                        ok = (r.status.code == 7 and r.denied_response.status.code == 403 and
                              h.get("x-ext-auth-reason") ==
                              "PERMISSIONSHIP_NO_PERMISSION;token=" + TOKEN)
                    check(ok and sent, "guide: %s %s /posts/1 -> %d as the guide prints" %
                          (who, method, want), (r, last))
                check(len(db.peers) == 1, "guide: the four checks share one connection",
                      db.peers)
                # grpc-timeout tells the server the client's deadline (5 s).
                tr = (db.last or {}).get("time_remaining")
                check(tr is not None and 3.0 < tr <= 5.0,
                      "guide: the call carries a deadline (grpc-timeout)", tr)
                # Concurrent checks over the real port: each decided right.
                n0 = db.calls

                def one(i):
                    who, key = (("emilia", "IAMEMILIA"), ("beatrice", "IAMBEATRICE"))[i % 2]
                    return i, c.check(ec.build_check_request(
                        HOST, "/posts/1", method="POST",
                        headers={"authorization": "APIKEY " + key}))
                with concurrent.futures.ThreadPoolExecutor(max_workers=16) as ex:
                    res = list(ex.map(one, range(64)))
                bad = [i for i, r in res if (r.status.code == 0) != (i % 2 == 0)]
                check(not bad and db.calls - n0 == 64 and len(db.peers) <= 8,
                      "guide: 64 concurrent checks over the gRPC port, each decided right, "
                      "on at most one connection per worker (%d)" % len(db.peers),
                      (bad, db.calls - n0))
        finally:
            rc = srv.stop()
        check(rc == 0, "guide: the server stops cleanly (exit 0)", srv.logtail())


# ---- verdicts and errors through eval ----

def test_verdicts(tmp):
    with seeded(SpiceDB(key=KEY)) as db:
        resp = """  response:
    success:
      headers:
        x-spicedb: {plain: {selector: auth.authorization.check}}"""
        ac = authconfig(tmp, "verdicts", db.endpoint, response=resp)
        p, out, _ = run_eval(tmp, ac, "emilia", "write")
        hdr = (out or {}).get("headers", {}).get("x-spicedb")
        try:
            obj = json.loads(hdr) if hdr else None
        except ValueError:
            obj = None
        check(out is not None and out["allowed"] and
              obj == {"checked_at": {"token": TOKEN}, "permissionship": 2},
              "eval: granted; auth.authorization.NAME is Authorino's permission response",
              (p.stdout, p.stderr))
        check(db.last and db.last["authorization"] == "Bearer " + KEY and
              db.last["user_agent"].startswith("portcullis-spicedb"),
              "eval: the preshared key is sent as a bearer token", db.last)
        p, out, _ = run_eval(tmp, ac, "beatrice", "write")
        check(denied(out, "PERMISSIONSHIP_NO_PERMISSION;token=" + TOKEN),
              "eval: no permission denies with Authorino's reason", p.stdout)
        p, out, _ = run_eval(tmp, ac, "nobody", "read")
        check(denied(out, "PERMISSIONSHIP_NO_PERMISSION;token=" + TOKEN),
              "eval: an unrelated subject is denied", p.stdout)
        p, out, _ = run_eval(tmp, ac, "emilia", "delete")
        check(denied(out, "rpc error: code = FailedPrecondition desc = relation/permission "
                          "`delete` not found under definition `blog/post`"),
              "eval: a gRPC error from SpiceDB denies with the status and message",
              reason_of(out))
        # Answers other than HAS_PERMISSION deny, with or without a token.
        for perm, token, want in ((3, TOKEN, "PERMISSIONSHIP_CONDITIONAL_PERMISSION;token=" +
                                   TOKEN),
                                  (0, None, "PERMISSIONSHIP_UNSPECIFIED"),
                                  (1, "", "PERMISSIONSHIP_NO_PERMISSION;token="),
                                  (7, TOKEN, "7;token=" + TOKEN)):
            db.set_fault(permissionship=perm, token=token)
            p, out, _ = run_eval(tmp, ac, "emilia", "read")
            check(denied(out, want), "eval: permissionship %d denies (%s)" % (perm, want),
                  reason_of(out))
        db.set_fault(code="UNAVAILABLE", message="datastore is down")
        p, out, _ = run_eval(tmp, ac, "emilia", "read")
        check(denied(out, "rpc error: code = Unavailable desc = datastore is down"),
              "eval: UNAVAILABLE denies", reason_of(out))
        db.set_fault(garbage=True)
        p, out, _ = run_eval(tmp, ac, "emilia", "read")
        check(denied(out, "rpc error: code = Internal desc = grpc: failed to unmarshal the "
                          "received message"),
              "eval: a message that is no CheckPermissionResponse denies", reason_of(out))
        db.clear_fault()
        # A selector that resolves to nothing is an error, not a check.
        n = db.calls
        ac2 = authconfig(tmp, "missing", db.endpoint)
        rq = write(os.path.join(tmp, "nouser.json"),
                   json.dumps(check_request(headers={"x-perm": "read"})))
        p = subprocess.run([PC_BIN, "eval", "-o", "json", "-a", ac2, "-r", rq] +
                           plugin_args(), capture_output=True, text=True, env=clean_env(),
                           timeout=60)
        out = json.loads(p.stdout) if p.stdout.startswith("{") else None
        check(denied(out, "spicedb: subject.name resolved to nothing") and db.calls == n,
              "eval: a subject that resolves to nothing denies without a call",
              (p.stdout, db.calls - n))

        # The wrong key: SpiceDB's Unauthenticated, and the key never logged.
        wrong = authconfig(tmp, "wrongkey", db.endpoint, key="not-the-" + KEY)
        p, out, _ = run_eval(tmp, wrong, "emilia", "read")
        check(denied(out, "rpc error: code = Unauthenticated desc = invalid preshared key: "
                          "invalid token"), "eval: a wrong preshared key denies",
              reason_of(out))
        srv = started(Server(tmp, authconfigs=wrong, name="wrongkey",
                             extra=["--log-level", "debug"]), check, "wrongkey")
        if srv:
            try:
                ec = grpc_client()
                with ec.Client(srv.grpc, timeout=10) as c:
                    r = c.check(ec.build_check_request(
                        HOST, "/", headers={"x-user": "emilia", "x-perm": "read"}))
                check(r.status.code == 7, "serve: a wrong preshared key denies", r)
            finally:
                srv.stop()
            log = srv.logtext()
            check(KEY not in log and "Bearer" not in log,
                  "serve: the preshared key is not in the debug log", log[-1500:])

        # The evaluator cache: a grant is kept, a denial is asked again.
        cached = authconfig(tmp, "cached", db.endpoint, """\
      cache:
        key: {selector: "{request.headers.x-user} {request.headers.x-perm}"}
        ttl: 60""")
        srv = started(Server(tmp, authconfigs=cached, name="cached"), check, "cached")
        if srv:
            try:
                ec = grpc_client()
                with ec.Client(srv.grpc, timeout=10) as c:
                    def code(u):
                        return c.check(ec.build_check_request(
                            HOST, "/", headers={"x-user": u, "x-perm": "write"})).status.code
                    n = db.calls
                    first = [code("emilia"), code("emilia"), code("emilia")]
                    granted_calls = db.calls - n
                    second = [code("beatrice"), code("beatrice")]
                    denied_calls = db.calls - n - granted_calls
                check(first == [0, 0, 0] and granted_calls == 1 and second == [7, 7] and
                      denied_calls == 2, "serve: with `cache`, a grant is checked once, "
                      "denials every time", (first, granted_calls, second, denied_calls))
            finally:
                srv.stop()

        # Timeouts: the evaluator's own, and the answer within it.
        slow = authconfig(tmp, "slow", db.endpoint, "        timeout: 300")
        db.set_fault(delay_ms=1500)
        p, out, took = run_eval(tmp, slow, "emilia", "read")
        db.clear_fault()
        # Whichever gives up first: the client, or the server at its
        # grpc-timeout (grpcio answers DEADLINE_EXCEEDED itself).
        check(out is not None and not out["allowed"] and
              out["reason"].startswith("rpc error: code = DeadlineExceeded desc = ")
              and took < 1.4, "eval: a slow SpiceDB times out after `timeout` (%.2fs)" % took,
              reason_of(out))
        tr = (db.last or {}).get("time_remaining")
        check(tr is not None and tr <= 0.3, "eval: grpc-timeout is the evaluator's timeout", tr)


def test_transport(tmp):
    # Nobody listening.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    p, out, _ = run_eval(tmp, authconfig(tmp, "closed", closed))
    check(out is not None and not out["allowed"] and out["http_status"] == 403 and
          out["reason"].startswith("rpc error: code = Unavailable desc = connection error:"),
          "transport: a closed port denies (Unavailable)", reason_of(out))
    # Something that is not HTTP/2.
    with RawServer(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello") as raw:
        p, out, _ = run_eval(tmp, authconfig(tmp, "junk", raw.endpoint))
        check(out is not None and not out["allowed"] and
              out["reason"].startswith("rpc error: code = Unavailable desc = connection error:"),
              "transport: an HTTP/1 answer to HTTP/2 denies", reason_of(out))
    with RawServer(os.urandom(256)) as raw:
        p, out, _ = run_eval(tmp, authconfig(tmp, "junk2", raw.endpoint))
        check(out is not None and not out["allowed"] and out["reason"].startswith("rpc error:"),
              "transport: random bytes deny", reason_of(out))

    pb = messages()

    def msg(perm=2, token=TOKEN):
        m = pb.CheckPermissionResponse(permissionship=perm)
        if token is not None:
            m.checked_at.token = token
        b = m.SerializeToString()
        return b"\x00" + len(b).to_bytes(4, "big") + b

    grpc_hdr = [(":status", "200"), ("content-type", "application/grpc")]
    ok_trailers = [("grpc-status", "0")]
    cases = [
        ("a well-formed answer is granted", (grpc_hdr, msg(), ok_trailers), None),
        ("HTTP 503 without grpc-status", ([(":status", "503"), ("content-type", "text/plain")],
                                          b"busy", None),
         "rpc error: code = Unavailable desc = unexpected HTTP status code received from "
         "server: 503"),
        ("HTTP 200 text/html", ([(":status", "200"), ("content-type", "text/html")],
                                b"<html></html>", ok_trailers),
         "rpc error: code = Internal desc = transport: received unexpected content-type"),
        ("no trailers", (grpc_hdr, msg(), None),
         "rpc error: code = Internal desc = server closed the stream without sending "
         "trailers"),
        ("trailers-only error, percent-encoded message",
         (grpc_hdr + [("grpc-status", "14"), ("grpc-message", "backend%20down%0D%0Ax")],
          None, None),
         "rpc error: code = Unavailable desc = backend down??x"),
        ("a grpc-status that is no number", (grpc_hdr, msg(), [("grpc-status", "zero")]),
         "rpc error: code = Internal desc = malformed grpc-status in the answer"),
        ("an unknown grpc-status code", (grpc_hdr, None, [("grpc-status", "99"),
                                                        ("grpc-message", "odd")]),
         "rpc error: code = Code(99) desc = odd"),
        ("a truncated message", (grpc_hdr, msg()[:-3], ok_trailers),
         "rpc error: code = Internal desc = grpc: truncated response message"),
        ("no message", (grpc_hdr, None, ok_trailers),
         "rpc error: code = Internal desc = grpc: no response message"),
        ("a compressed message", (grpc_hdr, b"\x01" + msg()[1:], ok_trailers),
         "rpc error: code = Internal desc = grpc: compressed message, none was asked for"),
        ("two messages", (grpc_hdr, msg() + msg(), ok_trailers),
         "rpc error: code = Internal desc = grpc: more than one response message"),
        ("a stream reset before any answer", (None, None, None),
         "rpc error: code = Unavailable desc = connection error: stream terminated by "
         "RST_STREAM with error code: 2"),
        ("an oversized answer", (grpc_hdr, b"\x00\x00\x02\x00\x00" + b"x" * (128 * 1024),
                                 ok_trailers),
         "rpc error: code = ResourceExhausted desc = grpc: received message larger than max "
         "(65536)"),
    ]
    # Pooled connections the server closed while idle: noticed before
    # use, or (closed as the request arrives) the check sent again once on
    # a new connection.
    ec = grpc_client()
    for what, opts, want_reqs in (("closed after each answer", {"close_after": True}, 3),
                                  ("closed when the next request arrives", {"per_conn": 1}, 5)):
        with H2Script(grpc_hdr, msg(), ok_trailers, **opts) as h2s:
            srv = started(Server(tmp, authconfigs=authconfig(tmp, "reuse", h2s.endpoint),
                                 name="reuse", extra=["--workers", "1"]), check, "reuse")
            if not srv:
                continue
            try:
                with ec.Client(srv.grpc, timeout=10) as c:
                    codes = [c.check(ec.build_check_request(
                        HOST, "/", headers={"x-user": "emilia", "x-perm": "read"})).status.code
                        for _ in range(3)]
            finally:
                srv.stop()
            check(codes == [0, 0, 0] and len(h2s.requests) == want_reqs and h2s.conns == 3,
                  "h2: a pooled connection %s: every check still answered" % what,
                  (codes, len(h2s.requests), h2s.conns))

    for what, script, want in cases:
        with H2Script(*script) as h2s:
            p, out, took = run_eval(tmp, authconfig(tmp, "h2", h2s.endpoint))
            if want is None:
                ok = out is not None and out["allowed"]
            else:
                ok = denied(out, want)
            check(ok and took < 5, "h2: %s -> %s" % (what, want or "granted"),
                  (reason_of(out), p.stderr[-500:]))
            if want is None:
                check(h2s.requests and h2s.requests[0]["headers"].get(":path") ==
                      "/authzed.api.v1.PermissionsService/CheckPermission" and
                      h2s.requests[0]["headers"].get("content-type") == "application/grpc" and
                      h2s.requests[0]["headers"].get("te") == "trailers" and
                      h2s.requests[0]["headers"].get(":method") == "POST",
                      "h2: the request is a gRPC call on the Authzed path",
                      h2s.requests[:1])
                body = h2s.requests[0]["body"] if h2s.requests else b""
                req = pb.CheckPermissionRequest.FromString(body[5:]) if len(body) > 5 else None
                check(body[:1] == b"\x00" and int.from_bytes(body[1:5], "big") ==
                      len(body) - 5 and req is not None and req.permission == "read" and
                      req.resource.object_type == "blog/post" and
                      req.subject.object.object_id == "emilia",
                      "h2: the body is one uncompressed, length-prefixed request", body)


def test_tls(tmp):
    ca = TestCA("spicedb-test-ca")
    cert, key = ca.issue("spicedb", eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
                         san_ip=("127.0.0.1",))
    cafile = write(os.path.join(tmp, "ca.pem"), ca.pem)
    with seeded(SpiceDB(key=KEY, tls=(cert, key))) as db:
        tls_ac = authconfig(tmp, "tls", db.endpoint, insecure=False)
        p, out, _ = run_eval(tmp, tls_ac, env={"SSL_CERT_FILE": cafile})
        check(out is not None and out["allowed"] and db.calls == 1,
              "tls: granted over TLS with the CA in SSL_CERT_FILE", (reason_of(out), p.stderr))
        # Through the server: the TLS connection is reused by later checks.
        os.environ["SSL_CERT_FILE"] = cafile
        try:
            srv = started(Server(tmp, authconfigs=tls_ac, name="tls", extra=["--workers", "1"]),
                          check, "tls")
        finally:
            del os.environ["SSL_CERT_FILE"]
        if srv:
            try:
                ec = grpc_client()
                db.peers.clear()
                with ec.Client(srv.grpc, timeout=10) as c:
                    codes = [c.check(ec.build_check_request(
                        HOST, "/", headers={"x-user": u, "x-perm": "write"})).status.code
                        for u in ("emilia", "beatrice") * 4]
                check(codes == [0, 7] * 4 and len(db.peers) == 1,
                      "tls: 8 checks over the gRPC port decided right on one TLS connection",
                      (codes, db.peers))
            finally:
                srv.stop()
        n = db.calls
        p, out, _ = run_eval(tmp, tls_ac, env={"SSL_CERT_FILE": os.devnull})
        check(out is not None and not out["allowed"] and db.calls == n and
              out["reason"].startswith("rpc error: code = Unavailable desc = connection error:"),
              "tls: a certificate no trusted CA signed denies", reason_of(out))
        p, out, _ = run_eval(tmp, authconfig(tmp, "tls-plain", db.endpoint))
        check(out is not None and not out["allowed"] and db.calls == n,
              "tls: plaintext (insecure: true) to a TLS server denies", reason_of(out))
    with seeded(SpiceDB(key=KEY)) as db:
        p, out, _ = run_eval(tmp, authconfig(tmp, "plain-tls", db.endpoint, insecure=False),
                             env={"SSL_CERT_FILE": cafile})
        check(out is not None and not out["allowed"] and db.calls == 0,
              "tls: TLS (insecure: false) to a plaintext server denies", reason_of(out))


def test_config(tmp):
    base = authconfig(tmp, "cfg", "127.0.0.1:50051")
    text = open(base).read()
    for what, bad, needle in (
            ("a misspelt field", text.replace("permission:", "permision:"),
             "spec.authorization.check"),
            ("an endpoint that is a URL",
             text.replace('"127.0.0.1:50051"', '"http://127.0.0.1:50051"'), "endpoint"),
            ("a port out of range", text.replace(":50051", ":70000"), "endpoint"),
            ("a missing Secret", text.replace("name: spicedb, key", "name: nope, key"),
             "Secret default/nope not found"),
            ("a missing key", text.replace("key: grpc-preshared-key", "key: other"),
             "has no key other"),
            ("no resource", text.replace(
                "        resource: {kind: {value: blog/post}, name: {value: \"1\"}}\n", ""),
             "resource"),
            ("a resource without kind", text.replace("resource: {kind: {value: blog/post}, ",
                                                     "resource: {"), "kind")):
        path = write(os.path.join(tmp, "bad.yaml"), bad)
        p = subprocess.run([PC_BIN, "check", path] + plugin_args(), capture_output=True,
                           text=True, env=clean_env(), timeout=60)
        out = p.stdout + p.stderr
        check(p.returncode != 0 and needle in out and "bad.yaml:" in out,
              "config: %s is an error with file:line (%s)" % (what, needle), out)
    p = subprocess.run([PC_BIN, "check", base] + plugin_args(), capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    check(p.returncode == 0, "config: the well-formed AuthConfig loads", p.stdout + p.stderr)
    # v1beta2 spells the evaluator `spicedb` as well (Authorino's conversion).
    p = subprocess.run([PC_BIN, "check", write(os.path.join(tmp, "b2.yaml"),
                        text.replace("v1beta3", "v1beta2"))] + plugin_args(),
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    check(p.returncode == 0, "config: v1beta2 loads", p.stdout + p.stderr)


# ---- servers that answer what SpiceDB would not ----

class RawServer:
    """Accepts connections, writes `data` and closes."""

    def __init__(self, data):
        self.data = data
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.settimeout(2)
                c.recv(65536)
                c.sendall(self.data)
            except OSError:
                pass
            c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.sock.close()
        return False


class H2Script:
    """An h2c server (python3-h2) answering every request with `headers`,
    then `data` (bytes or None), then `trailers` (list or None; without
    them the data, or the headers, end the stream). Records requests."""

    def __init__(self, headers, data, trailers, per_conn=None, close_after=False):
        """per_conn: answer that many requests on a connection, then close
        it when the next arrives, unanswered (the server went away while
        the client's connection was idle). close_after: close the
        connection after each answer, without GOAWAY."""
        self.script = (headers, data, trailers)
        self.per_conn = per_conn
        self.close_after = close_after
        self.conns = 0
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()
        return False

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _answer(self, conn, sid):
        headers, data, trailers = self.script
        if headers is None:
            conn.reset_stream(sid, error_code=2)  # INTERNAL_ERROR, nothing answered
            return True
        conn.send_headers(sid, headers, end_stream=data is None and trailers is None)
        if data is not None:
            # Within the peer's window and frame size.
            for i in range(0, len(data), 16384):
                chunk = data[i:i + 16384]
                last = i + 16384 >= len(data)
                while conn.local_flow_control_window(sid) < len(chunk):
                    return False
                conn.send_data(sid, chunk, end_stream=last and trailers is None)
        if trailers is not None:
            conn.send_headers(sid, trailers, end_stream=True)
        return True

    def _serve(self, c):
        self.conns += 1
        answered = 0
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, validate_inbound_headers=False))
        conn.initiate_connection()
        c.sendall(conn.data_to_send())
        streams = {}
        c.settimeout(5)
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        streams[ev.stream_id] = {
                            "headers": {k.decode() if isinstance(k, bytes) else k:
                                        v.decode() if isinstance(v, bytes) else v
                                        for k, v in ev.headers}, "body": b""}
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id]["body"] += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        self.requests.append(streams.get(ev.stream_id))
                        if self.per_conn is not None and answered >= self.per_conn:
                            return
                        answered += 1
                        try:
                            self._answer(conn, ev.stream_id)
                        except Exception:
                            # The client stopped reading (an oversized
                            # answer): close the connection.
                            c.sendall(conn.data_to_send())
                            return
                        if self.close_after:
                            c.sendall(conn.data_to_send())
                            return
                c.sendall(conn.data_to_send())
        except OSError:
            return
        finally:
            c.close()


def main():
    tmp = tempfile.mkdtemp(prefix="pc-spicedb-")
    ec = grpc_client()
    for t in (lambda: test_guide(tmp, ec), lambda: test_verdicts(tmp),
              lambda: test_transport(tmp), lambda: test_tls(tmp), lambda: test_config(tmp)):
        with checks.guard():
            t()
    checks.finish()


if __name__ == "__main__":
    main()
