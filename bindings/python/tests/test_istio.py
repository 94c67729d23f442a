"""The Istio importer from Python: the decision cases of the Istio corpus
(``spec/conformance/istio/cases``) through ``import_istio`` → ``PolicySet`` → ``Engine``, refusals
as ``PolicyError`` with diagnostics into the YAML, warnings, and the same text as the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFORMANCE, ROOT

import meshgate
from meshgate import IstioImport, PolicyError, import_istio

ISTIO = CONFORMANCE / "istio"
CASES = sorted((ISTIO / "cases").glob("*.yaml"))
TESTDATA = ISTIO / "testdata"


def read_case(path: Path) -> dict[str, Any]:
    """A case file of the corpus. They keep to a fixed layout (PyYAML is not a test dependency):
    top-level `key: value` lines, `policies: |` with its block indented by two spaces, and
    `requests:` with one JSON object per `  - {...}` line. Anything else fails the test."""
    case: dict[str, Any] = {"requests": []}
    block: list[str] | None = None
    in_requests = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{n}"
        if block is not None and (line.startswith("  ") or line == ""):
            block.append(line[2:])
            continue
        block = None
        if in_requests:
            assert line.startswith("  - {"), f"{where}: expected a request line"
            case["requests"].append(json.loads(line[4:]))
            continue
        key, sep, value = line.partition(":")
        assert sep and key.isidentifier(), f"{where}: expected `key: value`"
        value = value.strip()
        if key == "policies":
            assert value == "|", f"{where}: expected `policies: |`"
            block = []
            case["policies"] = block
        elif key == "requests":
            assert value == "", where
            in_requests = True
        else:
            case[key] = json.loads(value) if value[:1] in '["' else value
    case["policies"] = "\n".join(case["policies"]).rstrip("\n") + "\n"
    return case


def test_the_corpus_is_read_whole() -> None:
    assert len(CASES) >= 40
    requests = sum(len(read_case(p)["requests"]) for p in CASES)
    assert requests >= 120


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_decides_as_istio_documents(path: Path) -> None:
    case = read_case(path)
    options: dict[str, Any] = {}
    for key in ("root_namespace", "trust_domain", "trust_domain_aliases"):
        if key in case:
            options[key] = case[key]
    imported = import_istio(case["policies"], **options)
    assert isinstance(imported, IstioImport)
    engine = meshgate.Engine(imported.policy_set())
    outcomes = set()
    for r in case["requests"]:
        d = engine.decide(r["request"])
        context = f"{path.name} / {r['name']}: {d!r}\n{imported.policy}"
        assert d.allowed is r["allowed"], context
        assert d.errors == [], context
        if "reasons" in r:
            assert d.reasons == r["reasons"], context
        if "audits" in r:
            assert d.audits == r["audits"], context
        if "dry_run" in r:
            assert [f"{x['effect']} {x['rule']}" for x in d.dry_run] == r["dry_run"], context
        outcomes.add(d.allowed)
    assert outcomes == {True, False}, f"{path.name}: the requests show both outcomes"


def test_custom_raises_policy_error_naming_it() -> None:
    path = TESTDATA / "http" / "custom-simple-http-in.yaml"
    with pytest.raises(PolicyError) as info:
        import_istio(path)
    message = str(info.value)
    # Two resources, each refused for its action and its `provider`.
    assert message.startswith("cannot import the Istio policies: 4 errors"), message
    assert "`CUSTOM`" in message
    ds = info.value.diagnostics
    assert len(ds) == 4
    d = ds[0]
    assert d["severity"] == "error"
    assert d["code"] == "istio-unsupported"
    assert "`spec.action` `CUSTOM` is not supported" in d["message"]
    assert d["file"] == str(path)
    text = path.read_text(encoding="utf-8").splitlines()
    assert "CUSTOM" in text[d["line"] - 1], d


def test_every_error_is_listed_with_its_file() -> None:
    bad = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: foo}
spec:
  rules:
  - to: [{operation: {ports: ["http"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: b, namespace: foo}
spec:
  rules:
  - from: [{source: {principals: ["x"], principalz: ["x"]}}]
"""
    with pytest.raises(PolicyError) as info:
        import_istio(["", bad])
    ds = info.value.diagnostics
    assert sorted((d["line"], d["code"], d["file"]) for d in ds) == [
        (6, "istio-invalid", "<string 2>"),
        (13, "istio-unknown-field", "<string 2>"),
    ], ds
    assert str(info.value).startswith("cannot import the Istio policies: 2 errors")


def test_warnings_come_back() -> None:
    hosts = read_case(ISTIO / "cases" / "36-hosts.yaml")["policies"]
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: foo}\n"
    imported = import_istio([hosts, other])
    codes = [w.code for w in imported.warnings]
    assert sorted(codes) == ["istio-host-port", "istio-skipped"], imported.warnings
    host = next(w for w in imported.warnings if w.code == "istio-host-port")
    assert host.severity == "warning"
    assert (host.file, host.line) == ("<string 1>", 10)
    assert "hosts" in host.message and host.help
    assert host.snippet == str(host)
    assert imported.to_dict()["warnings"][0]["code"] == codes[0]
    assert "istio-host-port" in repr(imported)


def test_paths_match_the_cli_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    imported = import_istio(Path("examples/istio/httpbin.yaml"))
    assert imported.policy == (ROOT / "examples" / "istio" / "httpbin.mgp").read_text(
        encoding="utf-8"
    )
    assert imported.warnings == []
    assert str(imported) == imported.policy
    # A list of paths and texts, read in order; the comments name each source.
    both = import_istio([Path("examples/istio/httpbin.yaml"), read_case(CASES[0])["policies"]])
    assert "from 3 AuthorizationPolicy resource(s) in: examples/istio/httpbin.yaml, <string>" in both.policy
    assert "from <string>:1" in both.policy


def test_root_namespace() -> None:
    policy = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny, namespace: mesh}\nspec: {action: DENY, rules: [{}]}\n"
    engine = meshgate.Engine(import_istio(policy, root_namespace="mesh").policy_set())
    elsewhere = {"destination": {"namespace": "bar", "labels": {}}, "request": {"method": "GET", "path": "/"}}
    assert not engine.decide(elsewhere).allowed
    engine = meshgate.Engine(import_istio(policy).policy_set())
    assert engine.decide(elsewhere).allowed


def test_bad_input_kinds(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="`sources`"):
        import_istio(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"`sources\[1\]`"):
        import_istio(["", b"kind: List"])  # type: ignore[list-item]
    with pytest.raises(FileNotFoundError):
        import_istio(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="istio-yaml|not YAML|yaml"):
        import_istio("a: [")


def test_trust_domain_aliases() -> None:
    """Istio's `trust-domain-multiple-aliases` translation test, as the CLI's expected output."""
    path = TESTDATA / "http" / "simple-policy-multiple-td-aliases-in.yaml"
    imported = import_istio(path, trust_domain="td1", trust_domain_aliases=["cluster.local", "some-td"])
    assert "# Trust domains (principals match each): td1, cluster.local, some-td" in imported.policy
    engine = meshgate.Engine(imported.policy_set())
    for td, allowed in [("td1", True), ("cluster.local", True), ("some-td", True), ("td2", False)]:
        d = engine.decide(
            {
                "source": {"principal": f"spiffe://{td}/ns/rule[0]/sa/from[0]-principal[0]"},
                "destination": {"namespace": "foo", "labels": {"app": "httpbin", "version": "v1"}},
                "request": {"method": "GET", "path": "/"},
            }
        )
        assert d.allowed is allowed, (td, d)
    # Without the bundle, `cluster.local/…` matches only `cluster.local`.
    plain = meshgate.Engine(import_istio(path).policy_set())
    assert not plain.decide(
        {
            "source": {"principal": "spiffe://td1/ns/rule[0]/sa/from[0]-principal[0]"},
            "destination": {"namespace": "foo", "labels": {"app": "httpbin", "version": "v1"}},
            "request": {"method": "GET", "path": "/"},
        }
    ).allowed


def test_bad_trust_domains() -> None:
    with pytest.raises(ValueError, match="trust domain alias `a/b` has a `/`"):
        import_istio("", trust_domain_aliases=["a/b"])
    with pytest.raises(ValueError, match="trust domain `td/` has a `/`"):
        import_istio("", trust_domain="td/")
    with pytest.raises(ValueError, match="alias is empty"):
        import_istio("", trust_domain_aliases=[""])
    with pytest.raises(TypeError, match="not a string"):
        import_istio("", trust_domain_aliases="td1")
