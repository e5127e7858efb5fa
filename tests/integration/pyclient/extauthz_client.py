"""A small Envoy ext_authz gRPC client for the Portcullis tests.

It plays Envoy's side of the wire with Debian's python3-grpcio and the
modules protoc generated from plugins/frontend/envoy_ext_authz/proto (the
build puts them in ${CMAKE_BINARY_DIR}/python). No grpc_tools: the stubs are
plain channel.unary_unary calls.

Finding the generated modules: $PC_PY_PROTO_DIR, else $PC_BUILD_DIR/python.

    from extauthz_client import Client, build_check_request
    req = build_check_request("api.example.com", "/v1/items?x=1",
                              headers={"authorization": "Bearer t"},
                              context_extensions={"host": "api"},
                              source=("10.0.0.7", 43210))
    with Client("127.0.0.1:50051") as c:
        resp = c.check(req)
        print(resp.status.code, c.health())

Command line (used by the C unit tests to cross-check the codec):
    extauthz_client.py build-request JSON     prints the hex of a CheckRequest
                                              (JSON: build_check_request's
                                              keyword arguments; *_hex keys
                                              carry bytes)
    extauthz_client.py decode-response [--v2] HEX
                                              prints a CheckResponse as JSON,
                                              with "unknown_fields": N
    extauthz_client.py check TARGET JSON [--v2] [--tls-ca FILE ...]
    extauthz_client.py health TARGET [SERVICE]
"""

import importlib.util
import json
import os
import sys

V3_CHECK = "/envoy.service.auth.v3.Authorization/Check"
V2_CHECK = "/envoy.service.auth.v2.Authorization/Check"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


def _proto_dir():
    d = os.environ.get("PC_PY_PROTO_DIR")
    if not d and os.environ.get("PC_BUILD_DIR"):
        d = os.path.join(os.environ["PC_BUILD_DIR"], "python")
    if not d or not os.path.isfile(
            os.path.join(d, "envoy", "service", "auth", "v3", "external_auth_pb2.py")):
        raise ImportError(
            "generated ext_authz modules not found: set PC_PY_PROTO_DIR (or "
            "PC_BUILD_DIR) to a build with target pc_extauthz_proto_py")
    return d


def _load_file(name, path):
    # grpc/health/v1/health_pb2.py cannot be imported by its package path:
    # the real `grpc` package shadows a grpc/ folder on sys.path.
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PROTO_DIR = _proto_dir()
if PROTO_DIR not in sys.path:
    sys.path.insert(0, PROTO_DIR)

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from envoy.config.core.v3 import base_pb2  # noqa: E402,F401
from envoy.service.auth.v2 import external_auth_pb2 as v2  # noqa: E402
from envoy.service.auth.v3 import external_auth_pb2 as v3  # noqa: E402

health_pb2 = _load_file(
    "pc_grpc_health_v1_health_pb2",
    os.path.join(PROTO_DIR, "grpc", "health", "v1", "health_pb2.py"))

SERVING_STATUS = {v: k for k, v in
                  health_pb2.HealthCheckResponse.ServingStatus.items()}


def _set_address(addr, where):
    """where: ("ip", port), or a str naming a Unix socket path."""
    if where is None:
        return
    if isinstance(where, str):
        addr.pipe.path = where
    else:
        ip, port = where
        addr.socket_address.address = ip
        addr.socket_address.port_value = int(port)


def build_check_request(host, path="/", method="GET", headers=None,
                        context_extensions=None, source=None,
                        destination=("127.0.0.1", 8000), scheme="http",
                        protocol="HTTP/1.1", request_id="1", pseudo=True,
                        raw_headers=None, body=None, raw_body=None,
                        metadata=None, sni=None, principal=None,
                        source_service=None, size=None, time=None, v2=False):
    """A CheckRequest shaped like Envoy's (see the reference's section 1).

    headers: dict of header -> value for the `headers` map (keys are
        lowercased; with pseudo, :authority/:method/:path/:scheme are added
        as Envoy does). raw_headers: list of (key, bytes) for `header_map`
        (encode_raw_headers; v3 only). metadata: {namespace: dict} for
        metadata_context.filter_metadata. time: (seconds, nanos).
    """
    mod = globals()["v2"] if v2 else v3
    req = mod.CheckRequest()
    attrs = req.attributes
    http = attrs.request.http
    http.id = str(request_id)
    http.method = method
    http.path = path
    http.host = host
    http.scheme = scheme
    http.protocol = protocol
    if size is not None:
        http.size = int(size)
    if time is not None:
        attrs.request.time.seconds = int(time[0])
        attrs.request.time.nanos = int(time[1])
    if pseudo:
        http.headers[":authority"] = host
        http.headers[":method"] = method
        http.headers[":path"] = path
        http.headers[":scheme"] = scheme
    for k, v in (headers or {}).items():
        http.headers[k.lower()] = v
    for k, v in (raw_headers or []):
        if v2:
            raise ValueError("the v2 API has no header_map")
        http.header_map.headers.add(key=k, raw_value=bytes(v))
    if body is not None:
        http.body = body
    if raw_body is not None:
        if v2:
            raise ValueError("the v2 API has no raw_body")
        http.raw_body = bytes(raw_body)
    for k, v in (context_extensions or {}).items():
        attrs.context_extensions[k] = v
    _set_address(attrs.source.address, source)
    _set_address(attrs.destination.address, destination)
    if principal is not None:
        attrs.source.principal = principal
    if source_service is not None:
        attrs.source.service = source_service
    for ns, fields in (metadata or {}).items():
        attrs.metadata_context.filter_metadata[ns].update(fields)
    if sni is not None:
        if v2:
            raise ValueError("the v2 API has no tls_session")
        attrs.tls_session.sni = sni
    return req


def count_unknown_fields(msg):
    """Unknown fields in msg and all its submessages (0 = every field on
    the wire is one the message type declares)."""
    n = len(msg.UnknownFields())
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    n += count_unknown_fields(item)
        elif fd.label == fd.LABEL_REPEATED:
            for item in value:
                n += count_unknown_fields(item)
        else:
            n += count_unknown_fields(value)
    return n


def response_to_dict(resp):
    return json_format.MessageToDict(resp, preserving_proto_field_name=True)


class Client:
    """A gRPC client for one server: h2c by default, TLS with tls={...}.

    tls keys: ca (PEM file, or None for the system roots), cert and key (PEM
    files for mTLS), server_name (overrides the name checked in the server
    certificate).
    """

    def __init__(self, target, tls=None, timeout=2.0, options=None):
        self.timeout = timeout
        opts = list(options or [])
        if tls is None:
            self.channel = grpc.insecure_channel(target, options=opts)
        else:
            def read(path):
                if not path:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(
                root_certificates=read(tls.get("ca")),
                private_key=read(tls.get("key")),
                certificate_chain=read(tls.get("cert")))
            if tls.get("server_name"):
                opts.append(("grpc.ssl_target_name_override",
                             tls["server_name"]))
            self.channel = grpc.secure_channel(target, creds, options=opts)
        self._check_v3 = self.channel.unary_unary(
            V3_CHECK,
            request_serializer=v3.CheckRequest.SerializeToString,
            response_deserializer=v3.CheckResponse.FromString)
        self._check_v2 = self.channel.unary_unary(
            V2_CHECK,
            request_serializer=v2.CheckRequest.SerializeToString,
            response_deserializer=v2.CheckResponse.FromString)
        self._health = self.channel.unary_unary(
            HEALTH_CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)

    def check(self, req, v2=False, metadata=None, timeout=None,
              with_call=False):
        """Calls Check; returns the CheckResponse (and the call, for its
        trailing metadata, with with_call). A v2 request goes to the v2
        path. Raises grpc.RpcError on a non-OK grpc-status."""
        stub = self._check_v2 if v2 else self._check_v3
        t = self.timeout if timeout is None else timeout
        if with_call:
            return stub.with_call(req, timeout=t, metadata=metadata)
        return stub(req, timeout=t, metadata=metadata)

    def health(self, service="", timeout=None):
        """Returns the serving status name ("SERVING", ...). Raises
        grpc.RpcError (NOT_FOUND for an unknown service)."""
        t = self.timeout if timeout is None else timeout
        resp = self._health(health_pb2.HealthCheckRequest(service=service),
                            timeout=t)
        return SERVING_STATUS[resp.status]

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _kwargs_from_json(text):
    kw = json.loads(text)
    if "raw_body_hex" in kw:
        kw["raw_body"] = bytes.fromhex(kw.pop("raw_body_hex"))
    if "body_hex" in kw:
        kw["body"] = bytes.fromhex(kw.pop("body_hex")).decode("utf-8")
    if "raw_headers_hex" in kw:
        kw["raw_headers"] = [(k, bytes.fromhex(v))
                             for k, v in kw.pop("raw_headers_hex")]
    for key in ("source", "destination", "time"):
        if isinstance(kw.get(key), list):
            kw[key] = tuple(kw[key])
    return kw


def main(argv):
    if len(argv) >= 2 and argv[0] == "build-request":
        req = build_check_request(**_kwargs_from_json(argv[1]))
        print(req.SerializeToString().hex())
        return 0
    if len(argv) >= 2 and argv[0] == "decode-response":
        is_v2 = "--v2" in argv
        data = bytes.fromhex([a for a in argv[1:] if a != "--v2"][0])
        mod = v2 if is_v2 else v3
        resp = mod.CheckResponse.FromString(data)
        out = response_to_dict(resp)
        out["unknown_fields"] = count_unknown_fields(resp)
        print(json.dumps(out, sort_keys=True))
        return 0
    if len(argv) >= 3 and argv[0] == "check":
        is_v2 = "--v2" in argv
        tls = None
        if "--tls-ca" in argv:
            tls = {"ca": argv[argv.index("--tls-ca") + 1]}
        kw = _kwargs_from_json(argv[2])
        kw["v2"] = is_v2
        with Client(argv[1], tls=tls) as c:
            print(json.dumps(response_to_dict(c.check(build_check_request(**kw),
                                                      v2=is_v2))))
        return 0
    if len(argv) >= 2 and argv[0] == "health":
        with Client(argv[1]) as c:
            print(c.health(argv[2] if len(argv) > 2 else ""))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
