"""Policy authoring tools: explanations, lint, the semantic diff, policy tests with coverage.

The same tools as the ``meshgate`` command line (``explain``, ``lint``, ``diff``, ``test
--coverage``, ``fmt``), computed by the same core code, as typed objects::

    import meshgate

    policy = meshgate.PolicySet.from_files(["policy.mgp"])
    why = meshgate.explain(policy, request)          # Explanation
    why.nearest[0].checks                            # what held and what failed, part by part
    meshgate.lint(policy).diagnostics                # [PolicyDiagnostic(code='no-subject', ...)]
    meshgate.diff(old, new).decision_changes         # [Region(...)], each with an example
    meshgate.run_tests(["policies/"], coverage=True) # RunReport, with a CoverageReport
    meshgate.format_source(text)                     # the canonical layout

Every object has ``to_dict()``, the JSON shape the CLI prints with ``--format json``; decisions
inside them are ``meshgate.Decision`` objects. Explanations, diffs and coverage also have
``to_text()`` (``str()``), the CLI's text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Union

from ._native import Decision, PolicySet, Request, _diff, _explain, _lint, _run_tests, format_source

__all__ = [
    "CaseReport",
    "Check",
    "CoverageReport",
    "DiffReport",
    "Explanation",
    "FileCoverage",
    "FileError",
    "LintReport",
    "Location",
    "PartCoverage",
    "PolicyDiagnostic",
    "Region",
    "RuleChanges",
    "RuleCoverage",
    "RuleExplanation",
    "RunReport",
    "SuiteReport",
    "diff",
    "explain",
    "format_source",
    "lint",
    "run_tests",
]

Effect = Literal["allow", "deny", "audit"]
PartKind = Literal["select", "from", "to", "grant", "when", "unless", "or"]
Outcome = Literal["held", "failed", "unknown", "error"]
RequestLike = Union[Request, Mapping[str, Any]]
PathLike = Union[str, "os.PathLike[str]"]


def _plain(value: Any) -> Any:
    """``value`` in its JSON shape."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, Decision):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Record:
    """A result with ``to_dict()``: its public fields in order, in their JSON shape."""

    #: Fields left out of ``to_dict()`` when ``None`` or empty, as the CLI's JSON leaves them out.
    _omit_empty: tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            if f.name in self._omit_empty and (value is None or value == []):
                continue
            out[f.name] = _plain(value)
        return out


def _ids(rules: Iterable[RuleExplanation]) -> List[str]:
    return [r.rule for r in rules]


def _words(d: Decision) -> str:
    if d.allowed:
        return f"allowed by {d.reasons}"
    if d.reasons:
        return f"denied by {d.reasons}"
    if d.errors:
        return f"denied (errors in {[e['rule'] for e in d.errors]})"
    return "denied (no rule matched)"


# ---------------------------------------------------------------------------------------------
# Explanations.


@dataclass(frozen=True)
class Location(_Record):
    """Where a rule is declared."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, repr=False)
class Check(_Record):
    """One ``from`` or ``to`` clause, granted role, ``when`` or ``unless`` of a rule, and what it
    did: ``outcome`` is ``held``, ``failed``, ``unknown`` (an attribute it reads is absent) or
    ``error``; ``detail`` says what held or exactly what failed, with the request's values."""

    kind: PartKind
    text: str
    outcome: Outcome
    detail: str

    @staticmethod
    def _from(d: Mapping[str, Any]) -> Check:
        return Check(kind=d["kind"], text=d["text"], outcome=d["outcome"], detail=d["detail"])

    def __repr__(self) -> str:
        return f"Check(kind={self.kind!r}, outcome={self.outcome!r}, detail={self.detail!r})"


@dataclass(frozen=True, repr=False)
class RuleExplanation(_Record):
    """How one rule fared for a request: ``checks`` has one entry per part; ``summary`` is the
    same in one line; ``failed_parts`` counts the failing parts (``from``, ``to`` and the
    grants once each)."""

    rule: str
    effect: Effect
    dry_run: bool
    location: Location
    matched: bool
    failed_parts: int
    checks: List[Check]
    errors: List[str]
    summary: str

    @staticmethod
    def _from(d: Mapping[str, Any]) -> RuleExplanation:
        loc = d["location"]
        return RuleExplanation(
            rule=d["rule"],
            effect=d["effect"],
            dry_run=d["dry_run"],
            location=Location(file=loc["file"], line=loc["line"], column=loc["column"]),
            matched=d["matched"],
            failed_parts=d["failed_parts"],
            checks=[Check._from(c) for c in d["checks"]],
            errors=list(d["errors"]),
            summary=d["summary"],
        )

    @property
    def failed_checks(self) -> List[Check]:
        """The checks that did not hold."""
        return [c for c in self.checks if c.outcome != "held"]

    def __repr__(self) -> str:
        dry = "dry_run " if self.dry_run else ""
        return f"RuleExplanation({dry}{self.effect} {self.rule!r} at {self.location}, matched={self.matched}, summary={self.summary!r})"


@dataclass(frozen=True, repr=False)
class Explanation(_Record):
    """Why a request got its decision: the rules that ``deciding`` (the deny that matched, the
    allows that matched, or the rules that could not be evaluated), the allows a deny
    ``overridden``, for a default deny the ``nearest`` allow rules (fewest failing parts first)
    with the exact conditions that failed, and the audit and dry-run rules ``noted``."""

    allowed: bool
    summary: str
    decision: Decision
    deciding: List[RuleExplanation]
    overridden: List[RuleExplanation]
    nearest: List[RuleExplanation]
    noted: List[RuleExplanation]
    #: The ``default allow`` that allowed the request (``applied``), or for a default deny the
    #: first that selects the workload: ``{"id", "location", "applied"}``.
    default_allow: Optional[Dict[str, Any]] = None
    #: For a default deny in a set with defaults, the allow rules that claim the workload:
    #: ``{"rule", "location", "selection", "detail"}``.
    claimed_by: List[Dict[str, Any]] = field(default_factory=list)
    _text: str = field(default="", compare=False)
    _omit_empty = ("default_allow", "claimed_by")

    @staticmethod
    def _from(d: Mapping[str, Any], text: str) -> Explanation:
        def rules(key: str) -> List[RuleExplanation]:
            return [RuleExplanation._from(r) for r in d[key]]

        return Explanation(
            allowed=d["allowed"],
            summary=d["summary"],
            decision=d["decision"],
            deciding=rules("deciding"),
            overridden=rules("overridden"),
            nearest=rules("nearest"),
            noted=rules("noted"),
            default_allow=d.get("default_allow"),
            claimed_by=list(d.get("claimed_by", [])),
            _text=text,
        )

    def to_text(self) -> str:
        """The explanation as ``meshgate explain`` prints it."""
        return self._text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        parts = [f"allowed={self.allowed}", f"summary={self.summary!r}"]
        for key in ("deciding", "overridden", "nearest", "noted"):
            rules: List[RuleExplanation] = getattr(self, key)
            if rules:
                parts.append(f"{key}={_ids(rules)!r}")
        return f"Explanation({', '.join(parts)})"


def explain(policy_set: PolicySet, request: RequestLike) -> Explanation:
    """Explains the decision ``policy_set`` gives ``request`` (a dict in the JSON shape, or a
    ``Request``). No clock is read: a request without ``time`` has no time. Raises
    ``RequestError`` for a malformed request."""
    data, text = _explain(policy_set, request)
    return Explanation._from(data, text)


# ---------------------------------------------------------------------------------------------
# Lint.


@dataclass(frozen=True, repr=False)
class PolicyDiagnostic(_Record):
    """A warning (or, in a test run's file errors, an error) pointing into policy text: a stable
    ``code``, the span's start and end (1-based; columns in characters), ``help`` when there is
    some, and ``snippet``, the rendered diagnostic (also ``str()``)."""

    severity: Literal["error", "warning"]
    code: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    help: Optional[str]
    snippet: str
    _omit_empty = ("help",)

    @staticmethod
    def _from(d: Mapping[str, Any]) -> PolicyDiagnostic:
        return PolicyDiagnostic(
            severity=d["severity"],
            code=d["code"],
            message=d["message"],
            file=d["file"],
            line=d["line"],
            column=d["column"],
            end_line=d["end_line"],
            end_column=d["end_column"],
            help=d.get("help"),
            snippet=d["snippet"],
        )

    def __str__(self) -> str:
        return self.snippet

    def __repr__(self) -> str:
        return f"PolicyDiagnostic({self.code!r} at {self.file}:{self.line}:{self.column}: {self.message!r})"


@dataclass(frozen=True, repr=False)
class LintReport(_Record):
    """The warnings of a policy set (load warnings and lint warnings, in file and position
    order). ``warnings`` is their number; ``ok`` is false only when ``deny_warnings`` was asked
    and there are warnings."""

    ok: bool
    warnings: int
    diagnostics: List[PolicyDiagnostic]

    @property
    def codes(self) -> List[str]:
        """The code of each warning, in order."""
        return [d.code for d in self.diagnostics]

    def __repr__(self) -> str:
        return f"LintReport(ok={self.ok}, warnings={self.warnings}, codes={self.codes!r})"


def lint(policy_set: PolicySet, *, deny_warnings: bool = False) -> LintReport:
    """Lints ``policy_set``: rules that can never match, shadowed or subsumed rules, duplicates,
    over-permissive allows, unused roles, denies an absent attribute bypasses, empty time
    windows; each warning with a stable code and a location (see ``spec/tools.md``)."""
    d = _lint(policy_set, deny_warnings=deny_warnings)
    return LintReport(
        ok=d["ok"],
        warnings=d["warnings"],
        diagnostics=[PolicyDiagnostic._from(x) for x in d["diagnostics"]],
    )


# ---------------------------------------------------------------------------------------------
# Diff.


@dataclass(frozen=True)
class RuleChanges(_Record):
    """Deciding rules only in the old set, only in the new one, and in both but changed."""

    removed: List[str]
    added: List[str]
    changed: List[str]


@dataclass(frozen=True, repr=False)
class Region(_Record):
    """A region of the request space where ``allowed`` changes: one line per constrained
    attribute (every other attribute may be anything), an example request (a dict in the JSON
    shape) and what the old and the new set decide for it."""

    conditions: List[str]
    example: Dict[str, Any]
    before: Decision
    after: Decision

    def __repr__(self) -> str:
        return f"Region({_words(self.before)} -> {_words(self.after)}, conditions={self.conditions!r})"


@dataclass(frozen=True, repr=False)
class DiffReport(_Record):
    """Where two policy sets decide differently. ``changes_decisions`` is true when some request
    is allowed by one and denied by the other; ``decision_changes`` lists those regions. When
    ``exact`` is false, ``inexact_because`` says which constructs made the search incomplete."""

    changes_decisions: bool
    decision_changes: List[Region]
    rules: RuleChanges
    exact: bool
    inexact_because: List[str]
    _text: str = field(default="", compare=False)

    def to_text(self) -> str:
        """The report as ``meshgate diff`` prints it."""
        return self._text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return (
            f"DiffReport(changes_decisions={self.changes_decisions}, regions={len(self.decision_changes)}, "
            f"removed={self.rules.removed!r}, added={self.rules.added!r}, changed={self.rules.changed!r}, exact={self.exact})"
        )


def diff(old: PolicySet, new: PolicySet) -> DiffReport:
    """Compares two policy sets: every region of requests whose decision changes from ``old`` to
    ``new``, each with an example, computed from the classes of values the policies name (see
    ``spec/tools.md`` for where it is exact). The GIL is released meanwhile."""
    d, text = _diff(old, new)
    rc = d["rules"]
    return DiffReport(
        changes_decisions=d["changes_decisions"],
        decision_changes=[
            Region(conditions=list(r["conditions"]), example=r["example"], before=r["before"], after=r["after"])
            for r in d["decision_changes"]
        ],
        rules=RuleChanges(removed=list(rc["removed"]), added=list(rc["added"]), changed=list(rc["changed"])),
        exact=d["exact"],
        inexact_because=list(d["inexact_because"]),
        _text=text,
    )


# ---------------------------------------------------------------------------------------------
# Tests and coverage.


@dataclass(frozen=True, repr=False)
class CaseReport(_Record):
    """One case of a test file: whether the decision was as expected, what differed (one line
    each), and the decision."""

    name: str
    passed: bool
    failures: List[str]
    decision: Decision

    def __repr__(self) -> str:
        extra = f", failures={self.failures!r}" if self.failures else ""
        return f"CaseReport({self.name!r}, passed={self.passed}{extra})"


@dataclass(frozen=True, repr=False)
class SuiteReport(_Record):
    """The cases of one test file and the policy files they ran against."""

    file: str
    policies: List[str]
    cases: List[CaseReport]
    passed: int
    failed: int

    def __repr__(self) -> str:
        return f"SuiteReport({self.file!r}, passed={self.passed}, failed={self.failed})"


@dataclass(frozen=True, repr=False)
class FileError(_Record):
    """A test file that could not be used: unreadable or malformed, or its policies do not load
    (``diagnostics`` then lists their errors)."""

    file: str
    message: str
    diagnostics: List[PolicyDiagnostic]
    _omit_empty = ("diagnostics",)

    def __repr__(self) -> str:
        return f"FileError({self.file!r}, {self.message!r})"


@dataclass(frozen=True, repr=False)
class PartCoverage(_Record):
    """One part of a rule (``kind`` ``select``, ``from``, ``to``, ``grant``, ``when`` or ``unless``, the
    ``index``-th of its kind; or ``or``, the ``index``-th operand of the top-level ``or`` of the
    condition ``of``, e.g. ``{"kind": "when", "index": 0}``) and how many tests reached it and
    made it hold or fail."""

    kind: PartKind
    index: int
    text: str
    line: int
    held: int
    failed: int
    of: Optional[Dict[str, Any]] = None
    _omit_empty = ("of",)

    def to_dict(self) -> Dict[str, Any]:
        # The JSON shape: `of` (when there is one) right after `index`, as the CLI prints it.
        d = super().to_dict()
        order = ["kind", "index", "of", "text", "line", "held", "failed"]
        return {k: d[k] for k in order if k in d}

    def __repr__(self) -> str:
        return f"PartCoverage({self.text!r}, line={self.line}, held={self.held}, failed={self.failed})"


@dataclass(frozen=True, repr=False)
class RuleCoverage(_Record):
    """How many tests a rule matched and did not match, and the coverage of its parts."""

    rule: str
    effect: Effect
    dry_run: bool
    line: int
    matched: int
    not_matched: int
    parts: List[PartCoverage]

    def __repr__(self) -> str:
        return f"RuleCoverage({self.rule!r}, line={self.line}, matched={self.matched}, not_matched={self.not_matched})"


@dataclass(frozen=True, repr=False)
class FileCoverage(_Record):
    """Coverage of one policy file: ``covered`` of ``total`` outcomes (two per rule and per
    part), as ``percent``; the rules in file order; the rules no test matched."""

    file: str
    covered: int
    total: int
    percent: float
    rules: List[RuleCoverage]
    never_matched: List[str]

    def __repr__(self) -> str:
        return f"FileCoverage({self.file!r}, percent={self.percent}, never_matched={self.never_matched!r})"


@dataclass(frozen=True, repr=False)
class CoverageReport(_Record):
    """Coverage of every policy file the tests ran against, sorted by file name."""

    covered: int
    total: int
    percent: float
    files: List[FileCoverage]
    _text: str = field(default="", compare=False)
    _lcov: str = field(default="", compare=False)

    def to_text(self) -> str:
        """The report as ``meshgate test --coverage`` prints it."""
        return self._text

    def to_lcov(self) -> str:
        """The report as an lcov tracefile (as ``meshgate test --lcov FILE`` writes it)."""
        return self._lcov

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"CoverageReport(percent={self.percent}, covered={self.covered}, total={self.total}, files={[f.file for f in self.files]!r})"


def _coverage(d: Mapping[str, Any], text: str, lcov: str) -> CoverageReport:
    def part(p: Mapping[str, Any]) -> PartCoverage:
        return PartCoverage(
            kind=p["kind"],
            index=p["index"],
            text=p["text"],
            line=p["line"],
            held=p["held"],
            failed=p["failed"],
            of=dict(p["of"]) if "of" in p else None,
        )

    def rule(r: Mapping[str, Any]) -> RuleCoverage:
        return RuleCoverage(
            rule=r["rule"],
            effect=r["effect"],
            dry_run=r["dry_run"],
            line=r["line"],
            matched=r["matched"],
            not_matched=r["not_matched"],
            parts=[part(p) for p in r["parts"]],
        )

    return CoverageReport(
        covered=d["covered"],
        total=d["total"],
        percent=d["percent"],
        files=[
            FileCoverage(
                file=f["file"],
                covered=f["covered"],
                total=f["total"],
                percent=f["percent"],
                rules=[rule(r) for r in f["rules"]],
                never_matched=list(f["never_matched"]),
            )
            for f in d["files"]
        ],
        _text=text,
        _lcov=lcov,
    )


@dataclass(frozen=True, repr=False)
class RunReport(_Record):
    """A run of policy test files: ``ok`` when every case passed and every file could be used;
    one ``SuiteReport`` per test file that ran, one ``FileError`` per file that could not;
    ``coverage`` when asked for."""

    ok: bool
    passed: int
    failed: int
    suites: List[SuiteReport]
    errors: List[FileError]
    coverage: Optional[CoverageReport] = None
    _omit_empty = ("coverage",)

    @property
    def failures(self) -> List[CaseReport]:
        """The cases that failed, in order."""
        return [c for s in self.suites for c in s.cases if not c.passed]

    def __repr__(self) -> str:
        cov = f", coverage={self.coverage.percent}%" if self.coverage is not None else ""
        return f"RunReport(ok={self.ok}, passed={self.passed}, failed={self.failed}, errors={len(self.errors)}{cov})"


def run_tests(paths: Union[PathLike, Iterable[PathLike]] = ".", *, coverage: bool = False) -> RunReport:
    """Runs the policy test files (``*.test.json``) under ``paths`` (files, or directories
    searched recursively), as ``meshgate test`` does, optionally recording coverage. Failing
    cases and unusable files are in the report, not raised; a path that does not exist raises
    ``FileNotFoundError``, and finding no test file at all raises ``ValueError``."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    d, texts = _run_tests([os.fspath(p) for p in paths], coverage=coverage)
    cov = d.get("coverage")
    return RunReport(
        ok=d["ok"],
        passed=d["passed"],
        failed=d["failed"],
        suites=[
            SuiteReport(
                file=s["file"],
                policies=list(s["policies"]),
                cases=[
                    CaseReport(name=c["name"], passed=c["passed"], failures=list(c["failures"]), decision=c["decision"])
                    for c in s["cases"]
                ],
                passed=s["passed"],
                failed=s["failed"],
            )
            for s in d["suites"]
        ],
        errors=[
            FileError(
                file=e["file"],
                message=e["message"],
                diagnostics=[PolicyDiagnostic._from(x) for x in e.get("diagnostics", [])],
            )
            for e in d["errors"]
        ],
        coverage=_coverage(cov, *texts) if cov is not None and texts is not None else None,
    )
