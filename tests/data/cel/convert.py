#!/usr/bin/python3
"""Converts the CEL specification's conformance tests (cel-spec
tests/simple/testdata/*.textproto) into the JSON files beside this script, which
tests/unit/test_cel_conformance.c runs.

Usage: convert.py CEL_SPEC_CHECKOUT/tests/simple/testdata

Each output file holds the tests of one textproto file. A test that exercises
something this interpreter deliberately leaves out carries "skip": reason, and
the runner counts it apart; the reasons are the rules below.

Values are written with their CEL type, since JSON has no int/uint/double split:
{"int": "1"}, {"uint": "1"}, {"double": "1.5" | "NaN" | "Infinity" | "-Infinity"},
{"string": s}, {"bytes": hex}, {"bool": b}, {"null": null}, {"list": [...]},
{"map": [[k, v], ...]}, {"type": name}.
"""
import json
import os
import re
import sys

# Whole files, and why.
FILE_SKIPS = {
    "proto2": "protobuf message types: the environment has none",
    "proto2_ext": "protobuf message types: the environment has none",
    "proto3": "protobuf message types: the environment has none",
    "enums": "protobuf enums: the environment has none",
    "wrappers": "protobuf wrapper types: the environment has none",
    "dynamic": "protobuf well-known message types (Struct, Any, wrappers): the document is JSON",
    "type_deduction": "static type deduction: the checker resolves names and arity, not types",
    "unknowns": "partial evaluation with unknowns is not supported",
    "namespace": "containers and qualified names: the environment declares none",
    "bindings_ext": "cel.bind is not enabled (Authorino does not enable the bindings extension)",
    "block_ext": "cel.block is an internal optimizer extension",
    "encoders_ext": "the encoders extension is not enabled (Authorino enables only strings and optionals)",
    "math_ext": "the math extension is not enabled (Authorino enables only strings and optionals)",
    "network_ext": "the network extension is not enabled (Authorino enables only strings and optionals)",
}

# Single tests, by "section/name", and why.
UNCHECKED = "names and functions are resolved at load: an unknown one is refused then, not at run time"
TEST_SKIPS = {
    "variables/unbound_is_runtime_error": UNCHECKED,
    "functions/unbound_is_runtime_error": UNCHECKED,
    "qualified_identifier_resolution/qualified_ident": "dotted variable names: the environment's are plain identifiers",
    "qualified_identifier_resolution/map_field_select": "dotted variable names: the environment's are plain identifiers",
    "qualified_identifier_resolution/qualified_identifier_resolution_unchecked":
        "dotted variable names: the environment's are plain identifiers",
    "qualified_identifier_resolution/ident_with_longest_prefix_check":
        "dotted variable names: the environment's are plain identifiers",
}
SECTION_SKIPS = {
    "receiver_function_names": UNCHECKED,
}
TWO_VAR = re.compile(r"\.(all|exists|existsOne|exists_one|transformList|transformMap|transformMapEntry)"
                     r"\(\s*\w+\s*,\s*\w+\s*,")
IANA_ZONE = re.compile(r"get\w+\('[A-Za-z]+/[A-Za-z_]+'\)")

PROTO_NAMES = re.compile(r"TestAllTypes|NestedTestAllTypes|NestedMessage|NestedEnum|GlobalEnum|"
                         r"google\.protobuf\.(?!Duration\b|Timestamp\b)|\bproto[23]\b|cel\.expr\.")


# ---- a small text-format protobuf reader -------------------------------------------------
TOKEN = re.compile(r"""\s+|\#[^\n]*|(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|"""
                   r"""(?P<punct>[{}\[\]:,;<>])|(?P<word>[-+]?(?:[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?[A-Za-z]*|[A-Za-z0-9_./]+))""", re.S)


def tokens(text):
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError("bad textproto at %d: %r" % (pos, text[pos:pos + 20]))
        pos = m.end()
        if m.lastgroup:
            yield m.lastgroup, m.group(m.lastgroup)


def unescape(lit):
    """A textproto string literal's bytes."""
    body = lit[1:-1].encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        i += 1
        e = chr(body[i])
        simple = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}
        if e in simple:
            out.append(simple[e])
            i += 1
        elif e in "01234567":
            j = i
            while j < len(body) and j < i + 3 and chr(body[j]) in "01234567":
                j += 1
            out.append(int(body[i:j], 8) & 0xFF)
            i = j
        elif e in "xX":
            j = i + 1
            while j < len(body) and j < i + 3 and chr(body[j]) in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 1:j], 16))
            i = j
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 1:i + 1 + n], 16)).encode("utf-8", "surrogatepass")
            i += 1 + n
        else:
            raise ValueError("unknown escape \\%s" % e)
    return bytes(out)


def parse_message(toks, end=None):
    """Fields as {name: [values]}; a value is bytes (strings), str (scalars) or a dict."""
    msg = {}
    while True:
        kind, tok = next(toks, (None, None))
        if kind is None:
            if end:
                raise ValueError("unexpected end of textproto")
            return msg
        if kind == "punct" and tok == end:
            return msg
        if kind == "punct" and tok in ",;":
            continue
        if kind == "punct" and tok == "[":  # an Any's [type.googleapis.com/...] expansion
            kind, name = next(toks)
            next(toks)
            kind = "word"
        elif kind != "word":
            raise ValueError("expected a field name, got %r" % tok)
        else:
            name = tok
        kind, tok = next(toks)
        if kind == "punct" and tok == ":":
            kind, tok = next(toks)
        if kind == "punct" and tok in "{<":
            value = parse_message(toks, "}" if tok == "{" else ">")
        elif kind == "punct" and tok == "[":
            while True:
                kind, tok = next(toks)
                if kind == "punct" and tok == "]":
                    break
                if kind == "punct" and tok == ",":
                    continue
                if kind == "punct" and tok in "{<":
                    msg.setdefault(name, []).append(parse_message(toks, "}" if tok == "{" else ">"))
                else:
                    msg.setdefault(name, []).append(unescape(tok) if kind == "str" else tok)
            continue
        elif kind == "str":
            value = unescape(tok)
            # adjacent string literals concatenate
            while True:
                save = list(toks_peek(toks))
                if save and save[0][0] == "str":
                    next(toks)
                    value += unescape(save[0][1])
                else:
                    break
        else:
            value = tok
        msg.setdefault(name, []).append(value)


class Peekable:
    def __init__(self, it):
        self.it = iter(it)
        self.buf = []

    def __iter__(self):
        return self

    def __next__(self):
        if self.buf:
            return self.buf.pop(0)
        return next(self.it)

    def peek(self):
        if not self.buf:
            try:
                self.buf.append(next(self.it))
            except StopIteration:
                return []
        return self.buf[:1]


def toks_peek(toks):
    return toks.peek()


def one(msg, name, default=None):
    v = msg.get(name)
    return v[0] if v else default


# ---- values ----------------------------------------------------------------------------
class Unsupported(Exception):
    pass


def convert_value(v):
    if "null_value" in v:
        return {"null": None}
    if "bool_value" in v:
        return {"bool": one(v, "bool_value") == "true"}
    if "int64_value" in v:
        return {"int": str(int(one(v, "int64_value"), 0))}
    if "uint64_value" in v:
        return {"uint": str(int(one(v, "uint64_value"), 0))}
    if "double_value" in v:
        d = one(v, "double_value")
        low = d.lower().lstrip("+")
        if low in ("inf", "infinity"):
            return {"double": "Infinity"}
        if low in ("-inf", "-infinity"):
            return {"double": "-Infinity"}
        if low == "nan":
            return {"double": "NaN"}
        return {"double": repr(float(d))}
    if "string_value" in v:
        return {"string": one(v, "string_value").decode("utf-8")}
    if "bytes_value" in v:
        return {"bytes": one(v, "bytes_value").hex()}
    if "list_value" in v:
        lv = one(v, "list_value")
        return {"list": [convert_value(e) for e in lv.get("values", [])]}
    if "map_value" in v:
        mv = one(v, "map_value")
        return {"map": [[convert_value(one(e, "key")), convert_value(one(e, "value"))]
                        for e in mv.get("entries", [])]}
    if "type_value" in v:
        return {"type": one(v, "type_value").decode("utf-8")}
    if "object_value" in v:
        raise Unsupported("protobuf message value")
    if "enum_value" in v:
        raise Unsupported("protobuf enum value")
    if not v:
        raise Unsupported("empty value")
    raise Unsupported("value kind %s" % ",".join(v))


def convert_test(section, t):
    out = {"section": section, "name": one(t, "name").decode("utf-8"),
           "expr": one(t, "expr").decode("utf-8")}
    key = "%s/%s" % (section, out["name"])
    reason = TEST_SKIPS.get(key) or SECTION_SKIPS.get(section)
    if not reason:
        if TWO_VAR.search(out["expr"]):
            reason = "two-variable comprehensions (cel-go ext.TwoVarComprehensions) are not enabled"
        elif IANA_ZONE.search(out["expr"]):
            reason = "IANA time zone names need the zone database: UTC and fixed offsets are supported"
    if not reason:
        if PROTO_NAMES.search(out["expr"]):
            reason = "protobuf message types: the environment has none"
        elif "container" in t:
            reason = "containers and qualified names: the environment declares none"
        elif one(t, "disable_macros") == "true":
            reason = "macros cannot be turned off"
        elif one(t, "check_only") == "true":
            reason = "a type-checker-only test"
        elif "unknown" in t or "any_unknowns" in t:
            reason = "partial evaluation with unknowns is not supported"
    try:
        if not reason:
            bindings = {}
            for b in t.get("bindings", []):
                name = one(b, "key").decode("utf-8")
                bindings[name] = convert_value(one(one(b, "value"), "value"))
            if bindings:
                out["bindings"] = bindings
            decls = [one(d, "name").decode("utf-8") for d in t.get("type_env", [])]
            if decls:
                out["decls"] = decls
            if "value" in t:
                out["expect"] = convert_value(one(t, "value"))
            elif "typed_result" in t:
                out["expect"] = convert_value(one(one(t, "typed_result"), "result"))
            elif "eval_error" in t or "any_eval_errors" in t:
                ev = one(t, "eval_error") or {}
                msgs = [one(e, "message", b"").decode("utf-8") for e in ev.get("errors", [])]
                out["error"] = msgs[0] if msgs else ""
            else:
                out["expect"] = {"bool": True}  # the spec's default result
    except Unsupported as e:
        reason = str(e)
    if reason:
        out["skip"] = reason
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".textproto"):
            continue
        base = fn[:-len(".textproto")]
        with open(os.path.join(src, fn), encoding="utf-8") as f:
            msg = parse_message(Peekable(tokens(f.read())))
        tests = []
        for sec in msg.get("section", []):
            sname = one(sec, "name").decode("utf-8")
            for t in sec.get("test", []):
                tests.append(convert_test(sname, t))
        doc = {"file": base, "source": "cel-spec tests/simple/testdata/" + fn, "tests": tests}
        if base in FILE_SKIPS:
            doc = {"file": base, "source": doc["source"], "skip": FILE_SKIPS[base], "count": len(tests)}
        with open(os.path.join(here, base + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("%-16s %4d tests%s" % (base, len(tests), "  (skipped: %s)" % FILE_SKIPS[base]
                                     if base in FILE_SKIPS else ""))


if __name__ == "__main__":
    main()
