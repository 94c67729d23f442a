"""The conformance corpus (`spec/conformance/cases/`) as requests to a real Envoy.

A port of the host suite's `host-tests/src/conformance.rs` to what Envoy can be made to send:

- the peer identity is a client certificate whose URI SAN is the principal (a SPIFFE id written
  from namespace, service account and trust domain when the case gives only those);
- `source.ip` comes from `X-Forwarded-For`;
- `destination.port` is the port of a TCP listener bound for the case. A case without a port
  runs on a listener on a Unix socket, where Envoy has no source or destination address and no
  port, as the case has none;
- `destination.service` is read from the cluster name `outbound|PORT||SERVICE`, which a route
  picks from a test header;
- `destination.namespace` and `labels` are the node metadata of the Envoy the case runs in;
- `connection.sni` is the TLS server name the client sends;
- claims and context reach Envoy's dynamic metadata through `header_to_metadata` (test-only
  configuration, so that every JSON shape arrives as the JWT filter would write it).

Envoy always sends some things a case may not have (a method, a path, a host, the addresses of a
TCP connection, a clock): such a case runs only when its policy cannot read the
attribute. `to_envoy` says why a case is skipped.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLAIMS_HEADER = "x-e2e-claims"
CLUSTER_HEADER = "x-e2e-cluster"
CONTEXT_HEADER = "x-e2e-context-"
# Headers a case cannot send: the harness's own, hop-by-hop ones, and those Envoy rewrites.
RESERVED = {
    "host", "connection", "content-length", "transfer-encoding", "te", "upgrade", "keep-alive",
    "proxy-connection", "x-forwarded-for", "x-forwarded-proto", "x-request-id", "x-envoy-internal",
    "x-envoy-expected-rq-timeout-ms", "x-envoy-decorator-operation", "x-envoy-original-path", CLAIMS_HEADER, CLUSTER_HEADER,
}
MAX_EXACT = 2**53


@dataclass
class Dir:
    name: str
    sources: list[tuple[str, str]]
    cases: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(t for _, t in self.sources)

    def header_names(self) -> list[str]:
        names: set[str] = set()
        for c in self.cases:
            names.update(k.lower() for k in c["request"].get("request", {}).get("headers", {}) or {})
        return sorted(names)

    def context_keys(self) -> list[str]:
        keys: set[str] = set()
        for c in self.cases:
            ctx = c["request"].get("context")
            if isinstance(ctx, dict):
                keys.update(ctx)
        return sorted(keys)

    def configuration(self) -> dict[str, Any]:
        return {
            "policies": [{"name": n, "text": t} for n, t in self.sources],
            "headers": self.header_names(),
            "decision_log": True,
        }


def load(root: Path) -> list[Dir]:
    dirs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        sources = [(f.name, f.read_text()) for f in sorted(d.glob("*.mgp"))]
        dirs.append(Dir(d.name, sources, json.loads((d / "cases.json").read_text())))
    return dirs


def code_only(policy: str) -> str:
    """The policy with comments and string contents blanked, so that a word in a comment or a
    path pattern is not taken for an attribute."""
    out = []
    i = 0
    while i < len(policy):
        c = policy[i]
        if c == "#":
            j = policy.find("\n", i)
            i = len(policy) if j < 0 else j
            continue
        if c == '"':
            out.append('"')
            i += 1
            while i < len(policy) and policy[i] != '"':
                i += 2 if policy[i] == "\\" else 1
            out.append('"')
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def mentions(policy: str, attr: str) -> bool:
    """Whether the policy may read `attr`. Conservative: it may skip a case that would pass,
    never run one whose policy reads an attribute the harness added."""
    code = code_only(policy)

    def ident(ch: str) -> bool:
        return ch.isascii() and (ch.isalnum() or ch == "_")

    def any_word(word: str, unless_after: tuple[str, ...] = ()) -> bool:
        start = 0
        while (at := code.find(word, start)) >= 0:
            start = at + 1
            before, after = code[:at], code[at + len(word):]
            if before and ident(before[-1]) or after and ident(after[0]):
                continue
            if any(before.endswith(p) for p in unless_after):
                continue
            return True
        return False

    words = {
        "source.principal": lambda: any_word("principal", ("request_", "auth.")),
        "source.namespace": lambda: any_word("namespace", ("destination.",)),
        "source.service_account": lambda: any_word("service_account"),
        "source.trust_domain": lambda: any_word("trust_domain"),
        "auth.principal": lambda: any_word("request_principal") or any_word("auth.principal"),
        "auth.presenter": lambda: any_word("presenter"),
        "auth.audiences": lambda: any_word("audiences"),
        "auth.claims": lambda: any_word("claims"),
        "time": lambda: any_word("time", ("context.",)),
        # A role's `permit` reads the method and the path (and may limit host and port).
        "method": lambda: any_word("method") or any_word("permit"),
        "path": lambda: any_word("path") or any_word("permit"),
        "host": lambda: any_word("host"),
        "ip": lambda: any_word("ip"),
        "port": lambda: any_word("port"),
    }
    return words[attr]()


def spiffe(p: str) -> tuple[str | None, str | None, str | None]:
    """Trust domain, namespace and service account, as the core derives them."""
    if not p.startswith("spiffe://"):
        return None, None, None
    rest = p[len("spiffe://"):]
    td, slash, path = rest.partition("/")
    if not td:
        return None, None, None
    parts = ("/" + path if slash else "").split("/")
    if len(parts) == 5 and parts[:2] == ["", "ns"] and parts[3] == "sa" and parts[2] and parts[4]:
        return td, parts[2], parts[4]
    return td, None, None


class Skip(Exception):
    """The case cannot be expressed as an Envoy request; the message says why."""


@dataclass
class EnvoyRequest:
    """What the harness sends for a case."""

    node: dict[str, Any]
    port: int | None
    principal: str | None
    sni: str | None
    method: str
    path: str
    host: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    cluster: str | None = None

    @property
    def node_key(self) -> str:
        return json.dumps(self.node, sort_keys=True)


def exact(v: Any) -> bool:
    """Whether a JSON value survives protobuf's doubles."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return True
    if isinstance(v, int):
        return abs(v) <= MAX_EXACT
    if isinstance(v, list):
        return all(exact(x) for x in v)
    return all(exact(x) for x in v.values())


def to_envoy(request: dict[str, Any], d: Dir) -> EnvoyRequest:
    policy = d.text
    synthesized: list[str] = []
    source = request.get("source", {})
    dest = request.get("destination", {})
    req = request.get("request", {})
    conn = request.get("connection", {})

    for key in ("labels", "remote_ip"):
        if key in source:
            raise Skip(f"`source.{key}` has no Envoy attribute")
    for value, name in [(source.get("principal"), "source.principal"), (conn.get("sni"), "connection.sni"), (dest.get("namespace"), "destination.namespace")]:
        if value == "":
            raise Skip(f"an empty `{name}` is absent in Envoy")

    ns, sa, td = source.get("namespace"), source.get("service_account"), source.get("trust_domain")
    principal = source.get("principal")
    if principal is not None:
        derived = spiffe(principal)
        for given, got, name in [(ns, derived[1], "source.namespace"), (sa, derived[2], "source.service_account"), (td, derived[0], "source.trust_domain")]:
            if given is not None and given != got:
                raise Skip(f"a given `{name}` that the SPIFFE id does not carry")
    elif ns is not None or sa is not None or td is not None:
        if any("/" in v for v in (ns, sa, td) if v):
            raise Skip("a namespace, service account or trust domain with `/`")
        synthesized.append("source.principal")
        if ns is None:
            synthesized.append("source.namespace")
        if sa is None:
            synthesized.append("source.service_account")
        if td is None:
            synthesized.append("source.trust_domain")
        principal = f"spiffe://{td or 'cluster.local'}/ns/{ns or 'default'}/sa/{sa or 'default'}"
    if principal is not None and not principal.isascii():
        raise Skip("a principal that is not ASCII cannot be a certificate URI SAN")

    headers: list[tuple[str, str]] = []
    port = dest.get("port")
    if "ip" in source:
        headers.append(("x-forwarded-for", source["ip"]))
    if "ip" in dest:
        raise Skip("`destination.ip` is the listener's address")
    if port is not None and mentions(policy, "ip"):
        # A case without a port runs on a Unix socket, where Envoy has no addresses at all.
        raise Skip("a listener on a TCP port has addresses the case does not give")

    cluster = None
    if "service" in dest:
        cluster = f"outbound|{port if port is not None else 80}||{dest['service']}"
        headers.append((CLUSTER_HEADER, cluster))

    node: dict[str, Any] = {}
    if "namespace" in dest:
        node["NAMESPACE"] = dest["namespace"]
    if "labels" in dest:
        node["LABELS"] = dest["labels"]

    method = req.get("method")
    if method is None:
        if mentions(policy, "method"):
            raise Skip("no `request.method`, and an HTTP request always has one")
        method = "GET"
    path = req.get("path")
    if path is None:
        if mentions(policy, "path"):
            raise Skip("no `request.path`, and an HTTP request always has one")
        path = "/"
    if not path.startswith("/") or not path.isascii() or any(c in path for c in " \t\r\n"):
        raise Skip("a path Envoy does not accept in a request line")
    host = req.get("host")
    if host is None:
        if mentions(policy, "host"):
            raise Skip("no `request.host`, and an HTTP/1.1 request always has one")
        host = "e2e.test"

    seen: set[str] = set()
    for k, v in (req.get("headers") or {}).items():
        low = k.lower()
        if low in seen:
            raise Skip("two headers whose names differ only in case")
        seen.add(low)
        if low in RESERVED or low.startswith(CONTEXT_HEADER):
            raise Skip(f"header `{low}` is Envoy's or the harness's")
        headers.append((low, v))

    auth = request.get("request", {}).get("auth")
    if isinstance(auth, dict):
        claims = jwt_claims(auth, synthesized)
        if not exact(claims):
            raise Skip("a claim integer beyond 2^53 (protobuf numbers are doubles)")
        headers.append((CLAIMS_HEADER, encode_value(claims)))
    ctx = request.get("context")
    if ctx is not None:
        if not exact(ctx):
            raise Skip("a context integer beyond 2^53 (protobuf numbers are doubles)")
        keys = d.context_keys()
        for k, v in ctx.items():
            headers.append((f"{CONTEXT_HEADER}{keys.index(k)}", encode_value(v)))

    if mentions(policy, "time"):
        if "time" in request:
            raise Skip("the policy reads `time`, and Envoy's clock cannot be set")
        raise Skip("no `time`, and the proxy always has a clock")

    for word in synthesized:
        if mentions(policy, word):
            raise Skip(f"the policy may read `{word}`, which the Envoy form of this request adds")

    return EnvoyRequest(node, port, principal, conn.get("sni"), method, path, host, headers, cluster)


def jwt_claims(auth: dict[str, Any], synthesized: list[str]) -> dict[str, Any]:
    """The claims the JWT filter would have written for `auth` (as the host suite forms them)."""
    claims = dict(auth.get("claims") or {})
    iss, sub = claims.get("iss"), claims.get("sub")
    derived = f"{iss}/{sub}" if isinstance(iss, str) and isinstance(sub, str) else None
    given = auth.get("principal")
    if given is not None and derived is not None:
        if given != derived:
            raise Skip("`request.auth.principal` differs from the claims' `iss/sub`")
    elif given is None and derived is not None:
        synthesized.append("auth.principal")
    elif given is not None:
        if "iss" in claims or "sub" in claims:
            raise Skip("`request.auth.principal` with an `iss` or `sub` claim that is not a string")
        if "/" not in given:
            raise Skip("`request.auth.principal` without `/` cannot be `iss/sub`")
        claims["iss"], claims["sub"] = given.rsplit("/", 1)
        synthesized.append("auth.claims")

    presenter, azp = auth.get("presenter"), claims.get("azp")
    if presenter is not None and isinstance(azp, str):
        if presenter != azp:
            raise Skip("`request.auth.presenter` differs from the `azp` claim")
    elif presenter is None and isinstance(azp, str):
        synthesized.append("auth.presenter")
    elif presenter is not None and azp is not None:
        raise Skip("an `azp` claim that is not a string")
    elif presenter is not None:
        claims["azp"] = presenter
        synthesized.append("auth.claims")

    audiences, aud = auth.get("audiences"), claims.get("aud")
    if audiences is not None and aud is not None:
        if isinstance(aud, str):
            from_claim = [aud]
        elif isinstance(aud, list):
            from_claim = [a for a in aud if isinstance(a, str)]
        else:
            raise Skip("an `aud` claim that is neither a string nor a list")
        if audiences != from_claim:
            raise Skip("`request.auth.audiences` differs from the `aud` claim")
    elif audiences is None and isinstance(aud, (str, list)):
        synthesized.append("auth.audiences")
    elif audiences is not None:
        claims["aud"] = audiences
        synthesized.append("auth.claims")
    return claims


# google.protobuf.Value, for header_to_metadata's PROTOBUF_VALUE (base64).
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 2:
        return key + _varint(len(payload)) + payload
    return key + payload


def _value(v: Any) -> bytes:
    if v is None:
        return _field(1, 0, _varint(0))
    if isinstance(v, bool):
        return _field(4, 0, _varint(int(v)))
    if isinstance(v, (int, float)):
        return _field(2, 1, struct.pack("<d", float(v)))
    if isinstance(v, str):
        return _field(3, 2, v.encode())
    if isinstance(v, list):
        return _field(6, 2, b"".join(_field(1, 2, _value(x)) for x in v))
    entries = b"".join(_field(1, 2, _field(1, 2, k.encode()) + _field(2, 2, _value(x))) for k, x in v.items())
    return _field(5, 2, entries)


def encode_value(v: Any) -> str:
    return base64.b64encode(_value(v)).decode()


def expected(expect: dict[str, Any]) -> dict[str, Any]:
    return {
        "allowed": expect.get("allowed"),
        "reasons": expect.get("reasons", []),
        "audits": expect.get("audits", []),
        "dry_run": expect.get("dry_run", []),
        "errors": expect.get("errors", []),
    }


def decision_of(line: dict[str, Any]) -> dict[str, Any]:
    return {k: line.get(k) for k in ("allowed", "reasons", "audits", "dry_run", "errors")}
