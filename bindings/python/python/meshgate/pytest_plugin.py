"""A pytest plugin that runs policy tests (registered as the ``pytest11`` entry point ``meshgate``).

With meshgate installed, ``pytest`` in a policy repository collects:

- every ``cases.json`` that sits beside ``*.mgp`` files: the ``*.mgp`` files of that folder are
  loaded as one policy set (sorted by file name, each named by its file name), and each case
  ``{"name", "request", "expect"}`` becomes a test that compares the whole decision;
- every ``*.mgp`` file whose first comment lines hold ``# expect-error: CODE LINE:COLUMN TEXT``:
  a policy that must be rejected with exactly those errors, in order;
- every ``*.test.json`` file, the policy test format of ``meshgate test`` (the CLI): each case
  becomes a test, run by the same code as the CLI's, so both report the same differences.

Failures show what differs. Disable collection with ``meshgate_collect = false`` in the pytest
configuration, or the whole plugin with ``-p no:meshgate``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import pytest

from ._native import Engine, PolicyError, RequestError, run_test_file
from ._types import PolicyCaseReport, PolicyTestReport
from .testing import Case, check_invalid_policy, compare_decision, load_cases, load_policy_dir, parse_expected_errors


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "meshgate_collect",
        type="bool",
        default=True,
        help="collect meshgate policy tests (cases.json beside *.mgp, and *.mgp with # expect-error: lines)",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    if not parent.config.getini("meshgate_collect"):
        return None
    if file_path.name == "cases.json" and any(file_path.parent.glob("*.mgp")):
        return CasesFile.from_parent(parent, path=file_path)
    if file_path.name.endswith(".test.json"):
        return PolicyTestFile.from_parent(parent, path=file_path)
    if file_path.suffix == ".mgp" and _is_invalid_policy(file_path):
        return InvalidPolicyFile.from_parent(parent, path=file_path)
    return None


def _is_invalid_policy(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return False
    return bool(parse_expected_errors(head))


class PolicyTestFailure(Exception):
    """A policy test that did not hold; its message is shown as the failure."""


class CasesFile(pytest.File):
    """A ``cases.json`` file and the policies beside it."""

    def collect(self) -> Iterator[Union[pytest.Item, pytest.Collector]]:
        cases = load_cases(self.path)
        engine: Optional[Engine] = None
        load_error: Optional[str] = None
        try:
            engine = Engine(load_policy_dir(self.path.parent))
        except PolicyError as e:
            load_error = f"the policies in `{self.path.parent}` do not load:\n{e}"
        seen: dict[str, int] = {}
        for case in cases:
            name = case.name
            if name in seen:
                seen[name] += 1
                name = f"{name} ({seen[name]})"
            else:
                seen[name] = 1
            yield CaseItem.from_parent(self, name=name, case=case, engine=engine, load_error=load_error)


class CaseItem(pytest.Item):
    """One case: a request and the decision expected for it."""

    def __init__(
        self,
        *,
        case: Case,
        engine: Optional[Engine],
        load_error: Optional[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.engine = engine
        self.load_error = load_error

    def runtest(self) -> None:
        if self.engine is None:
            raise PolicyTestFailure(self.load_error or "the policies did not load")
        try:
            decision = self.engine.decide(self.case.request)
        except RequestError as e:
            raise PolicyTestFailure(f"the case's request is invalid: {e}") from e
        problem = compare_decision(decision, self.case.expect)
        if problem is not None:
            raise PolicyTestFailure(f"case `{self.case.name}`: {problem}")

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return self.path, None, f"meshgate case: {self.case.name}"


class InvalidPolicyFile(pytest.File):
    """A policy that must be rejected with the errors its header lists."""

    def collect(self) -> Iterator[Union[pytest.Item, pytest.Collector]]:
        yield InvalidPolicyItem.from_parent(self, name="rejected")


class InvalidPolicyItem(pytest.Item):
    """Loads the policy and compares its errors with the ``# expect-error:`` lines."""

    def runtest(self) -> None:
        problem = check_invalid_policy(self.path)
        if problem is not None:
            raise PolicyTestFailure(f"`{self.path.name}`: {problem}")

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return self.path, None, f"meshgate invalid policy: {self.path.name}"


class PolicyTestFile(pytest.File):
    """A policy test file of the CLI's format (``*.test.json``)."""

    def collect(self) -> Iterator[Union[pytest.Item, pytest.Collector]]:
        report: Optional[PolicyTestReport] = None
        load_error: Optional[str] = None
        try:
            report = run_test_file(self.path)
        except PolicyError as e:
            load_error = f"the policies of `{self.path.name}` do not load:\n{e}"
        except ValueError as e:
            raise pytest.Collector.CollectError(str(e)) from e
        if report is not None:
            for case in report["cases"]:
                yield PolicyTestItem.from_parent(self, name=case["name"], report=case, load_error=None)
            return
        # The policies did not load: every case fails with the reason.
        data = json.loads(self.path.read_text(encoding="utf-8"))
        for raw in data.get("cases", []):
            yield PolicyTestItem.from_parent(self, name=str(raw.get("name")), report=None, load_error=load_error)


class PolicyTestItem(pytest.Item):
    """One case of a ``*.test.json`` file (already decided when the file was collected)."""

    def __init__(self, *, report: Optional[PolicyCaseReport], load_error: Optional[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.load_error = load_error

    def runtest(self) -> None:
        if self.report is None:
            raise PolicyTestFailure(self.load_error or "the policies did not load")
        if not self.report["passed"]:
            lines = "\n".join(f"  {f}" for f in self.report["failures"])
            raise PolicyTestFailure(f"case `{self.name}`:\n{lines}\n  decision: {json.dumps(self.report['decision'])}")

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return self.path, None, f"meshgate test: {self.name}"
