#!/usr/bin/python3
"""Hostile CheckRequests and gRPC metadata against one `portcullis serve`:
each case is a part of a request the server could lose, misread or spend
unbounded time on, and must instead refuse (a denying CheckResponse with
INVALID_ARGUMENT / HTTP 400, or a reset stream) or answer promptly and
correctly. Every case prints what it sent and what came back, with the
server's CPU time and peak RSS.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import Client, build_check_request, V3_CHECK  # noqa: E402
from pcharness import Checks, Server, api_key_authconfig  # noqa: E402
from h2raw import PREFACE, frame, hpack, parse_frames  # noqa: E402
import grpc  # noqa: E402

# Authenticated by API key; denied when metadata says the caller is
# blocked. A server that loses `metadata` lets a blocked caller through.
AUTHCONFIG = api_key_authconfig("""\
  authorization:
    not-blocked:
      patternMatching:
        patterns:
          - selector: metadata.filter_metadata.ns.blocked
            operator: neq
            value: "true"
""")
KEY = "APIKEY alice-secret-key"
AUTH = {"authorization": KEY}

checks = Checks()
check = checks.check


def usage(pid):
    """(CPU seconds, peak RSS in KiB) of the server so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
    return cpu, rss


class Legit:
    """A legitimate client checking every 2 ms on its own channel for the
    whole run; report() gives its p99 over each case."""

    def __init__(self, srv):
        self.samples = []  # (finished at, seconds, ok)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(srv,), daemon=True)
        self.thread.start()

    def run(self, srv):
        small = build_check_request("api.test", headers=AUTH,
                                    metadata={"ns": {"blocked": "false"}})
        with Client(srv.grpc, timeout=10) as c:
            while not self.stop.wait(0.002):
                t = time.monotonic()
                try:
                    ok = c.check(small).status.code == 0
                except grpc.RpcError:
                    ok = False
                self.samples.append((time.monotonic(), time.monotonic() - t, ok))

    def since(self, t0):
        lat = sorted(x[1] for x in self.samples if x[0] >= t0)
        bad = sum(1 for x in self.samples if x[0] >= t0 and not x[2])
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
        return p99, len(lat), bad

    def close(self):
        self.stop.set()
        self.thread.join()


LEGIT = None


def begin(srv):
    """What report() measures from: the server's CPU time and the clock."""
    return usage(srv.proc.pid)[0], time.monotonic()


def report(srv, what, sent, got, since):
    cpu, rss = usage(srv.proc.pid)
    p99, n, bad = LEGIT.since(since[1]) if LEGIT else (0, 0, 0)
    legit = ("legitimate client p99 %.1f ms over %d checks (%d failed)" % (p99 * 1000, n, bad)
             if n else "no legitimate check finished meanwhile")
    print("  %s: sent %s; got %s; server CPU %.3f s, peak RSS %d KiB; %s"
          % (what, sent, got, cpu - since[0], rss, legit))


def outcome(resp):
    if resp.HasField("denied_response"):
        return "code %d, HTTP %d (%s)" % (resp.status.code,
                                          resp.denied_response.status.code,
                                          resp.status.message[:80])
    return "code %d" % resp.status.code


def invalid(resp):
    return resp.status.code == 3 and resp.denied_response.status.code == 400


def call(srv, req, timeout=10):
    with Client(srv.grpc, timeout=timeout,
                options=[("grpc.max_send_message_length", 8 << 20)]) as c:
        return c.check(req)


def nested(levels, leaf):
    """{"a": {"a": ... leaf}} with `levels` objects."""
    v = leaf
    for _ in range(levels):
        v = {"a": v}
    return v


# ---- fail closed: parts that cannot become the Authorization JSON ----

def case_baseline(srv):
    cpu0 = begin(srv)
    ok = call(srv, build_check_request("api.test", headers=AUTH,
                                       metadata={"ns": {"blocked": "false"}}))
    no = call(srv, build_check_request("api.test", headers=AUTH,
                                       metadata={"ns": {"blocked": "true"}}))
    report(srv, "baseline", "blocked=false / blocked=true",
           "%s / %s" % (outcome(ok), outcome(no)), cpu0)
    check(ok.status.code == 0, "baseline: an unblocked caller is allowed", outcome(ok))
    check(no.status.code == 7, "baseline: a blocked caller is denied", outcome(no))


def case_deep_metadata(srv):
    # 30 levels pass the protobuf depth check (100 messages) but used to
    # fail json-c's parser (32 levels), which left `metadata` out.
    cpu0 = begin(srv)
    md = {"ns": {"blocked": "true", "deep": nested(30, {})}}
    r = call(srv, build_check_request("api.test", headers=AUTH, metadata=md))
    report(srv, "deep metadata", "metadata_context ns {blocked: true, deep: 30 levels}",
           outcome(r), cpu0)
    check(invalid(r), "metadata_context nested 30 levels: INVALID_ARGUMENT, HTTP 400",
          outcome(r))
    r = call(srv, build_check_request("api.test", headers=AUTH,
                                      metadata={"ns": {"blocked": "false",
                                                       "deep": nested(20, {})}}))
    check(r.status.code == 0, "metadata_context nested 20 levels is decided", outcome(r))


def case_nan_metadata(srv):
    cpu0 = begin(srv)
    for name, num in (("NaN", float("nan")), ("Infinity", float("inf"))):
        r = call(srv, build_check_request("api.test", headers=AUTH,
                                          metadata={"ns": {"blocked": "false",
                                                           "score": num}}))
        report(srv, "metadata number", "metadata_context ns {score: %s}" % name,
               outcome(r), cpu0)
        check(invalid(r), "metadata number %s: INVALID_ARGUMENT, HTTP 400" % name,
              outcome(r))


def case_nul_in_checkrequest_headers(srv):
    # protobuf-c strings are C strings: the NUL used to cut the rest off,
    # so "authorization\0junk" was read as "authorization".
    cpu0 = begin(srv)
    cases = [
        ("key", {"authorization\0junk": KEY}, None),
        ("value", {"authorization": KEY + "\0junk"}, None),
        ("header_map raw_value", None, [("authorization", (KEY + "\0junk").encode())]),
    ]
    for what, headers, raw in cases:
        r = call(srv, build_check_request("api.test", headers=headers, raw_headers=raw,
                                          metadata={"ns": {"blocked": "false"}}))
        report(srv, "NUL in a CheckRequest header " + what,
               "%r" % (headers or raw), outcome(r), cpu0)
        check(invalid(r), "NUL in a CheckRequest header %s: INVALID_ARGUMENT, HTTP 400"
              % what, outcome(r))
    req = build_check_request("api.test", headers=AUTH, metadata={"ns": {"blocked": "false"}})
    req.attributes.request.http.path = "/ok\0/../admin"
    r = call(srv, req)
    check(invalid(r), "NUL in the path: INVALID_ARGUMENT, HTTP 400", outcome(r))


def case_time_out_of_range(srv):
    cpu0 = begin(srv)
    req = build_check_request("api.test", headers=AUTH, metadata={"ns": {"blocked": "false"}},
                              time=(1 << 62, 0))
    r = call(srv, req)
    report(srv, "request time", "attributes.request.time.seconds = 2^62", outcome(r), cpu0)
    check(invalid(r), "request time past year 9999: INVALID_ARGUMENT, HTTP 400", outcome(r))


# ---- cost linear in the input ----

def case_repeated_header(srv):
    n = 60000
    raw = [("x-repeat", b"v" * 48)] * n
    req = build_check_request("api.test", headers=AUTH, raw_headers=raw,
                              metadata={"ns": {"blocked": "false"}})
    size = req.ByteSize()
    from extauthz_client import v3
    wire = req.SerializeToString()  # before the clock starts
    cpu0 = begin(srv)
    t = time.monotonic()
    try:
        with Client(srv.grpc, timeout=30,
                    options=[("grpc.max_send_message_length", 8 << 20)]) as c:
            raw = c.channel.unary_unary(V3_CHECK, request_serializer=None,
                                        response_deserializer=None)
            r = v3.CheckResponse.FromString(raw(wire, timeout=30))
        got = outcome(r)
    except grpc.RpcError as e:
        r, got = None, "%s %s" % (e.code(), e.details())
    took = time.monotonic() - t
    cpu = usage(srv.proc.pid)[0] - cpu0[0]
    report(srv, "repeated header", "%d x-repeat values in header_map (%d bytes)" % (n, size),
           "%s in %.3f s" % (got, took), cpu0)
    check(r is not None and r.status.code == 0,
          "60,000 repeats of one header are decided (allowed)", got)
    # The server's CPU time is the measure (the machine may be shared);
    # the wall-clock bound only catches a stall.
    check(cpu < 1.0, "60,000 repeats of one header cost the server under 1 s of CPU",
          "%.3f s" % cpu)
    check(took < 3.0, "60,000 repeats of one header answered in under 3 s", "%.3f s" % took)


def case_repeated_message_field(srv):
    # Every occurrence of a singular message field is merged into the ones
    # before it, copying what they gathered: quadratic time and memory.
    one = build_check_request("api.test", headers=AUTH, pseudo=False,
                              metadata={"ns": {"blocked": "false"}})
    from extauthz_client import v3
    piece = v3.CheckRequest()
    piece.attributes.request.http.headers["x-h"] = "v"
    body = one.SerializeToString() + piece.SerializeToString() * 15000
    cpu0 = begin(srv)
    t = time.monotonic()
    try:
        with Client(srv.grpc, timeout=30) as c:
            raw = c.channel.unary_unary(V3_CHECK, request_serializer=None,
                                        response_deserializer=None)
            out = raw(body, timeout=30)
        got = "a CheckResponse of %d bytes" % len(out)
    except grpc.RpcError as e:
        got = "%s %s" % (e.code(), e.details())
    took = time.monotonic() - t
    cpu, rss = usage(srv.proc.pid)
    cpu -= cpu0[0]
    report(srv, "repeated message field",
           "one CheckRequest then 15,000 more `attributes` occurrences (%d bytes)" % len(body),
           "%s in %.3f s" % (got, took), cpu0)
    check(cpu < 1.0, "15,000 merged occurrences cost the server under 1 s of CPU",
          "%.3f s" % cpu)
    check(took < 3.0, "15,000 merged occurrences answered in under 3 s", "%.3f s" % took)
    check(rss < 512 * 1024, "... and the server stayed under 512 MiB", "%d KiB" % rss)


# ---- edge values: raw HTTP/2 for what grpcio will not send ----

def h2_call(port, headers, body, wait=5.0):
    """One stream with END_STREAM on its DATA; returns the server's frames
    as (type, flags, stream, payload) until it ends stream 1."""
    data = PREFACE + frame(4, 0, 0, b"") + frame(1, 4, 1, hpack(headers)) + \
        frame(0, 1, 1, body)
    got = b""
    frames = []
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
            frames = parse_frames(got)
            if any(f[2] == 1 and (f[0] == 3 or (f[1] & 1)) for f in frames):
                break
            if any(f[0] == 4 and not f[1] & 1 for f in frames):
                s.sendall(frame(4, 1, 0, b""))  # ACK their SETTINGS
    return frames


def grpc_headers(extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", V3_CHECK),
            (":authority", "authz"), ("content-type", "application/grpc"),
            ("te", "trailers")] + list(extra)


def grpc_body(req):
    p = req.SerializeToString()
    return b"\x00" + struct.pack(">I", len(p)) + p


def check_response_of(frames):
    from extauthz_client import v3
    data = b"".join(f[3] for f in frames if f[0] == 0 and f[2] == 1)
    if len(data) < 5:
        return None
    return v3.CheckResponse.FromString(data[5:5 + struct.unpack(">I", data[1:5])[0]])


def case_grpc_timeout(srv):
    body = grpc_body(build_check_request("api.test", headers=AUTH,
                                         metadata={"ns": {"blocked": "false"}}))
    for tmo in ("2562048H", "99999999H", "99999999S", "1H"):
        cpu0 = begin(srv)
        fr = h2_call(srv.grpc_port, grpc_headers([("grpc-timeout", tmo)]), body)
        resp = check_response_of(fr)
        got = outcome(resp) if resp else "frames %s" % [(f[0], f[1]) for f in fr]
        report(srv, "grpc-timeout", "grpc-timeout: %s" % tmo, got, cpu0)
        check(resp is not None and resp.status.code == 0,
              "grpc-timeout %s: decided (allowed), not answered UNAVAILABLE" % tmo, got)
        check(srv.proc.poll() is None, "grpc-timeout %s: the server is alive" % tmo)


def case_nul_in_h2_headers(srv):
    body = grpc_body(build_check_request("api.test", headers=AUTH,
                                         metadata={"ns": {"blocked": "false"}}))
    for what, field in (("name", (b"x-note\x00junk", b"1")),
                        ("value", (b"x-note", b"ok\x00junk"))):
        cpu0 = begin(srv)
        fr = h2_call(srv.grpc_port, grpc_headers([field]), body)
        rst = [f for f in fr if f[0] == 3 and f[2] == 1]
        resp = check_response_of(fr)
        got = "RST_STREAM" if rst else (outcome(resp) if resp else "no answer")
        report(srv, "NUL in an HTTP/2 header " + what, repr(field), got, cpu0)
        check(rst and resp is None,
              "NUL in an HTTP/2 header %s: the stream is reset, not decided" % what, got)
    # Raw /check over h2c on the HTTP port: the header becomes the request's.
    cpu0 = begin(srv)
    fr = h2_call(srv.http_port, [(":method", "GET"), (":scheme", "http"),
                                 (":path", "/check"), (":authority", "api.test"),
                                 (b"authorization", (KEY + "\0junk").encode())], b"")
    rst = [f for f in fr if f[0] == 3 and f[2] == 1]
    hdr = [f for f in fr if f[0] == 1 and f[2] == 1]
    report(srv, "NUL in an h2c authorization value", "authorization: %r" % (KEY + "\0junk"),
           "RST_STREAM" if rst else "HEADERS %r" % (hdr[0][3][:20] if hdr else b""), cpu0)
    check(rst and not hdr, "h2c /check with a NUL in authorization: the stream is reset",
          "%s" % [(f[0], f[1]) for f in fr])


def main():
    tmp = tempfile.mkdtemp(prefix="pc-hostile-grpc-")
    try:
        # One I/O thread: every client shares the loop a hostile one uses.
        srv = Server(tmp, authconfig_text=AUTHCONFIG,
                     extra=["--io-threads", "1", "--workers", "2"])
        with srv:
            if not check(srv.ready(), "server ready", srv.logtail()):
                return checks.finish()
            global LEGIT
            LEGIT = Legit(srv)
            with checks.guard():
                case_baseline(srv)
                case_deep_metadata(srv)
                case_nan_metadata(srv)
                case_nul_in_checkrequest_headers(srv)
                case_time_out_of_range(srv)
                case_grpc_timeout(srv)
                case_nul_in_h2_headers(srv)
                case_repeated_header(srv)
                case_repeated_message_field(srv)
                check(srv.proc.poll() is None, "server alive at the end", srv.logtail())
            LEGIT.close()
            p99, n, bad = LEGIT.since(0)
            check(n > 0 and bad == 0, "the legitimate client was answered throughout",
                  "%d checks, %d failed" % (n, bad))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
