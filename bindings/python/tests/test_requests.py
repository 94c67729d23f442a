"""The request corpus (spec/conformance/requests) through the Python package.

Every input is read as JSON text (`Request.from_json`) and, when the case gives it as a JSON
value (`request`), as a dict (`Request(dict)`, the fast path that feeds the core's request
builder, or the JSON route); both must give the recorded request or error, field and message.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

import meshgate

from conftest import CONFORMANCE

CASES: List[Dict[str, Any]] = json.loads(
    (CONFORMANCE / "requests" / "requests.json").read_text(encoding="utf-8")
)
PREFIX = "invalid request: "


def _outcome(read: Any, arg: Any) -> Dict[str, Any]:
    try:
        request = read(arg)
    except meshgate.RequestError as e:
        message = str(e)
        assert message.startswith(PREFIX), message
        return {"error": {"field": e.field, "message": message[len(PREFIX):]}}
    return {"request": json.loads(request.to_json())}


def test_corpus_is_present() -> None:
    assert len(CASES) > 50


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_request(case: Dict[str, Any]) -> None:
    text = case["json"] if "json" in case else json.dumps(case["request"])
    assert _outcome(meshgate.Request.from_json, text) == case["expect"]
    if "request" in case:
        assert _outcome(meshgate.Request, case["request"]) == case["expect"]
