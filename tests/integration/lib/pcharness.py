"""Plumbing shared by the Python integration tests: free loopback ports,
a `portcullis serve` process, and the ok/FAIL counter with its closing
"N passed, N failed" line.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR, PC_SOURCE_DIR."""

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PC_BIN = os.environ.get("PC_BIN", "portcullis")
PC_PLUGIN_DIR = os.environ.get("PC_PLUGIN_DIR", "")
PC_BUILD_DIR = os.environ.get("PC_BUILD_DIR", "")
PC_SOURCE_DIR = os.environ.get("PC_SOURCE_DIR",
                               os.path.normpath(os.path.join(HERE, "..", "..", "..")))

# A developer's cluster settings must not leak into a test's server.
KUBE_ENV = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG")

# Flags for a small server, sized for a 2-core test machine.
SMALL = ["--io-threads", "2", "--workers", "4"]

# Tokens stay out of the test output, even the fixtures' throwaway ones.
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def free_ports(n):
    """n distinct loopback ports, bound together (so none repeats) and
    released for the caller to use."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# A TokenReview identity at host slow.test; with stalled_apiserver() as its
# API server a check can only end by its deadline.
SLOW_TOKENREVIEW_AC = """\
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

_STALLED_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: /etc/ssl/certs/ca-certificates.crt
users:
- name: u
  user:
    token: caller
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""


def stalled_apiserver(tmp, backlog=64):
    """A loopback listener that accepts TCP and never answers, and a
    kubeconfig under tmp pointing at it. Returns (socket, kubeconfig path);
    the caller closes the socket."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(backlog)
    kc = write(os.path.join(tmp, "kubeconfig"), _STALLED_KUBECONFIG % hang.getsockname()[1])
    return hang, kc


def clean_env(extra=None):
    """os.environ without the Kubernetes settings, plus `extra`."""
    env = dict(os.environ)
    for k in KUBE_ENV:
        env.pop(k, None)
    env.update(extra or {})
    return env


def plugin_args(flags=()):
    """--plugin-dir PC_PLUGIN_DIR, unless `flags` name plugin directories
    themselves (a directory given twice loads its plugins twice)."""
    if PC_PLUGIN_DIR and "--plugin-dir" not in flags:
        return ["--plugin-dir", PC_PLUGIN_DIR]
    return []


def grpc_client():
    """tests/integration/pyclient/extauthz_client, with its protobuf modules
    from the build (PC_BUILD_DIR/python) unless PC_PY_PROTO_DIR says."""
    sys.path.insert(0, os.path.join(HERE, "..", "pyclient"))
    if not os.environ.get("PC_PY_PROTO_DIR") and PC_BUILD_DIR:
        os.environ["PC_PY_PROTO_DIR"] = os.path.join(PC_BUILD_DIR, "python")
    import extauthz_client
    return extauthz_client


def started(srv, check, name):
    """srv once its /readyz answers; else stops it, fails `name` with its log
    and returns None."""
    if srv.ready():
        return srv
    srv.stop()
    check(False, "%s: portcullis serve starts" % name, srv.logtail())
    return None


def api_key_authconfig(rules):
    """The shared API-key AuthConfig and its Secret (api-key-authconfig.yaml)
    with `rules`, the test's own sections under spec, in place of #RULES."""
    with open(os.path.join(HERE, "api-key-authconfig.yaml")) as f:
        return f.read().replace("#RULES\n", rules)


class Checks:
    """Counts checks; finish() prints "N passed, N failed" and exits
    non-zero when any failed. `limit` caps the detail shown with a FAIL."""

    def __init__(self, limit=1500):
        self.passes = 0
        self.failures = []
        self.limit = limit

    def ok(self, what):
        self.passes += 1
        print("ok   - " + what)

    def fail(self, what, detail=""):
        self.failures.append(what)
        text = JWT_RE.sub("<token>", str(detail)) if detail != "" else ""
        if self.limit is not None:
            text = text[:self.limit]
        print("FAIL - %s%s" % (what, ("\n       " + text) if text else ""))

    def check(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail)
        return bool(cond)

    @contextlib.contextmanager
    def guard(self, what="test ran to the end"):
        """A crash of the test itself counts as a failure, with its trace."""
        try:
            yield
        except Exception as e:
            traceback.print_exc()
            self.fail(what, repr(e))

    def finish(self):
        print("%d passed, %d failed" % (self.passes, len(self.failures)))
        for f in self.failures:
            print("  failed: " + f)
        sys.exit(1 if self.failures else 0)


class Server:
    """`portcullis serve` on three free loopback ports (grpc_port,
    http_port, admin_port), started at construction, stopped by stop() or
    at the end of a `with` block. AuthConfigs come from `authconfigs` (a
    file or directory) or `authconfig_text` (written to tmp/NAME.yaml).
    The log is tmp/NAME.log. `extra` flags follow the defaults."""

    def __init__(self, tmp, authconfigs=None, authconfig_text=None, extra=(), name="server"):
        watching = "--watch-authconfigs" in extra
        if (authconfigs is None) == (authconfig_text is None) and not watching:
            raise ValueError("Server: give authconfigs or authconfig_text")
        if authconfig_text is not None:
            authconfigs = write(os.path.join(tmp, name + ".yaml"), authconfig_text)
        self.authconfigs = authconfigs
        self.grpc_port, self.http_port, self.admin_port = free_ports(3)
        self.grpc = "127.0.0.1:%d" % self.grpc_port
        self.logpath = os.path.join(tmp, name + ".log")
        self.log = open(self.logpath, "w+")
        extra = list(extra)
        cmd = [PC_BIN, "serve",
               "--grpc-addr", self.grpc,
               "--http-addr", "127.0.0.1:%d" % self.http_port,
               "--admin-addr", "127.0.0.1:%d" % self.admin_port,
               "--log-format", "text"] + extra
        if authconfigs is not None:
            cmd += ["--authconfigs", authconfigs]
        cmd += plugin_args(extra)
        self.rc = None
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=clean_env())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def ready(self, timeout=10):
        """Waits for /readyz to answer 200; False if it never does or the
        process exits first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=1)
                try:
                    c.request("GET", "/readyz")
                    if c.getresponse().status == 200:
                        return True
                finally:
                    c.close()
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def logtail(self, n=3000):
        return self.logtext()[-n:]

    def stop(self):
        """SIGTERM, SIGKILL after 15 s; returns the exit status. Safe to
        call again, and after the process has been signalled directly."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.rc = self.proc.returncode
        if not self.log.closed:
            self.log.close()
        return self.rc
