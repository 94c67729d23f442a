"""Errors: policy diagnostics and malformed requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

import meshgate

from conftest import frontend_get

BAD = 'allow "a" { from nmespace "x" }\nallow "a" {}\n'


def test_policy_error_carries_every_diagnostic() -> None:
    with pytest.raises(meshgate.PolicyError) as info:
        meshgate.PolicySet.from_source(BAD, name="bad.mgp")
    err = info.value
    assert isinstance(err, ValueError)
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in err.diagnostics] == [
        ("unknown-matcher", "bad.mgp", 1, 18),
        ("duplicate-id", "bad.mgp", 2, 7),
    ]
    first = err.diagnostics[0]
    assert first["severity"] == "error"
    assert first["message"] == "unknown `from` matcher `nmespace`"
    assert first["help"] == "did you mean `namespace`?"
    assert "nmespace" in first["snippet"] and "bad.mgp:1:18" in first["snippet"]
    assert set(first) == {"severity", "code", "message", "file", "line", "column", "end_line", "end_column", "help", "snippet"}
    # The message shows them all, with snippets.
    message = str(err)
    assert message.startswith("invalid policy: 2 errors")
    assert "bad.mgp:1:18: unknown `from` matcher `nmespace`" in message
    assert "bad.mgp:2:7: rule id `a` is used twice" in message
    assert "did you mean `namespace`?" in message


def test_policy_error_syntax() -> None:
    with pytest.raises(meshgate.PolicyError) as info:
        meshgate.PolicySet.from_source("allow x {", name="s.mgp")
    assert info.value.diagnostics[0]["code"] == "syntax"
    assert str(info.value).startswith("invalid policy: 1 error\n")


def test_policy_error_from_sources_names_each_file() -> None:
    with pytest.raises(meshgate.PolicyError) as info:
        meshgate.PolicySet.from_sources({"ok.mgp": 'allow "a" {}', "bad.mgp": 'allow "a" {}'})
    assert [d["file"] for d in info.value.diagnostics] == ["bad.mgp"]


def _request_error(request: Any) -> meshgate.RequestError:
    with pytest.raises(meshgate.RequestError) as info:
        meshgate.Request(request)
    return info.value


@pytest.mark.parametrize(
    ("request_dict", "field", "text"),
    [
        ({"source": {"namspace": "x"}}, "source.namspace", "unknown field `namspace`"),
        ({"sorce": {}}, "sorce", "unknown field `sorce`"),
        ({"source": {"ip": "10.0.0.300"}}, "source.ip", "invalid IP address"),
        ({"destination": {"port": 80.0}}, "destination.port", "floating point"),
        ({"destination": {"port": 70000}}, "destination.port", "70000"),
        ({"destination": {"port": True}}, "destination.port", "boolean"),
        ({"context": {"risk": 0.5}}, "context.risk", "floating-point value `0.5` is not supported"),
        ({"context": {"risk": None}}, "context.risk", "`null` is not supported"),
        ({"source": {"principal": None}}, "source.principal", "null"),
        ({"request": {"auth": {"claims": {"g": ["a", 1.5]}}}}, "request.auth.claims.g[1]", "floating-point"),
        ({"time": "yesterday"}, "time", ""),
    ],
)
def test_request_errors_match_the_json_reader(request_dict: dict[str, Any], field: str, text: str) -> None:
    err = _request_error(request_dict)
    assert isinstance(err, ValueError)
    assert err.field == field
    assert text in str(err)
    assert str(err).startswith("invalid request: ")
    # The same request as JSON text is refused the same way.
    with pytest.raises(meshgate.RequestError) as info:
        meshgate.Request.from_json(json.dumps(request_dict))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("request_dict", "field", "text"),
    [
        ({"source": {"labels": {1: "x"}}}, "source.labels", "keys must be strings"),
        ({"request": {"auth": {"audiences": ["a", {"b"}]}}}, "request.auth.audiences[1]", "type `set`"),
        ({"context": {"big": 2**70}}, "context.big", "integer out of range"),
        ({"context": {"nan": float("nan")}}, "context.nan", "floating-point value `NaN` is not supported"),
    ],
)
def test_python_only_request_errors(request_dict: dict[str, Any], field: str, text: str) -> None:
    err = _request_error(request_dict)
    assert err.field == field
    assert text in str(err)


def test_request_must_be_a_dict(engine: meshgate.Engine) -> None:
    with pytest.raises(TypeError, match="must be a dict or a meshgate.Request"):
        engine.decide(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.decide(json.dumps(frontend_get()))  # type: ignore[arg-type]


def test_engine_decide_raises_request_error(engine: meshgate.Engine) -> None:
    with pytest.raises(meshgate.RequestError) as info:
        engine.decide({"destination": {"port": "80"}})
    assert info.value.field == "destination.port"
    assert info.value.index is None


def test_decide_many_names_the_bad_request(engine: meshgate.Engine) -> None:
    with pytest.raises(meshgate.RequestError) as info:
        engine.decide_many([frontend_get(), frontend_get(), {"source": {"ip": "nope"}}])
    assert info.value.field == "source.ip"
    assert info.value.index == 2
    assert str(info.value).startswith("invalid request 2: `source.ip`")


def test_invalid_json_text() -> None:
    with pytest.raises(meshgate.RequestError) as info:
        meshgate.Request.from_json('{"source": {"labels": {"a": "1", "a": "2"}}}')
    assert "duplicate key" in str(info.value)
    with pytest.raises(meshgate.RequestError):
        meshgate.Request.from_json("{")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    value: Any = "x"
    for _ in range(200):
        value = [value]
    with pytest.raises(meshgate.RequestError, match="nested too deeply"):
        meshgate.Request({"context": {"deep": value}})
