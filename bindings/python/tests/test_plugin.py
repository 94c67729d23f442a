"""The pytest plugin on a small policy repository, and meshgate.testing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshgate
from meshgate.testing import assert_allowed, assert_decision, assert_denied

from conftest import POLICY, frontend_get

CASES: list[dict[str, object]] = [
    {
        "name": "frontend reads",
        "request": frontend_get(),
        "expect": {"allowed": True, "reasons": ["frontend-reads-payments"]},
    },
    {
        "name": "legacy is refused",
        "request": {"source": {"namespace": "legacy"}, "request": {"path": "/api/admin/x"}},
        "expect": {"allowed": False, "reasons": ["no-legacy"], "audits": ["watch-admin"]},
    },
]


def _repo(pytester: pytest.Pytester, cases: list[dict[str, object]]) -> None:
    (pytester.path / "payments").mkdir()
    (pytester.path / "payments" / "policy.mgp").write_text(POLICY)
    (pytester.path / "payments" / "cases.json").write_text(json.dumps(cases))


def test_plugin_runs_cases(pytester: pytest.Pytester) -> None:
    _repo(pytester, CASES)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cases.json::frontend reads PASSED*", "*cases.json::legacy is refused PASSED*"])


def test_plugin_reports_differences(pytester: pytest.Pytester) -> None:
    wrong = [dict(CASES[0]), dict(CASES[1], expect={"allowed": False, "reasons": ["no-legacy"]})]
    _repo(pytester, wrong)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*case `legacy is refused`: decision differs:*",
            '*audits: expected [], got ["watch-admin"]*',
        ]
    )


def test_plugin_reports_a_policy_that_does_not_load(pytester: pytest.Pytester) -> None:
    _repo(pytester, CASES)
    (pytester.path / "payments" / "policy.mgp").write_text('allow "a" { from nmespace "x" }')
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*do not load*", "*unknown `from` matcher `nmespace`*"])


def test_plugin_reports_a_bad_request(pytester: pytest.Pytester) -> None:
    _repo(pytester, [{"name": "typo", "request": {"source": {"namspace": "x"}}, "expect": {"allowed": False}}])
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*request is invalid*source.namspace*"])


def test_plugin_checks_invalid_policies(pytester: pytest.Pytester) -> None:
    (pytester.path / "invalid").mkdir()
    (pytester.path / "invalid" / "typo.mgp").write_text(
        '# expect-error: unknown-matcher 2:18 unknown `from` matcher\nallow "a" { from nmespace "x" }\n'
    )
    (pytester.path / "invalid" / "wrong.mgp").write_text(
        '# expect-error: syntax 2:1 something else\nallow "a" { from nmespace "x" }\n'
    )
    (pytester.path / "invalid" / "plain.mgp").write_text('allow "fine" {}\n')
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*typo.mgp::rejected PASSED*", "*expected: syntax 2:1 something else*"])


def test_plugin_runs_cli_test_files(pytester: pytest.Pytester) -> None:
    (pytester.path / "policies").mkdir()
    (pytester.path / "policies" / "payments.mgp").write_text(POLICY)
    suite = {
        "policies": ["payments.mgp"],
        "cases": [
            {"name": "frontend reads", "request": frontend_get(), "expect": "allow"},
            {"name": "legacy refused", "request": {"source": {"namespace": "legacy"}}, "expect": {"allowed": False, "reasons": ["no-legacy"]}},
            {"name": "wrong on purpose", "request": frontend_get(), "expect": {"allowed": True, "reasons": ["ops-admin"]}},
        ],
    }
    (pytester.path / "policies" / "payments.test.json").write_text(json.dumps(suite))
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*payments.test.json::frontend reads PASSED*",
            "*payments.test.json::legacy refused PASSED*",
            "*case `wrong on purpose`:*",
            "*expected reasons ?\"ops-admin\"?, got ?\"frontend-reads-payments\"?*",
        ]
    )


def test_plugin_reports_a_malformed_test_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "p.mgp").write_text(POLICY)
    (pytester.path / "bad.test.json").write_text(json.dumps({"cases": [{"name": "a", "request": {}, "expect": "maybe"}]}))
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*`cases?0?.expect`: expected*"])


def test_run_test_file_directly(tmp_path: Path) -> None:
    (tmp_path / "p.mgp").write_text(POLICY)
    test_file = tmp_path / "p.test.json"
    test_file.write_text(json.dumps({"cases": [{"name": "reads", "request": frontend_get(), "expect": "allow"}]}))
    report = meshgate.run_test_file(test_file)
    assert (report["passed"], report["failed"]) == (1, 0)
    assert report["cases"][0]["decision"]["reasons"] == ["frontend-reads-payments"]
    (tmp_path / "p.mgp").write_text('allow "x" { from nmespace "y" }')
    with pytest.raises(meshgate.PolicyError):
        meshgate.run_test_file(test_file)


def test_plugin_can_be_switched_off(pytester: pytest.Pytester) -> None:
    _repo(pytester, CASES)
    pytester.makeini("[pytest]\nmeshgate_collect = false\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_assert_helpers(engine: meshgate.Engine) -> None:
    assert assert_allowed(engine, frontend_get(), by="frontend-reads-payments").allowed
    assert_allowed(engine, meshgate.Request(frontend_get()))
    assert_denied(engine, {"source": {"namespace": "legacy"}}, by="no-legacy")
    assert_denied(engine, {"source": {"namespace": "legacy"}}, default=False)
    assert_denied(engine, {"source": {"namespace": "nobody"}}, default=True)
    assert_decision(engine, frontend_get(), {"allowed": True, "reasons": ["frontend-reads-payments"]})

    with pytest.raises(AssertionError, match="expected the request to be allowed by `ops-admin`, but it was allowed by `frontend-reads-payments`"):
        assert_allowed(engine, frontend_get(), by="ops-admin")
    with pytest.raises(AssertionError, match="but it was denied by `no-legacy`"):
        assert_allowed(engine, {"source": {"namespace": "legacy"}})
    with pytest.raises(AssertionError, match=r"denied by default \(no rule matched\)"):
        assert_allowed(engine, {"source": {"namespace": "nobody"}})
    with pytest.raises(AssertionError, match="expected the request to be denied, but it was allowed"):
        assert_denied(engine, frontend_get())
    with pytest.raises(AssertionError, match="expected the request to fall to the default deny"):
        assert_denied(engine, {"source": {"namespace": "legacy"}}, default=True)
    with pytest.raises(AssertionError, match="reasons: expected"):
        assert_decision(engine, frontend_get(), {"allowed": True})
