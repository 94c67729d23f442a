"""Fixtures: a backend, the test PKI, and Envoys that are always stopped."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import envoy
from pki import Pki

ROOT = Path(__file__).resolve().parents[3]


class Backend(BaseHTTPRequestHandler):
    """Answers every method 200 and echoes the path it received, so a test can see what Envoy
    forwarded."""

    protocol_version = "HTTP/1.1"

    def answer(self) -> None:
        body = b"backend ok"
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-backend-path", self.path)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        # `do_GET`, `do_PURGE`, …: every method the corpus sends.
        if name.startswith("do_"):
            return self.answer
        raise AttributeError(name)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session", autouse=True)
def _inputs() -> None:
    for name, value in [("MESHGATE_ENVOY_WASM", envoy.WASM)]:
        if not value or not os.path.exists(value):
            pytest.exit(f"set {name} to the built filter (`cargo xtask envoy --e2e` does)", returncode=2)


StartEnvoy = Callable[..., envoy.Envoy]


@pytest.fixture(scope="module")
def start_envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartEnvoy]:
    """`start_envoy(config, name=…)` starts an Envoy that is stopped when the module's tests end,
    whatever happens to them."""
    started: list[envoy.Envoy] = []
    workdir = tmp_path_factory.mktemp("envoy")

    def start(config: dict[str, Any] | str, name: str = "envoy", **kw: Any) -> envoy.Envoy:
        e = envoy.Envoy(workdir, config, name=name)
        started.append(e)
        return e.start(**kw)

    try:
        yield start
    finally:
        for e in started:
            e.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from test_conformance import CASES, SKIPPED
    except ImportError:
        return
    if not SKIPPED:
        return
    reasons: dict[str, int] = {}
    for _, why in SKIPPED:
        reasons[why] = reasons.get(why, 0) + 1
    tr = terminalreporter
    tr.section("conformance cases Envoy cannot express")
    tr.write_line(f"{len(CASES) - len(SKIPPED)} of {len(CASES)} cases ran in Envoy; {len(SKIPPED)} skipped:")
    for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        tr.write_line(f"  {n:3} {why}")
    for case_id, why in SKIPPED:
        tr.write_line(f"  skipped {case_id}: {why}")
