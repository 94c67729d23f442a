"""The authoring tools from Python: explain, lint, diff, policy tests with coverage, fmt.

They run on the repository's example policies (``examples/mesh``) and the CLI's fixtures, and
must say what the CLI says: the same text as its expected outputs and, when the CLI binary is
built, the same JSON as its ``--format json``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
from conftest import POLICY, ROOT

import meshgate
from meshgate.tools import Check, PolicyDiagnostic, Region

EXAMPLE = "examples/mesh/policy.mgp"
V2 = "crates/meshgate-cli/tests/fixtures/policy-v2.mgp"
RISKY = "crates/meshgate-cli/tests/fixtures/risky.mgp"
EXPECTED = ROOT / "crates" / "meshgate-cli" / "tests" / "expected"


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths as the CLI's tests give them: relative to the repository root."""
    monkeypatch.chdir(ROOT)


def example_request(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "examples" / "mesh" / f"{name}.json").read_text())
    return data


def expected(name: str) -> str:
    return (EXPECTED / name).read_text(encoding="utf-8")


def cli() -> Optional[Path]:
    """The CLI binary, if built (`cargo xtask test` builds it before the Python tests)."""
    given = os.environ.get("MESHGATE_CLI")
    if given:
        return Path(given)
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "meshgate"
        if path.is_file():
            return path
    return None


def cli_json(*args: str) -> Any:
    binary = cli()
    if binary is None:
        pytest.skip("the meshgate CLI is not built (cargo build -p meshgate-cli)")
    out = subprocess.run([str(binary), *args, "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# explain


def test_explain_names_the_nearest_allow_rule_and_the_failed_condition() -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    request = example_request("frontend-admin-post")
    e = meshgate.explain(policy, request)
    assert not e.allowed
    assert e.summary == "denied: no allow rule matched (default deny)"
    assert e.decision == meshgate.Engine(policy).decide(request)
    assert e.deciding == [] and e.overridden == []
    assert [r.rule for r in e.nearest] == ["frontend-reads-payments", "sre-business-hours", "payments-admins"]
    nearest = e.nearest[0]
    assert (nearest.effect, nearest.matched, nearest.failed_parts) == ("allow", False, 1)
    assert (nearest.location.file, nearest.location.line, nearest.location.column) == (EXAMPLE, 10, 1)
    assert [(c.kind, c.outcome, c.detail) for c in nearest.checks] == [
        ("from", "held", "principal matched"),
        ("to", "held", "service matched"),
        (
            "grant",
            "failed",
            'path "/api/admin/refunds" is not granted by role reader (/api/**: GET, HEAD; method was POST)',
        ),
    ]
    assert nearest.failed_checks == [nearest.checks[2]]
    assert nearest.checks[2].text == "grant reader"
    # An absent attribute makes a condition unknown, and the check says which.
    sre = e.nearest[1]
    assert sre.checks[-1] == Check(
        kind="when",
        text="when source.ip in 10.0.0.0/8",
        outcome="unknown",
        detail="when `source.ip in 10.0.0.0/8` is unknown (source.ip is absent)",
    )


def test_explain_a_deny_with_the_allows_it_overrode() -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    e = meshgate.explain(policy, meshgate.Request(example_request("legacy-admin")))
    assert e.summary == 'denied by deny "legacy-no-admin"'
    assert [r.rule for r in e.deciding] == ["legacy-no-admin"]
    assert e.deciding[0].location.line == 34
    assert [r.rule for r in e.overridden] == ["payments-admins"]
    assert e.nearest == []
    assert e.decision.reasons == ["legacy-no-admin"]


@pytest.mark.parametrize(
    "name",
    [
        "frontend-get",
        "frontend-admin-post",
        "legacy-admin",
        "admin-jwt",
        "frontend-export",
        "plaintext",
        "sre-office-hours",
        "sre-after-hours",
    ],
)
def test_explain_text_is_the_clis(name: str) -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    e = meshgate.explain(policy, example_request(name))
    assert str(e) == e.to_text() == expected(f"explain-{name}.txt")
    assert e.allowed == (e.summary.startswith("allowed"))


def test_explain_to_dict_is_the_clis_json() -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    for name in ("frontend-admin-post", "legacy-admin", "frontend-export", "plaintext"):
        got = meshgate.explain(policy, example_request(name)).to_dict()
        want = cli_json("explain", "--no-clock", "--policy", EXAMPLE, "--request", f"examples/mesh/{name}.json")
        assert got == want, name
        assert json.loads(json.dumps(got)) == got


def test_explain_repr() -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    e = meshgate.explain(policy, example_request("frontend-export"))
    assert repr(e) == (
        "Explanation(allowed=True, summary='allowed by allow \"frontend-reads-payments\"', "
        "deciding=['frontend-reads-payments'], noted=['watch-exports'])"
    )
    assert repr(e.deciding[0]) == (
        "RuleExplanation(allow 'frontend-reads-payments' at examples/mesh/policy.mgp:10:1, matched=True, "
        "summary='principal matched; service matched; granted by role reader')"
    )


def test_explain_refuses_bad_requests() -> None:
    policy = meshgate.PolicySet.from_files([EXAMPLE])
    with pytest.raises(meshgate.RequestError) as info:
        meshgate.explain(policy, {"source": {"ip": "10.0.0.300"}})
    assert info.value.field == "source.ip"
    with pytest.raises(TypeError, match="a request must be a dict or a meshgate.Request"):
        meshgate.explain(policy, "GET /")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        meshgate.explain("policy.mgp", {})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# lint

RISKY_FINDINGS = [
    ("unused-role", 5, 6),
    ("no-subject", 8, 7),
    ("broad-path", 13, 3),
    ("duplicate-rule", 18, 7),
    ("subsumed-allow", 19, 7),
    ("shadowed-by-deny", 24, 7),
    ("deny-absent-bypass", 28, 8),
    ("empty-time-window", 36, 8),
    ("never-matches", 41, 36),
]


def test_lint_reports_each_code_with_its_location() -> None:
    report = meshgate.lint(meshgate.PolicySet.from_files([RISKY]))
    assert (report.ok, report.warnings) == (True, 9)
    assert [(d.code, d.line, d.column) for d in report.diagnostics] == RISKY_FINDINGS
    assert report.codes == [c for c, _, _ in RISKY_FINDINGS]
    first = report.diagnostics[0]
    assert (first.severity, first.file, first.end_line, first.end_column) == ("warning", RISKY, 5, 13)
    assert first.message == "role `auditor` is never granted or included"
    assert first.help == "grant it in an allow rule (`grant auditor`) or remove it"
    assert str(first) == first.snippet
    assert first.snippet.startswith("meshgate::unused-role\n")
    shadowed = report.diagnostics[5]
    assert shadowed.message == 'allow "legacy-reports" never allows anything: deny "legacy-out" refuses every request it matches'
    # --deny-warnings: the same warnings, but not ok.
    denied = meshgate.lint(meshgate.PolicySet.from_files([RISKY]), deny_warnings=True)
    assert not denied.ok and denied.diagnostics == report.diagnostics


def test_lint_of_the_example_is_clean() -> None:
    report = meshgate.lint(meshgate.PolicySet.from_files([EXAMPLE]), deny_warnings=True)
    assert report.ok and report.warnings == 0 and report.diagnostics == []


def test_lint_includes_load_warnings() -> None:
    policy = meshgate.PolicySet.from_source('allow "a\u202e" { from namespace "x" }', name="w.mgp")
    assert [d.code for d in meshgate.lint(policy).diagnostics] == ["confusable-text"]


def test_lint_to_dict_and_repr() -> None:
    report = meshgate.lint(meshgate.PolicySet.from_files([RISKY]))
    assert report.to_dict() == cli_json("lint", RISKY)
    assert repr(report).startswith("LintReport(ok=True, warnings=9, codes=['unused-role', 'no-subject', ")
    assert repr(report.diagnostics[0]) == (
        f"PolicyDiagnostic('unused-role' at {RISKY}:5:6: 'role `auditor` is never granted or included')"
    )
    no_help = PolicyDiagnostic(
        severity="warning", code="x", message="m", file="f", line=1, column=1, end_line=1, end_column=2, help=None, snippet=""
    )
    assert "help" not in no_help.to_dict()


# ---------------------------------------------------------------------------------------------
# diff


def test_diff_reports_the_changed_regions_with_examples_that_really_differ() -> None:
    old = meshgate.PolicySet.from_files([EXAMPLE])
    new = meshgate.PolicySet.from_files([V2])
    report = meshgate.diff(old, new)
    assert report.changes_decisions and report.exact and report.inexact_because == []
    assert report.rules.added == ["exports-from-reporting-only"]
    assert report.rules.removed == []
    assert report.rules.changed == ["legacy-no-admin", "sre-business-hours"]
    assert len(report.decision_changes) == 46
    before, after = meshgate.Engine(old), meshgate.Engine(new)
    for region in report.decision_changes:
        assert before.decide(region.example) == region.before, region
        assert after.decide(region.example) == region.after, region
        assert region.before.allowed != region.after.allowed
    changes = {(r.before.allowed, tuple(r.before.reasons), r.after.allowed, tuple(r.after.reasons)) for r in report.decision_changes}
    assert changes == {
        (False, (), True, ("sre-business-hours",)),
        (True, ("payments-admins",), False, ("legacy-no-admin",)),
        (True, ("frontend-reads-payments",), False, ("legacy-no-admin",)),
        (True, ("frontend-reads-payments",), False, ("exports-from-reporting-only",)),
        (True, ("sre-business-hours",), False, ("exports-from-reporting-only",)),
    }
    batch = [r for r in report.decision_changes if 'source.namespace = "batch"' in r.conditions]
    assert batch and all(r.after.reasons == ["legacy-no-admin"] for r in batch)
    assert str(report) == report.to_text() == expected("diff-policy-v2.txt")


def test_diff_the_other_way_round() -> None:
    old = meshgate.PolicySet.from_files([V2])
    new = meshgate.PolicySet.from_files([EXAMPLE])
    report = meshgate.diff(old, new)
    assert report.rules.removed == ["exports-from-reporting-only"] and report.rules.added == []
    assert report.decision_changes
    before, after = meshgate.Engine(old), meshgate.Engine(new)
    for region in report.decision_changes:
        assert before.decide(region.example) == region.before
        assert after.decide(region.example) == region.after
        assert region.before.allowed != region.after.allowed


def test_diff_without_behavioural_change() -> None:
    text = (ROOT / EXAMPLE).read_text(encoding="utf-8")
    old = meshgate.PolicySet.from_source(text, name="old.mgp")
    new = meshgate.PolicySet.from_source(meshgate.format_source(text) + "\n# a comment\n", name="new.mgp")
    report = meshgate.diff(old, new)
    assert not report.changes_decisions and report.decision_changes == []
    assert report.rules.added == report.rules.removed == report.rules.changed == []
    assert str(report) == "no behavioural change\n"


def test_diff_says_when_it_is_not_exact() -> None:
    old = meshgate.PolicySet.from_source('allow "a" { when request.headers["x"] == request.headers["y"] }')
    new = meshgate.PolicySet.from_source('allow "a" { when request.headers["x"] != request.headers["y"] }')
    report = meshgate.diff(old, new)
    assert not report.exact
    assert report.inexact_because == ['`request.headers["x"]` is compared with `request.headers["y"]`']
    assert "note: not exact" in str(report)


def test_diff_to_dict_and_repr() -> None:
    report = meshgate.diff(meshgate.PolicySet.from_files([EXAMPLE]), meshgate.PolicySet.from_files([V2]))
    assert report.to_dict() == cli_json("diff", EXAMPLE, V2)
    assert repr(report) == (
        "DiffReport(changes_decisions=True, regions=46, removed=[], added=['exports-from-reporting-only'], "
        "changed=['legacy-no-admin', 'sre-business-hours'], exact=True)"
    )
    first: Region = report.decision_changes[0]
    assert repr(first).startswith("Region(denied (no rule matched) -> allowed by ['sre-business-hours'], conditions=[")


DEFAULTS = """default allow "mesh" { }
allow "foo-reads" { select namespace "foo" from namespace "x" }
"""


def test_explain_names_the_default_and_the_claims() -> None:
    policy = meshgate.PolicySet.from_source(DEFAULTS)
    closed = meshgate.explain(policy, {"source": {"namespace": "y"}, "destination": {"namespace": "foo"}})
    assert not closed.allowed
    assert closed.summary == (
        'denied: no allow rule matched (default deny); default allow "mesh" does not apply: '
        'the workload is claimed by allow "foo-reads"'
    )
    assert closed.default_allow is not None and closed.default_allow["applied"] is False
    assert [(c["rule"], c["selection"]) for c in closed.claimed_by] == [("foo-reads", "held")]
    assert closed.to_dict()["claimed_by"] == closed.claimed_by
    assert "allow rules that claim the workload:" in closed.to_text()
    opened = meshgate.explain(policy, {"destination": {"namespace": "bar"}})
    assert opened.allowed and opened.decision.reasons == ["mesh"]
    assert opened.default_allow is not None and opened.default_allow["applied"] is True
    assert "claimed_by" not in opened.to_dict() and opened.to_dict()["default_allow"]["id"] == "mesh"


# ---------------------------------------------------------------------------------------------
# tests and coverage


def test_run_tests_with_coverage() -> None:
    report = meshgate.run_tests("examples/mesh", coverage=True)
    assert (report.ok, report.passed, report.failed, report.errors) == (True, 11, 0, [])
    suite = report.suites[0]
    assert (suite.file, suite.policies) == ("examples/mesh/policy.test.json", [EXAMPLE])
    assert suite.cases[0].name == "frontend reads a balance"
    assert isinstance(suite.cases[0].decision, meshgate.Decision)
    assert suite.cases[0].decision.reasons == ["frontend-reads-payments"]
    assert report.failures == []

    cov = report.coverage
    assert cov is not None
    assert (cov.covered, cov.total, cov.percent) == (38, 42, 90.5)
    f = cov.files[0]
    assert (f.file, f.never_matched) == (EXAMPLE, [])
    rules = {r.rule: r for r in f.rules}
    assert (rules["frontend-reads-payments"].matched, rules["frontend-reads-payments"].not_matched) == (2, 9)
    sre = rules["sre-business-hours"]
    assert [(p.kind, p.line, p.held, p.failed) for p in sre.parts] == [
        ("from", 18, 3, 8),
        ("to", 19, 3, 0),
        ("grant", 20, 3, 0),
        ("when", 21, 2, 1),
        ("when", 22, 1, 1),
    ]
    assert sre.parts[3].text == "when time.weekday in mon..fri and time.hour in 8..17"
    # The text and lcov renderings are the CLI's.
    cli_text = expected("test-coverage.txt")
    assert cov.to_text() == str(cov) == cli_text[cli_text.index("coverage of ") :]
    assert cov.to_lcov().startswith(f"TN:\nSF:{EXAMPLE}\nFN:")
    assert "FNDA:2,frontend-reads-payments\n" in cov.to_lcov()


def test_coverage_lists_the_operands_of_or() -> None:
    fixture = "crates/meshgate-cli/tests/fixtures/alternatives"
    report = meshgate.run_tests(fixture, coverage=True)
    assert report.coverage is not None
    parts = report.coverage.files[0].rules[0].parts
    assert [(p.kind, p.index, p.of, p.held, p.failed) for p in parts[1:5]] == [
        ("when", 0, None, 3, 0),
        ("or", 0, {"kind": "when", "index": 0}, 1, 2),
        ("or", 1, {"kind": "when", "index": 0}, 1, 1),
        ("or", 2, {"kind": "when", "index": 0}, 1, 0),
    ]
    assert parts[4].text == "context.break_glass == true"
    assert "of" not in parts[1].to_dict() and parts[2].to_dict()["of"] == {"kind": "when", "index": 0}
    cli_text = expected("test-coverage-or.txt")
    assert report.coverage.to_text() == cli_text[cli_text.index("coverage of ") :]
    assert report.to_dict() == cli_json("test", fixture, "--coverage")


def test_run_tests_without_coverage() -> None:
    report = meshgate.run_tests(["examples"])
    assert report.ok and report.coverage is None
    assert "coverage" not in report.to_dict()


def test_run_tests_reports_failures(tmp_path: Path) -> None:
    (tmp_path / "p.mgp").write_text(POLICY)
    (tmp_path / "p.test.json").write_text(
        json.dumps(
            {
                "cases": [
                    {"name": "ops writes", "request": {"source": {"namespace": "ops"}, "request": {"method": "POST", "path": "/api/admin/x"}}, "expect": "allow"},
                    {"name": "legacy", "request": {"source": {"namespace": "legacy"}}, "expect": {"allowed": False, "reasons": ["ops-admin"]}},
                    {"name": "nobody", "request": {}, "expect": "allow"},
                ]
            }
        )
    )
    report = meshgate.run_tests(tmp_path)
    assert (report.ok, report.passed, report.failed) == (False, 1, 2)
    assert [c.name for c in report.failures] == ["legacy", "nobody"]
    assert report.failures[0].failures == ['expected reasons ["ops-admin"], got ["no-legacy"]']
    assert report.failures[1].failures == ["expected allow, got deny (no allow rule matched)"]
    assert report.failures[1].decision == meshgate.Engine(meshgate.PolicySet.from_source(POLICY)).decide({})
    assert repr(report) == "RunReport(ok=False, passed=1, failed=2, errors=0)"
    assert repr(report.failures[1]) == "CaseReport('nobody', passed=False, failures=['expected allow, got deny (no allow rule matched)'])"


def test_run_tests_lists_unusable_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "p.mgp").write_text(POLICY)
    (tmp_path / "a" / "bad.test.json").write_text(
        json.dumps({"cases": [{"name": "x", "request": {"source": {"ip": "1.2.3"}}, "expect": "deny"}]})
    )
    (tmp_path / "b" / "p.mgp").write_text('allow "x" { grant nobody }\n')
    (tmp_path / "b" / "ok.test.json").write_text('{"cases": []}')
    report = meshgate.run_tests(tmp_path, coverage=True)
    assert (report.ok, report.passed, report.failed, report.suites) == (False, 0, 0, [])
    bad, broken = report.errors
    assert bad.file == str(tmp_path / "a" / "bad.test.json")
    assert "`cases[0].request.source.ip`: invalid IP address syntax" in bad.message
    assert bad.diagnostics == [] and "diagnostics" not in bad.to_dict()
    assert broken.message.startswith(f"the policies of `{tmp_path / 'b' / 'ok.test.json'}`")
    assert broken.message.endswith("have 1 error, 0 warnings")
    assert [(d.severity, d.code, d.line, d.column) for d in broken.diagnostics] == [("error", "unknown-role", 1, 19)]


def test_run_tests_refuses_missing_paths_and_empty_searches(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory: `.*nowhere`"):
        meshgate.run_tests(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"no test files \(`\*\.test\.json`\) found in"):
        meshgate.run_tests(tmp_path)


def test_run_tests_to_dict_is_the_clis_json() -> None:
    report = meshgate.run_tests("examples/mesh", coverage=True)
    assert report.to_dict() == cli_json("test", "examples/mesh", "--coverage")
    assert repr(report) == "RunReport(ok=True, passed=11, failed=0, errors=0, coverage=90.5%)"


# ---------------------------------------------------------------------------------------------
# fmt


def test_format_source_is_the_clis_layout_and_idempotent() -> None:
    text = (ROOT / EXAMPLE).read_text(encoding="utf-8")
    formatted = meshgate.format_source(text, EXAMPLE)
    assert formatted == expected("fmt-policy.mgp")
    assert meshgate.format_source(formatted) == formatted
    messy = 'allow "a"{from namespace "x"   # why\n to path "/y"}'
    assert meshgate.format_source(messy) == 'allow "a" {\n  from namespace "x"  # why\n  to path "/y"\n}\n'


def test_format_source_refuses_what_does_not_parse() -> None:
    with pytest.raises(meshgate.PolicyError) as info:
        meshgate.format_source('allow "x" { frm x }\n', "bad.mgp")
    assert [(d["code"], d["line"], d["column"]) for d in info.value.diagnostics] == [("syntax", 1, 13)]
