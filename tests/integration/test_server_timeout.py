#!/usr/bin/python3
"""`portcullis serve --timeout MS` bounds every check, whatever deadline the
client brings: a Check with grpc-timeout 5S (python3-grpcio), a raw HTTP
/check with x-envoy-expected-rq-timeout-ms 5000 over HTTP/1.1 (http.client)
and over HTTP/2 (python3-h2), each against an `http` metadata evaluator
whose service (tests/fixtures/metadata_service) stalls for 3 s. With
--timeout 400 each is answered in about 0.4 s with Authorino's answer to
its own timeout: UNAVAILABLE (14) with a denied 503 over gRPC, 503 over
HTTP. A client deadline shorter than the server's timeout still wins."""

import http.client
import os
import socket
import sys
import tempfile
import time

import grpc
import h2.config
import h2.connection
import h2.events

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import Checks, PC_SOURCE_DIR, Server, grpc_client, started  # noqa: E402
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "metadata_service"))
from metadata_service import MetadataService  # noqa: E402

HOST = "slow.test"
STALL_MS = 3000
checks = Checks(limit=None)
check = checks.check

# The evaluator's own timeout is longer than the stall: only the server's
# --timeout can cut the check short.
AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: slow, namespace: default}
spec:
  hosts: [%s]
  metadata:
    echo:
      http:
        url: "%s/users/x"
        timeout: 10000
  authorization:
    needs-metadata:
      patternMatching:
        patterns:
        - {selector: auth.metadata.echo.method, operator: eq, value: GET}
"""


def fast_enough(took):
    return 0.3 <= took <= 1.5


def check_grpc(srv, ec):
    with ec.Client(srv.grpc, timeout=5) as c:
        t0 = time.monotonic()
        try:
            r = c.check(ec.build_check_request(HOST, "/"))
            err = None
        except grpc.RpcError as e:
            r, err = None, e.code()
        took = time.monotonic() - t0
    check(r is not None and r.status.code == 14 and
          r.denied_response.status.code == 503 and fast_enough(took),
          "gRPC, grpc-timeout 5S, --timeout 400: UNAVAILABLE / 503 in %.2fs" % took,
          (err, r))

    # A client deadline under the server's timeout is the one that counts.
    with ec.Client(srv.grpc, timeout=0.15) as c:
        t0 = time.monotonic()
        try:
            c.check(ec.build_check_request(HOST, "/"))
            err = None
        except grpc.RpcError as e:
            err = e.code()
        took = time.monotonic() - t0
    check(err == grpc.StatusCode.DEADLINE_EXCEEDED and took < 0.35,
          "gRPC, grpc-timeout 150m, --timeout 400: DEADLINE_EXCEEDED in %.2fs" % took, err)


def check_h1(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
    t0 = time.monotonic()
    try:
        c.request("GET", "/check", headers={"Host": HOST,
                                            "x-envoy-expected-rq-timeout-ms": "5000"})
        resp = c.getresponse()
        status = resp.status
        resp.read()
    except OSError as e:
        status = repr(e)
    finally:
        c.close()
    took = time.monotonic() - t0
    check(status == 503 and fast_enough(took),
          "HTTP/1.1 /check, expected timeout 5000, --timeout 400: 503 in %.2fs" % took,
          status)


def check_h2(srv):
    s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    t0 = time.monotonic()
    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":path", "/check"),
                          (":authority", HOST),
                          ("x-envoy-expected-rq-timeout-ms", "5000")], end_stream=True)
    s.sendall(conn.data_to_send())
    status, done = None, False
    try:
        while not done:
            data = s.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    done = True
            s.sendall(conn.data_to_send())
    except OSError as e:
        status = status or repr(e)
    finally:
        s.close()
    took = time.monotonic() - t0
    check(status == 503 and fast_enough(took),
          "HTTP/2 /check, expected timeout 5000, --timeout 400: 503 in %.2fs" % took,
          status)


def main():
    ec = grpc_client()
    with checks.guard(), tempfile.TemporaryDirectory() as tmp, MetadataService() as svc:
        svc.set_fault(delay_ms=STALL_MS)
        with Server(tmp, authconfig_text=AUTHCONFIG % (HOST, svc.url),
                    extra=["--timeout", "400"]) as srv:
            if started(srv, check, "--timeout 400"):
                check_grpc(srv, ec)
                check_h1(srv)
                check_h2(srv)
        # Without --timeout the client's deadline is all there is: the
        # stall is waited out and the metadata arrives.
        svc.set_fault(delay_ms=600)
        with Server(tmp, authconfig_text=AUTHCONFIG % (HOST, svc.url),
                    name="untimed") as srv:
            if started(srv, check, "no --timeout"):
                with ec.Client(srv.grpc, timeout=5) as c:
                    t0 = time.monotonic()
                    r = c.check(ec.build_check_request(HOST, "/"))
                    took = time.monotonic() - t0
                check(r.status.code == 0 and took >= 0.55,
                      "no --timeout: a 600 ms stall is waited out, OK in %.2fs" % took, r)
        svc.clear_fault()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
