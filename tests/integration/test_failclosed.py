#!/usr/bin/python3
"""Conditions and configs fail closed, seen from outside: a top-level `when`
whose `matches` meets a value that is not valid UTF-8 denies (through
`portcullis eval`, gRPC and the HTTP port) instead of being read as "no
match" and skipped; `portcullis check` refuses a misspelt rule field and a
rule without a value, naming file, line and path.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import build_check_request, v3, V3_CHECK  # noqa: E402
from pcharness import (Checks, Server, SMALL, PC_BIN, clean_env,  # noqa: E402
                       plugin_args, write)
import grpc  # noqa: E402

# The AuthConfig applies to admin scopes only; there it wants x-role: admin.
AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: scoped
  namespace: default
spec:
  hosts: [scoped.test]
  when:
  - selector: request.headers.x-scope
    operator: matches
    value: ^admin
  authorization:
    admins-only:
      patternMatching:
        patterns:
        - selector: request.headers.x-role
          operator: eq
          value: admin
"""

TYPO = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: typo}
spec:
  hosts: [typo.test]
  authorization:
    not-mallory:
      patternMatching:
        patterns:
        - {selector: request.headers.x-user, operator: neq, valu: mallory}
"""

NO_VALUE = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: no-value}
spec:
  hosts: [no-value.test]
  authorization:
    not-mallory:
      patternMatching:
        patterns:
        - selector: request.headers.x-user
          operator: neq
"""

BAD = b"admin\xff"  # not UTF-8 (a lone 0xFF byte)

checks = Checks()
check = checks.check


def run(args, stdin=None):
    p = subprocess.run([PC_BIN] + args + plugin_args(), input=stdin,
                       capture_output=True, env=clean_env(), timeout=30)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def eval_request(ac, scope):
    """`portcullis eval` of a CheckRequest whose x-scope header is the
    bytes `scope` (the JSON file holds them raw)."""
    req = {"attributes": {"request": {"http": {
        "host": "scoped.test", "method": "GET", "path": "/",
        "headers": {"x-scope": "@SCOPE@"}}}}}
    data = json.dumps(req).encode().replace(b"@SCOPE@", scope)
    return run(["eval", "--authconfigs", ac, "--request", "-"], stdin=data)


def grpc_check(channel, scope):
    """A Check whose x-scope is the bytes `scope`, in `header_map` as Envoy
    sends it with encode_raw_headers (raw_value is bytes on the wire)."""
    req = build_check_request("scoped.test", "/", raw_headers=[("x-scope", scope)])
    return channel.unary_unary(V3_CHECK, request_serializer=v3.CheckRequest.SerializeToString,
                               response_deserializer=v3.CheckResponse.FromString)(req, timeout=5)


def http_check(port, scope):
    """Raw /check over HTTP/1.1 with x-scope as bytes (obs-text is legal in
    a field value); returns the status code."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /check HTTP/1.1\r\nHost: scoped.test\r\nx-scope: " + scope +
                  b"\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else -1


def main():
    tmp = tempfile.mkdtemp(prefix="pc-failclosed-")
    try:
        ac = write(os.path.join(tmp, "scoped.yaml"), AUTHCONFIG)

        # ---- portcullis check: typos and missing values are errors ----
        typo = write(os.path.join(tmp, "typo.yaml"), TYPO)
        rc, out, err = run(["check", typo])
        check(rc == 1 and (typo + ":10: spec.authorization.not-mallory.patternMatching."
                           "patterns[0].valu: unknown field") in err,
              "check: a misspelt rule field exits 1 with file:line: path", (rc, out, err))
        novalue = write(os.path.join(tmp, "novalue.yaml"), NO_VALUE)
        rc, out, err = run(["check", novalue])
        check(rc == 1 and (novalue + ":10: spec.authorization.not-mallory.patternMatching."
                           "patterns[0].value: the neq operator needs a value") in err,
              "check: a rule without a value exits 1 with file:line: path", (rc, out, err))
        rc, out, err = run(["check", ac])
        check(rc == 0, "check: the scoped AuthConfig is valid", (rc, out, err))

        # ---- portcullis eval ----
        rc, out, err = eval_request(ac, b"public")
        check(rc == 0 and out.startswith("ALLOW"), "eval: when not met allows", (rc, out, err))
        rc, out, err = eval_request(ac, b"admin")
        check(rc == 1 and "HTTP 403" in out, "eval: when met runs the pipeline", (rc, out, err))
        rc, out, err = eval_request(ac, BAD)
        check(rc == 1 and "HTTP 403" in out and "not valid UTF-8" in out,
              "eval: matches on a value that is not UTF-8 denies", (rc, out, err))

        # ---- the server: gRPC and HTTP ----
        with Server(tmp, authconfigs=ac, extra=SMALL) as srv:
            if not check(srv.ready(), "server ready", srv.logtail()):
                return
            with grpc.insecure_channel(srv.grpc) as ch:
                r = grpc_check(ch, b"public")
                check(r.status.code == 0, "gRPC: when not met allows", r)
                r = grpc_check(ch, b"admin")
                check(r.status.code == 7 and r.denied_response.status.code == 403,
                      "gRPC: when met denies without the role", r)
                r = grpc_check(ch, BAD)
                check(r.status.code == 7 and r.denied_response.status.code == 403,
                      "gRPC: matches on a value that is not UTF-8 denies", r)
            check(http_check(srv.http_port, b"public") == 200, "HTTP: when not met allows")
            code = http_check(srv.http_port, BAD)
            check(code in (400, 403), "HTTP: matches on a value that is not UTF-8 denies",
                  "status %d" % code)
            check(srv.proc.poll() is None, "server still running", srv.logtail())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


with checks.guard():
    main()
checks.finish()
