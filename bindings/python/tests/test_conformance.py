"""The whole conformance corpus (spec/conformance) through the Python package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshgate
from meshgate.testing import check_invalid_policy, compare_decision, load_cases, load_policy_dir

from conftest import CONFORMANCE

CASE_FILES = sorted((CONFORMANCE / "cases").glob("*/cases.json"))
INVALID = sorted((CONFORMANCE / "invalid").glob("*.mgp"))


def _case_params() -> list[object]:
    params: list[object] = []
    for cases_json in CASE_FILES:
        for i, case in enumerate(load_cases(cases_json)):
            params.append(pytest.param(cases_json, i, id=f"{cases_json.parent.name}/{case.name}"))
    return params


_engines: dict[Path, meshgate.Engine] = {}


def _engine(directory: Path) -> meshgate.Engine:
    if directory not in _engines:
        _engines[directory] = meshgate.Engine(load_policy_dir(directory))
    return _engines[directory]


def test_corpus_is_present() -> None:
    assert CASE_FILES, f"no cases under {CONFORMANCE / 'cases'}"


@pytest.mark.parametrize(("cases_json", "index"), _case_params())
def test_case(cases_json: Path, index: int) -> None:
    case = load_cases(cases_json)[index]
    engine = _engine(cases_json.parent)
    problem = compare_decision(engine.decide(case.request), case.expect)
    assert problem is None, problem
    # A dict is read as its JSON text is; a reused Request and decide_many decide the same.
    request = meshgate.Request(case.request)
    assert request == meshgate.Request.from_json(json.dumps(case.request))
    assert compare_decision(engine.decide(request), case.expect) is None
    assert engine.decide_many([request, case.request]) == [engine.decide(request)] * 2


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid(path: Path) -> None:
    problem = check_invalid_policy(path)
    assert problem is None, problem
