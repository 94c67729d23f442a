"""The conformance corpus through the filter in a real Envoy: each case's decision, as the
decision log shows it, must equal the case's `expect` exactly, with a 403 for every denial.

Cases run grouped by the node metadata they need (one Envoy per group, started when the group
comes up and stopped before the next), with a TLS listener per policy directory and destination
port. Cases that cannot be sent as Envoy requests are skipped with the reason, and listed at the
end of the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corpus
import envoy as E
from conftest import ROOT, StartEnvoy
from pki import Pki

CASES_DIR = Path(os.environ.get("MESHGATE_CONFORMANCE_CASES", ROOT / "spec" / "conformance" / "cases"))
HEADER_TO_METADATA = "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config"
# Filled as cases are skipped; printed by conftest's terminal summary.
SKIPPED: list[tuple[str, str]] = []


def port_free(port: int) -> bool:
    if port < 1024 and os.geteuid() != 0:
        return False
    with socket.socket() as s:
        try:
            s.bind(("127.0.1.1", port))
        except OSError:
            return False
    return True


def collect() -> list[tuple[str, corpus.Dir, dict[str, Any], corpus.EnvoyRequest | str]]:
    out: list[tuple[str, corpus.Dir, dict[str, Any], corpus.EnvoyRequest | str]] = []
    for d in corpus.load(CASES_DIR):
        for case in d.cases:
            try:
                translated: corpus.EnvoyRequest | str = corpus.to_envoy(case["request"], d)
            except corpus.Skip as why:
                translated = str(why)
            if isinstance(translated, corpus.EnvoyRequest) and translated.port is not None and not port_free(translated.port):
                translated = f"port {translated.port} cannot be bound on this machine"
            out.append((f"{d.name}/{case['name']}", d, case, translated))
    # One Envoy per node metadata: run each group's cases together.
    return sorted(out, key=lambda c: c[3].node_key if isinstance(c[3], corpus.EnvoyRequest) else "")


CASES = collect()


DIRS = sorted({c[1].name for c in CASES})


def listener_name(d: corpus.Dir, port: int | None) -> str:
    return f"{d.name}@{port if port is not None else 'unix'}"


def listener_address(d: corpus.Dir, port: int | None) -> dict[str, Any]:
    """A TCP address, one loopback address per directory so that two directories can listen on
    the same port; or an abstract Unix socket."""
    if port is None:
        return {"pipe": {"path": f"@meshgate-e2e-{os.getpid()}-{d.name}"}}
    return {"socket_address": {"address": f"127.0.1.{DIRS.index(d.name) + 1}", "port_value": port}}


def header_to_metadata(d: corpus.Dir) -> dict[str, Any]:
    rules = [
        {
            "header": corpus.CLAIMS_HEADER,
            "on_header_present": {"metadata_namespace": "envoy.filters.http.jwt_authn", "key": "jwt_payload", "type": "PROTOBUF_VALUE", "encode": "BASE64"},
            "remove": True,
        }
    ]
    for i, key in enumerate(d.context_keys()):
        rules.append(
            {
                "header": f"{corpus.CONTEXT_HEADER}{i}",
                "on_header_present": {"metadata_namespace": "meshgate.context", "key": key, "type": "PROTOBUF_VALUE", "encode": "BASE64"},
                "remove": True,
            }
        )
    return {"name": "envoy.filters.http.header_to_metadata", "typed_config": {"@type": HEADER_TO_METADATA, "request_rules": rules}}


def group_bootstrap(node_key: str, backend: int, pki: Pki) -> dict[str, Any]:
    members = [(d, r) for _, d, _, r in CASES if isinstance(r, corpus.EnvoyRequest) and r.node_key == node_key]
    listeners: dict[str, dict[str, Any]] = {}
    clusters: set[str] = set()
    routes = [
        # `destination.service` is read from the cluster name: a test header picks it.
        {"match": {"prefix": "/", "headers": [{"name": corpus.CLUSTER_HEADER, "present_match": True}]}, "route": {"cluster_header": corpus.CLUSTER_HEADER}},
        {"match": {"prefix": "/"}, "route": {"cluster": "backend"}},
    ]
    for d, r in members:
        if r.cluster:
            clusters.add(r.cluster)
        name = listener_name(d, r.port)
        if name in listeners:
            continue
        wasm = E.wasm_filter(d.configuration(), name=d.name)
        # Envoy's defaults make the last `X-Forwarded-For` entry the remote address
        # (`source.address`), if there is one.
        lst = E.listener(name, [header_to_metadata(d), wasm], tls=pki.downstream_tls(), routes=routes)
        lst["address"] = listener_address(d, r.port)
        lst["listener_filters"] = [E.TLS_INSPECTOR]
        listeners[name] = lst
    return E.bootstrap(list(listeners.values()), backend, node_metadata=corpus.json.loads(node_key), clusters=[E.cluster(c, backend) for c in sorted(clusters)])


class Groups:
    """The Envoy of the group being run; the previous one is stopped when the next starts."""

    def __init__(self, start: StartEnvoy, backend: int, pki: Pki) -> None:
        self.start, self.backend, self.pki = start, backend, pki
        self.key: str | None = None
        self.current: E.Envoy | None = None

    def envoy(self, key: str) -> E.Envoy:
        if key != self.key or self.current is None:
            if self.current is not None:
                self.current.stop()
            self.key = key
            self.current = self.start(group_bootstrap(key, self.backend, self.pki), name=f"corpus-{abs(hash(key))}")
        return self.current


@pytest.fixture(scope="module")
def groups(start_envoy: StartEnvoy, backend: int, pki: Pki) -> Iterator[Groups]:
    g = Groups(start_envoy, backend, pki)
    yield g
    if g.current is not None:
        g.current.stop()


@pytest.mark.parametrize(("case_id", "d", "case", "translated"), CASES, ids=[c[0] for c in CASES])
def test_case(groups: Groups, pki: Pki, case_id: str, d: corpus.Dir, case: dict[str, Any], translated: corpus.EnvoyRequest | str) -> None:
    if isinstance(translated, str):
        SKIPPED.append((case_id, translated))
        pytest.skip(translated)
    r = translated
    proxy = groups.envoy(r.node_key)
    before = len(proxy.decisions())
    address = listener_address(d, r.port)
    target = address["pipe"]["path"].replace("@", "\0", 1) if "pipe" in address else address["socket_address"]["address"]
    response = E.request(r.port or 0, r.path, method=r.method, headers=r.headers, host=r.host, tls=pki.client(r.principal), sni=r.sni, address=target)
    lines = proxy.wait_decisions(before + 1)
    assert len(lines) == before + 1, f"no decision logged (status {response.status} {response.body!r}):\n{proxy.log_tail(20)}"
    want = corpus.expected(case["expect"])
    assert corpus.decision_of(lines[-1]) == want, f"request sent: {r}"
    assert response.status == (200 if want["allowed"] else 403), response.body
