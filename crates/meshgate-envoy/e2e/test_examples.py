"""`examples/envoy/envoy.yaml` and the `pluginConfig` of `examples/istio/wasmplugin.yaml` in a
real Envoy, deciding the requests of `examples/envoy/README.md`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

import envoy as E
from conftest import ROOT, StartEnvoy
from pki import Pki, Signer

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
LEGACY = "spiffe://cluster.local/ns/legacy/sa/batch"
CONSOLE = "spiffe://cluster.local/ns/ops/sa/console"
ISSUER = "https://auth.example.com"

Call = Callable[..., E.Response]


def readme_requests(proxy: E.Envoy, call: Call, signer: Signer) -> None:
    tenant = {"x-tenant": "acme"}
    assert call("/api/orders", FRONTEND, headers=tenant).status == 200
    assert proxy.wait_decisions(1)[-1]["reasons"] == ["frontend-reads"]
    r = call("/api/orders", FRONTEND, method="POST", headers=tenant)
    assert (r.status, r.body) == (403, "denied: no rule allows this request\n")
    r = call("/api/admin/users", LEGACY, headers=tenant)
    assert (r.status, r.headers.get("x-meshgate-denied-by")) == (403, "no-legacy-admin")
    token = signer.token({"iss": ISSUER, "sub": "carol", "groups": ["admins"]})
    r = call("/api/admin/users", CONSOLE, headers={**tenant, "authorization": f"Bearer {token}"})
    assert r.status == 200
    assert proxy.wait_decisions(4)[-1]["reasons"] == ["admins"]
    # Without `x-tenant` the dry-run rule would deny: logged, not enforced.
    assert call("/healthz", CONSOLE).status == 200
    last = proxy.wait_decisions(5)[-1]
    assert (last["reasons"], last["dry_run"]) == (["health"], [{"rule": "require-tenant", "effect": "deny"}])
    stats = proxy.stats()
    assert (stats["wasmcustom.meshgate.allowed"], stats["wasmcustom.meshgate.denied"]) == (3, 2)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return Signer(tmp_path_factory.mktemp("jwt") / "jwks.json")


def test_envoy_example(start_envoy: StartEnvoy, backend: int, pki: Pki, signer: Signer) -> None:
    text = (ROOT / "examples" / "envoy" / "envoy.yaml").read_text()
    # The file as published, with its paths and ports pointed at this test's files.
    replacements = {
        "/etc/envoy/certs/server.pem": str(pki.server_cert),
        "/etc/envoy/certs/server-key.pem": str(pki.server_key),
        "/etc/envoy/certs/ca.pem": str(pki.ca_path),
        "/etc/envoy/jwks.json": str(signer.jwks_path),
        "/etc/envoy/meshgate_envoy.wasm": E.WASM,
        "port_value: 10000": "port_value: 0",
        "port_value: 9901": "port_value: 0",
        "port_value: 8080": f"port_value: {backend}",
    }
    for old, new in replacements.items():
        assert old in text, f"examples/envoy/envoy.yaml no longer has `{old}`"
        text = text.replace(old, new)
    proxy = start_envoy(text, name="example")
    assert "meshgate: policy loaded: 6 rules, mode enforce" in proxy.wasm_logs("info")

    def call(path: str, principal: str, **kw: Any) -> E.Response:
        return proxy.request("ingress", path, tls=pki.client(principal), **kw)

    readme_requests(proxy, call, signer)
    # The listener requires a client certificate: without one there is no TLS session at all.
    with pytest.raises(OSError):
        proxy.request("ingress", "/healthz", tls=pki.client(None))


def test_istio_plugin_config(start_envoy: StartEnvoy, backend: int, pki: Pki, signer: Signer) -> None:
    doc = yaml.safe_load((ROOT / "examples" / "istio" / "wasmplugin.yaml").read_text())
    assert doc["kind"] == "WasmPlugin"
    config = doc["spec"]["pluginConfig"]
    key = config["jwt"]["payload_key"]
    # What Istio's RequestAuthentication configures: the payload under the issuer's name.
    jwt_authn = {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"origins-0": {"issuer": ISSUER, "local_jwks": {"filename": str(signer.jwks_path)}, "payload_in_metadata": key}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [{"provider_name": "origins-0"}, {"allow_missing": {}}]}}}],
        },
    }
    # Istio sends `pluginConfig` as JSON in the filter's configuration.
    listener = E.listener("inbound", [jwt_authn, E.wasm_filter(json.dumps(config), name="istio-system.meshgate")], tls=pki.downstream_tls(True))
    node = {"NAMESPACE": "prod", "LABELS": {"app": "payments", "tier": "api"}}
    proxy = start_envoy(E.bootstrap([listener], backend, node_metadata=node), name="istio")
    assert "meshgate: policy loaded: 6 rules, mode enforce" in proxy.wasm_logs("info")

    def call(path: str, principal: str, **kw: Any) -> E.Response:
        return proxy.request("inbound", path, tls=pki.client(principal), **kw)

    readme_requests(proxy, call, signer)


def test_the_examples_carry_the_same_policy() -> None:
    envoy_doc = yaml.safe_load((ROOT / "examples" / "envoy" / "envoy.yaml").read_text())
    wasm = envoy_doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][1]
    envoy_policy = json.loads(wasm["typed_config"]["config"]["configuration"]["value"])["policy"]
    istio = yaml.safe_load((ROOT / "examples" / "istio" / "wasmplugin.yaml").read_text())["spec"]["pluginConfig"]["policy"]
    assert [re.sub(r"\s+$", "", line) for line in istio.rstrip().splitlines()] == [line.rstrip() for line in envoy_policy]
