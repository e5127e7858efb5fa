#!/usr/bin/python3
"""Hostile clients against `portcullis serve`, over raw HTTP/2 frames
(python3-h2) and raw sockets, plain and TLS: one case per class of attack.

  budget      unfinished gRPC messages on many connections: the process-wide
              memory budget sheds them with RESOURCE_EXHAUSTED
  zerowindow  connections that keep a zero flow-control window while their
              streams pile up: bounded by the budget, reset by the stream
              idle timeout, memory handed back after they close
  preface     gRPC-port connections that never send (all of) the preface,
              and TLS handshakes that stall: closed by the handshake timeout
  tls         a TLS handshake flood, garbage after the handshake
  fds         more connections than descriptors: no accept spin, the
              pending client is served afterwards, SIGTERM exits promptly
  floods      PING and CONTINUATION floods (GOAWAY ENHANCE_YOUR_CALM), a
              burst of slow checks past max_pipelines_in_flight (denied at
              once), rapid reset
  drain       SIGTERM under pipelined load (HTTP/2 and HTTP/1.1): what was
              received is decided, never answered "Busy"
  settings    the limits are settings, checked at start

Each case prints what it sent, the server's peak RSS (VmRSS sampled from
/proc), its CPU time and a legitimate gRPC client's p99 latency during the
attack. Those figures are reported, not asserted; the assertions are
generous bounds. PC_HOSTILE_SCALE (default 1, 0.5 in a sanitizer build)
scales the connection counts. PC_HOSTILE_ONLY=case,case runs a subset.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR, PC_SOURCE_DIR."""

import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pyclient"))
sys.path.insert(0, os.path.join(HERE, "lib"))
from extauthz_client import Client, build_check_request, v3  # noqa: E402
from pcharness import (Checks, PC_BIN, Server, clean_env, free_ports,  # noqa: E402
                       plugin_args, stalled_apiserver, write)
import grpc  # noqa: E402
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.errors  # noqa: E402
import h2.events  # noqa: E402
import h2.exceptions  # noqa: E402

checks = Checks()
check = checks.check

V3_PATH = "/envoy.service.auth.v3.Authorization/Check"
MiB = 1 << 20


def sanitizer_build():
    cache = os.path.join(os.environ.get("PC_BUILD_DIR", ""), "CMakeCache.txt")
    try:
        with open(cache) as f:
            return "PORTCULLIS_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


SANITIZED = sanitizer_build()
SCALE = float(os.environ.get("PC_HOSTILE_SCALE", "0.5" if SANITIZED else "1"))


def check_rss(cond, what, detail):
    """RSS bounds hold for glibc's malloc; ASan's allocator keeps freed
    memory in its quarantine (256 MB) and ignores malloc_trim, so there the
    figures are reported only."""
    if SANITIZED:
        print("skip - %s (RSS is not bounded under ASan: %s)" % (what, detail))
        return True
    return check(cond, what, detail)


def scaled(n, least=2):
    return max(least, int(n * SCALE))


OPEN_AC = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: open
  namespace: default
spec:
  hosts:
    - open.test
  authentication:
    anon:
      anonymous: {}
---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: slow
  namespace: default
spec:
  hosts:
    - slow.test
  authentication:
    tr:
      kubernetesTokenReview:
        audiences: [x]
"""



# ---- measuring ----

def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


class Watch:
    """Samples the server's RSS while the attack runs, counts its CPU time,
    and runs a legitimate gRPC client (one check every 20 ms) whose
    latencies give the p99."""

    def __init__(self, srv, legit=True, tls=None):
        self.pid = srv.proc.pid
        self.srv = srv
        self.legit = legit
        self.tls = tls
        self.peak_kb = 0
        self.lat = []
        self.legit_ok = 0
        self.legit_err = 0
        self.stop_ev = threading.Event()
        self.threads = []

    def _sample(self):
        while not self.stop_ev.is_set():
            self.peak_kb = max(self.peak_kb, proc_rss_kb(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.start_kb = proc_rss_kb(self.pid)
        self.cpu0 = proc_cpu_s(self.pid)
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self._sample, daemon=True)]
        for t in self.threads:
            t.start()
        self.child = None
        if self.legit:
            # Its own process: the attack's Python code must not hold the
            # GIL while the legitimate client's latency is measured.
            self.child = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--legit", self.srv.grpc,
                 (self.tls or {}).get("ca", "")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.child.stdout.readline()  # "ready"
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(10)
        if self.child:
            try:
                out, _ = self.child.communicate("", timeout=15)
                res = json.loads(out.strip().splitlines()[-1])
                self.lat, self.legit_ok, self.legit_err = res["lat"], res["ok"], res["err"]
            except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
                self.child.kill()
                self.child.wait()
                print("legit client: %r" % e)
        self.wall = time.monotonic() - self.t0
        self.cpu = proc_cpu_s(self.pid) - self.cpu0
        return False

    def p99_ms(self):
        if not self.lat:
            return float("nan")
        s = sorted(self.lat)
        return 1000 * s[min(len(s) - 1, int(len(s) * 0.99))]

    def report(self, case, sent):
        print("figure - %s: sent %s; peak RSS %.1f MB (start %.1f MB); server CPU "
              "%.2f s in %.2f s; legit p99 %.1f ms (%d ok, %d errors)" %
              (case, sent, self.peak_kb / 1024, self.start_kb / 1024, self.cpu,
               self.wall, self.p99_ms(), self.legit_ok, self.legit_err))


def settle_rss(pid, start_kb, within=1.2, wait=4.0):
    """Waits (up to `wait` s) for RSS to come back within `within` of
    start_kb; returns the last value seen."""
    end = time.monotonic() + (0 if SANITIZED else wait)
    kb = proc_rss_kb(pid)
    while time.monotonic() < end and kb > start_kb * within:
        time.sleep(0.2)
        kb = proc_rss_kb(pid)
    return kb


# ---- raw HTTP/2 ----

def grpc_body(host="open.test", path="/"):
    msg = build_check_request(host, path).SerializeToString()
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def grpc_headers(timeout=None):
    h = [(":method", "POST"), (":scheme", "http"), (":path", V3_PATH),
         (":authority", "portcullis"), ("content-type", "application/grpc"),
         ("te", "trailers")]
    if timeout:
        h.append(("grpc-timeout", timeout))
    return h


def raw_frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


class Peer:
    """One raw HTTP/2 client connection: an h2 state machine on a socket.
    Events received are kept per stream: headers, data, trailers, resets."""

    def __init__(self, port, settings=None, tls_ctx=None, preface=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls_ctx is not None:
            s = tls_ctx.wrap_socket(s, server_hostname="localhost")
        self.sock = s
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.streams = {}
        self.goaway = None
        self.closed = False
        if preface:
            self.conn.initiate_connection()
            if settings:
                self.conn.update_settings(settings)
            self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def st(self, sid):
        return self.streams.setdefault(sid, {"headers": None, "data": b"", "trailers": None,
                                             "reset": None, "ended": False, "t": None})

    def request(self, body, end=True, timeout=None):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, grpc_headers(timeout), end_stream=False)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end)
        self.st(sid)["sent"] = time.monotonic()
        return sid

    def feed(self, data):
        if not data:
            self.closed = True
            return []
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return []
        for ev in events:
            sid = getattr(ev, "stream_id", None)
            if isinstance(ev, h2.events.ResponseReceived):
                self.st(sid)["headers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                self.st(sid)["data"] += ev.data
            elif isinstance(ev, h2.events.TrailersReceived):
                self.st(sid)["trailers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.StreamEnded):
                x = self.st(sid)
                x["ended"] = True
                x["t"] = time.monotonic()
            elif isinstance(ev, h2.events.StreamReset):
                x = self.st(sid)
                x["reset"] = ev.error_code
                x["t"] = time.monotonic()
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = (ev.error_code, ev.last_stream_id)
        self.flush()
        return events

    def pump(self, seconds, until=None):
        """Reads for up to `seconds`, until until(self) holds or, without
        until, until something arrived."""
        end = time.monotonic() + seconds
        self.sock.settimeout(0.05)
        while time.monotonic() < end and not self.closed:
            if until and until(self):
                return True
            try:
                self.feed(self.sock.recv(262144))
                if until is None:
                    return True
            except (socket.timeout, ssl.SSLWantReadError):
                pass
            except OSError:
                self.closed = True
        return bool(until and until(self))

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class RawPeer:
    """A minimal HTTP/2 client of its own framing (hpack for headers) that,
    unlike python3-h2, keeps reading the streams a graceful GOAWAY lets
    finish (RFC 9113 6.8)."""

    def __init__(self, port, settings=b""):
        import hpack
        self.enc, self.dec = hpack.Encoder(), hpack.Decoder()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.streams = {}
        self.goaways = []
        self.next_id = 1
        self.closed = False
        self.out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + raw_frame(4, 0, 0, settings)
        # A large connection window: many small replies, no WINDOW_UPDATE.
        self.out += raw_frame(8, 0, 0, struct.pack(">I", (1 << 30)))

    @property
    def goaway(self):
        return self.goaways[-1] if self.goaways else None

    def st(self, sid):
        return self.streams.setdefault(sid, {"headers": None, "data": b"", "trailers": None,
                                             "reset": None, "ended": False, "t": None})

    def request(self, body):
        sid = self.next_id
        self.next_id += 2
        # From the second request on, the same headers encode to the same
        # indexed bytes: encode them once.
        if sid <= 3 or not hasattr(self, "block"):
            self.block = self.enc.encode(grpc_headers())
        self.out += raw_frame(1, 4, sid, self.block) + raw_frame(0, 1, sid, body)
        self.st(sid)
        return sid

    def flush(self):
        if self.out and not self.closed:
            try:
                self.sock.sendall(self.out)
            except OSError:
                self.closed = True
        self.out = b""

    def feed(self, data):
        if not data:
            self.closed = True
            return []
        self.buf += data
        ended = []
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                break
            ftype, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            pl = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            if ftype == 4 and not flags & 1:
                self.out += raw_frame(4, 1, 0)
            elif ftype == 1:
                hdrs = dict((k.decode() if isinstance(k, bytes) else k,
                             v.decode() if isinstance(v, bytes) else v)
                            for k, v in self.dec.decode(pl))
                x = self.st(sid)
                if x["headers"] is None:
                    x["headers"] = hdrs
                else:
                    x["trailers"] = hdrs
            elif ftype == 0:
                self.st(sid)["data"] += pl
                if n:
                    self.out += raw_frame(8, 0, sid, struct.pack(">I", n))
            elif ftype == 3:
                x = self.st(sid)
                x["reset"] = int.from_bytes(pl[:4], "big")
                x["t"] = time.monotonic()
            elif ftype == 7:
                self.goaways.append((int.from_bytes(pl[4:8], "big"),
                                     int.from_bytes(pl[:4], "big") & 0x7FFFFFFF))
            elif ftype == 6 and not flags & 1:
                self.out += raw_frame(6, 1, 0, pl)
            if ftype in (0, 1) and flags & 1:
                x = self.st(sid)
                x["ended"] = True
                x["t"] = time.monotonic()
                ended.append(sid)
        return ended

    def close(self):
        self.closed = True
        self.sock.close()


def status_of(x):
    """grpc-status of a finished stream (trailers, or trailers-only)."""
    for h in (x.get("trailers"), x.get("headers")):
        if h and "grpc-status" in h:
            return int(h["grpc-status"])
    return None


def shed(x):
    """A Check refused for lack of budget: a CheckResponse denial with
    RESOURCE_EXHAUSTED and 503, or (mid-message) grpc-status 8."""
    if status_of(x) == 8:
        return True
    if status_of(x) == 0 and len(x["data"]) > 5:
        r = v3.CheckResponse.FromString(x["data"][5:])
        return r.status.code == 8 and r.denied_response.status.code == 503
    return False


def pump_all(peers, seconds, until=None):
    """Reads every peer for up to `seconds` (one selector)."""
    sel = selectors.DefaultSelector()
    for p in peers:
        if not p.closed:
            p.sock.setblocking(False)
            sel.register(p.sock, selectors.EVENT_READ, p)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and sel.get_map():
            if until and until():
                return True
            for key, _ in sel.select(0.05):
                p = key.data
                try:
                    p.feed(p.sock.recv(262144))
                    p.flush()
                except (BlockingIOError, ssl.SSLWantReadError):
                    continue
                except OSError:
                    p.closed = True
                if p.closed:
                    sel.unregister(p.sock)
    finally:
        sel.close()
    return bool(until and until())


def server_with(tmp, name, opts, extra=(), tls=None):
    flags = ["--io-threads", "2", "--workers", "8"]
    for k, v in opts.items():
        flags += ["--frontend-option", "%s=%s" % (k, v)]
    srv = Server(tmp, os.path.join(tmp, "ac"), extra=flags + list(extra), name=name)
    if not srv.ready():
        check(False, "%s: server starts" % name, srv.logtail(2000))
        srv.stop()
        return None
    # Warm up, so the starting RSS already holds the code and the buffers
    # an ordinary check touches.
    with Client(srv.grpc, tls=tls, timeout=5) as c:
        for _ in range(20):
            c.check(build_check_request("open.test", "/warmup"))
    return srv


# ---- cases ----

def case_budget(tmp):
    """Unfinished gRPC messages on many connections (each would buffer up to
    max_connection_buffer_bytes): the process stays near its budget and the
    streams past it get RESOURCE_EXHAUSTED."""
    budget = 48 * MiB
    srv = server_with(tmp, "budget", {"memory_budget_bytes": budget})
    if not srv:
        return
    try:
        n_conns, per_stream, streams = scaled(100, 10), 2 * MiB, 2
        chunk = b"\x00" * 16384
        peers = []
        with Watch(srv) as w:
            for _ in range(n_conns):
                p = Peer(srv.grpc_port)
                peers.append(p)
                sids = []
                for _ in range(streams):
                    sid = p.request(b"\x00" + struct.pack(">I", 4 * MiB - 64), end=False)
                    sids.append(sid)
                p.flush()
                sent = {sid: 0 for sid in sids}
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not p.closed:
                    progress = False
                    for sid in sids:
                        x = p.st(sid)
                        if x["ended"] or x["reset"] is not None or sent[sid] >= per_stream:
                            continue
                        room = min(p.conn.local_flow_control_window(sid), len(chunk),
                                   per_stream - sent[sid])
                        if room > 0:
                            try:
                                p.conn.send_data(sid, chunk[:room])
                            except h2.exceptions.StreamClosedError:
                                continue
                            sent[sid] += room
                            progress = True
                    p.flush()
                    if all(p.st(s)["ended"] or p.st(s)["reset"] is not None or
                           sent[s] >= per_stream for s in sids):
                        break
                    if not progress:
                        p.pump(0.5)
            pump_all(peers, 0.5)
            n_shed = sum(1 for p in peers for x in p.streams.values() if shed(x))
            held_kb = proc_rss_kb(srv.proc.pid)
        w.report("budget", "%d connections x %d streams x %d MiB of unfinished 4 MiB "
                 "messages, budget %d MiB; %d streams shed" %
                 (n_conns, streams, per_stream // MiB, budget // MiB, n_shed))
        total = n_conns * streams * per_stream
        if total > budget * 1.5:
            check(n_shed > 0, "budget: streams past the memory budget are denied with "
                  "RESOURCE_EXHAUSTED", "shed %d of %d" % (n_shed, n_conns * streams))
            bare = sum(1 for p in peers for x in p.streams.values() if status_of(x) == 8)
            check(bare == 0, "budget: a shed Check is a CheckResponse denial (503), which "
                  "fails closed whatever Envoy's failure_mode_allow", "%d bare grpc-status 8"
                  % bare)
        check_rss(w.peak_kb * 1024 < w.start_kb * 1024 + budget * 1.5,
                  "budget: peak RSS stays under start + 1.5 x budget",
                  "peak %d kB, start %d kB" % (w.peak_kb, w.start_kb))
        for p in peers:
            p.close()
        after = settle_rss(srv.proc.pid, w.start_kb)
        print("figure - budget: RSS %.1f MB holding, %.1f MB after the connections closed "
              "(start %.1f MB)" % (held_kb / 1024, after / 1024, w.start_kb / 1024))
        check_rss(after < w.start_kb * 1.5 + 8192,
                  "budget: memory is handed back after they close",
                  "%d kB after, %d kB at start" % (after, w.start_kb))
        check(srv.proc.poll() is None, "budget: server still running")
    finally:
        srv.stop()


def case_zerowindow(tmp):
    """Connections with a zero initial window open many checks: the replies
    cannot be sent, the budget bounds what they hold, the stream idle
    timeout resets them."""
    budget = 32 * MiB
    srv = server_with(tmp, "zerowindow", {"memory_budget_bytes": budget,
                                          "stream_idle_timeout_ms": 1500})
    if not srv:
        return
    try:
        n_conns, per_conn = scaled(100, 10), scaled(100, 20)
        body = grpc_body()
        peers = []
        with Watch(srv) as w:
            for _ in range(n_conns):
                # SETTINGS_INITIAL_WINDOW_SIZE = 0: no reply DATA can be sent.
                p = RawPeer(srv.grpc_port, settings=struct.pack(">HI", 4, 0))
                for _ in range(per_conn):
                    p.request(body)
                p.flush()
                peers.append(p)
            t_sent = time.monotonic() - w.t0
            pump_all(peers, 1.0)
            held_kb = proc_rss_kb(srv.proc.pid)
            n = n_conns * per_conn

            def all_done():
                return all(x["reset"] is not None or x["ended"]
                           for p in peers for x in p.streams.values())
            pump_all(peers, 6.0, until=all_done)
            t_done = time.monotonic() - w.t0
        resets = sum(1 for p in peers for x in p.streams.values()
                     if x["reset"] == h2.errors.ErrorCodes.CANCEL)
        n_shed = sum(1 for p in peers for x in p.streams.values() if shed(x))
        w.report("zerowindow", "%d connections x %d checks with a zero window in %.1f s; %d "
                 "reset by the stream idle timeout (1.5 s), the last %.1f s after the start, "
                 "%d shed over the %d MiB budget" %
                 (n_conns, per_conn, t_sent, resets, t_done, n_shed, budget // MiB))
        check(resets + n_shed >= n * 0.95,
              "zerowindow: streams stuck behind a zero window are reset by the stream "
              "idle timeout", "%d reset, %d shed of %d" % (resets, n_shed, n))
        check_rss(w.peak_kb * 1024 < w.start_kb * 1024 + budget * 2,
                  "zerowindow: peak RSS stays under start + 2 x budget",
                  "peak %d kB, start %d kB" % (w.peak_kb, w.start_kb))
        for p in peers:
            p.close()
        after = settle_rss(srv.proc.pid, w.start_kb)
        print("figure - zerowindow: RSS %.1f MB holding, %.1f MB after close (start %.1f MB)"
              % (held_kb / 1024, after / 1024, w.start_kb / 1024))
        check_rss(after < w.start_kb * 1.5 + 8192,
                  "zerowindow: memory is handed back after they close",
                  "%d kB after, %d kB at start" % (after, w.start_kb))
    finally:
        srv.stop()


def tls_pki(tmp):
    d = os.path.join(tmp, "pki")
    if not os.path.isdir(d):
        os.makedirs(d)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                        os.path.join(d, "server.key"), "-out", os.path.join(d, "server.pem"),
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
    return os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def closed_within(socks, seconds):
    """How many of socks the server closed (EOF or reset) within seconds."""
    end = time.monotonic() + seconds
    open_ = set(range(len(socks)))
    for s in socks:
        s.setblocking(False)
    while open_ and time.monotonic() < end:
        for i in list(open_):
            try:
                if socks[i].recv(4096) == b"":
                    open_.discard(i)
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            except OSError:
                open_.discard(i)
        time.sleep(0.05)
    return len(socks) - len(open_)


def case_preface(tmp):
    """gRPC-port connections that send nothing, half a preface, or stop in
    the TLS handshake are closed after handshake_timeout_ms; one that sent
    its preface is not."""
    srv = server_with(tmp, "preface", {"handshake_timeout_ms": 1000})
    if not srv:
        return
    try:
        n = scaled(50, 5)
        with Watch(srv) as w:
            silent = [socket.create_connection(("127.0.0.1", srv.grpc_port)) for _ in range(n)]
            half = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", srv.grpc_port))
                s.sendall(b"PRI * HTTP/2.0\r\n")
                half.append(s)
            # The HTTP and admin ports: silent, or half an HTTP/2 preface.
            other = [socket.create_connection(("127.0.0.1", port))
                     for port in (srv.http_port, srv.admin_port) for _ in range(n // 5 + 1)]
            for _ in range(n // 5 + 1):
                s = socket.create_connection(("127.0.0.1", srv.http_port))
                s.sendall(b"PRI * HTTP/2.0\r\n")
                other.append(s)
            good = Peer(srv.grpc_port)
            good.pump(0.3)
            closed = closed_within(silent + half, 3.5)
            closed_other = closed_within(other, 1.0)
        w.report("preface", "%d silent and %d half-preface connections to the gRPC port, %d "
                 "silent or half-preface ones to the HTTP and admin ports" % (n, n, len(other)))
        check(closed == 2 * n, "preface: connections without a preface are closed after "
              "handshake_timeout_ms", "%d of %d closed" % (closed, 2 * n))
        check(closed_other == len(other), "preface: so are silent HTTP and admin connections",
              "%d of %d closed" % (closed_other, len(other)))
        sid = good.request(grpc_body())
        good.flush()
        good.pump(3, until=lambda p: p.st(sid)["ended"])
        check(status_of(good.st(sid)) == 0,
              "preface: a connection that sent its preface is not cut by it",
              good.st(sid))
        for s in silent + half + other:
            s.close()
        good.close()
    finally:
        srv.stop()


def case_tls(tmp):
    """The TLS listener: a handshake flood, stalled handshakes, garbage
    after the handshake."""
    crt, key = tls_pki(tmp)
    srv = server_with(tmp, "tls", {"handshake_timeout_ms": 1000},
                      extra=["--tls-cert", crt, "--tls-key", key],
                      tls={"ca": crt, "server_name": "localhost"})
    if not srv:
        return
    ctx = ssl.create_default_context(cafile=crt)
    ctx.set_alpn_protocols(["h2"])
    try:
        n = scaled(100, 10)
        done = [0]
        lock = threading.Lock()

        def handshaker(k):
            for _ in range(k):
                try:
                    with socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=5) as s:
                        with ctx.wrap_socket(s, server_hostname="localhost"):
                            with lock:
                                done[0] += 1
                except OSError:
                    pass
        with Watch(srv, tls={"ca": crt, "server_name": "localhost"}) as w:
            ts = [threading.Thread(target=handshaker, args=(max(1, n // 10),))
                  for _ in range(10)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
        w.report("tls handshake flood", "%d TLS handshakes from 10 threads, %d completed"
                 % (n, done[0]))
        check(w.legit_ok > 0, "tls: a legitimate TLS client is served during a handshake flood",
              "%d ok %d errors" % (w.legit_ok, w.legit_err))

        with Watch(srv, legit=False) as w:
            stalled = []
            for _ in range(scaled(50, 5)):
                s = socket.create_connection(("127.0.0.1", srv.grpc_port))
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
                stalled.append(s)
            closed = closed_within(stalled, 3.5)
        w.report("tls slow handshake", "%d stalled ClientHellos" % len(stalled))
        check(closed == len(stalled), "tls: stalled handshakes are closed after "
              "handshake_timeout_ms", "%d of %d" % (closed, len(stalled)))
        for s in stalled:
            s.close()

        garbage = []
        for _ in range(scaled(20, 4)):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.grpc_port)),
                                server_hostname="localhost")
            s.sendall(os.urandom(8192))
            garbage.append(s)
        closed = closed_within(garbage, 3)
        print("figure - tls garbage: %d connections sent 8 KiB of random bytes after the "
              "handshake; %d closed" % (len(garbage), closed))
        check(closed == len(garbage), "tls: garbage after the handshake closes the connection",
              "%d of %d" % (closed, len(garbage)))
        for s in garbage:
            s.close()
        check(srv.proc.poll() is None, "tls: server still running")
    finally:
        srv.stop()


def case_fds(tmp):
    """More connections than descriptors, two I/O threads: accepting pauses
    instead of spinning, the failure is logged, a client that connected
    meanwhile is served once descriptors are free, SIGTERM exits promptly."""
    limit = 128
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n_flood = min(scaled(400, 300), want - 100)
    grpc_port, http_port, admin_port = free_ports(3)
    logpath = os.path.join(tmp, "fds.log")
    log = open(logpath, "w+")
    cmd = [PC_BIN, "serve", "--grpc-addr", "127.0.0.1:%d" % grpc_port,
           "--http-addr", "127.0.0.1:%d" % http_port,
           "--admin-addr", "127.0.0.1:%d" % admin_port,
           "--authconfigs", os.path.join(tmp, "ac"), "--log-format", "text",
           "--io-threads", "2", "--workers", "4"] + plugin_args()

    def lower_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=clean_env(),
                            preexec_fn=lower_limit)

    class S:  # what Watch needs of a server
        pass
    srv = S()
    srv.proc = proc
    srv.grpc = "127.0.0.1:%d" % grpc_port
    flood = []
    try:
        up = False
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", admin_port), timeout=1).close()
                up = True
                break
            except OSError:
                time.sleep(0.05)
        if not check(up, "fds: server starts with %d descriptors" % limit):
            return
        with Watch(srv, legit=False) as w:
            for _ in range(n_flood):
                try:
                    flood.append(socket.create_connection(("127.0.0.1", grpc_port), timeout=2))
                except OSError:
                    break
            time.sleep(0.5)
            cpu0, t0 = proc_cpu_s(proc.pid), time.monotonic()
            time.sleep(1.5)
            cpu_share = (proc_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
            # Connected while the server has no descriptor to accept it.
            waiting = Peer(grpc_port)
            time.sleep(0.3)
        w.report("fds", "%d connections at a %d-descriptor limit; server CPU %.0f%% of a core "
                 "while out of descriptors" % (len(flood), limit, 100 * cpu_share))
        check(cpu_share < 0.5, "fds: out of descriptors, the I/O threads do not spin",
              "%.0f%% of a core" % (100 * cpu_share))
        log.flush()
        with open(logpath, errors="replace") as f:
            text = f.read()
        check("accept: Too many open files" in text, "fds: the accept failure is logged",
              text[-1000:])
        check(text.count("accept: Too many open files") <= 10,
              "fds: accept failures are logged at a limited rate",
              "%d lines" % text.count("accept: Too many open files"))
        for s in flood:
            s.close()
        flood = []
        sid = waiting.request(grpc_body())
        waiting.flush()
        waiting.pump(5, until=lambda p: p.st(sid)["ended"] or p.st(sid)["reset"] is not None)
        check(status_of(waiting.st(sid)) == 0,
              "fds: the client that connected during the exhaustion is served afterwards",
              waiting.st(sid))
        waiting.close()
        with Client(srv.grpc, timeout=5) as c:
            try:
                ok = c.check(build_check_request("open.test", "/")).status.code == 0
            except grpc.RpcError as e:
                ok = e
        check(ok is True, "fds: a new client is served after the flood", ok)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = "hung"
        took = time.monotonic() - t0
        print("figure - fds: SIGTERM to exit %.2f s" % took)
        check(rc == 0 and took < 5, "fds: SIGTERM exits promptly",
              "rc=%s after %.1f s" % (rc, took))
    finally:
        for s in flood:
            s.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def case_floods(tmp):
    """nghttp2's flood detection answered as a flood; checks past
    max_pipelines_in_flight denied at once, also after a rapid reset."""
    srv = server_with(tmp, "floods", {"max_pipelines_in_flight": 32},
                      extra=["--kubeconfig", os.path.join(tmp, "kubeconfig")])
    if not srv:
        return
    try:
        # PING flood: more unanswered PINGs than nghttp2 keeps acks for.
        with Watch(srv) as w:
            p = Peer(srv.grpc_port)
            n_ping = 3000
            for i in range(n_ping):
                p.conn.ping(struct.pack(">Q", i))
            p.flush()
            p.pump(3, until=lambda q: q.goaway is not None)
        w.report("ping flood", "%d PINGs in one burst" % n_ping)
        check(p.goaway and p.goaway[0] == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM,
              "floods: a PING flood gets GOAWAY ENHANCE_YOUR_CALM", p.goaway)
        p.close()

        # CONTINUATION flood: a header block spread over many frames.
        s = socket.create_connection(("127.0.0.1", srv.grpc_port), timeout=5)
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        c.initiate_connection()
        block = c.encoder.encode(grpc_headers())
        wire = c.data_to_send() + raw_frame(1, 0, 1, block[:4])
        for _ in range(40):
            wire += raw_frame(9, 0, 1, b"")
        wire += raw_frame(9, 4, 1, block[4:])
        s.sendall(wire)
        q = Peer.__new__(Peer)
        q.sock, q.conn, q.streams, q.goaway, q.closed = s, c, {}, None, False
        q.pump(3, until=lambda x: x.goaway is not None)
        check(q.goaway and q.goaway[0] == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM,
              "floods: a CONTINUATION flood gets GOAWAY ENHANCE_YOUR_CALM", q.goaway)
        q.close()

        # Slow checks past max_pipelines_in_flight: denied at once.
        n_conns, per = 4, scaled(40, 20)
        slow_req = build_check_request("slow.test", "/", headers={
            "authorization": "Bearer x"}).SerializeToString()
        slow = b"\x00" + struct.pack(">I", len(slow_req)) + slow_req
        with Watch(srv) as w:
            peers = [Peer(srv.grpc_port) for _ in range(n_conns)]
            t0 = time.monotonic()
            for p in peers:
                for _ in range(per):
                    p.request(slow, timeout="3S")
                p.flush()
            pump_all(peers, 1.5)
            quick = []
            for p in peers:
                for x in p.streams.values():
                    if x["ended"] and x["t"] - t0 < 1.5 and status_of(x) == 0 and x["data"]:
                        r = v3.CheckResponse.FromString(x["data"][5:])
                        quick.append((r.status.code, r.denied_response.status.code))
            pump_all(peers, 4.0, until=lambda: all(
                x["ended"] or x["reset"] is not None for p in peers for x in p.streams.values()))
        n = n_conns * per
        busy = sum(1 for code, st in quick if code == 8 and st == 503)
        w.report("pipeline cap", "%d slow checks on %d connections, max_pipelines_in_flight 32;"
                 " %d denied within 1.5 s" % (n, n_conns, busy))
        check(busy >= n - 32 - 4 and busy == len(quick),
              "floods: checks past max_pipelines_in_flight are denied at once "
              "(RESOURCE_EXHAUSTED, 503)", "%d quick answers, %d busy, of %d" %
              (len(quick), busy, n))
        unanswered = sum(1 for p in peers for x in p.streams.values()
                         if not x["ended"] and x["reset"] is None)
        check(unanswered == 0, "floods: every slow check got an answer", unanswered)
        for p in peers:
            p.close()

        # Rapid reset: requests cancelled right after they were sent.
        with Watch(srv) as w:
            peers = [Peer(srv.grpc_port) for _ in range(n_conns)]
            for p in peers:
                for _ in range(per * 2):
                    sid = p.request(slow, timeout="3S")
                    p.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                p.flush()
            pump_all(peers, 0.5)
            probe = Peer(srv.grpc_port)
            t0 = time.monotonic()
            sid = probe.request(grpc_body(), timeout="3S")
            probe.flush()
            probe.pump(4, until=lambda x: x.st(sid)["ended"])
            took = time.monotonic() - t0
        x = probe.st(sid)
        code = v3.CheckResponse.FromString(x["data"][5:]).status.code if x["data"] else None
        w.report("rapid reset", "%d slow checks opened and reset at once on %d connections; a "
                 "check sent after them answered in %.0f ms with code %s" %
                 (n_conns * per * 2, n_conns, 1000 * took, code))
        check(x["ended"] and code is not None and took < 2,
              "floods: a check after a rapid-reset flood is answered at once", x)
        for p in peers + [probe]:
            p.close()
        check(srv.proc.poll() is None, "floods: server still running")
    finally:
        srv.stop()


def case_drain(tmp):
    """SIGTERM while 16 connections keep 20 checks each in flight: every
    check the server received is decided (never "Busy"); the rest are
    refused by GOAWAY or REFUSED_STREAM."""
    srv = server_with(tmp, "drain", {})
    if not srv:
        return
    n_conns, depth = scaled(16, 4), 20
    body = grpc_body()
    watch = Watch(srv, legit=False).__enter__()
    peers = [RawPeer(srv.grpc_port) for _ in range(n_conns)]
    for p in peers:
        for _ in range(depth):
            p.request(body)
        p.flush()
    sent = n_conns * depth
    stop_at = time.monotonic() + 0.5
    signalled = False
    sel = selectors.DefaultSelector()
    for p in peers:
        p.sock.setblocking(False)
        sel.register(p.sock, selectors.EVENT_READ, p)
    end = time.monotonic() + 12
    while sel.get_map() and time.monotonic() < end:
        if not signalled and time.monotonic() >= stop_at:
            srv.proc.send_signal(signal.SIGTERM)
            signalled = True
        for key, _ in sel.select(0.05):
            p = key.data
            try:
                ended = p.feed(p.sock.recv(262144))
            except BlockingIOError:
                continue
            except OSError:
                p.closed = True
                ended = []
            if p.closed:
                sel.unregister(p.sock)
                continue
            # Keep the pipeline full, also after the GOAWAY notice: what
            # the server took before its final GOAWAY must be decided.
            if not any(code == 0 and last < (1 << 31) - 1 for code, last in p.goaways):
                for _ in ended:
                    p.request(body)
                    sent += 1
            p.flush()
    sel.close()
    watch.__exit__(None, None, None)
    decided = busy = refused = lost = other = 0
    for p in peers:
        last = min((g[1] for g in p.goaways), default=None)
        for sid, x in p.streams.items():
            if x["ended"] and status_of(x) == 0 and x["data"]:
                r = v3.CheckResponse.FromString(x["data"][5:])
                if r.status.code == 0:
                    decided += 1
                elif r.denied_response.status.code == 503:
                    busy += 1
                else:
                    other += 1
            elif x["reset"] == h2.errors.ErrorCodes.REFUSED_STREAM or \
                    (last is not None and sid > last):
                refused += 1
            else:
                lost += 1
    rc = srv.stop()
    watch.report("drain", "%d checks on %d connections, SIGTERM after 0.5 s: %d decided, "
                 "%d refused by GOAWAY, %d busy, %d lost, %d other" %
                 (sent, n_conns, decided, refused, busy, lost, other))
    check(busy == 0, "drain: no check received before GOAWAY is answered \"Busy\"", busy)
    check(lost == 0 and other == 0, "drain: every check is decided or refused by GOAWAY",
          "%d lost, %d other" % (lost, other))
    check(decided > sent // 2, "drain: the checks in flight are decided", decided)
    check(rc == 0, "drain: exit 0", rc)


def case_drain_h1(tmp):
    """SIGTERM while HTTP/1.1 connections pipeline /check: whatever the
    server answers is a decision, never 503 "Busy"."""
    srv = server_with(tmp, "drain_h1", {})
    if not srv:
        return
    n_conns, depth = scaled(32, 8), 16
    req = b"GET /check HTTP/1.1\r\nHost: open.test\r\n\r\n"
    socks = [socket.create_connection(("127.0.0.1", srv.http_port)) for _ in range(n_conns)]
    data = {s: b"" for s in socks}
    sent = 0
    for s in socks:
        s.sendall(req * depth)
        sent += depth
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    seen = {s: 0 for s in socks}
    with Watch(srv, legit=False) as w:
        stop_at, signalled = time.monotonic() + 0.5, False
        end = time.monotonic() + 12
        while sel.get_map() and time.monotonic() < end:
            if not signalled and time.monotonic() >= stop_at:
                srv.proc.send_signal(signal.SIGTERM)
                signalled = True
            for key, _ in sel.select(0.05):
                s = key.fileobj
                try:
                    chunk = s.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    sel.unregister(s)
                    continue
                data[s] += chunk
                n = data[s].count(b"HTTP/1.1 ")
                # Keep as many in flight; stop once the server says close.
                if n > seen[s] and b"onnection: close" not in data[s]:
                    try:
                        s.sendall(req * (n - seen[s]))
                        sent += n - seen[s]
                    except OSError:
                        pass
                seen[s] = n
        sel.close()
    codes = {}
    for s in socks:
        for code in re.findall(rb"HTTP/1\.1 (\d{3})", data[s]):
            codes[int(code)] = codes.get(int(code), 0) + 1
        s.close()
    rc = srv.stop()
    w.report("drain HTTP/1.1", "%d pipelined /check on %d connections, SIGTERM after 0.5 s; "
             "answers by status: %s" % (sent, n_conns, codes))
    check(codes.get(503, 0) == 0, "drain: no pipelined HTTP/1.1 check is answered 503 Busy",
          codes)
    check(codes.get(200, 0) > 0, "drain: pipelined HTTP/1.1 checks are decided", codes)
    check(rc == 0, "drain (HTTP/1.1): exit 0", rc)


def case_settings(tmp):
    """The limits are settings: from flags, the environment and the config
    file; an unknown key or a bad value stops the start with a message."""
    def serve(args, env=None):
        g, h, a = free_ports(3)
        cmd = [PC_BIN, "serve", "--grpc-addr", "127.0.0.1:%d" % g, "--http-addr",
               "127.0.0.1:%d" % h, "--admin-addr", "127.0.0.1:%d" % a, "--authconfigs",
               os.path.join(tmp, "ac")] + plugin_args() + args
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                               env=clean_env(env))
            return p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            return "running", ""
    rc, err = serve(["--frontend-option", "max_pipelines_in_fligth=5"])
    check(rc == 2 and "max_pipelines_in_fligth" in err,
          "settings: an unknown frontend option is an error", (rc, err))
    rc, err = serve(["--frontend-option", "memory_budget_bytes=12"])
    check(rc == 2 and "memory_budget_bytes" in err,
          "settings: a frontend option out of range is an error", (rc, err))
    rc, err = serve([], env={"PORTCULLIS_FRONTEND_OPTIONS": "handshake_timeout_ms=abc"})
    check(rc == 2 and "handshake_timeout_ms" in err,
          "settings: PORTCULLIS_FRONTEND_OPTIONS is read and checked", (rc, err))
    conf = write(os.path.join(tmp, "server.yaml"),
                 "frontendOptions:\n  stream_idle_timeout_ms: -1\n")
    rc, err = serve(["--config", conf])
    check(rc == 2 and "stream_idle_timeout_ms" in err,
          "settings: frontendOptions in the config file is read and checked", (rc, err))


def legit_main(target, ca):
    """The legitimate client (a process of its own): one check every 20 ms
    until stdin closes, then its latencies as one JSON line."""
    lat, ok, err = [], 0, 0
    req = build_check_request("open.test", "/legit")
    tls = {"ca": ca, "server_name": "localhost"} if ca else None
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    with Client(target, tls=tls, timeout=5) as c:
        try:
            c.check(req)  # connected (and handshaken) before measuring
        except grpc.RpcError:
            pass
        print("ready", flush=True)
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                c.check(req)
                ok += 1
            except grpc.RpcError:
                err += 1
            lat.append(time.monotonic() - t0)
            stop.wait(0.02)
    print(json.dumps({"lat": lat, "ok": ok, "err": err}), flush=True)


CASES = ["settings", "budget", "zerowindow", "preface", "tls", "fds", "floods", "drain",
         "drain_h1"]


def main():
    tmp = tempfile.mkdtemp(prefix="pc-test-hostile.")
    only = [c for c in os.environ.get("PC_HOSTILE_ONLY", "").split(",") if c]
    print("scale %.2f" % SCALE)
    hang, _ = stalled_apiserver(tmp, backlog=512)
    try:
        os.makedirs(os.path.join(tmp, "ac"))
        write(os.path.join(tmp, "ac", "ac.yaml"), OPEN_AC)
        for name in CASES:
            if only and name not in only:
                continue
            t0 = time.monotonic()
            with checks.guard("%s: ran to the end" % name):
                globals()["case_" + name](tmp)
            print("case %s: %.1f s" % (name, time.monotonic() - t0))
    finally:
        if checks.failures or os.environ.get("PC_HOSTILE_LOGS"):
            for f in sorted(os.listdir(tmp)):
                if f.endswith(".log"):
                    with open(os.path.join(tmp, f), errors="replace") as lf:
                        print("---- %s (tail) ----\n%s" % (f, lf.read()[-1500:]))
        hang.close()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--legit":
        legit_main(sys.argv[2], sys.argv[3])
    else:
        main()
