"""File mode, live: `portcullis serve --authconfigs DIR` reloads changed
files without SIGHUP, each AuthConfig isolated from the others' mistakes,
including a mounted ConfigMap's ..data symlink swap; /readyz is 503 while a
configured path is missing; a burst of writes is one reload. Then
`portcullis check` / `eval` exit codes for missing paths, empty paths,
`kind: List` exports and a misspelt kind.

Each AuthConfig here allows a request whose x-v header equals its version,
so the version being served is visible from outside over the HTTP port.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, Server, SMALL, PC_BIN, api_key_authconfig,  # noqa: E402
                       clean_env, plugin_args, write)

checks = Checks()
check = checks.check


def ac(name, version, host=None):
    return """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: %s
  namespace: default
spec:
  hosts: [%s]
  authorization:
    version:
      patternMatching:
        patterns:
        - selector: request.headers.x-v
          operator: eq
          value: "%s"
""" % (name, host or name + ".test", version)


def broken_ac(name):
    """Compiles to an error: an unknown field in the pattern."""
    return ac(name, "x").replace("operator: eq", "operatr: eq")


def replace(path, text):
    """As editors save: a new file renamed over the old one."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".swp")
    write(tmp, text)
    os.rename(tmp, path)


def status(port, host, version):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(("GET /check HTTP/1.1\r\nHost: %s\r\nx-v: %s\r\nConnection: close\r\n\r\n"
                   % (host, version)).encode())
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


def serves(srv, host, version):
    """Allowed with this version, denied with another one."""
    return (status(srv.http_port, host, version) == 200 and
            status(srv.http_port, host, "other") != 200)


def within(cond, limit=1.0):
    """Seconds until cond() held (polled), or None if not within limit."""
    t0 = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.02)


def readyz(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.admin_port, timeout=2)
    try:
        c.request("GET", "/readyz")
        return c.getresponse().status
    finally:
        c.close()


def reloads(srv):
    return srv.logtext().count("reloaded ")


def test_live_edits(tmp):
    d = os.path.join(tmp, "live")
    os.mkdir(d)
    write(os.path.join(d, "a.yaml"), ac("a", "1"))
    write(os.path.join(d, "b.yaml"), ac("b", "1"))
    with Server(tmp, authconfigs=d, extra=SMALL, name="live") as srv:
        check(srv.ready(), "file mode server is ready", srv.logtail())
        check(serves(srv, "a.test", "1") and serves(srv, "b.test", "1"), "both serve version 1")

        replace(os.path.join(d, "a.yaml"), ac("a", "2"))
        t = within(lambda: serves(srv, "a.test", "2"))
        check(t is not None, "an edited file is served within 1 s without SIGHUP (%s s)" % t,
              srv.logtail())
        check("SIGHUP" not in srv.logtext(), "no SIGHUP was involved")

        # A broken AuthConfig keeps its previous version; the other file changes.
        replace(os.path.join(d, "a.yaml"), broken_ac("a"))
        replace(os.path.join(d, "b.yaml"), ac("b", "2"))
        t = within(lambda: serves(srv, "b.test", "2"))
        check(t is not None, "b changes while a is broken", srv.logtail())
        check(serves(srv, "a.test", "2"), "broken a keeps serving its previous version")
        log = srv.logtext()
        check("a.yaml:" in log and "default/a has errors; its previous version keeps serving"
              in log, "the error names the file and says the previous version serves",
              srv.logtail())

        # A file that cannot be parsed, placed first, between and last.
        version = 3
        for bad in ("0-broken.yaml", "am-broken.yaml", "z-broken.yaml"):
            bp = os.path.join(d, bad)
            write(bp, "apiVersion: [unclosed\n")
            replace(os.path.join(d, "a.yaml"), ac("a", str(version)))
            replace(os.path.join(d, "b.yaml"), ac("b", str(version)))
            t = within(lambda: serves(srv, "a.test", str(version)) and
                       serves(srv, "b.test", str(version)))
            check(t is not None, "with %s present, a and b serve version %d" % (bad, version),
                  srv.logtail())
            os.unlink(bp)
            version += 1

        # A good file broken at the YAML level keeps all its AuthConfigs.
        write(os.path.join(d, "b.yaml"), "kind: [unclosed\n")
        replace(os.path.join(d, "a.yaml"), ac("a", "10"))
        t = within(lambda: serves(srv, "a.test", "10"))
        check(t is not None and serves(srv, "b.test", str(version - 1)),
              "a file that no longer parses keeps its AuthConfigs", srv.logtail())
        check("b.yaml: the file's previous AuthConfigs keep serving" in srv.logtext(),
              "and says so")

        # A deleted file's AuthConfigs are gone.
        os.unlink(os.path.join(d, "b.yaml"))
        t = within(lambda: status(srv.http_port, "b.test", str(version - 1)) != 200)
        check(t is not None, "a deleted file's AuthConfig is no longer served", srv.logtail())
        check(serves(srv, "a.test", "10"), "the other file still serves")

        # A burst of writes is not a burst of reloads.
        before = reloads(srv)
        for i in range(50):
            write(os.path.join(d, "a.yaml"), ac("a", "burst%d" % i))
            time.sleep(0.004)
        t = within(lambda: serves(srv, "a.test", "burst49"), 2.0)
        check(t is not None, "the last of 50 writes is served", srv.logtail())
        time.sleep(0.4)
        n = reloads(srv) - before
        check(1 <= n <= 3, "50 writes made %d reloads (at most 3)" % n, srv.logtail())
        check(srv.proc.poll() is None, "server still running")
    check(srv.rc == 0, "the server exits 0 on SIGTERM after all the reloads (%s)" % srv.rc,
          srv.logtail())


def make_configmap(root, stamp, files):
    """The layout kubelet writes for a ConfigMap volume: ..TIMESTAMP/ with
    the data, ..data -> ..TIMESTAMP, and KEY -> ..data/KEY."""
    ts = "..2026_12_01_00_00_%02d.%d" % (stamp, stamp)
    os.mkdir(os.path.join(root, ts))
    for k, v in files.items():
        write(os.path.join(root, ts, k), v)
    tmp_link = os.path.join(root, "..data_tmp")
    os.symlink(ts, tmp_link)
    old = os.path.realpath(os.path.join(root, "..data")) \
        if os.path.lexists(os.path.join(root, "..data")) else None
    os.rename(tmp_link, os.path.join(root, "..data"))  # the atomic swap
    for k in files:
        p = os.path.join(root, k)
        if not os.path.lexists(p):
            os.symlink(os.path.join("..data", k), p)
    if old:
        shutil.rmtree(old)


def test_configmap_and_sighup(tmp):
    cm = os.path.join(tmp, "cm")
    os.mkdir(cm)
    make_configmap(cm, 1, {"authconfigs.yaml": ac("cm", "1")})
    with Server(tmp, authconfigs=cm, extra=SMALL, name="cm") as srv:
        check(srv.ready(), "ConfigMap-mounted server is ready", srv.logtail())
        check(serves(srv, "cm.test", "1"), "ConfigMap version 1 served")
        make_configmap(cm, 2, {"authconfigs.yaml": ac("cm", "2")})
        t = within(lambda: serves(srv, "cm.test", "2"))
        check(t is not None, "the ..data symlink swap is picked up within 1 s (%s s)" % t,
              srv.logtail())

    d = os.path.join(tmp, "nowatch")
    os.mkdir(d)
    write(os.path.join(d, "s.yaml"), ac("s", "1"))
    with Server(tmp, authconfigs=d, extra=SMALL + ["--watch-files=false"],
                name="nowatch") as srv:
        check(srv.ready(), "server without watching is ready", srv.logtail())
        write(os.path.join(d, "s.yaml"), ac("s", "2"))
        time.sleep(0.6)
        check(serves(srv, "s.test", "1"), "--watch-files=false: an edit waits for SIGHUP")
        srv.proc.send_signal(signal.SIGHUP)
        t = within(lambda: serves(srv, "s.test", "2"), 2.0)
        check(t is not None, "SIGHUP reloads", srv.logtail())
        # SIGHUP keeps the isolation too.
        write(os.path.join(d, "t.yaml"), ac("t", "1"))
        write(os.path.join(d, "s.yaml"), broken_ac("s"))
        srv.proc.send_signal(signal.SIGHUP)
        t = within(lambda: serves(srv, "t.test", "1"), 2.0)
        check(t is not None and serves(srv, "s.test", "2"),
              "SIGHUP with one broken AuthConfig: the new one serves, the broken keeps "
              "its previous version", srv.logtail())


def apikey_status(port, key):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(("GET /check HTTP/1.1\r\nHost: api.test\r\nAuthorization: APIKEY %s\r\n"
                   "Connection: close\r\n\r\n" % key).encode())
        data = s.recv(4096)
    finally:
        s.close()
    parts = data.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else -1


def test_secret_files(tmp):
    """A Secret in its own file: changing it recompiles the apiKey
    AuthConfig of another, unchanged file."""
    d = os.path.join(tmp, "secrets")
    os.mkdir(d)
    authconfig, secret = api_key_authconfig("").split("\n---\n")
    write(os.path.join(d, "ac.yaml"), authconfig)
    write(os.path.join(d, "secret.yaml"), secret)
    with Server(tmp, authconfigs=d, extra=SMALL, name="secrets") as srv:
        check(srv.ready(), "apiKey server is ready", srv.logtail())
        check(apikey_status(srv.http_port, "alice-secret-key") == 200, "alice's key works")
        replace(os.path.join(d, "secret.yaml"), secret.replace("alice-secret-key", "rotated-key"))
        t = within(lambda: apikey_status(srv.http_port, "rotated-key") == 200)
        check(t is not None and apikey_status(srv.http_port, "alice-secret-key") != 200,
              "a rotated key in a Secret file takes effect within 1 s", srv.logtail())
        os.unlink(os.path.join(d, "secret.yaml"))
        t = within(lambda: apikey_status(srv.http_port, "rotated-key") != 200)
        check(t is not None, "a deleted Secret file's key stops working", srv.logtail())


def test_missing_path(tmp):
    d = os.path.join(tmp, "present")
    os.mkdir(d)
    write(os.path.join(d, "p.yaml"), ac("p", "1"))
    later = os.path.join(tmp, "later", "conf")
    with Server(tmp, authconfigs=d, extra=SMALL + ["--authconfigs", later],
                name="missing") as srv:
        t = within(lambda: srv.proc.poll() is None and _readyz(srv) == 503, 5)
        check(t is not None, "/readyz is 503 while a configured path is missing",
              srv.logtail())
        errs = srv.logtext().count("No such file or directory")
        for i in range(5):  # events in the watched parent that change nothing
            write(os.path.join(tmp, "noise.txt"), str(i))
            time.sleep(0.2)
        check(_readyz(srv) == 503, "and stays 503")
        check(errs >= 1 and srv.logtext().count("No such file or directory") == errs,
              "events that change nothing do not repeat the missing-path error",
              srv.logtail())
        os.makedirs(later)
        write(os.path.join(later, "q.yaml"), ac("q", "1"))
        t = within(lambda: _readyz(srv) == 200, 2.0)
        check(t is not None, "/readyz is 200 once the path appears", srv.logtail())
        check(within(lambda: serves(srv, "q.test", "1")) is not None,
              "and its AuthConfig serves")
    check(srv.rc == 0, "the missing-path server exits 0 (%s)" % srv.rc, srv.logtail())


def _readyz(srv):
    try:
        return readyz(srv)
    except OSError:
        return -1


def run(args, stdin=None):
    p = subprocess.run([PC_BIN] + args + plugin_args(), input=stdin,
                       capture_output=True, env=clean_env(), timeout=30)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def as_list(docs):
    """What `kubectl get ... -o yaml` prints: a v1 List with the objects,
    each a YAML text, indented under items."""
    out = "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n"
    for d in docs:
        lines = [ln for ln in d.splitlines() if ln.strip() and not ln.startswith("#")]
        out += "- " + lines[0] + "\n" + "".join("  " + ln + "\n" for ln in lines[1:])
    return out


def test_cli(tmp):
    d = os.path.join(tmp, "cli")
    os.mkdir(d)
    empty = os.path.join(d, "empty")
    os.mkdir(empty)
    good = write(os.path.join(d, "good.yaml"), ac("g", "1"))
    rc, out, err = run(["check", os.path.join(d, "nosuch.yaml")])
    check(rc == 2 and "nosuch.yaml" in err, "check of a missing path exits 2 (%d)" % rc, err)
    rc, out, err = run(["check", good, os.path.join(d, "nosuch")])
    check(rc == 2, "check with one missing path among good ones exits 2 (%d)" % rc, err)
    rc, out, err = run(["check", empty])
    check(rc == 2 and "no AuthConfig" in err, "check of a directory with no AuthConfig "
          "exits 2 (%d)" % rc, err)
    rc, out, err = run(["check", good])
    check(rc == 0, "check of a good file exits 0", out + err)

    typo = write(os.path.join(d, "typo.yaml"), ac("t", "1").replace("kind: AuthConfig",
                                                                     "kind: AuthConfg"))
    rc, out, err = run(["check", typo])
    check(rc != 0 and "typo.yaml:2: kind: unknown kind \"AuthConfg\"" in err,
          "kind: AuthConfg is an error at its line (%d)" % rc, err)

    # kubectl's export: AuthConfigs and Secrets in one List.
    import re
    key_ac = api_key_authconfig("")
    docs = key_ac.split("\n---\n") + [ac("l2", "1")]
    lst = write(os.path.join(d, "export.yaml"), as_list(docs))
    rc, out, err = run(["check", lst])
    check(rc == 0 and re.search(r"\b2 AuthConfigs loaded", out),
          "check reads a kind: List as its items (%d)" % rc, out + err)
    req = {"attributes": {"request": {"http": {
        "host": "api.test", "method": "GET", "path": "/",
        "headers": {"authorization": "APIKEY alice-secret-key"}}}}}
    rc, out, err = run(["eval", "--authconfigs", lst, "--request", "-"],
                       stdin=json.dumps(req).encode())
    check(rc == 0 and "ALLOW" in out, "a Secret inside the List is found by apiKey (%d)" % rc,
          out + err)
    rc, out, err = run(["eval", "--authconfigs", os.path.join(d, "gone"), "--request", "-"],
                       stdin=json.dumps(req).encode())
    check(rc == 2, "eval with a missing path exits 2 (%d)" % rc, out + err)
    rc, out, err = run(["eval", "--authconfigs", empty, "--request", "-"],
                       stdin=json.dumps(req).encode())
    check(rc == 2 and "no AuthConfig" in err, "eval with no AuthConfig exits 2 (%d)" % rc,
          out + err)


def main():
    tmp = tempfile.mkdtemp(prefix="pc-filewatch-")
    try:
        for t in (test_live_edits, test_configmap_and_sighup, test_secret_files,
                  test_missing_path, test_cli):
            with checks.guard(t.__name__):
                t(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
