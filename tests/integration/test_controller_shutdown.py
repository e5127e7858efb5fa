#!/usr/bin/python3
"""Controller mode stops on SIGTERM whatever the Kubernetes API server does:
`portcullis serve --watch-authconfigs` against loopback API servers that
accept TCP and never speak TLS, complete TLS and never answer, trickle a
status line a byte at a time, or answer the lists and then hold a watch
open that never sends. In each case SIGTERM makes serve exit 0 promptly (no
request is in flight, so there is nothing to drain) and cleanly (under
ASan+UBSan in CI: no report, no leak)."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import Checks, PC_BIN, PC_SOURCE_DIR, Server, write  # noqa: E402
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
import kubefake_pki as pki  # noqa: E402

checks = Checks(limit=None)
check = checks.check

# How long SIGTERM may take to end the process: well under the 15 s the
# harness waits before SIGKILL, with room for a loaded sanitizer build.
EXIT_BOUND_S = 4.0
# How long the stall runs before the signal: longer than the poll interval
# and the progress callback's once-a-second, shorter than any timeout.
STALL_S = 1.5


class Peer:
    """A loopback listener; each connection goes to behave(sock, stop) on a
    thread of its own. tls wraps accepted sockets in the server certificate
    (the handshake itself runs inside behave)."""

    def __init__(self, behave, tls=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.behave, self.tls, self.stop = behave, tls, threading.Event()
        self.conns, self.requests = [], []
        self.stalled = threading.Event()
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
            if self.tls:
                c = self.tls.wrap_socket(c, server_side=True)
                self.conns.append(c)
            self.behave(self, c)
        except (OSError, ssl.SSLError):
            pass

    def close(self):
        self.stop.set()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def silent(peer, c):
    """Accepts (TCP, or TLS when the peer wraps) and never says a thing."""
    peer.stop.wait(60)


def no_headers(peer, c):
    peer.requests.append(read_head(c).split(b"\r\n", 1)[0])
    peer.stop.wait(60)


def trickle(peer, c):
    """One byte of a status line every 200 ms, never a whole response."""
    peer.requests.append(read_head(c).split(b"\r\n", 1)[0])
    for b in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 10:
        if peer.stop.wait(0.2):
            return
        c.sendall(bytes([b]))


LIST = b'{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}'


def lists_then_silent_watch(peer, c):
    """Answers lists with an empty list; a watch gets its headers and then
    nothing, ever (no event, no bookmark, no end)."""
    while not peer.stop.is_set():
        head = read_head(c)
        if not head:
            return
        line = head.split(b"\r\n", 1)[0]
        peer.requests.append(line)
        if b"watch=1" in line:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            peer.stop.wait(60)
            return
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(LIST) + LIST)


AC_LIST = json.dumps({
    "kind": "AuthConfigList", "apiVersion": "authorino.kuadrant.io/v1beta3",
    "metadata": {"resourceVersion": "7"},
    "items": [{"apiVersion": "authorino.kuadrant.io/v1beta3", "kind": "AuthConfig",
               "metadata": {"name": "anon", "namespace": "default", "uid": "u-1",
                            "resourceVersion": "7", "generation": 1,
                            "creationTimestamp": "2026-01-01T00:00:00Z"},
               "spec": {"hosts": ["anon.example.com"],
                        "authentication": {"anon": {"anonymous": {}}}}}]}).encode()


def status_write_stalls(peer, c):
    """Lists and watches as above, with one AuthConfig; its status PATCH is
    read and never answered."""
    while not peer.stop.is_set():
        head = read_head(c)
        if not head:
            return
        line = head.split(b"\r\n", 1)[0]
        peer.requests.append(line)
        if line.startswith(b"PATCH ") or b"watch=1" in line:
            if b"watch=1" in line:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n")
            peer.stop.wait(60)
            return
        body = AC_LIST if b"/authconfigs" in line else LIST
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)


def read_request(c):
    """(request line, body) of one request, b"" at EOF."""
    head = read_head(c)
    if not head:
        return b"", b""
    head, _, body = head.partition(b"\r\n\r\n")
    n = 0
    for h in head.split(b"\r\n")[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        chunk = c.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n", 1)[0], body


def leader_then_stall(peer, c):
    """A cluster where this replica takes the Lease (GET 404, POST 201),
    until peer.stalled is set: from then on no request is answered."""
    while not peer.stop.is_set():
        line, body = read_request(c)
        if not line:
            return
        peer.requests.append(line)
        if peer.stalled.is_set():
            peer.stop.wait(60)
            return
        if b"watch=1" in line:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            peer.stop.wait(60)
            return
        code, out = b"200 OK", LIST
        if b"/leases" in line and line.startswith(b"GET "):
            code, out = b"404 Not Found", b'{"kind":"Status","code":404}'
        elif b"/leases" in line and line.startswith(b"POST "):
            code, out = b"201 Created", body
        c.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (code, len(out)) + out)


def make_pki(tmp):
    ca_key = pki.new_key("ec")
    ca_cert = pki.make_ca(ca_key)
    key = pki.new_key("ec")
    cert = pki.make_server_cert(ca_cert, ca_key, key)
    ca = os.path.join(tmp, "ca.crt")
    pki.write_file(ca, pki.cert_pem(ca_cert), 0o644)
    crt = os.path.join(tmp, "server.crt")
    k = os.path.join(tmp, "server.key")
    pki.write_file(crt, pki.cert_pem(cert), 0o644)
    pki.write_file(k, pki.key_pem(key), 0o600)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, k)
    ctx.set_alpn_protocols(["http/1.1"])
    return ca, ctx


def kubeconfig(tmp, name, port, ca):
    path = os.path.join(tmp, name + ".kubeconfig")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    return write(os.path.join(tmp, name + ".kubeconfig"), """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
""" % (port, ca))


def case(tmp, name, peer, extra=(), want_ready=False, want_request=None, want_log=None,
         then_stall=False):
    kc = kubeconfig(tmp, name, peer.port, CA)
    srv = Server(tmp, name=name, extra=["--watch-authconfigs", "--kubeconfig", kc] + list(extra))
    try:
        if want_ready:
            check(srv.ready(10), "%s: ready after the lists" % name, srv.logtail())
        if then_stall:
            end = time.monotonic() + 10
            while "became leader" not in srv.logtext() and time.monotonic() < end:
                time.sleep(0.05)
            check("became leader" in srv.logtext(), "%s: the replica leads" % name,
                  srv.logtail())
            peer.stalled.set()
        time.sleep(STALL_S)
        check(srv.proc.poll() is None, "%s: serve still runs while the API stalls" % name,
              srv.logtail())
        if want_request:
            end = time.monotonic() + 5
            while (not any(want_request in r for r in peer.requests)
                   and time.monotonic() < end):
                time.sleep(0.05)
            check(any(want_request in r for r in peer.requests),
                  "%s: the stalled request reached the API (%s)" % (name, want_request.decode()),
                  repr(peer.requests))
        if want_log:
            check(want_log in srv.logtext(), "%s: the log says %r" % (name, want_log),
                  srv.logtail())
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        try:
            srv.proc.wait(EXIT_BOUND_S + 11)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - t0
        print("  %s: SIGTERM to exit %.2f s" % (name, took))
        rc = srv.stop()
        log = srv.logtext()
        check(took < EXIT_BOUND_S and rc == 0,
              "%s: SIGTERM ends serve with 0 within %.0f s" % (name, EXIT_BOUND_S),
              "took %.1f s, exit %s\n%s" % (took, rc, log[-2000:]))
        check("Sanitizer" not in log and "runtime error" not in log,
              "%s: a clean exit (no sanitizer report)" % name, log[-3000:])
        check("stopped" in log, "%s: the shutdown ran to its end" % name, log[-2000:])
    finally:
        srv.stop()
        peer.close()


def main():
    global CA
    tmp = tempfile.mkdtemp(prefix="pc-ctlstop-")
    try:
        CA, tls = make_pki(tmp)
        # TCP accepted, no TLS ServerHello ever: the first list, and the
        # leader election's first Lease read, hang in the handshake.
        case(tmp, "tcp-no-tls", Peer(silent), extra=["--enable-leader-election"])
        # TLS done, the request read, no status line: the initial lists hang
        # waiting for headers (nothing is ready yet).
        case(tmp, "tls-no-headers", Peer(no_headers, tls), extra=["--enable-leader-election"],
             want_request=b"GET ")
        # The same with a short --kube-connect-timeout: the handshake gives up
        # by itself, and the informers retry.
        case(tmp, "connect-timeout", Peer(silent), extra=["--kube-connect-timeout", "300"],
             want_log="listing AuthConfigs: Timeout was reached")
        # A status line trickling in a byte at a time, never finished.
        case(tmp, "trickle", Peer(trickle, tls), want_request=b"GET ")
        # Lists answered, then watches that never send.
        case(tmp, "silent-watch", Peer(lists_then_silent_watch, tls), want_ready=True,
             want_request=b"watch=1")
        # A status write that is never answered (it holds the controller's
        # lock while it waits).
        case(tmp, "status-write", Peer(status_write_stalls, tls), want_ready=True,
             want_request=b"PATCH ")
        for flag, bad in (("--kube-connect-timeout", "0"), ("--kube-low-speed-timeout", "x")):
            p = subprocess.run([PC_BIN, "serve", flag, bad], capture_output=True, text=True,
                               timeout=10)
            check(p.returncode == 2 and flag in p.stderr, "%s %s: refused, naming it" %
                  (flag, bad), "%s %s" % (p.returncode, p.stderr[-500:]))
        # The leader, when the API stalls: its renewal is abandoned, and
        # handing the Lease back gives up after its own short bound.
        case(tmp, "leader", Peer(leader_then_stall, tls), want_ready=True, then_stall=True,
             extra=["--enable-leader-election", "--leader-election-lease-duration", "7000"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
