"""The stubs: they match the compiled module (mypy's stubtest) and type-check real use."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")


def test_stubs_match_the_extension() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "meshgate._native"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_typed_use_checks_and_mistakes_are_caught(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        textwrap.dedent(
            """
            import meshgate
            from meshgate.testing import assert_allowed

            policy = meshgate.PolicySet.from_source('allow "a" {}', name="a.mgp")
            engine = meshgate.Engine(policy)
            d = engine.decide({"source": {"namespace": "x"}})
            allowed: bool = d.allowed
            reasons: list[str] = d.reasons
            effect: str = d.dry_run[0]["effect"] if d.dry_run else "allow"
            many: list[meshgate.Decision] = engine.decide_many([meshgate.Request({}), {}])
            assert_allowed(engine, {}, by="a")
            try:
                meshgate.PolicySet.from_files(["p.mgp"])
            except meshgate.PolicyError as e:
                line: int = e.diagnostics[0]["line"]
            except meshgate.RequestError as e:
                field: str = e.field

            why: meshgate.Explanation = meshgate.explain(policy, {"request": {"method": "GET"}})
            failed: list[str] = [c.detail for r in why.nearest for c in r.failed_checks]
            at: int = meshgate.lint(policy, deny_warnings=True).diagnostics[0].line
            change = meshgate.diff(policy, policy)
            after: bool = change.decision_changes[0].after.allowed
            run = meshgate.run_tests(["policies"], coverage=True)
            percent: float = run.coverage.percent if run.coverage is not None else 0.0
            text: str = meshgate.format_source('allow "a" {}')
            """
        )
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        textwrap.dedent(
            """
            import meshgate

            engine = meshgate.Engine("not a policy set")
            d = meshgate.Engine(meshgate.PolicySet.from_source("")).decide({})
            n: int = d.allowed_rules
            meshgate.lint("policy.mgp")
            meshgate.run_tests(".").coverage.percent
            """
        )
    )
    ok = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    ko = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(bad)], capture_output=True, text=True)
    assert ko.returncode == 1
    assert 'Argument 1 to "Engine" has incompatible type "str"' in ko.stdout
    assert '"Decision" has no attribute "allowed_rules"' in ko.stdout
    assert 'Argument 1 to "lint" has incompatible type "str"; expected "PolicySet"' in ko.stdout
    assert 'has no attribute "percent"  [union-attr]' in ko.stdout
