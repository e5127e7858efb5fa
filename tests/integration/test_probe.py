#!/usr/bin/python3
"""`portcullis probe`, the image's HEALTHCHECK: against the real server's
probe listener (ready, and not ready in controller mode with an API server
that never answers), and against loopback fixtures that refuse, stall,
trickle, close, answer garbage or another status. Every run is timed: the
probe ends by its deadline whatever the peer does."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import Checks, PC_BIN, Server, free_port, started, write  # noqa: E402

checks = Checks()
check = checks.check

AC = """apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata: {name: probe, namespace: default}
spec:
  hosts: [probe.test]
  authentication:
    anon: {anonymous: {}}
"""


def probe(*args, limit=10):
    """(exit status, seconds taken, output) of `portcullis probe ARGS`."""
    t0 = time.monotonic()
    p = subprocess.run([PC_BIN, "probe"] + list(args), capture_output=True, text=True,
                       timeout=limit)
    return p.returncode, time.monotonic() - t0, p.stdout + p.stderr


class Fixture:
    """A loopback listener whose every connection is handed to `behave`
    (socket) on its own thread."""

    def __init__(self, behave, accept=True):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.behave, self.stop = behave, threading.Event()
        self.conns = []
        if accept:
            threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            self.behave(c, self.stop)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


def read_head(c):
    data = b""
    c.settimeout(2)
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answer(text):
    def behave(c, stop):
        read_head(c)
        c.sendall(text)
        c.close()
    return behave


def stall(c, stop):
    read_head(c)
    stop.wait(30)


def trickle(c, stop):
    """One byte of a 200 every 100 ms: never a whole status line in time."""
    read_head(c)
    for b in b"HTTP/1.1 200 OK\r\n":
        if stop.wait(0.1):
            return
        c.sendall(bytes([b]))


def test_server(tmp):
    srv = started(Server(tmp, authconfig_text=AC, name="ready"), check, "ready server")
    if not srv:
        return
    with srv:
        admin = "127.0.0.1:%d" % srv.admin_port
        for path in ("/healthz", "/readyz", "/readyz/authconfigs"):
            rc, took, out = probe("--addr", admin, path)
            check(rc == 0 and "HTTP 200" in out, "probe %s on a ready server: exit 0" % path,
                  (rc, out))
        rc, _, out = probe("--addr", admin)
        check(rc == 0 and "/healthz" in out, "probe without PATH asks /healthz", (rc, out))
        rc, _, out = probe("--addr", "0.0.0.0:%d" % srv.admin_port)
        check(rc == 0, "--addr 0.0.0.0:PORT (a listener's own address) probes loopback",
              (rc, out))
        rc, _, out = probe("--addr", ":%d" % srv.admin_port)
        check(rc == 0, "--addr :PORT probes loopback", (rc, out))
        rc, _, out = probe("--addr", "localhost:%d" % srv.admin_port)
        check(rc == 0, "--addr localhost:PORT", (rc, out))
        rc, _, out = probe("--addr", admin, "/no-such-probe")
        check(rc == 1 and "HTTP 404" in out, "an unknown path: exit 1 (HTTP 404)", (rc, out))
        st = srv.stop()
        rc, took, out = probe("--addr", admin)
        check(st == 0 and rc == 1 and took < 2, "after the server stops: exit 1 at once",
              (st, rc, took, out))


def test_not_ready(tmp):
    """Controller mode against an API server that accepts and never answers
(not even the TLS handshake):
    alive (/healthz 200) but not ready (/readyz 503)."""
    api = Fixture(stall)
    ca = os.path.join(tmp, "ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca + ".key", "-out", ca,
                    "-days", "2", "-subj", "/CN=probe-test"],
                   check=True, capture_output=True, timeout=60)
    kc = write(os.path.join(tmp, "kubeconfig"), """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://%s", certificate-authority: "%s"}
users:
- name: u
  user: {token: x}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
""" % (api.addr, ca))
    os.chmod(kc, 0o600)
    srv = Server(tmp, extra=["--watch-authconfigs", "--kubeconfig", kc], name="notready")
    try:
        admin = "127.0.0.1:%d" % srv.admin_port
        end, rc = time.monotonic() + 10, None
        while time.monotonic() < end and srv.proc.poll() is None:
            rc, _, out = probe("--addr", admin, "--timeout", "500")
            if rc == 0:
                break
            time.sleep(0.1)
        check(rc == 0, "controller mode, API server silent: /healthz answers 200",
              srv.logtail())
        rc, _, out = probe("--addr", admin, "/readyz")
        check(rc == 1 and "HTTP 503" in out, "... and probe /readyz exits 1 (HTTP 503)",
              (rc, out))
    finally:
        api.close()
        srv.stop()


def test_peers():
    closed = free_port()
    rc, took, out = probe("--addr", "127.0.0.1:%d" % closed)
    check(rc == 1 and took < 1.5 and "refused" in out, "a closed port: exit 1 at once",
          (rc, took, out))

    cases = [
        ("a peer that answers 200", answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
         0, None),
        ("a peer that answers HTTP/1.0 200", answer(b"HTTP/1.0 200 OK\r\n\r\n"), 0, None),
        ("a peer that answers 503", answer(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"),
         1, "HTTP 503"),
        ("a peer that answers 2000", answer(b"HTTP/1.1 2000 OK\r\n\r\n"), 1, "not an HTTP/1"),
        ("a peer that answers garbage", answer(b"SSH-2.0-OpenSSH\r\n"), 1, "not an HTTP/1"),
        ("a peer that answers HTTP/2 frames",
         answer(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + b"\x00" * 18), 1, "not an HTTP/1"),
        ("a peer that closes without a word", answer(b""), 1, "closed without an answer"),
        ("a peer that sends a status line with no end",
         answer(b"HTTP/1.1 200" + b"x" * 600), 1, "not an HTTP/1"),
    ]
    for what, behave, want, says in cases:
        fx = Fixture(behave)
        try:
            rc, took, out = probe("--addr", fx.addr, "--timeout", "2000")
            check(rc == want and took < 2 and (says is None or says in out),
                  "%s: exit %d" % (what, want), (rc, took, out))
        finally:
            fx.close()

    for what, fx in (("a peer that reads and never answers", Fixture(stall)),
                     ("a peer that trickles a 200 one byte at a time", Fixture(trickle)),
                     ("a listener that never accepts", Fixture(None, accept=False))):
        try:
            rc, took, out = probe("--addr", fx.addr, "--timeout", "700")
            check(rc == 1 and 0.6 < took < 1.7 and "deadline" in out,
                  "%s: exit 1 at the 700 ms deadline" % what, (rc, took, out))
        finally:
            fx.close()


def test_usage():
    for args, what in ((["--timeout", "0"], "--timeout 0"),
                       (["--timeout", "60001"], "--timeout above 60000"),
                       (["--timeout", "1s"], "--timeout 1s"),
                       (["--addr", "probe.test:8081"], "a host name (no DNS: it could hang)"),
                       (["--addr", "127.0.0.1"], "no port"),
                       (["--addr", "127.0.0.1:0"], "port 0"),
                       (["--addr", "127.0.0.1:70000"], "port 70000"),
                       (["--addr", "::1:8081"], "IPv6 without brackets"),
                       (["healthz"], "a path without /"),
                       (["/a b"], "a path with a space"),
                       (["/" + "a" * 1100], "a path over 1024 bytes"),
                       (["/healthz", "/readyz"], "two paths"),
                       (["--bogus"], "an unknown flag")):
        rc, took, out = probe(*args)
        check(rc == 2 and out.strip(), "usage error (%s): exit 2 with a message" % what,
              (rc, out))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with checks.guard("test_usage"):
            test_usage()
        with checks.guard("test_peers"):
            test_peers()
        with checks.guard("test_server"):
            test_server(tmp)
        with checks.guard("test_not_ready"):
            test_not_ready(tmp)
    checks.finish()


if __name__ == "__main__":
    main()
