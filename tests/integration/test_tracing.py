#!/usr/bin/python3
"""OpenTelemetry tracing end to end: the real server exports over OTLP/HTTP
to the fixture receiver (tests/fixtures/otlp_receiver, protobuf decoded with
python3-protobuf from the server's own .proto files), checked with
python3-grpcio Check calls carrying W3C traceparent/tracestate headers:
the request span's parent is the caller's span, an unsampled parent gives
no spans, each evaluator has a child span with its attributes, an
evaluator's HTTP call and its Kubernetes TokenReview (to the fixture API
server, tests/fixtures/kube_apiserver) carry the trace on, the queue drops and counts
what does not fit, and the server answers at once while the receiver is
slow or down. Also the flags' errors (rpc://, a tag without '=').

Env (set by ctest): PC_BIN, PC_PLUGIN_DIR, PC_BUILD_DIR, PC_SOURCE_DIR."""

import http.client
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from pcharness import (Checks, PC_BIN, PC_SOURCE_DIR, SMALL, Server,  # noqa: E402
                       api_key_authconfig, clean_env, free_port, grpc_client,
                       plugin_args, started, write)
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "otlp_receiver"))
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "metadata_service"))
sys.path.insert(0, os.path.join(PC_SOURCE_DIR, "tests", "fixtures", "kube_apiserver"))
from otlp_receiver import OtlpReceiver  # noqa: E402
from metadata_service import MetadataService  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

checks = Checks()
check = checks.check
ec = grpc_client()
KEY = "APIKEY alice-secret-key"

AUTHCONFIG = api_key_authconfig("""\
  metadata:
    echo:
      http:
        url: "%(meta)s/users/alice"
  authorization:
    not-denied:
      patternMatching:
        patterns:
          - selector: request.headers.x-deny
            operator: neq
            value: "yes"
    never-applies:
      when:
        - selector: request.headers.x-never
          operator: eq
          value: "set"
      patternMatching:
        patterns:
          - selector: request.method
            operator: eq
            value: NOPE
""")


def ids():
    return secrets.token_hex(16), secrets.token_hex(8)


def check_call(client, headers, host="api.test", request_id="1"):
    req = ec.build_check_request(host, path="/hello", headers=headers,
                                 request_id=request_id)
    return client.check(req, timeout=5)


def metrics(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.admin_port, timeout=5)
    try:
        c.request("GET", "/metrics")
        return c.getresponse().read().decode()
    finally:
        c.close()


def metric(text, series):
    m = re.search(r"^%s (\d+)$" % re.escape(series), text, re.M)
    return int(m.group(1)) if m else None


def tracing_flags(url, *more):
    return SMALL + ["--tracing-service-endpoint", url, "--tracing-service-insecure",
                    "--tracing-batch-delay", "50"] + list(more)


def test_spans(tmp, rx, meta):
    ac = AUTHCONFIG % {"meta": meta.url}
    flags = tracing_flags(rx.url, "--tracing-service-tag", "deployment.environment=test",
                          "--tracing-service-tag", " team=a=b ")
    srv = started(Server(tmp, authconfig_text=ac, extra=flags, name="spans"), check, "spans")
    if not srv:
        return
    with srv, ec.Client(srv.grpc) as client:
        # A sampled parent with a tracestate.
        tid, pid = ids()
        resp = check_call(client, {"authorization": KEY, "x-request-id": "req-42",
                                   "traceparent": "00-%s-%s-01" % (tid, pid),
                                   "tracestate": "vendor=abc,other=x y"})
        check(resp.status.code == 0, "a traced request is still allowed")
        spans = rx.wait_spans(5, where=lambda s: s["trace_id"] == tid)
        root = [s for s in spans if s["kind"] == "SPAN_KIND_SERVER"]
        evs = [s for s in spans if s["kind"] == "SPAN_KIND_INTERNAL"]
        check(len(root) == 1, "one SERVER span for the request", spans)
        if root:
            r = root[0]
            a = r["attributes"]
            check(r["name"] == "Check" and r["parent_span_id"] == pid,
                  "the request span is Check, child of the caller's span", r)
            check(r["trace_state"] == "vendor=abc,other=x y", "the tracestate is kept", r)
            check(r["flags"] & 0xff == 1 and r["flags"] & 0x300 == 0x300,
                  "flags: sampled, parent remote", r["flags"])
            check(a.get("portcullis.authorized") is True and
                  a.get("portcullis.response") == "OK" and
                  a.get("http.response.status_code") == 200,
                  "request span: authorized, response OK, status 200", a)
            check(a.get("portcullis.host") == "api.test" and
                  a.get("portcullis.authconfig.namespace") == "default" and
                  a.get("portcullis.authconfig.name") == "api-protection",
                  "request span: host and AuthConfig", a)
            check(a.get("authorino.request_id") == "req-42" and
                  a.get("guid:x-request-id") == "req-42",
                  "request span: Authorino's request id attributes", a)
            check(r["end"] >= r["start"] > 0, "request span has its times", r)
            res = r["resource"]
            check(res.get("service.name") == "portcullis" and
                  res.get("deployment.environment") == "test" and res.get("team") == "a=b",
                  "resource: service.name portcullis and the tags (trimmed, split at the first =)",
                  res)
            check(r["path"] == "/v1/traces" and r["content_type"] == "application/x-protobuf",
                  "POST /v1/traces, application/x-protobuf", (r["path"], r["content_type"]))
            by = {s["attributes"].get("portcullis.evaluator.name"): s for s in evs}
            check(set(by) == {"friends", "echo", "not-denied", "never-applies"},
                  "one child span per evaluator", sorted(by))
            check(all(s["parent_span_id"] == r["span_id"] for s in evs) and
                  len({s["span_id"] for s in spans}) == len(spans),
                  "evaluator spans are children of the request span, ids unique",
                  [(s["span_id"], s["parent_span_id"]) for s in spans])
            f = by.get("friends", {"attributes": {}})
            fa = f["attributes"]
            check(fa.get("portcullis.evaluator.type") == "IDENTITY_APIKEY" and
                  fa.get("portcullis.evaluator.phase") == "authentication" and
                  fa.get("portcullis.evaluator.outcome") == "ok" and
                  fa.get("portcullis.authconfig.namespace") == "default" and
                  fa.get("portcullis.authconfig.name") == "api-protection" and
                  f.get("name") == "spec.authentication.friends",
                  "identity span: type, phase, outcome, AuthConfig, name", f)
            m = by.get("echo", {"attributes": {}})
            check(m["attributes"].get("portcullis.evaluator.type") == "METADATA_GENERIC_HTTP",
                  "metadata span: METADATA_GENERIC_HTTP", m["attributes"])
            skipped = by.get("never-applies", {"attributes": {}})
            check(skipped["attributes"].get("portcullis.evaluator.outcome") == "skipped" and
                  skipped["attributes"].get("portcullis.evaluator.type") ==
                  "AUTHORIZATION_JSON", "a `when` that does not hold: outcome skipped",
                  skipped)
            # The metadata call carried the trace on, as the echo span.
            seen = (meta.last() or {}).get("request") or {}
            h = seen.get("headers", {})
            check(h.get("traceparent") == "00-%s-%s-01" % (tid, m.get("span_id")) and
                  h.get("tracestate") == "vendor=abc,other=x y",
                  "the HTTP metadata request carries traceparent (its span) and tracestate",
                  h)

        # An unsampled parent: nothing is recorded. A sampled request
        # afterwards shows the exporter has sent what it had.
        ntid, npid = ids()
        check_call(client, {"authorization": KEY, "traceparent": "00-%s-%s-00" % (ntid, npid),
                            "tracestate": "vendor=unsampled"})
        seen = (meta.last() or {}).get("request") or {}
        h = seen.get("headers", {})
        check(h.get("traceparent") == "00-%s-%s-00" % (ntid, npid) and
              h.get("tracestate") == "vendor=unsampled",
              "an unsampled parent is passed on as it came (the service follows the "
              "caller's decision)", h)
        mtid, mpid = ids()
        check_call(client, {"authorization": KEY, "traceparent": "00-%s-%s-01" % (mtid, mpid)})
        rx.wait_spans(1, where=lambda s: s["trace_id"] == mtid)
        time.sleep(0.2)
        check(not [s for s in rx.spans if s["trace_id"] == ntid],
              "an unsampled parent gives no spans")

        # No traceparent, or one that is not valid: a new trace (always on).
        rx.clear()
        check_call(client, {"authorization": KEY, "x-request-id": "no-parent"})
        badtid = secrets.token_hex(16).upper()
        check_call(client, {"authorization": KEY, "x-request-id": "bad-parent",
                            "traceparent": "00-%s-%s-01" % (badtid, secrets.token_hex(8))})
        roots = rx.wait_spans(2, where=lambda s: s["kind"] == "SPAN_KIND_SERVER")
        byid = {s["attributes"].get("authorino.request_id"): s for s in roots}
        np_, bp = byid.get("no-parent"), byid.get("bad-parent")
        check(np_ is not None and np_["parent_span_id"] == "" and
              np_["flags"] & 0x300 == 0x100 and len(np_["trace_id"]) == 32,
              "without a traceparent: a new root span", np_)
        check(bp is not None and bp["parent_span_id"] == "" and
              bp["trace_id"] != badtid.lower(),
              "an invalid traceparent (uppercase hex) is ignored: a new root", bp)

        # A denial: the identity span failed, the request span says why.
        rx.clear()
        dtid, dpid = ids()
        resp = check_call(client, {"authorization": "APIKEY wrong",
                                   "traceparent": "00-%s-%s-01" % (dtid, dpid)})
        check(resp.status.code == 16, "a wrong key is still denied (UNAUTHENTICATED)")
        spans = rx.wait_spans(2, where=lambda s: s["trace_id"] == dtid)
        root = [s for s in spans if s["kind"] == "SPAN_KIND_SERVER"]
        ids_ = [s for s in spans if s["attributes"].get("portcullis.evaluator.name") ==
                "friends"]
        check(root and root[0]["attributes"].get("portcullis.authorized") is False and
              root[0]["attributes"].get("portcullis.response") == "UNAUTHENTICATED" and
              root[0]["attributes"].get("http.response.status_code") == 401 and
              root[0]["status_code"] == "STATUS_CODE_UNSET",
              "denied request span: authorized false, UNAUTHENTICATED, 401, not an error",
              root)
        check(ids_ and ids_[0]["attributes"].get("portcullis.evaluator.outcome") == "failed" and
              ids_[0]["status_code"] == "STATUS_CODE_ERROR" and ids_[0]["status_message"],
              "the failed identity span has an error status with the reason", ids_)
        check(len(spans) == 2, "evaluators after the failed identity have no spans", spans)

        # Host not found: a request span, NOT_FOUND.
        rx.clear()
        ftid, fpid = ids()
        check_call(client, {"traceparent": "00-%s-%s-01" % (ftid, fpid)}, host="nobody.test")
        spans = rx.wait_spans(1, where=lambda s: s["trace_id"] == ftid)
        check(len(spans) == 1 and spans[0]["attributes"].get("portcullis.response") ==
              "NOT_FOUND" and "portcullis.authconfig.name" not in spans[0]["attributes"],
              "a host without AuthConfig: one request span, NOT_FOUND", spans)
        check(not rx.errors, "every POST decoded as an ExportTraceServiceRequest", rx.errors)

        text = metrics(srv)
        check((metric(text, "portcullis_tracing_spans_exported_total") or 0) >= 10 and
              metric(text, 'portcullis_tracing_spans_dropped_total{reason="queue_full"}') == 0,
              "metrics: spans exported, none dropped", text[-1500:])
    check(srv.rc == 0, "the traced server exits 0 (under the sanitizers: no leak, no error)",
          (srv.rc, srv.logtail()))


TOKENREVIEW_AUTHCONFIG = """\
apiVersion: authorino.kuadrant.io/v1beta3
kind: AuthConfig
metadata:
  name: sa-protection
spec:
  hosts:
  - api.test
  authentication:
    service-accounts:
      kubernetesTokenReview:
        audiences: [talker-api]
  authorization:
    sar:
      kubernetesSubjectAccessReview:
        user: {selector: auth.identity.user.username}
"""


def test_tokenreview(tmp, rx, api):
    """The TokenReview and SubjectAccessReview evaluators send through
    pc_host.kube_do carry the trace as an HTTP call does: each its own span
    as the parent, the request's tracestate; an unsampled parent as it
    came."""
    rx.clear()
    flags = tracing_flags(rx.url, "--kubeconfig", api.kubeconfig_path)
    srv = started(Server(tmp, authconfig_text=TOKENREVIEW_AUTHCONFIG, extra=flags,
                         name="tokenreview"), check, "tokenreview")
    if not srv:
        return
    api.sar_rules([{"users": ["*"], "verbs": ["*"], "nonResourceURLs": ["*"]}])
    with srv, ec.Client(srv.grpc) as client:
        api.reset_counters()
        tid, pid = ids()
        tok = api.token_request("default", "traced-1", ["talker-api"], 600)
        resp = check_call(client, {"authorization": "Bearer " + tok,
                                   "traceparent": "00-%s-%s-01" % (tid, pid),
                                   "tracestate": "vendor=kube"})
        check(resp.status.code == 0, "a traced request with a TokenReview is allowed", resp)
        spans = rx.wait_spans(3, where=lambda s: s["trace_id"] == tid)
        span_of = {s["attributes"].get("portcullis.evaluator.name"): s["span_id"]
                   for s in spans}
        traces = api.traces()
        for target, name, what in (("tokenreviews", "service-accounts", "TokenReview"),
                                   ("subjectaccessreviews", "sar", "SubjectAccessReview")):
            seen = traces.get(target) or {}
            check(name in span_of and seen.get("traceparent") == "00-%s-%s-01" %
                  (tid, span_of[name]) and seen.get("tracestate") == "vendor=kube",
                  "the %s carries traceparent (the request's trace, its evaluator's span) "
                  "and tracestate" % what, (seen, span_of))

        ntid, npid = ids()
        tok = api.token_request("default", "traced-2", ["talker-api"], 600)
        resp = check_call(client, {"authorization": "Bearer " + tok,
                                   "traceparent": "00-%s-%s-00" % (ntid, npid),
                                   "tracestate": "vendor=unsampled"})
        traces = api.traces()
        check(resp.status.code == 0 and all(
              (traces.get(t) or {}).get("traceparent") == "00-%s-%s-00" % (ntid, npid) and
              (traces.get(t) or {}).get("tracestate") == "vendor=unsampled"
              for t in ("tokenreviews", "subjectaccessreviews")),
              "an unsampled parent reaches the API server as it came", traces)
        check(api.counters()["tokenreviews"] == 2, "two TokenReviews were sent",
              api.counters())
    check(srv.rc == 0, "the server exits 0", (srv.rc, srv.logtail()))


def test_overflow_and_slow(tmp, rx):
    """A receiver that takes 2 s per POST and a queue of 8 spans: requests
    keep being answered at once, and what does not fit is dropped and
    counted."""
    rx.delay = 2.0
    ac = api_key_authconfig("")
    flags = SMALL + ["--tracing-service-endpoint", rx.url, "--tracing-service-insecure",
                     "--tracing-max-queue-size", "8", "--tracing-max-export-batch-size", "2",
                     "--tracing-batch-delay", "20", "--tracing-export-timeout", "5000"]
    srv = started(Server(tmp, authconfig_text=ac, extra=flags, name="overflow"), check,
                  "overflow")
    if not srv:
        return
    with srv, ec.Client(srv.grpc) as client:
        worst = 0.0
        for i in range(40):
            t0 = time.monotonic()
            resp = check_call(client, {"authorization": KEY})
            worst = max(worst, time.monotonic() - t0)
            if resp.status.code != 0:
                break
        check(resp.status.code == 0 and worst < 1.0,
              "40 checks answered while the receiver stalls (slowest %.3f s)" % worst)
        text = metrics(srv)
        dropped = metric(text, 'portcullis_tracing_spans_dropped_total{reason="queue_full"}')
        queued = metric(text, "portcullis_tracing_queue_spans")
        check(dropped is not None and dropped >= 40 * 2 - 8 - 4 and queued is not None and
              queued <= 8,
              "queue overflow: spans dropped and counted, the queue within its limit",
              (dropped, queued))
    check(srv.rc == 0, "the overflowing server exits 0", (srv.rc, srv.logtail()))
    rx.delay = 0


def test_receiver_down(tmp):
    """Nothing listens at the endpoint: checks are answered, exports fail
    and are counted, and the server stops promptly."""
    port = free_port()
    ac = api_key_authconfig("")
    flags = tracing_flags("http://127.0.0.1:%d" % port, "--tracing-export-timeout", "500")
    srv = started(Server(tmp, authconfig_text=ac, extra=flags, name="down"), check, "down")
    if not srv:
        return
    with srv, ec.Client(srv.grpc) as client:
        t0 = time.monotonic()
        codes = [check_call(client, {"authorization": KEY}).status.code for _ in range(20)]
        took = time.monotonic() - t0
        check(codes == [0] * 20 and took < 5, "checks answered with the receiver down "
              "(%.2f s for 20)" % took, codes)
        deadline = time.monotonic() + 5
        failed = 0
        while time.monotonic() < deadline:
            text = metrics(srv)
            failed = metric(text, 'portcullis_tracing_spans_dropped_total{reason="export_failed"}') or 0
            if failed >= 40:
                break
            time.sleep(0.1)
        check(failed >= 40 and (metric(text, 'portcullis_tracing_exports_total{result="error"}')
                                or 0) >= 1,
              "failed exports are counted (spans dropped, POSTs in error)", failed)
        t0 = time.monotonic()
        check_call(client, {"authorization": KEY})
        rc = srv.stop()
        check(rc == 0 and time.monotonic() - t0 < 5, "stops promptly with the receiver down "
              "(rc %s, %.2f s)" % (rc, time.monotonic() - t0))


def test_flag_errors(tmp):
    ac = write(os.path.join(tmp, "ac.yaml"), api_key_authconfig(""))
    cases = [
        (["--tracing-service-endpoint", "rpc://127.0.0.1:4317"], "OTLP/gRPC"),
        (["--tracing-service-endpoint", "grpc://127.0.0.1:4317"], "OTLP/gRPC"),
        (["--tracing-service-endpoint", "ftp://127.0.0.1"], "unsupported scheme"),
        (["--tracing-service-endpoint", "127.0.0.1:4318"], "want http://"),
        (["--tracing-service-endpoint", "http://127.0.0.1:4318",
          "--tracing-service-tag", "novalue"], "KEY=VALUE"),
        (["--tracing-service-tag", "a=b"], "need --tracing-service-endpoint"),
        (["--tracing-service-endpoint", "http://127.0.0.1:4318",
          "--tracing-max-queue-size", "0"], "tracing-max-queue-size"),
        (["--tracing-service-endpoint", "http://127.0.0.1:4318",
          "--tracing-sampling-ratio", "1.5"], "tracing-sampling-ratio"),
        (["--tracing-service-endpoint", "http://127.0.0.1:4318",
          "--tracing-max-queue-size", "4", "--tracing-max-export-batch-size", "8"],
         "batch-size"),
        (["--tracing-service-tag", "x=y"], "need --tracing-service-endpoint", {}),
        ([], "OTLP/gRPC", {"PORTCULLIS_TRACING_SERVICE_ENDPOINT": "rpc://127.0.0.1:4317"}),
        ([], "tracing-sampling-ratio", {"PORTCULLIS_TRACING_SERVICE_ENDPOINT":
                                        "http://127.0.0.1:4318",
                                        "PORTCULLIS_TRACING_SAMPLING_RATIO": "x"}),
    ]
    for case in cases:
        flags, want, env = case if len(case) == 3 else case + ({},)
        cmd = [PC_BIN, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
               "--admin-addr", "127.0.0.1:%d" % free_port(), "--authconfigs", ac,
               "--log-format", "text"] + SMALL + flags + plugin_args()
        p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(env), timeout=20)
        out = p.stdout + p.stderr
        check(p.returncode == 2 and want in out,
              "%s %s: exit 2 saying %r" % (" ".join("%s=%s" % kv for kv in env.items()),
                                            " ".join(flags), want),
              (p.returncode, out[-600:]))


def test_ratio_zero(tmp, rx):
    """--tracing-sampling-ratio 0: requests without a parent are not
    traced, those with a sampled parent still are."""
    rx.clear()
    ac = api_key_authconfig("")
    flags = SMALL + ["--tracing-batch-delay", "50"]
    # The settings from the environment this time.
    env = {"PORTCULLIS_TRACING_SERVICE_ENDPOINT": rx.url,
           "PORTCULLIS_TRACING_SERVICE_INSECURE": "true",
           "PORTCULLIS_TRACING_SAMPLING_RATIO": "0",
           "PORTCULLIS_TRACING_SERVICE_TAGS": "from.env=yes,second=2"}
    os.environ.update(env)
    try:
        srv = started(Server(tmp, authconfig_text=ac, extra=flags, name="ratio"), check,
                      "ratio")
    finally:
        for k in env:
            del os.environ[k]
    if not srv:
        return
    with srv, ec.Client(srv.grpc) as client:
        for _ in range(5):
            check_call(client, {"authorization": KEY})
        tid, pid = ids()
        check_call(client, {"authorization": KEY, "traceparent": "00-%s-%s-01" % (tid, pid)})
        rx.wait_spans(2, where=lambda s: s["trace_id"] == tid)
        time.sleep(0.2)
        check(rx.spans and all(s["trace_id"] == tid for s in rx.spans),
              "ratio 0: only the request with a sampled parent is traced",
              [s["trace_id"] for s in rx.spans])
        res = rx.spans[0]["resource"] if rx.spans else {}
        check(res.get("from.env") == "yes" and res.get("second") == "2",
              "PORTCULLIS_TRACING_SERVICE_TAGS: comma-separated resource attributes", res)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with checks.guard("flag errors"):
            test_flag_errors(tmp)
        with OtlpReceiver() as rx, MetadataService() as meta:
            with checks.guard("spans"):
                test_spans(tmp, rx, meta)
            with FakeApiServer(quiet=True) as api, checks.guard("tokenreview"):
                test_tokenreview(tmp, rx, api)
            with checks.guard("sampling ratio"):
                test_ratio_zero(tmp, rx)
            with checks.guard("overflow and slow receiver"):
                test_overflow_and_slow(tmp, rx)
        with checks.guard("receiver down"):
            test_receiver_down(tmp)
    checks.finish()


if __name__ == "__main__":
    main()
