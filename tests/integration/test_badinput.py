#!/usr/bin/python3
"""One `portcullis serve` against hostile and broken clients: garbage on
the gRPC and HTTP ports, truncated and garbled HTTP/2, an undecodable
protobuf in a valid gRPC frame, 64 KiB of headers (HTTP/1.1 and h2), 10,000
streams at once, half requests, and 200 connections opened and closed.
After each case a normal check must still answer correctly and the process
must be alive.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import concurrent.futures
import http.client
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import Client, build_check_request, V3_CHECK  # noqa: E402
from pcharness import Checks, Server, SMALL, api_key_authconfig  # noqa: E402
from h2raw import PREFACE, frame, hpack, parse_frames  # noqa: E402
import grpc  # noqa: E402


AUTHCONFIG = api_key_authconfig("""\
  response:
    success:
      headers:
        x-user:
          plain:
            selector: auth.identity.metadata.name
""")
AUTH = {"authorization": "APIKEY alice-secret-key"}

checks = Checks()
check = checks.check


def healthy(srv, after):
    """The normal checks every case is followed by: gRPC allow and deny,
    HTTP /check allow, and the process alive."""
    problems = []
    if srv.proc.poll() is not None:
        problems.append("process exited with %s" % srv.proc.returncode)
    else:
        try:
            with Client(srv.grpc, timeout=5) as c:
                r = c.check(build_check_request("api.test", "/", headers=AUTH))
                if r.status.code != 0 or r.ok_response.headers[0].header.value != "alice-key":
                    problems.append("gRPC allow: %s" % r)
                r = c.check(build_check_request("api.test", "/"))
                if r.status.code != 16 or r.denied_response.status.code != 401:
                    problems.append("gRPC deny: %s" % r)
        except grpc.RpcError as e:
            problems.append("gRPC: %s %s" % (e.code(), e.details()))
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
            c.request("GET", "/check", headers={"Host": "api.test",
                                                "Authorization": AUTH["authorization"]})
            r = c.getresponse()
            r.read()
            if r.status != 200 or r.getheader("x-user") != "alice-key":
                problems.append("HTTP /check: %d" % r.status)
            c.close()
        except OSError as e:
            problems.append("HTTP /check: %r" % e)
    check(not problems, "after %s: normal checks answer, process alive" % after,
          "; ".join(problems) + "\n" + (srv.logtail(800) if problems else ""))


def send_and_drain(port, data, wait=2.0, half_close=False):
    """Sends data, then reads until the server closes or `wait` passes.
    Returns the bytes received."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(wait)
            end = time.monotonic() + wait
            while time.monotonic() < end:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
    return got


def grpc_headers(extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", V3_CHECK),
            (":authority", "authz"), ("content-type", "application/grpc"),
            ("te", "trailers")] + list(extra)


def h2_request(headers, body=None, stream=1, end=True):
    out = PREFACE + frame(4, 0, 0, b"")
    block = hpack(headers)
    # HEADERS then CONTINUATIONs of at most 16384 bytes (the default max).
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)] or [b""]
    flags = 0 if body is not None or not end else 1
    out += frame(1, flags | (4 if len(chunks) == 1 else 0), stream, chunks[0])
    for i, ch in enumerate(chunks[1:], 1):
        out += frame(9, 4 if i == len(chunks) - 1 else 0, stream, ch)
    if body is not None:
        out += frame(0, 1 if end else 0, stream, body)
    return out


def grpc_msg(payload, flag=0):
    return bytes([flag]) + struct.pack(">I", len(payload)) + payload


# ---- cases ----

def case_garbage(srv):
    junk = bytes((i * 131 + 7) % 256 for i in range(4096))
    got = send_and_drain(srv.grpc_port, junk)
    fr = parse_frames(got)
    check(not any(f[0] == 1 for f in fr), "garbage on the gRPC port: no response headers",
          fr[:5])
    healthy(srv, "garbage on the gRPC port")
    got = send_and_drain(srv.http_port, junk)
    check(got == b"" or got.startswith(b"HTTP/1.1 4"),
          "garbage on the HTTP port: closed or a 4xx", got[:80])
    healthy(srv, "garbage on the HTTP port")
    got = send_and_drain(srv.http_port, b"GET /check HTTP/1.1\r\nHost: api.test\r\n"
                         b"Bad Header Without Colon\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 400"), "malformed HTTP/1.1 header line: 400", got[:80])
    healthy(srv, "a malformed HTTP/1.1 header line")


def case_truncated_h2(srv):
    # A SETTINGS frame that claims 600 bytes and carries 12.
    data = PREFACE + struct.pack(">I", 600)[1:] + b"\x04\x00\x00\x00\x00\x00" + b"\x00" * 12
    for port, name in ((srv.grpc_port, "gRPC"), (srv.http_port, "HTTP")):
        send_and_drain(port, data, wait=0.5, half_close=True)
        healthy(srv, "a truncated HTTP/2 frame on the %s port" % name)
    # A HEADERS frame cut inside its header block, then close.
    req = h2_request(grpc_headers())
    send_and_drain(srv.grpc_port, req[:len(PREFACE) + 9 + 9 + 20], wait=0.5)
    healthy(srv, "a HEADERS frame cut short")


def case_preface_garbage(srv):
    junk = bytes((i * 17 + 3) % 256 for i in range(2048))
    got = send_and_drain(srv.grpc_port, PREFACE + junk)
    fr = parse_frames(got)
    check(any(f[0] == 7 for f in fr) or got == b"",
          "h2 preface then garbage (gRPC port): GOAWAY or close",
          [(f[0], f[1], f[2]) for f in fr])
    healthy(srv, "the h2 preface then garbage (gRPC port)")
    got = send_and_drain(srv.http_port, PREFACE + junk)
    fr = parse_frames(got)
    check(any(f[0] == 7 for f in fr) or got == b"",
          "h2 preface then garbage (HTTP port): GOAWAY or close",
          [(f[0], f[1], f[2]) for f in fr])
    healthy(srv, "the h2 preface then garbage (HTTP port)")


def raw_call(srv, payload, path=V3_CHECK, metadata=None):
    with grpc.insecure_channel(srv.grpc) as ch:
        call = ch.unary_unary(path, request_serializer=None, response_deserializer=None)
        try:
            resp = call(payload, timeout=5, metadata=metadata)
            return grpc.StatusCode.OK, resp
        except grpc.RpcError as e:
            return e.code(), e.details()


def case_bad_protobuf(srv):
    for name, payload in (("invalid wire type", b"\x0f\xff\xff\xff"),
                          ("a length past the end", b"\x0a\x7f\x01\x02"),
                          ("a truncated varint", b"\x08\xff\xff\xff"),
                          ("nested garbage", b"\x0a\x05\x22\x03\x12\xff\xff")):
        code, detail = raw_call(srv, payload)
        check(code not in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE,
                           grpc.StatusCode.DEADLINE_EXCEEDED),
              "undecodable CheckRequest (%s): a non-zero grpc-status" % name, (code, detail))
    healthy(srv, "undecodable protobufs")
    # Raw h2: a compressed-flag frame with no grpc-encoding, and a length
    # prefix that promises more than the stream carries.
    for name, body in (("compressed flag without grpc-encoding", grpc_msg(b"\x0a\x00", 1)),
                       ("length prefix past END_STREAM", b"\x00\x00\x00\x10\x00\x0a\x00")):
        got = send_and_drain(srv.grpc_port, h2_request(grpc_headers(), body), wait=1.5)
        fr = parse_frames(got)
        hdrs = [f for f in fr if f[0] == 1 and f[2] == 1]
        rst = [f for f in fr if f[0] == 3 and f[2] == 1]
        # The trailers (or trailers-only) carry grpc-status, literal or
        # Huffman-coded: any END_STREAM HEADERS on stream 1, or a reset.
        check(any(f[1] & 1 for f in hdrs) or rst,
              "gRPC frame with %s: answered with status or reset" % name,
              [(f[0], f[1], f[2]) for f in fr])
    healthy(srv, "malformed gRPC message frames")


def case_big_headers(srv):
    big = "a" * (64 * 1024)
    got = send_and_drain(srv.http_port,
                         b"GET /check HTTP/1.1\r\nHost: api.test\r\nX-Big: " +
                         big.encode() + b"\r\n\r\n", wait=3)
    status = got[9:12]
    check(status in (b"431", b"400"), "64 KiB of headers over HTTP/1.1: 431 or 400", got[:80])
    healthy(srv, "64 KiB of HTTP/1.1 headers")
    many = "".join("X-H%d: %s\r\n" % (i, "v" * 60) for i in range(1000)).encode()
    got = send_and_drain(srv.http_port,
                         b"GET /check HTTP/1.1\r\nHost: api.test\r\n" + many + b"\r\n", wait=3)
    check(got[9:12] in (b"431", b"400"), "1000 headers (64 KiB) over HTTP/1.1: 431 or 400",
          got[:80])
    healthy(srv, "1000 HTTP/1.1 headers")
    # h2 on both ports: a 64 KiB header in HEADERS + CONTINUATION frames.
    for port, name, hdrs in (
            (srv.grpc_port, "gRPC", grpc_headers([("x-big", big)])),
            (srv.http_port, "HTTP", [(":method", "GET"), (":scheme", "http"),
                                     (":path", "/check"), (":authority", "api.test"),
                                     ("x-big", big)])):
        req = h2_request(hdrs, grpc_msg(b"") if port == srv.grpc_port else None)
        got = send_and_drain(port, req, wait=2)
        fr = parse_frames(got)
        answered = [f for f in fr if f[2] == 1 and f[0] in (1, 3)] or \
            [f for f in fr if f[0] == 7]
        check(answered, "64 KiB of headers over h2 (%s port): a reply, reset or GOAWAY" % name,
              [(f[0], f[1], f[2]) for f in fr])
        healthy(srv, "64 KiB of h2 headers on the %s port" % name)
    # The grpc client: 64 KiB of metadata. The server may answer or refuse
    # it, but a refusal must be a gRPC status, not a dropped connection.
    code, detail = raw_call(srv, build_check_request("api.test", "/").SerializeToString(),
                            metadata=[("x-big", big)])
    check(code in (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED,
                   grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT),
          "64 KiB of metadata from a gRPC client: answered or refused with a status",
          (code, detail))
    healthy(srv, "64 KiB of gRPC metadata")


def case_many_streams(srv, tmp):
    req = build_check_request("api.test", "/", headers=AUTH).SerializeToString()
    if shutil.which("h2load"):
        body = os.path.join(tmp, "check.bin")
        with open(body, "wb") as f:
            f.write(grpc_msg(req))
        p = subprocess.run(["h2load", "-n", "10000", "-c", "10", "-m", "1000", "-d", body,
                            "-H", "content-type: application/grpc", "-H", "te: trailers",
                            "http://127.0.0.1:%d%s" % (srv.grpc_port, V3_CHECK)],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored", p.stdout)
        s = re.search(r"status codes: (\d+) 2xx", p.stdout)
        check(p.returncode == 0 and m and m.group(3) == "10000" and m.group(4) == "10000" and
              s and s.group(1) == "10000",
              "h2load: 10,000 Check streams (10 connections x 1000 in flight) all 200",
              p.stdout[-1200:] + p.stderr[-300:])
        healthy(srv, "10,000 streams over h2load")
    else:
        print("skip - h2load (nghttp2-client) is not installed")
    # The grpc client: 10,000 futures at once on one channel.
    with Client(srv.grpc, timeout=60) as c:
        stub = c._check_v3
        futs = [stub.future(build_check_request("api.test", "/n%d" % i, headers=AUTH),
                            timeout=60) for i in range(10000)]
        ok = bad = 0
        first_bad = None
        for f in futs:
            try:
                r = f.result()
                if r.status.code == 0:
                    ok += 1
                else:
                    bad += 1
            except grpc.RpcError as e:
                bad += 1
                first_bad = first_bad or (e.code(), e.details())
    check(ok == 10000, "10,000 concurrent futures on one channel: all allowed",
          (ok, bad, first_bad))
    healthy(srv, "10,000 concurrent gRPC futures")


def case_half_request(srv):
    send_and_drain(srv.http_port, b"POST /check HTTP/1.1\r\nHost: api.test\r\n"
                   b"Content-Length: 1000\r\n\r\nabc", wait=0.3)
    send_and_drain(srv.http_port, b"GET /check HTTP/1.1\r\nHost: api.te", wait=0.3)
    healthy(srv, "half an HTTP/1.1 request, then disconnect")
    msg = grpc_msg(build_check_request("api.test", "/", headers=AUTH).SerializeToString())
    send_and_drain(srv.grpc_port, h2_request(grpc_headers(), msg[:len(msg) // 2], end=False),
                   wait=0.3)
    send_and_drain(srv.grpc_port, h2_request(grpc_headers(), None, end=False), wait=0.3)
    healthy(srv, "half a gRPC request, then disconnect")
    # Disconnect while a full request is in flight (the reply has nowhere to go).
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=5) as s:
            s.sendall(h2_request(grpc_headers(), msg))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    healthy(srv, "20 complete gRPC requests reset before the reply")


def case_conn_churn(srv):
    def open_close(port):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        return s

    for port, name in ((srv.grpc_port, "gRPC"), (srv.http_port, "HTTP"),
                       (srv.admin_port, "admin")):
        socks = []
        errors = 0
        for _ in range(200):
            try:
                socks.append(open_close(port))
            except OSError:
                errors += 1
        for s in socks:
            s.close()
        check(errors == 0, "200 connections opened at once on the %s port" % name, errors)
        healthy(srv, "200 connections opened and closed on the %s port" % name)
    # And 200 short-lived connections that each do one check.
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        def one(i):
            c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
            c.request("GET", "/check", headers={"Host": "api.test",
                                                "Authorization": AUTH["authorization"]})
            st = c.getresponse().status
            c.close()
            return st
        sts = list(ex.map(one, range(200)))
    check(sts.count(200) == 200, "200 short HTTP connections with one check each: all 200",
          {s: sts.count(s) for s in set(sts)})
    healthy(srv, "200 short HTTP connections")


def main():
    tmp = tempfile.mkdtemp(prefix="pc-test-badinput.")
    srv = None
    try:
        with checks.guard():
            srv = Server(tmp, authconfig_text=AUTHCONFIG,
                         extra=SMALL + ["--log-level", "warn"])
            if not srv.ready():
                check(False, "portcullis serve starts", srv.logtail())
            else:
                healthy(srv, "start")
                for case in (case_garbage, case_truncated_h2, case_preface_garbage,
                             case_bad_protobuf, case_big_headers, case_half_request,
                             case_conn_churn):
                    case(srv)
                case_many_streams(srv, tmp)
                rc = srv.stop()
                check(rc == 0, "SIGTERM after all the abuse: exit 0", rc)
    finally:
        if srv is not None:
            srv.stop()
            if checks.failures:
                print("---- server log (tail) ----\n" + srv.logtail())
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
