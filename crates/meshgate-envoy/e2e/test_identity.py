"""Identity in a real Envoy: mTLS peer certificates, Envoy's JWT filter, SNI and the node's
metadata."""

from __future__ import annotations

from typing import Any

import pytest

import envoy as E
from conftest import StartEnvoy
from pki import Pki, Signer

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
ISSUER = "https://issuer.test"
POLICY = [
    f'allow "frontend" {{ from principal "{FRONTEND}" to path "/mtls/**" }}',
    'deny "anonymous" { to path "/secure/**" unless has source.principal }',
    'allow "secure" { to path "/secure/**" }',
    'allow "shop" { from namespace "shop", service_account "frontend" to path "/ns/**" }',
    'allow "admins" { to path "/jwt/**" when request.auth.claims["groups"] contains "admins" }',
    f'allow "alice" {{ from request_principal "{ISSUER}/alice" to path "/user/**" }}',
    'allow "level" { to path "/level/**" when request.auth.claims["level"] == "3" }',
    'allow "node" { to namespace "prod", label app = "payments", path "/node/**" }',
    'allow "other-node" { to namespace "staging", path "/other/**" }',
    'allow "sni" { to path "/sni/**" when connection.sni == "api.example.com" }',
]
JWT = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return Signer(tmp_path_factory.mktemp("jwt") / "jwks.json")


@pytest.fixture(scope="module")
def proxy(start_envoy: StartEnvoy, backend: int, pki: Pki, signer: Signer) -> E.Envoy:
    jwt_authn = {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": JWT,
            "providers": {
                "test": {
                    "issuer": ISSUER,
                    "local_jwks": {"filename": str(signer.jwks_path)},
                    "payload_in_metadata": "jwt_payload",
                }
            },
            # A request without a token passes on: the policy decides.
            "rules": [
                {
                    "match": {"prefix": "/"},
                    "requires": {"requires_any": {"requirements": [{"provider_name": "test"}, {"allow_missing": {}}]}},
                }
            ],
        },
    }
    cfg = {"policy": POLICY, "decision_log": True}
    tls = E.listener("tls", [jwt_authn, E.wasm_filter(cfg)], tls=pki.downstream_tls())
    # Without it Envoy does not record the SNI the client sent (`connection.requested_server_name`).
    tls["listener_filters"] = [E.TLS_INSPECTOR]
    node = {"NAMESPACE": "prod", "LABELS": {"app": "payments", "tier": "api"}}
    return start_envoy(E.bootstrap([tls], backend, node_metadata=node), name="identity")


def call(proxy: E.Envoy, pki: Pki, path: str, principal: str | None = None, **kw: Any) -> tuple[E.Response, dict[str, Any]]:
    before = len(proxy.decisions())
    r = proxy.request("tls", path, tls=pki.client(principal), **kw)
    lines = proxy.wait_decisions(before + 1)
    assert len(lines) == before + 1, proxy.log_tail()
    return r, lines[-1]


def test_client_certificate_uri_san_is_the_principal(proxy: E.Envoy, pki: Pki) -> None:
    r, d = call(proxy, pki, "/mtls/x", FRONTEND)
    assert r.status == 200
    assert (d["principal"], d["reasons"]) == (FRONTEND, ["frontend"])
    r, d = call(proxy, pki, "/mtls/x", "spiffe://cluster.local/ns/shop/sa/intruder")
    assert r.status == 403
    assert d["principal"] == "spiffe://cluster.local/ns/shop/sa/intruder"


def test_no_client_certificate(proxy: E.Envoy, pki: Pki) -> None:
    r, d = call(proxy, pki, "/secure/x")
    assert (r.status, r.headers.get("x-meshgate-denied-by")) == (403, "anonymous")
    assert "principal" not in d
    r, _ = call(proxy, pki, "/secure/x", FRONTEND)
    assert r.status == 200


def test_namespace_and_service_account_from_the_spiffe_id(proxy: E.Envoy, pki: Pki) -> None:
    assert call(proxy, pki, "/ns/x", FRONTEND)[0].status == 200
    assert call(proxy, pki, "/ns/x", "spiffe://cluster.local/ns/other/sa/frontend")[0].status == 403
    # Not a SPIFFE id: no namespace is derived.
    assert call(proxy, pki, "/ns/x", "https://shop/frontend")[0].status == 403


def test_jwt_claims(proxy: E.Envoy, pki: Pki, signer: Signer) -> None:
    def bearer(claims: dict[str, Any]) -> dict[str, str]:
        return {"authorization": f"Bearer {signer.token({'iss': ISSUER, **claims})}"}

    assert call(proxy, pki, "/jwt/x", headers=bearer({"sub": "bob", "groups": ["dev", "admins"]}))[0].status == 200
    assert call(proxy, pki, "/jwt/x", headers=bearer({"sub": "bob", "groups": ["dev"]}))[0].status == 403
    assert call(proxy, pki, "/jwt/x")[0].status == 403
    # `iss` + `/` + `sub`, as Istio forms the request principal.
    assert call(proxy, pki, "/user/x", headers=bearer({"sub": "alice"}))[0].status == 200
    assert call(proxy, pki, "/user/x", headers=bearer({"sub": "mallory"}))[0].status == 403
    # Numbers arrive as protobuf doubles and compare by their JSON text (`3`, not `3.0`).
    assert call(proxy, pki, "/level/x", headers=bearer({"sub": "bob", "level": 3}))[0].status == 200
    assert call(proxy, pki, "/level/x", headers=bearer({"sub": "bob", "level": 2}))[0].status == 403


def test_jwt_filter_rejects_a_forged_token(proxy: E.Envoy, pki: Pki, signer: Signer) -> None:
    token = signer.token({"iss": ISSUER, "sub": "bob", "groups": ["admins"]})
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}AAAA"
    before = len(proxy.decisions())
    r = proxy.request("tls", "/jwt/x", tls=pki.client(None), headers={"authorization": f"Bearer {forged}"})
    # Envoy's JWT filter answers before meshgate runs.
    assert r.status == 401
    assert len(proxy.wait_decisions(before + 1, timeout=0.5)) == before


def test_node_metadata(proxy: E.Envoy, pki: Pki) -> None:
    assert call(proxy, pki, "/node/x")[0].status == 200
    assert call(proxy, pki, "/other/x")[0].status == 403


def test_sni(proxy: E.Envoy, pki: Pki) -> None:
    assert call(proxy, pki, "/sni/x", sni="api.example.com")[0].status == 200
    assert call(proxy, pki, "/sni/x", sni="other.example.com")[0].status == 403
    assert call(proxy, pki, "/sni/x")[0].status == 403
