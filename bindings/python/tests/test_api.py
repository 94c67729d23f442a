"""The Python API: loading, deciding, requests, decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshgate

from conftest import FRONTEND, PAYMENTS, POLICY, frontend_get


def test_allowed_with_reasons(engine: meshgate.Engine) -> None:
    d = engine.decide(frontend_get())
    assert d.allowed is True
    assert d.reasons == ["frontend-reads-payments"]
    assert d.audits == [] and d.dry_run == [] and d.errors == []


def test_default_deny(engine: meshgate.Engine) -> None:
    d = engine.decide({"source": {"namespace": "elsewhere"}, "request": {"method": "GET", "path": "/api/x"}})
    assert d.allowed is False
    assert d.reasons == []


def test_deny_audit_and_dry_run(engine: meshgate.Engine) -> None:
    d = engine.decide({"source": {"namespace": "legacy"}, "request": {"method": "POST", "path": "/api/admin/x"}})
    assert (d.allowed, d.reasons, d.audits) == (False, ["no-legacy"], ["watch-admin"])
    d = engine.decide({"source": {"namespace": "ops"}, "request": {"method": "GET", "path": "/api/export/all"}})
    assert d.allowed and d.reasons == ["ops-admin"]
    assert d.dry_run == [{"rule": "maybe-block-exports", "effect": "deny"}]


def test_to_dict_is_the_json_shape(engine: meshgate.Engine) -> None:
    d = engine.decide({"source": {"namespace": "ops"}, "request": {"method": "POST", "path": "/api/admin/x"}})
    assert d.to_dict() == {
        "allowed": True,
        "reasons": ["ops-admin"],
        "audits": ["watch-admin"],
        "dry_run": [],
        "errors": [],
    }
    json.dumps(d.to_dict())


def test_repr_is_readable(engine: meshgate.Engine, policy: meshgate.PolicySet) -> None:
    assert repr(engine.decide(frontend_get())) == "Decision(allowed=True, reasons=['frontend-reads-payments'])"
    d = engine.decide({"source": {"namespace": "legacy"}, "request": {"path": "/api/admin/x"}})
    assert repr(d) == "Decision(allowed=False, reasons=['no-legacy'], audits=['watch-admin'])"
    assert repr(policy) == "<meshgate.PolicySet rules=5 files=['payments.mgp']>"
    assert repr(engine) == "<meshgate.Engine rules=5>"


def test_evaluation_errors_deny() -> None:
    engine = meshgate.Engine(meshgate.PolicySet.from_source('allow "risky" { when context.risk < 3 }'))
    assert engine.decide({"context": {"risk": 1}}).allowed
    d = engine.decide({"context": {"risk": "high"}})
    assert d.allowed is False
    assert [e["rule"] for e in d.errors] == ["risky"]
    assert d.errors[0]["message"]


def test_policy_set_introspection(policy: meshgate.PolicySet) -> None:
    assert policy.rule_ids == ["frontend-reads-payments", "ops-admin", "no-legacy", "watch-admin", "maybe-block-exports"]
    assert policy.role_names == ["operator", "reader"]
    assert policy.files == ["payments.mgp"]
    assert len(policy) == 5
    assert policy.warnings == []


def test_from_sources_and_files(tmp_path: Path) -> None:
    a = tmp_path / "a.mgp"
    b = tmp_path / "b.mgp"
    a.write_text('role r { permit GET on "/x" }\n')
    b.write_text('allow "uses-r" { from namespace "n" grant r }\n')
    for policy in (
        meshgate.PolicySet.from_files([a, str(b)]),
        meshgate.PolicySet.from_sources({"a.mgp": a.read_text(), "b.mgp": b.read_text()}),
        meshgate.PolicySet.from_sources([("a.mgp", a.read_text()), ("b.mgp", b.read_text())]),
    ):
        engine = meshgate.Engine(policy)
        assert engine.decide({"source": {"namespace": "n"}, "request": {"method": "GET", "path": "/x"}}).allowed
    with pytest.raises(TypeError):
        meshgate.PolicySet.from_files(str(a))


def test_from_files_missing_file(tmp_path: Path) -> None:
    with pytest.raises(meshgate.PolicyError) as info:
        meshgate.PolicySet.from_files([tmp_path / "nope.mgp"])
    assert info.value.diagnostics[0]["code"] == "io"
    assert "nope.mgp" in str(info.value)


def test_reused_request(engine: meshgate.Engine) -> None:
    r = meshgate.Request(frontend_get())
    assert engine.decide(r) == engine.decide(frontend_get())
    assert r.to_dict() == frontend_get()
    assert meshgate.Request.from_json(r.to_json()) == r
    assert meshgate.Request.from_json(json.dumps(frontend_get())) == r
    assert r != meshgate.Request({})
    assert "frontend" in repr(r)


def test_request_with_every_field(engine: meshgate.Engine) -> None:
    full = {
        "source": {
            "principal": FRONTEND,
            "namespace": "shop",
            "service_account": "frontend",
            "trust_domain": "cluster.local",
            "labels": {"app": "web"},
            "ip": "10.0.0.1",
            "remote_ip": "2001:db8::1",
        },
        "destination": {"service": PAYMENTS, "namespace": "prod", "labels": {"v": "2"}, "port": 8080, "ip": "10.0.0.2"},
        "request": {
            "method": "GET",
            "path": "/api/x?y=1",
            "host": "payments:8080",
            "headers": {"x-a": "1"},
            "auth": {"principal": "iss/sub", "presenter": "cli", "audiences": ["a", "b"], "claims": {"groups": ["x"], "n": 3, "ok": True}},
        },
        "connection": {"sni": "payments"},
        "time": "2026-03-29T01:30:00Z",
        "context": {"risk": 2, "nested": {"a": [1, "b", False]}},
    }
    assert engine.decide(full).reasons == ["frontend-reads-payments"]
    assert meshgate.Request(full) == meshgate.Request.from_json(json.dumps(full))
    # Tuples are JSON lists.
    assert meshgate.Request({"request": {"auth": {"audiences": ("a", "b")}}}) == meshgate.Request(
        {"request": {"auth": {"audiences": ["a", "b"]}}}
    )


def test_check() -> None:
    assert meshgate.check(POLICY, "payments.mgp") == []
    diags = meshgate.check('allow "a" { from nmespace "x" }', "bad.mgp")
    assert [(d["code"], d["line"], d["column"], d["file"]) for d in diags] == [("unknown-matcher", 1, 18, "bad.mgp")]


def test_version() -> None:
    assert isinstance(meshgate.__version__, str) and meshgate.__version__


def test_dicts_off_the_fast_path_read_the_same() -> None:
    import enum

    class Port(enum.IntEnum):
        HTTP = 80

    class Name(str):
        pass

    deep: object = {"leaf": 1}
    for _ in range(12):
        deep = [deep]
    for d in (
        {"destination": {"port": Port.HTTP}},
        {"source": {"principal": Name("spiffe://td/ns/a/sa/b")}},
        {"context": {"deep": deep}},
        {"context": {"t": (1, "a", True)}, "request": {"auth": {"audiences": ("x", "y")}}},
        {"source": {"labels": {f"k{i}": str(i) for i in range(256)}}},
        {"context": {"big": 2**63 - 1, "small": -(2**63)}},
        {"time": "2026-03-29T01:30:00+02:00", "source": {"ip": "::ffff:10.0.0.1"}},
    ):
        want = json.loads(json.dumps(d, default=list))
        assert meshgate.Request(d) == meshgate.Request.from_json(json.dumps(want)), d


def test_dicts_are_held_to_the_request_limits() -> None:
    labels = {f"k{i}": "v" for i in range(257)}
    for request in ({"source": {"labels": labels}}, {"request": {"path": "/" + "a" * (64 << 10)}}):
        with pytest.raises(meshgate.RequestError) as from_dict:
            meshgate.Request(request)
        with pytest.raises(meshgate.RequestError) as from_json:
            meshgate.Request.from_json(json.dumps(request))
        assert str(from_dict.value) == str(from_json.value)
        assert "RequestLimits::" in str(from_dict.value)
