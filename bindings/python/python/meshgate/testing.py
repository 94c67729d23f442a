"""Helpers for policy unit tests.

Plain assertions for any test runner::

    from meshgate.testing import assert_allowed, assert_denied

    def test_frontend_reads_payments(engine):
        assert_allowed(engine, {"source": {...}, "request": {...}}, by="frontend-reads-payments")

    def test_no_writes(engine):
        assert_denied(engine, {"source": {...}, "request": {"method": "POST"}})

and the readers of the conformance format (``cases.json`` beside ``*.mgp`` files, and invalid
policies headed by ``# expect-error:`` comments) that the pytest plugin and the project's own
conformance runner share.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._native import Decision, Engine, PolicyError, PolicySet, Request
from ._types import DecisionDict, Diagnostic

__all__ = [
    "Case",
    "ExpectedError",
    "assert_allowed",
    "assert_decision",
    "assert_denied",
    "check_invalid_policy",
    "compare_decision",
    "expected_decision",
    "load_cases",
    "load_policy_dir",
    "parse_expected_errors",
]

RequestLike = Union[Request, Mapping[str, Any]]
PathLike = Union[str, "os.PathLike[str]"]


def _show_request(request: RequestLike) -> str:
    if isinstance(request, Request):
        return request.to_json()
    try:
        return json.dumps(request, sort_keys=False)
    except (TypeError, ValueError):
        return repr(request)


def _ids(by: Union[str, Iterable[str], None]) -> List[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def assert_allowed(engine: Engine, request: RequestLike, by: Union[str, Iterable[str], None] = None) -> Decision:
    """Asserts that ``request`` is allowed and, when ``by`` is given, that each of the rule ids
    in ``by`` is among the allow rules that matched. Returns the decision."""
    __tracebackhide__ = True
    decision = engine.decide(request)
    wanted = _ids(by)
    missing = [r for r in wanted if r not in decision.reasons]
    if not decision.allowed or missing:
        expected = "allowed" + (f" by {', '.join(f'`{r}`' for r in wanted)}" if wanted else "")
        raise AssertionError(
            f"expected the request to be {expected}, but it was {_describe(decision)}\n"
            f"  decision: {decision!r}\n  request:  {_show_request(request)}"
        )
    return decision


def assert_denied(
    engine: Engine,
    request: RequestLike,
    by: Optional[str] = None,
    *,
    default: Optional[bool] = None,
) -> Decision:
    """Asserts that ``request`` is denied. With ``by``, the deny rule ``by`` must be the one that
    decided; with ``default=True``, no rule may have matched (the default deny); with
    ``default=False``, some deny rule (or an evaluation error) must have decided. Returns the
    decision."""
    __tracebackhide__ = True
    decision = engine.decide(request)
    problem = None
    if decision.allowed:
        problem = "expected the request to be denied"
    elif by is not None and decision.reasons != [by]:
        problem = f"expected the request to be denied by `{by}`"
    elif default is True and (decision.reasons or decision.errors):
        problem = "expected the request to fall to the default deny"
    elif default is False and not (decision.reasons or decision.errors):
        problem = "expected a rule to deny the request"
    if problem is not None:
        raise AssertionError(
            f"{problem}, but it was {_describe(decision)}\n"
            f"  decision: {decision!r}\n  request:  {_show_request(request)}"
        )
    return decision


def _describe(decision: Decision) -> str:
    if decision.allowed:
        return "allowed by " + ", ".join(f"`{r}`" for r in decision.reasons)
    if decision.reasons:
        return f"denied by `{decision.reasons[0]}`"
    if decision.errors:
        return "denied by an evaluation error in " + ", ".join(f"`{e['rule']}`" for e in decision.errors)
    return "denied by default (no rule matched)"


def expected_decision(expect: Mapping[str, Any]) -> DecisionDict:
    """The full decision an ``expect`` object of the conformance format describes: missing
    ``reasons``, ``audits``, ``dry_run`` and ``errors`` mean empty lists."""
    unknown = set(expect) - {"allowed", "reasons", "audits", "dry_run", "errors"}
    if unknown:
        raise ValueError(f"unknown field(s) in `expect`: {', '.join(sorted(unknown))}")
    if not isinstance(expect.get("allowed"), bool):
        raise ValueError("`expect.allowed` must be true or false")
    return {
        "allowed": expect["allowed"],
        "reasons": list(expect.get("reasons", [])),
        "audits": list(expect.get("audits", [])),
        "dry_run": list(expect.get("dry_run", [])),
        "errors": list(expect.get("errors", [])),
    }


def compare_decision(actual: Decision, expect: Mapping[str, Any]) -> Optional[str]:
    """``None`` when ``actual`` is the decision ``expect`` describes, else a readable account of
    the differences, field by field."""
    want: Dict[str, Any] = dict(expected_decision(expect))
    got: Dict[str, Any] = dict(actual.to_dict())
    lines = []
    for key in ("allowed", "reasons", "audits", "dry_run", "errors"):
        if got[key] != want[key]:
            lines.append(f"  {key}: expected {json.dumps(want[key])}, got {json.dumps(got[key])}")
    if not lines:
        return None
    return "decision differs:\n" + "\n".join(lines)


def assert_decision(engine: Engine, request: RequestLike, expect: Mapping[str, Any]) -> Decision:
    """Asserts that the whole decision is the one ``expect`` (conformance format) describes."""
    __tracebackhide__ = True
    decision = engine.decide(request)
    problem = compare_decision(decision, expect)
    if problem is not None:
        raise AssertionError(f"{problem}\n  request: {_show_request(request)}")
    return decision


@dataclass
class Case:
    """One case of a ``cases.json`` file."""

    name: str
    request: Mapping[str, Any]
    expect: Mapping[str, Any]


def load_policy_dir(directory: PathLike) -> PolicySet:
    """Loads every ``*.mgp`` file in ``directory`` as one policy set, in sorted file-name order,
    each named by its file name (as the conformance format prescribes)."""
    files = sorted(p for p in Path(directory).iterdir() if p.suffix == ".mgp" and p.is_file())
    return PolicySet.from_sources([(p.name, p.read_text(encoding="utf-8")) for p in files])


def load_cases(path: PathLike) -> List[Case]:
    """Reads a ``cases.json`` file: a list of ``{"name", "request", "expect"}`` objects."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"`{path}` must hold a JSON list of cases")
    cases = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"`{path}`: case {i} is not an object")
        unknown = set(item) - {"name", "request", "expect", "description", "comment"}
        if unknown:
            raise ValueError(f"`{path}`: case {i} has unknown field(s): {', '.join(sorted(unknown))}")
        for key in ("name", "request", "expect"):
            if key not in item:
                raise ValueError(f"`{path}`: case {i} has no `{key}`")
        cases.append(Case(name=str(item["name"]), request=item["request"], expect=item["expect"]))
    return cases


_EXPECT = re.compile(r"^#\s*expect-error:\s*(\S+)\s+(\d+):(\d+)\s*(.*?)\s*$")


@dataclass
class ExpectedError:
    """One ``# expect-error: CODE LINE:COLUMN MESSAGE-SUBSTRING`` header line."""

    code: str
    line: int
    column: int
    message: str = field(default="")

    def __str__(self) -> str:
        return f"{self.code} {self.line}:{self.column} {self.message}".rstrip()


def parse_expected_errors(text: str) -> List[ExpectedError]:
    """The ``# expect-error:`` lines at the head of an invalid policy (the comment lines before
    the first line that is not a comment)."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        m = _EXPECT.match(stripped)
        if m:
            out.append(ExpectedError(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def _show_diagnostic(d: Diagnostic) -> str:
    return f"{d['code']} {d['line']}:{d['column']} {d['message']}"


def check_invalid_policy(path: PathLike) -> Optional[str]:
    """Loads an invalid policy file (named by its base name) and checks its ``# expect-error:``
    lines against the errors the core reports, in order; every error must be listed. Returns
    ``None`` when they agree, else what differs."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    expected = parse_expected_errors(text)
    if not expected:
        return f"`{p.name}` has no `# expect-error:` lines"
    try:
        PolicySet.from_source(text, name=p.name)
    except PolicyError as e:
        errors: Sequence[Diagnostic] = [d for d in e.diagnostics if d["severity"] == "error"]
    else:
        return "the policy loaded, but errors were expected:\n" + "\n".join(f"  {x}" for x in expected)
    problems = []
    for i in range(max(len(expected), len(errors))):
        want = expected[i] if i < len(expected) else None
        got = errors[i] if i < len(errors) else None
        if want is None and got is not None:
            problems.append(f"  unexpected error: {_show_diagnostic(got)}")
        elif got is None and want is not None:
            problems.append(f"  missing error:    {want}")
        elif want is not None and got is not None:
            if (
                got["code"] != want.code
                or got["line"] != want.line
                or got["column"] != want.column
                or want.message not in got["message"]
            ):
                problems.append(f"  expected: {want}\n  got:      {_show_diagnostic(got)}")
    if not problems:
        return None
    return "errors differ:\n" + "\n".join(problems)
