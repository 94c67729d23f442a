"""The dict shapes meshgate returns, as ``TypedDict``s for type checkers."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

__all__ = ["PolicyCaseReport", "DecisionDict", "Diagnostic", "DryRun", "EvalError", "RequestDict", "PolicyTestReport"]

#: A request in its JSON shape: ``{"source": {...}, "destination": {...}, "request": {...},
#: "connection": {...}, "time": "RFC 3339", "context": {...}}``.
RequestDict = Dict[str, Any]


class Diagnostic(TypedDict):
    """One error or warning pointing into policy text."""

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


class DryRun(TypedDict):
    """A dry-run rule that matched, with what it would have done."""

    rule: str
    effect: Literal["allow", "deny", "audit"]


class EvalError(TypedDict):
    """A rule that could not be evaluated for a request."""

    rule: str
    message: str


class DecisionDict(TypedDict):
    """A decision in its JSON shape."""

    allowed: bool
    reasons: List[str]
    audits: List[str]
    dry_run: List[DryRun]
    errors: List[EvalError]


class PolicyCaseReport(TypedDict):
    """The result of one case of a policy test file."""

    name: str
    passed: bool
    failures: List[str]
    decision: DecisionDict


class PolicyTestReport(TypedDict):
    """The results of one policy test file (``*.test.json``)."""

    file: str
    policies: List[str]
    cases: List[PolicyCaseReport]
    passed: int
    failed: int
