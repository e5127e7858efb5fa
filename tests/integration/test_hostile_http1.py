#!/usr/bin/python3
"""Hostile HTTP/1.1 clients against the HTTP and admin ports, over raw
sockets: request smuggling shapes (RFC 9112 framing, Host rules), clients
that stop mid-head or mid-body, silent admin connections, and a client that
pipelines /check without ever reading. Each case prints what it sent and
what came back; the timeouts are set short by flag so the suite runs in
seconds.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import http.client
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, Server, SMALL, PC_BIN, api_key_authconfig,  # noqa: E402
                       clean_env, free_ports, plugin_args, write)

AUTHCONFIG = api_key_authconfig("")
KEY = b"Authorization: APIKEY alice-secret-key\r\n"

HEADER_TIMEOUT_MS = 800
BODY_TIMEOUT_MS = 800
ADMIN_IDLE_MS = 800
FLAGS = SMALL + [
    "--frontend-option", "http1_header_timeout_ms=%d" % HEADER_TIMEOUT_MS,
    "--frontend-option", "http1_body_timeout_ms=%d" % BODY_TIMEOUT_MS,
    "--frontend-option", "admin_idle_timeout_ms=%d" % ADMIN_IDLE_MS,
]

checks = Checks()
check = checks.check
STATUS_RE = re.compile(rb"^HTTP/1\.1 (\d{3}) ")


def exchange(port, data, wait=3.0):
    """Sends data, reads until the server closes or `wait` passes; returns
    (bytes received, seconds until close or None if still open)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    t0 = time.monotonic()
    got = b""
    closed = None
    try:
        s.sendall(data)
        end = t0 + wait
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                break
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                closed = time.monotonic() - t0
                break
            if not b:
                closed = time.monotonic() - t0
                break
            got += b
    finally:
        s.close()
    return got, closed


def statuses(data):
    out = []
    for line in data.split(b"\r\n"):
        m = STATUS_RE.match(line + b" ")
        if m:
            out.append(int(m.group(1)))
    return out


def shown(data, n=160):
    return repr(data[:n]) + ("..." if len(data) > n else "")


def expect_status(srv, what, data, want):
    """One request (or one malformed one) answered with exactly `want`, as
    the first response; error answers must close the connection."""
    got, closed = exchange(srv.http_port, data)
    st = statuses(got)
    first = st[0] if st else None
    ok = first == want and (want < 400 or closed is not None)
    check(ok, "%s -> %d" % (what, want),
          "sent %s\n       got %s (closed after %s s)" % (
              shown(data), shown(got), closed))
    if ok:
        print("       sent %s -> %s" % (shown(data, 90), first))


def rfc9112_cases(srv):
    host = b"Host: api.test\r\n"
    ok_req = b"GET /check HTTP/1.1\r\n" + host + KEY + b"Connection: close\r\n\r\n"
    expect_status(srv, "control: a valid /check", ok_req, 200)
    # Host rules (RFC 9112 section 3.2)
    expect_status(srv, "duplicate Host (first one valid)",
                  b"GET /check HTTP/1.1\r\nHost: api.test\r\nHost: evil.test\r\n"
                  + KEY + b"\r\n", 400)
    expect_status(srv, "HTTP/1.1 without Host",
                  b"GET /check HTTP/1.1\r\n" + KEY + b"\r\n", 400)
    expect_status(srv, "Host with userinfo",
                  b"GET /check HTTP/1.1\r\nHost: x@api.test\r\n" + KEY + b"\r\n",
                  400)
    expect_status(srv, "absolute-form authority wins over Host (allowed)",
                  b"GET http://api.test/check HTTP/1.1\r\nHost: other.test\r\n"
                  + KEY + b"Connection: close\r\n\r\n", 200)
    expect_status(srv, "absolute-form authority wins over Host (unknown host)",
                  b"GET http://other.test/check HTTP/1.1\r\nHost: api.test\r\n"
                  + KEY + b"Connection: close\r\n\r\n", 404)
    # field syntax (RFC 9112 section 5)
    expect_status(srv, "obs-fold continuing the credential",
                  b"GET /check HTTP/1.1\r\n" + host +
                  b"Authorization: APIKEY\r\n alice-secret-key\r\n\r\n", 400)
    expect_status(srv, "whitespace between header name and colon",
                  b"GET /check HTTP/1.1\r\nHost : api.test\r\n" + KEY + b"\r\n",
                  400)
    expect_status(srv, "invalid byte in a header name",
                  b"GET /check HTTP/1.1\r\n" + host + b"X(y: 1\r\n" + KEY + b"\r\n",
                  400)
    expect_status(srv, "NUL in a header value",
                  b"GET /check HTTP/1.1\r\n" + host + b"X-A: a\x00b\r\n" + KEY +
                  b"\r\n", 400)
    expect_status(srv, "bare CR inside the head",
                  b"GET /check HTTP/1.1\r\n" + host + b"X-A: a\rX-B: b\r\n" +
                  KEY + b"\r\n", 400)
    expect_status(srv, "bare LF line ends",
                  b"GET /check HTTP/1.1\nHost: api.test\n" + KEY.replace(b"\r", b"")
                  + b"\n", 400)
    # framing (RFC 9112 section 6)
    te = b"POST /check HTTP/1.1\r\n" + host + KEY
    expect_status(srv, "Transfer-Encoding and Content-Length together",
                  te + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\n", 400)
    expect_status(srv, "Transfer-Encoding not ending in chunked",
                  te + b"Transfer-Encoding: gzip\r\n\r\nabc", 400)
    expect_status(srv, "unknown transfer coding before chunked",
                  te + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501)
    expect_status(srv, "chunked applied twice",
                  te + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
                  b"\r\n\r\n0\r\n\r\n", 400)
    expect_status(srv, "Content-Length values that differ",
                  te + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400)
    expect_status(srv, "chunk size overflow",
                  te + b"Transfer-Encoding: chunked\r\n\r\n"
                  b"10000000000000000000000001\r\nx\r\n0\r\n\r\n", 413)
    expect_status(srv, "chunk data not followed by CRLF (smuggled request)",
                  te + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"
                  b"GET /smuggled HTTP/1.1\r\nHost: api.test\r\n\r\n", 400)
    expect_status(srv, "chunk size line ended by a bare LF",
                  te + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
                  400)
    # request line (RFC 9112 section 3)
    expect_status(srv, "request line over 8 KiB",
                  b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + host + b"\r\n", 414)
    expect_status(srv, "HTTP/2.0 in an HTTP/1 request line",
                  b"GET /check HTTP/2.0\r\n" + host + KEY + b"\r\n", 505)
    expect_status(srv, "two spaces in the request line",
                  b"GET  /check HTTP/1.1\r\n" + host + KEY + b"\r\n", 400)
    expect_status(srv, "control byte in the request target",
                  b"GET /check\x01 HTTP/1.1\r\n" + host + KEY + b"\r\n", 400)


def slow_cases(srv):
    limit = HEADER_TIMEOUT_MS / 1000.0
    # A head that never ends: a header line every 0.2 s.
    s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=5)
    s.sendall(b"GET /check HTTP/1.1\r\nHost: api.test\r\n")
    t0 = time.monotonic()
    got, closed = b"", None
    while time.monotonic() - t0 < 4 * limit + 2:
        try:
            s.sendall(b"X-Drip: %d\r\n" % int(time.monotonic() * 1000))
        except OSError:
            closed = time.monotonic() - t0
            break
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                b = b""
            got += b
            if not b:
                closed = time.monotonic() - t0
                break
    s.close()
    check(closed is not None and closed < limit + 1.5 and statuses(got)[:1] == [408],
          "head dripped a line per 0.2 s: 408 and closed within %.1f s" % (limit + 1.5),
          "got %s, closed after %s s" % (shown(got), closed))
    print("       sent a request line and a header every 0.2 s; closed after %s s"
          % (None if closed is None else round(closed, 2)))

    # A body that stops: 10 of 100 announced bytes.
    data = (b"POST /check HTTP/1.1\r\nHost: api.test\r\n" + KEY +
            b"Content-Length: 100\r\n\r\n0123456789")
    got, closed = exchange(srv.http_port, data, wait=4 * limit + 2)
    check(closed is not None and closed < limit + 1.5 and statuses(got)[:1] == [408],
          "body stopped at 10 of 100 bytes: 408 and closed within %.1f s" % (limit + 1.5),
          "sent %s\n       got %s, closed after %s s" % (shown(data), shown(got), closed))

    # A request line cut in half.
    got, closed = exchange(srv.http_port, b"GET /che", wait=4 * limit + 2)
    check(closed is not None and closed < limit + 1.5,
          "request line cut in half: closed within %.1f s" % (limit + 1.5),
          "got %s, closed after %s s" % (shown(got), closed))

    # 100 connections at once, each stopped in the middle of a head.
    socks = []
    for i in range(100):
        c = socket.create_connection(("127.0.0.1", srv.http_port), timeout=5)
        c.sendall(b"GET /check HTTP/1.1\r\nHost: api.test\r\nX-Half: %d" % i)
        socks.append(c)
    t0 = time.monotonic()
    open_socks = set(socks)
    got408 = 0
    while open_socks and time.monotonic() - t0 < 4 * limit + 2:
        r, _, _ = select.select(list(open_socks), [], [], 0.2)
        for c in r:
            try:
                b = c.recv(4096)
            except ConnectionResetError:
                b = b""
            if b.startswith(b"HTTP/1.1 408 "):
                got408 += 1
            if not b or b"connection: close" in b:
                open_socks.discard(c)
    took = time.monotonic() - t0
    for c in socks:
        c.close()
    check(not open_socks and got408 == 100 and took < limit + 2,
          "100 connections stopped mid-head: all 408 and closed within %.1f s" % (limit + 2),
          "%d still open, %d answered 408, after %.1f s" % (len(open_socks), got408, took))
    print("       100 half heads: closed after %.2f s" % took)

    # The admin port: a connection that never sends a byte.
    got, closed = exchange(srv.admin_port, b"", wait=4 * limit + 2)
    check(closed is not None and closed < limit + 1.5 and got == b"",
          "silent admin connection closed within %.1f s" % (limit + 1.5),
          "got %s, closed after %s s" % (shown(got), closed))
    # ...and one that stays after an answer.
    got, closed = exchange(srv.admin_port, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
                           wait=4 * ADMIN_IDLE_MS / 1000.0 + 2)
    check(statuses(got) == [200] and closed is not None and
          closed < ADMIN_IDLE_MS / 1000.0 + 1.5,
          "idle admin keep-alive connection closed within %.1f s of its answer"
          % (ADMIN_IDLE_MS / 1000.0 + 1.5),
          "got %s, closed after %s s" % (shown(got), closed))
    # A legitimate keep-alive client on the HTTP port is not cut between
    # requests by the head timeout.
    s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=5)
    req = b"GET /check HTTP/1.1\r\nHost: api.test\r\n" + KEY + b"\r\n"
    answers = []
    for _ in range(2):
        s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            b = s.recv(4096)
            if not b:
                break
            buf += b
        answers += statuses(buf)
        time.sleep(limit + 0.4)
    s.close()
    check(answers == [200, 200],
          "keep-alive client pausing %.1f s between requests still answered" %
          (limit + 0.4), answers)


def asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def cpu_s(pid):
    """User + system CPU seconds of the process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


ATTACK_S = 8
READ_S = 1.0  # reads its answers this long first, then stops


def pipelining_case(srv):
    """Pipelines /check as fast as the server takes it, reading the answers
    for a second, then never again. The
    checks are denied (no credential): a 401 answer is several times the
    size of its request, and the client's receive buffer is kept small, so
    the answers soon outgrow what the kernel buffers and stay with the
    server unless it stops reading."""
    req = b"GET /check HTTP/1.1\r\nHost: api.test\r\n\r\n"
    batch = req * 256
    # Warm up: the allocator's first arenas are not the attack's.
    for _ in range(20):
        c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
        c.request("GET", "/check", headers={"Host": "api.test",
                                            "Authorization": "APIKEY alice-secret-key"})
        c.getresponse().read()
        c.close()
    before = rss_kb(srv.proc.pid)
    cpu0 = cpu_s(srv.proc.pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
    s.connect(("127.0.0.1", srv.http_port))
    s.setblocking(False)
    sent = 0
    peak = before
    t0 = time.monotonic()
    legit = []
    off = 0  # into batch: a partial send goes on where it stopped
    while time.monotonic() - t0 < ATTACK_S:
        if time.monotonic() - t0 < READ_S:
            try:
                s.recv(1 << 20)
            except BlockingIOError:
                pass
        try:
            k = s.send(batch[off:])
            sent += k
            off = (off + k) % len(batch)
        except BlockingIOError:
            select.select([], [s], [], 0.05)
        peak = max(peak, rss_kb(srv.proc.pid))
        if len(legit) < 10 and time.monotonic() - t0 > 1.0 + 0.3 * len(legit):
            c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=5)
            t1 = time.monotonic()
            try:
                c.request("GET", "/check", headers={
                    "Host": "api.test", "Authorization": "APIKEY alice-secret-key"})
                legit.append((c.getresponse().status, time.monotonic() - t1))
            except OSError as e:
                legit.append((repr(e), time.monotonic() - t1))
            finally:
                c.close()
    growth_mb = (peak - before) / 1024.0
    cpu = cpu_s(srv.proc.pid) - cpu0
    print("       pipelined %d bytes (%d requests) in %d s, reading only at first; RSS %d kB "
          "-> peak %d kB (+%.1f MB), server CPU %.1f s" % (
              sent, sent // len(req), ATTACK_S, before, peak, growth_mb, cpu))
    # The bound: the 1 MiB output high-water mark, one read of pending
    # input and the requests in flight, plus allocator slack. AddressSanitizer
    # keeps freed blocks in a quarantine (256 MB), so RSS says nothing there.
    if asan(srv.proc.pid):
        print("note - RSS bound not checked: AddressSanitizer build")
    else:
        check(growth_mb < 6, "RSS stays bounded under a non-reading pipeliner (< +6 MB)",
              "+%.1f MB" % growth_mb)
    ok = [x for x in legit if x[0] == 200]
    worst = max((x[1] for x in legit), default=0)
    check(len(ok) == len(legit) and len(legit) >= 5,
          "a legitimate client is answered during the attack (%d/%d, slowest %.0f ms)"
          % (len(ok), len(legit), worst * 1000), legit)
    # Reading resumes the connection: more answers than the paused output
    # held arrive once the client reads.
    s.setblocking(True)
    s.settimeout(2)
    got = 0
    answers = 0
    t0 = time.monotonic()
    end = "still open"
    try:
        while time.monotonic() - t0 < 3 and answers < 40000:
            b = s.recv(1 << 20)
            if not b:
                end = "closed by the server"
                break
            got += len(b)
            answers += b.count(b"HTTP/1.1 401 ")
    except OSError as e:
        end = repr(e)
    s.close()
    print("       then read %d bytes in %.1f s (%s)" % (got, time.monotonic() - t0, end))
    check(answers > 0 and got > 1200 * 1024,
          "the pipeliner gets its answers once it reads (%d answers, %d bytes)" %
          (answers, got), "answers=%d bytes=%d" % (answers, got))


def settings_cases(tmp):
    """A mistyped or out-of-range setting stops serve (exit 2) and names it."""
    ac = write(os.path.join(tmp, "settings.yaml"), AUTHCONFIG)
    ports = free_ports(3)
    base = [PC_BIN, "serve", "--authconfigs", ac,
            "--grpc-addr", "127.0.0.1:%d" % ports[0],
            "--http-addr", "127.0.0.1:%d" % ports[1],
            "--admin-addr", "127.0.0.1:%d" % ports[2]] + plugin_args()
    for opt, want in (("http1_header_timout_ms=5", "http1_header_timout_ms"),
                      ("http1_max_pipelined=0", "http1_max_pipelined"),
                      ("http1_body_timeout_ms=soon", "http1_body_timeout_ms")):
        p = subprocess.run(base + ["--frontend-option", opt], env=clean_env(),
                           capture_output=True, text=True, timeout=20)
        check(p.returncode == 2 and want in p.stderr,
              "--frontend-option %s refused (exit 2, names the setting)" % opt,
              "rc=%s stderr=%s" % (p.returncode, p.stderr[-400:]))


def main():
    tmp = tempfile.mkdtemp(prefix="pc-hostile-h1-")
    try:
        with checks.guard("settings cases ran to the end"):
            settings_cases(tmp)
        with Server(tmp, authconfig_text=AUTHCONFIG, extra=FLAGS) as srv:
            if not check(srv.ready(), "server ready", srv.logtail()):
                checks.finish()
            for name, fn in (("RFC 9112", rfc9112_cases), ("timeouts", slow_cases),
                             ("pipelining", pipelining_case)):
                with checks.guard("%s cases ran to the end" % name):
                    fn(srv)
            check(srv.proc.poll() is None, "server alive at the end", srv.logtail())
            rc = srv.stop()
            check(rc == 0, "server exits 0 on SIGTERM", rc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
