#!/usr/bin/python3
"""/metrics of the real server after allowed and denied checks, with
`metrics: true` evaluators and with --deep-metrics-enabled: promtool (from
Debian's prometheus package) and a strict text-format parser both accept
the exposition, and the counts, names and labels are Authorino's.

The frontend's own families after known gRPC (v3, v2, health, a malformed
message, an unknown method) and HTTP traffic (HTTP/1.1 and HTTP/2):
grpc_server_* as go-grpc-prometheus names them, Authorino's
http_server_handled_total{status} / http_server_handling_seconds, and
http_server_requests_total{code,method} /
http_server_request_duration_seconds{method} with promhttp's labels.

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR."""

import http.client
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, Server, SMALL, SLOW_TOKENREVIEW_AC,  # noqa: E402
                       api_key_authconfig, grpc_client, stalled_apiserver)

AUTHCONFIG = api_key_authconfig("""\
  authorization:
    not-denied:
      metrics: true
      patternMatching:
        patterns:
          - selector: request.headers.x-deny
            operator: neq
            value: "yes"
    never-applies:
      metrics: true
      priority: 1
      when:
        - selector: request.headers.x-never
          operator: eq
          value: "set"
      patternMatching:
        patterns:
          - selector: request.method
            operator: eq
            value: NOPE
  response:
    success:
      headers:
        x-user:
          metrics: true
          plain:
            selector: auth.identity.metadata.name
""").replace("""      credentials:
        authorizationHeader:
          prefix: APIKEY
""", """      credentials:
        authorizationHeader:
          prefix: APIKEY
      metrics: true
      cache:
        key:
          selector: request.headers.authorization
        ttl: 60
""", 1) + """---
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: open
  namespace: other
spec:
  hosts:
    - open.test
  authentication:
    anyone:
      anonymous: {}
"""

KEY = "APIKEY alice-secret-key"
CACHE_BYTES = 1048576

# Authorino's counters keep its names, without the _total suffix that
# promtool's lint asks for; that one hint is expected for exactly these.
AUTHORINO_COUNTERS = {
    "auth_server_response_status", "auth_server_authconfig_response_status",
    "auth_server_evaluator_denied", "auth_server_evaluator_ignored",
    "auth_server_evaluator_cancelled",
}

checks = Checks()
check = checks.check


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


# ---- a strict reading of the text format (0.0.4) ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')
SAMPLE = re.compile(r"^(%s)(\{.*\})?\s+(\S+)(\s+-?\d+)?$" % NAME)


def parse_labels(text):
    """'{a="1",b="2"}' -> (('a','1'),('b','2')); raises on any error."""
    if not text:
        return ()
    body, pos, out = text[1:-1], 0, []
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise ValueError("bad label syntax at %r" % body[pos:])
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    names = [k for k, _ in out]
    if len(set(names)) != len(names):
        raise ValueError("a label given twice in %s" % text)
    return tuple(out)


def strict_parse(text):
    """Families {name: {type, samples: [(name, labels, value)]}}, or raises
    with the first violation: a family declared twice or reopened, samples
    before or outside their TYPE, bad names/labels/values, a repeated
    series, histogram buckets out of order, not cumulative, or without +Inf
    equal to _count."""
    fams, order, current, seen = {}, [], None, set()
    if not text.endswith("\n"):
        raise ValueError("exposition does not end with a newline")
    for ln, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 and line.startswith("# TYPE"):
                raise ValueError("line %d: TYPE without a type" % ln)
            kind, name = parts[1], parts[2]
            if not re.fullmatch(NAME, name):
                raise ValueError("line %d: bad metric name %r" % (ln, name))
            f = fams.get(name)
            if f is None:
                if name in order:
                    raise ValueError("line %d: %s reopened" % (ln, name))
                f = fams[name] = {"type": None, "help": None, "samples": []}
                order.append(name)
            elif current != name:
                raise ValueError("line %d: family %s declared again" % (ln, name))
            key = "type" if kind == "TYPE" else "help"
            if f[key] is not None:
                raise ValueError("line %d: second %s for %s" % (ln, kind, name))
            if kind == "TYPE":
                if f["samples"]:
                    raise ValueError("line %d: TYPE after samples of %s" % (ln, name))
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError("line %d: bad type %r" % (ln, parts[3]))
                f["type"] = parts[3]
            else:
                f["help"] = parts[3] if len(parts) > 3 else ""
            current = name
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("line %d: not a sample: %r" % (ln, line))
        sname, labels, value = m.group(1), parse_labels(m.group(2)), m.group(3)
        base = sname
        if current and fams[current]["type"] == "histogram":
            for suf in ("_bucket", "_sum", "_count"):
                if sname == current + suf:
                    base = current
        if base != current:
            raise ValueError("line %d: sample %s outside its family (in %s)"
                             % (ln, sname, current))
        if fams[current]["type"] is None:
            raise ValueError("line %d: sample before TYPE of %s" % (ln, current))
        v = float(value)  # raises on garbage
        if fams[current]["type"] == "counter" and (v < 0 or math.isnan(v)):
            raise ValueError("line %d: counter %s is %s" % (ln, sname, value))
        series = (sname, labels)
        if series in seen:
            raise ValueError("line %d: series repeated: %s" % (ln, line))
        seen.add(series)
        fams[current]["samples"].append((sname, labels, v))
    for name, f in fams.items():
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    groups = {}
    for sname, labels, v in samples:
        rest = tuple(kv for kv in labels if kv[0] != "le")
        g = groups.setdefault(rest, {"buckets": [], "count": None, "sum": None})
        if sname.endswith("_bucket"):
            le = dict(labels).get("le")
            if le is None:
                raise ValueError("%s bucket without le" % name)
            g["buckets"].append((float(le), v))
        elif sname.endswith("_count"):
            g["count"] = v
        else:
            g["sum"] = v
    for rest, g in groups.items():
        les = [le for le, _ in g["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ValueError("%s%s: le not ascending" % (name, rest))
        if not les or les[-1] != math.inf:
            raise ValueError("%s%s: no +Inf bucket" % (name, rest))
        counts = [c for _, c in g["buckets"]]
        if counts != sorted(counts):
            raise ValueError("%s%s: buckets not cumulative" % (name, rest))
        if g["count"] is None or g["sum"] is None or g["count"] != counts[-1]:
            raise ValueError("%s%s: _count/_sum missing or +Inf != _count" % (name, rest))


def value(fams, family, sample, **labels):
    f = fams.get(family)
    if not f:
        return None
    want = set(labels.items())
    for sname, lab, v in f["samples"]:
        if sname == sample and set(lab) == want:
            return v
    return None


def promtool(text):
    """(ok, detail): promtool exit 0, or exit 3 (lint only) whose every
    complaint is the _total suffix of one of Authorino's counters."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode == 0:
        return True, out
    if r.returncode != 3:
        return False, "exit %d: %s" % (r.returncode, out)
    for line in out.strip().splitlines():
        m = re.match(r'^(\S+) counter metrics should have "_total" suffix$', line.strip())
        if not m or m.group(1) not in AUTHORINO_COUNTERS:
            return False, "lint: %s" % line
    return True, out


def validate(text, what):
    try:
        fams = strict_parse(text)
        check(True, "%s: the strict parser accepts the exposition" % what)
    except ValueError as e:
        check(False, "%s: the strict parser accepts the exposition" % what, str(e))
        fams = {}
    ok, detail = promtool(text)
    check(ok, "%s: promtool check metrics accepts it" % what, detail)
    return fams


def traffic(srv):
    p = srv.http_port
    codes = []
    for _ in range(5):
        codes.append(get(p, "/check", {"Host": "api.test", "Authorization": KEY})[0])
    for _ in range(3):
        codes.append(get(p, "/check", {"Host": "api.test", "Authorization": KEY,
                                       "x-deny": "yes"})[0])
    for _ in range(2):
        codes.append(get(p, "/check", {"Host": "api.test"})[0])
    codes.append(get(p, "/check", {"Host": "nobody.test"})[0])
    for _ in range(2):
        codes.append(get(p, "/check", {"Host": "open.test"})[0])
    return codes


def grpc_traffic(srv):
    """(what each call ended with) for: 3 allowed and 2 denied v3 Checks, 1
    v2 Check, health of "" and of an unknown service, a malformed Check
    message and an unknown method."""
    ec = grpc_client()
    import grpc
    out = []
    with ec.Client(srv.grpc, timeout=5) as c:
        for _ in range(3):
            r = c.check(ec.build_check_request("api.test", "/", headers={"authorization": KEY}))
            out.append(("v3", r.status.code))
        for _ in range(2):
            r = c.check(ec.build_check_request("api.test", "/"))
            out.append(("v3", r.status.code))
        r = c.check(ec.build_check_request("open.test", "/", v2=True), v2=True)
        out.append(("v2", r.status.code))
        out.append(("health", c.health()))
        try:
            c.health("no.such.Service")
            out.append(("health", "answered"))
        except grpc.RpcError as e:
            out.append(("health", e.code().name))
        raw = lambda path: c.channel.unary_unary(path, request_serializer=lambda b: b,
                                                 response_deserializer=lambda b: b)
        for path, msg in (("/envoy.service.auth.v3.Authorization/Check", b"\xff\xff\xff"),
                          ("/envoy.service.auth.v3.Authorization/Nope", b"")):
            try:
                raw(path)(msg, timeout=5)
                out.append((path, "OK"))
            except grpc.RpcError as e:
                out.append((path, e.code().name))
    return out


def check_grpc_families(fams):
    def lab(svc, m="Check", **kw):
        return dict(grpc_type="unary", grpc_service=svc, grpc_method=m, **kw)
    v3, v2 = "envoy.service.auth.v3.Authorization", "envoy.service.auth.v2.Authorization"
    hc = "grpc.health.v1.Health"

    def ctr(family, svc, **kw):
        return value(fams, family, family, **lab(svc, **kw))
    got = {f: (ctr(f, v3), ctr(f, v2), ctr(f, hc)) for f in (
        "grpc_server_started_total", "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total")}
    check(got == {"grpc_server_started_total": (6, 1, 2),
                  "grpc_server_msg_received_total": (6, 1, 2),
                  "grpc_server_msg_sent_total": (5, 1, 1)},
          "grpc_server_{started,msg_received,msg_sent}_total{grpc_type,grpc_service,"
          "grpc_method}: 6/1/2 calls, replies with a message 5/1/1", got)
    h = "grpc_server_handled_total"
    handled = sorted((dict(lb)["grpc_service"], dict(lb)["grpc_code"], v)
                     for _, lb, v in fams.get(h, {}).get("samples", []))
    check(handled == sorted([(v3, "OK", 5), (v3, "Internal", 1), (v2, "OK", 1),
                             (hc, "OK", 1), (hc, "NotFound", 1)]),
          "grpc_server_handled_total{...,grpc_code}: a denial is an OK call; "
          "Internal, NotFound by Go's names", handled)
    check(all(dict(lb).get("grpc_type") == "unary" and dict(lb)["grpc_method"] == "Check"
              for _, lb, _ in fams.get(h, {}).get("samples", [])),
          "grpc_server_handled_total: no series for the unknown method")
    s = "grpc_server_handling_seconds"
    le = [dict(lb)["le"] for n, lb, _ in fams[s]["samples"]
          if n == s + "_bucket" and dict(lb)["grpc_service"] == v3]
    check(le == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                 "10", "+Inf"], "grpc_server_handling_seconds: prometheus.DefBuckets", le)
    check(value(fams, s, s + "_count", **lab(v3)) == 6 and
          value(fams, s, s + "_bucket", le="+Inf", **lab(v3)) == 6 and
          0 < value(fams, s, s + "_sum", **lab(v3)) < 5 and
          value(fams, s, s + "_count", **lab(hc)) == 2,
          "grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}: one "
          "observation per call")


def check_http_families(fams):
    h = "http_server_handled_total"
    st = {dict(lb)["status"]: v for _, lb, v in fams.get(h, {}).get("samples", [])}
    check(st == {"OK": 8, "Forbidden": 3, "Unauthorized": 2, "NotFound": 1},
          "http_server_handled_total{status}: Authorino's (Envoy's StatusCode names), "
          "admin requests not counted", st)
    s = "http_server_handling_seconds"
    le = [dict(lb)["le"] for n, lb, _ in fams[s]["samples"] if n == s + "_bucket"]
    # prometheus.LinearBuckets sums step by step in float64; Go prints the
    # shortest text that reads back, as Python's repr does.
    want, b = [], 0.001
    for _ in range(20):
        want.append(repr(b))
        b += 0.05
    check(le == want + ["+Inf"],
          "http_server_handling_seconds: Authorino's LinearBuckets(0.001, 0.05, 20)", le)
    check(value(fams, s, s + "_count") == 14 and value(fams, s, s + "_sum") > 0,
          "http_server_handling_seconds: 14 observations")
    r = "http_server_requests_total"
    req = {(dict(lb)["code"], dict(lb)["method"]): v
           for _, lb, v in fams.get(r, {}).get("samples", [])}
    check(req == {("200", "get"): 7, ("200", "post"): 1, ("403", "get"): 3,
                  ("401", "get"): 2, ("404", "get"): 1},
          "http_server_requests_total{code,method}: HTTP/1.1 and HTTP/2, promhttp's "
          "lowercase methods", req)
    d = "http_server_request_duration_seconds"
    check(value(fams, d, d + "_count", method="get") == 13 and
          value(fams, d, d + "_count", method="post") == 1 and
          value(fams, d, d + "_bucket", method="get", le="10") == 13,
          "http_server_request_duration_seconds{method}: one observation per request")


def h2_post(port):
    """One HTTP/2 (prior knowledge) POST /check for open.test: its status."""
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--http2-prior-knowledge", "-X", "POST", "-d", "{}",
                        "-H", "Host: open.test", "http://127.0.0.1:%d/check" % port],
                       stdout=subprocess.PIPE, timeout=30)
    return r.stdout.decode()





def handled(port, code):
    status, text = get(port, "/metrics")
    fams = strict_parse(text) if status == 200 else {}
    return value(fams, "grpc_server_handled_total", "grpc_server_handled_total",
                 grpc_type="unary", grpc_service="envoy.service.auth.v3.Authorization",
                 grpc_method="Check", grpc_code=code)


def test_cancel_and_deadline(tmp):
    """A call the client cancels ends Canceled; one past its grpc-timeout
    is counted with the grpc-status the server ended it with."""
    import time
    ec = grpc_client()
    import grpc
    hang, kc = stalled_apiserver(tmp)
    try:
        with Server(tmp, authconfig_text=SLOW_TOKENREVIEW_AC, name="slow",
                    extra=SMALL + ["--kubeconfig", kc]) as srv:
            check(srv.ready(), "slow: server ready", srv.logtail())
            req = ec.build_check_request("slow.test", "/", headers={"authorization": "Bearer t"})
            with ec.Client(srv.grpc, timeout=5) as c:
                fut = c._check_v3.future(req, timeout=5)
                time.sleep(0.15)
                fut.cancel()
                end = time.monotonic() + 5
                while time.monotonic() < end and not handled(srv.admin_port, "Canceled"):
                    time.sleep(0.05)
                check(handled(srv.admin_port, "Canceled") == 1,
                      "a call the client cancels: grpc_code=\"Canceled\"")
            # An explicit grpc-timeout and a client without its own deadline
            # (nghttp): the server ends the call, with its timer's
            # DEADLINE_EXCEEDED or, should the pipeline's backstop come
            # first on a loaded machine, its UNAVAILABLE verdict (an OK call).
            body = os.path.join(tmp, "slow.bin")
            b = req.SerializeToString()
            with open(body, "wb") as f:
                f.write(b"\0" + struct.pack(">I", len(b)) + b)
            r = subprocess.run(["nghttp", "-v", "-H", ":method: POST",
                                "-H", "content-type: application/grpc", "-H", "te: trailers",
                                "-H", "grpc-timeout: 300m", "-d", body,
                                "http://127.0.0.1:%d/envoy.service.auth.v3.Authorization/Check"
                                % srv.grpc_port], stdout=subprocess.PIPE, timeout=30)
            m = re.search(rb"recv \(stream_id=\d+\) grpc-status: (\d+)", r.stdout)
            status = m.group(1).decode() if m else None
            want = {"4": "DeadlineExceeded", "0": "OK"}.get(status)
            check(want is not None, "grpc-timeout 300m: the server ends the call", status)
            got = [handled(srv.admin_port, c) for c in ("DeadlineExceeded", "OK", "Canceled")]
            check(want and handled(srv.admin_port, want) == 1 and sum(g or 0 for g in got) == 2,
                  "grpc_server_handled_total: the call the server ended counted with its "
                  "grpc-status (%s), the cancelled one Canceled" % want, got)
    finally:
        hang.close()


def main():
    if not shutil.which("promtool"):
        check(False, "promtool is installed (Debian package prometheus)")
        checks.finish()
    tmp = tempfile.mkdtemp(prefix="pc-metrics-")
    ev = dict(namespace="default", authconfig="api-protection")

    # ---- evaluators with metrics: true ----
    with Server(tmp, authconfig_text=AUTHCONFIG,
                extra=SMALL + ["--cache-max-bytes", str(CACHE_BYTES)]) as srv:
        check(srv.ready(), "server ready", srv.logtail())
        status, text = get(srv.admin_port, "/metrics")
        check(status == 200, "/metrics answers 200 before any check")
        validate(text, "before traffic")
        codes = traffic(srv)
        check(codes == [200] * 5 + [403] * 3 + [401] * 2 + [404] + [200] * 2,
              "checks answered 200 x5, 403 x3, 401 x2, 404, 200 x2", codes)
        status, text = get(srv.admin_port, "/metrics")
        check(status == 200, "/metrics answers 200")
        fams = validate(text, "metrics: true")
        for family in ("auth_server_evaluator_total", "auth_server_evaluator_duration_seconds"):
            check(text.count("# TYPE %s " % family) == 1, "%s declared once" % family)

        def rs(st):
            return value(fams, "auth_server_response_status", "auth_server_response_status",
                         status=st)
        check((rs("OK"), rs("PERMISSION_DENIED"), rs("UNAUTHENTICATED"), rs("NOT_FOUND"))
              == (7, 3, 2, 1), "auth_server_response_status{status} counts every answer",
              (rs("OK"), rs("PERMISSION_DENIED"), rs("UNAUTHENTICATED"), rs("NOT_FOUND")))
        check(value(fams, "auth_server_authconfig_total", "auth_server_authconfig_total",
                    **ev) == 10 and
              value(fams, "auth_server_authconfig_total", "auth_server_authconfig_total",
                    namespace="other", authconfig="open") == 2,
              "auth_server_authconfig_total{namespace,authconfig}: 10 and 2")
        per = {st: value(fams, "auth_server_authconfig_response_status",
                         "auth_server_authconfig_response_status", status=st, **ev)
               for st in ("OK", "PERMISSION_DENIED", "UNAUTHENTICATED")}
        check(per == {"OK": 5, "PERMISSION_DENIED": 3, "UNAUTHENTICATED": 2},
              "auth_server_authconfig_response_status{namespace,authconfig,status}", per)
        h = "auth_server_authconfig_duration_seconds"
        check(value(fams, h, h + "_count", **ev) == 10 and
              value(fams, h, h + "_bucket", le="+Inf", **ev) == 10 and
              value(fams, h, h + "_sum", **ev) > 0,
              "auth_server_authconfig_duration_seconds: 10 observations")

        def evs(family, etype, name, sample=None):
            return value(fams, family, sample or family, evaluator_type=etype,
                         evaluator_name=name, **ev)
        got = {
            "identity": (evs("auth_server_evaluator_total", "IDENTITY_APIKEY", "friends"),
                         evs("auth_server_evaluator_denied", "IDENTITY_APIKEY", "friends")),
            "rule": (evs("auth_server_evaluator_total", "AUTHORIZATION_JSON", "not-denied"),
                     evs("auth_server_evaluator_denied", "AUTHORIZATION_JSON", "not-denied")),
            "skipped": (evs("auth_server_evaluator_total", "AUTHORIZATION_JSON", "never-applies"),
                        evs("auth_server_evaluator_ignored", "AUTHORIZATION_JSON",
                            "never-applies")),
            "response": (evs("auth_server_evaluator_total", "RESPONSE_PLAIN", "x-user"),
                         evs("auth_server_evaluator_cancelled", "RESPONSE_PLAIN", "x-user")),
        }
        # never-applies (priority 1) only runs when not-denied (0) allowed.
        check(got == {"identity": (10, 2), "rule": (8, 3), "skipped": (5, 5),
                      "response": (5, 0)},
              "auth_server_evaluator_{total,denied,ignored,cancelled} with Authorino's "
              "evaluator_type", got)
        d = "auth_server_evaluator_duration_seconds"
        check(evs(d, "IDENTITY_APIKEY", "friends", d + "_count") == 10 and
              evs(d, "AUTHORIZATION_JSON", "never-applies", d + "_count") == 0,
              "evaluator durations: runs timed, skipped runs not")
        check("IDENTITY_NOOP" not in text,
              "an evaluator without metrics: true has no series")
        c = dict(cache="friends")
        cache = (value(fams, "portcullis_cache_hits_total", "portcullis_cache_hits_total", **c),
                 value(fams, "portcullis_cache_misses_total",
                       "portcullis_cache_misses_total", **c),
                 value(fams, "portcullis_cache_entries", "portcullis_cache_entries", **c),
                 value(fams, "portcullis_cache_max_bytes", "portcullis_cache_max_bytes", **c))
        check(cache == (7, 1, 1, CACHE_BYTES),
              "portcullis_cache_*{cache}: 7 hits, 1 miss, 1 entry, --cache-max-bytes budget",
              cache)
        check(0 < (value(fams, "portcullis_cache_bytes", "portcullis_cache_bytes", **c) or 0)
              < CACHE_BYTES, "portcullis_cache_bytes holds the entry's size")
        pid = srv.proc.pid
        with open("/proc/%d/status" % pid) as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        got_rss = value(fams, "process_resident_memory_bytes", "process_resident_memory_bytes")
        got_fds = value(fams, "process_open_fds", "process_open_fds")
        start = value(fams, "process_start_time_seconds", "process_start_time_seconds")
        check(got_rss and 0.5 < got_rss / (rss_kb * 1024.0) < 2 and
              got_fds and abs(got_fds - fds) <= 4 and
              start and abs(start - os.stat("/proc/%d" % pid).st_mtime) < 120 and
              value(fams, "process_cpu_seconds_total", "process_cpu_seconds_total") is not None,
              "process_*: resident memory, open fds, start time, CPU match /proc",
              (got_rss, rss_kb * 1024, got_fds, fds, start))

        # ---- the frontend's families, after gRPC and HTTP/2 traffic too ----
        check(h2_post(srv.http_port) == "200", "an HTTP/2 POST /check answered 200")
        calls = grpc_traffic(srv)
        check(calls == [("v3", 0)] * 3 + [("v3", 16)] * 2 + [
            ("v2", 0), ("health", "SERVING"), ("health", "NOT_FOUND"),
            ("/envoy.service.auth.v3.Authorization/Check", "INTERNAL"),
            ("/envoy.service.auth.v3.Authorization/Nope", "UNIMPLEMENTED")],
            "gRPC calls: 3 allowed, 2 denied, v2, health, NOT_FOUND, a malformed "
            "message, an unknown method", calls)
        status, text = get(srv.admin_port, "/metrics")
        fams = validate(text, "after gRPC traffic")
        check_grpc_families(fams)
        check_http_families(fams)
        status, alias = get(srv.admin_port, "/server-metrics")
        check(status == 200 and "grpc_server_started_total" in alias and
              "http_server_requests_total" in alias,
              "/server-metrics carries the frontend's families too")
        check(srv.proc.poll() is None, "server still running")

    test_cancel_and_deadline(tmp)

    # ---- --deep-metrics-enabled: every evaluator ----
    with Server(tmp, authconfig_text=AUTHCONFIG, name="deep",
                extra=SMALL + ["--deep-metrics-enabled"]) as srv:
        check(srv.ready(), "deep: server ready", srv.logtail())
        traffic(srv)
        status, text = get(srv.admin_port, "/metrics")
        fams = validate(text, "--deep-metrics-enabled")
        check(value(fams, "auth_server_evaluator_total", "auth_server_evaluator_total",
                    namespace="other", authconfig="open", evaluator_type="IDENTITY_NOOP",
                    evaluator_name="anyone") == 2,
              "deep: an evaluator without metrics: true is counted (IDENTITY_NOOP)")

    # ---- the cache budget from the environment and the config file ----
    cfg = os.path.join(tmp, "server.yaml")
    with open(cfg, "w") as f:
        f.write("cache:\n  maxBytes: 2097152\nmetrics:\n  deep: true\n")
    for what, extra, env, want in (
            ("config file cache.maxBytes", ["--config", cfg], {}, 2097152),
            ("PORTCULLIS_CACHE_MAX_BYTES over the file", ["--config", cfg],
             {"PORTCULLIS_CACHE_MAX_BYTES": "3145728"}, 3145728)):
        os.environ.update(env)
        try:
            with Server(tmp, authconfig_text=AUTHCONFIG, name="budget",
                        extra=SMALL + extra) as srv:
                ok = srv.ready()
                traffic(srv)
                text = get(srv.admin_port, "/metrics")[1] if ok else ""
        finally:
            for k in env:
                os.environ.pop(k)
        m = re.search(r'^portcullis_cache_max_bytes\{cache="friends"\} (\d+)$', text, re.M)
        check(m and int(m.group(1)) == want, "%s sets the budget (%d)" % (what, want),
              m.group(0) if m else text[-500:])
    check("IDENTITY_NOOP" in text, "config file metrics.deep: true enables deep metrics")
    for bad in ("100", "12x", "-1"):
        r = subprocess.run([os.environ.get("PC_BIN", "portcullis"), "serve",
                            "--cache-max-bytes", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        check(r.returncode == 2 and b"--cache-max-bytes must be" in r.stdout,
              "--cache-max-bytes %s is refused (exit 2)" % bad, r.stdout[-300:])
    shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    with checks.guard():
        main()
    checks.finish()
