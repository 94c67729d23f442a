"""The filter's decisions, responses, logs and counters in a real Envoy."""

from __future__ import annotations

from typing import Any

import pytest

import envoy as E
from conftest import StartEnvoy

POLICY = [
    'allow "reads" { to path "/api/**", method GET }',
    'deny "no-admin" { to path "/admin/**" }',
    'allow "admin-all" { to path "/admin/**" }',
    'deny "no-secret" { to path "/api/secret" }',
    'audit "watch-exports" { to path "/api/export/**" }',
    'dry_run deny "require-tenant" { to path "/api/**" unless has request.headers["x-tenant"] }',
    'allow "tenant-a" { to path "/tenant/**" when request.headers["x-tenant"] == "a" }',
]
CONFIG = {"policy": POLICY, "headers": ["x-tenant"], "decision_log": True}
BROKEN = ['allow "oops" { to path "/api/**" ']
# Envoy's own path normalization, which the RBAC comparison turned off (the default).
NORMALIZE = {"normalize_path": True, "merge_slashes": True}


@pytest.fixture(scope="module")
def proxy(start_envoy: StartEnvoy, backend: int) -> E.Envoy:
    listeners = [
        ("enforce", CONFIG, {}),
        ("normalized", CONFIG, NORMALIZE),
        ("quiet", {**CONFIG, "reveal_rule": False, "deny_status": 401, "deny_body": "go away"}, {}),
        ("dryrun", {**CONFIG, "mode": "dry-run"}, {}),
        ("broken", {**CONFIG, "policy": BROKEN}, {}),
        ("broken_allow", {**CONFIG, "policy": BROKEN, "failure_mode_allow": True}, {}),
        ("bad_config", {**CONFIG, "polciy": "x"}, {}),
    ]
    built = [E.listener(name, [E.wasm_filter(cfg, name=f"meshgate-{name}")], hcm=hcm) for name, cfg, hcm in listeners]
    return start_envoy(E.bootstrap(built, backend), name="filter")


def decide(proxy: E.Envoy, listener: str, path: str, **kw: Any) -> tuple[E.Response, dict[str, Any]]:
    """Sends a request and returns the response with the decision line it logged."""
    before = len(proxy.decisions())
    response = proxy.request(listener, path, **kw)
    lines = proxy.wait_decisions(before + 1)
    assert len(lines) == before + 1, f"expected one new decision line, log:\n{proxy.log_tail()}"
    return response, lines[-1]


def test_allow(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/api/items", headers={"x-tenant": "a"})
    assert (r.status, r.body) == (200, "backend ok")
    assert "x-meshgate-denied-by" not in r.headers
    assert d == {**d, "allowed": True, "reasons": ["reads"], "action": "continue", "mode": "enforce", "method": "GET", "path": "/api/items"}
    assert d["time"].endswith("Z")


def test_deny_names_the_rule(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/admin/users")
    assert r.status == 403
    assert r.headers["x-meshgate-denied-by"] == "no-admin"
    assert r.headers["content-type"] == "text/plain"
    assert r.body == "denied by rule `no-admin`\n"
    assert (d["allowed"], d["reasons"], d["action"]) == (False, ["no-admin"], "deny")


def test_default_deny(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/elsewhere")
    assert r.status == 403
    assert "x-meshgate-denied-by" not in r.headers
    assert r.body == "denied: no rule allows this request\n"
    assert (d["allowed"], d["reasons"]) == (False, [])


def test_method_is_read(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/api/items", method="DELETE", headers={"x-tenant": "a"})
    assert r.status == 403
    assert d["method"] == "DELETE"


def test_audit_and_dry_run_rules_do_not_block(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/api/export/all")
    assert r.status == 200
    assert d["audits"] == ["watch-exports"]
    assert d["dry_run"] == [{"rule": "require-tenant", "effect": "deny"}]


def test_hidden_rule_custom_status_and_body(proxy: E.Envoy) -> None:
    r, _ = decide(proxy, "quiet", "/admin/users")
    assert (r.status, r.body) == (401, "go away")
    assert "x-meshgate-denied-by" not in r.headers


def test_dry_run_mode_lets_denials_through(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "dryrun", "/admin/users")
    assert (r.status, r.body) == (200, "backend ok")
    assert (d["allowed"], d["reasons"], d["mode"], d["action"]) == (False, ["no-admin"], "dry-run", "continue")


def test_listed_header_and_repeated_header(proxy: E.Envoy) -> None:
    assert decide(proxy, "enforce", "/tenant/x", headers={"X-Tenant": "a"})[0].status == 200
    assert decide(proxy, "enforce", "/tenant/x", headers={"x-tenant": "b"})[0].status == 403
    # Sent twice, the values are joined with `,` (as RBAC reads them): `a` cannot hide `b`.
    r, _ = decide(proxy, "enforce", "/tenant/x", headers=[("x-tenant", "a"), ("x-tenant", "b")])
    assert r.status == 403


def test_query_is_stripped(proxy: E.Envoy) -> None:
    r, d = decide(proxy, "enforce", "/api/secret?page=2")
    assert (r.status, r.headers["x-meshgate-denied-by"]) == (403, "no-secret")
    # The log shows the path the policy saw.
    assert d["path"] == "/api/secret"


@pytest.mark.parametrize("path", ["/api/../admin/users", "/api/%2e%2e/admin/users", "/api/%2E%2e/admin/users", "/api/./items"])
def test_ambiguous_paths_are_refused_without_normalization(proxy: E.Envoy, path: str) -> None:
    # Envoy forwards the path as sent (normalize_path is off by default); the filter refuses to
    # decide on it instead of letting `/api/**` match what the backend may read as `/admin/…`.
    r, d = decide(proxy, "enforce", path, headers={"x-tenant": "a"})
    assert r.status == 403
    assert d["allowed"] is False and d["reasons"] == []
    assert [e["rule"] for e in d["errors"]] == [""]
    assert "is not normalized" in d["errors"][0]["message"]
    assert r.body == "denied: the request could not be evaluated\n"


@pytest.mark.parametrize(
    ("path", "seen"),
    [("/api/../admin/users", "/admin/users"), ("/api/%2e%2e/admin/users", "/admin/users"), ("//api///items", "/api/items")],
)
def test_envoy_normalization_runs_before_the_filter(proxy: E.Envoy, path: str, seen: str) -> None:
    r, d = decide(proxy, "normalized", path, headers={"x-tenant": "a"})
    assert d["path"] == seen
    if seen.startswith("/admin"):
        assert (r.status, r.headers["x-meshgate-denied-by"]) == (403, "no-admin")
    else:
        assert (r.status, r.headers["x-backend-path"]) == (200, seen)


def test_policy_error_fails_closed(proxy: E.Envoy) -> None:
    r = proxy.request("broken", "/api/items")
    assert (r.status, r.body) == (503, "meshgate: the authorization policy is not loaded\n")
    errors = proxy.wasm_logs("error")
    assert any("the policy does not load: 1 error; every request is denied with 503" in m for m in errors)
    # The diagnostic names the source and the location.
    assert any("policy.mgp:1:" in line for line in proxy.log_lines())


def test_failure_mode_allow(proxy: E.Envoy) -> None:
    r = proxy.request("broken_allow", "/anything")
    assert (r.status, r.body) == (200, "backend ok")
    assert any("every request continues (failure_mode_allow)" in m for m in proxy.wasm_logs("error"))


def test_bad_configuration_fails_closed(proxy: E.Envoy) -> None:
    r = proxy.request("bad_config", "/api/items")
    assert r.status == 503
    assert any("polciy" in m for m in proxy.wasm_logs("error"))


def test_counters_in_stats_and_prometheus(start_envoy: StartEnvoy, backend: int) -> None:
    # An Envoy of its own: counters are per name, shared by every plugin of a process.
    cfg = {**CONFIG, "mode": "enforce"}
    proxy = start_envoy(E.bootstrap([E.listener("only", [E.wasm_filter(cfg)])], backend), name="counters")
    names = ["allowed", "denied", "dry_run_denied", "audited", "errors"]
    # Defined at configuration, before any request.
    assert {n: proxy.stats().get(f"wasmcustom.meshgate.{n}") for n in names} == dict.fromkeys(names, 0)
    for path, headers in [
        ("/api/items", {"x-tenant": "a"}),  # allowed
        ("/api/export/x", {}),  # allowed, audited, dry-run denied
        ("/admin/x", {}),  # denied
        ("/nowhere", {}),  # denied
        ("/api/%2e%2e/admin", {"x-tenant": "a"}),  # denied, error
    ]:
        proxy.request("only", path, headers=headers)
    proxy.wait_decisions(5)
    expected = {"allowed": 2, "denied": 3, "dry_run_denied": 1, "audited": 1, "errors": 1}
    assert {n: proxy.stats()[f"wasmcustom.meshgate.{n}"] for n in names} == expected
    prometheus = proxy.admin_get("/stats/prometheus")[1].splitlines()
    # Envoy drops the `wasmcustom.` prefix there.
    for n, value in expected.items():
        assert f"meshgate_{n}{{}} {value}" in prometheus
        assert f"# TYPE meshgate_{n} counter" in prometheus
