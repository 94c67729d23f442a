"""A configuration update to a broken policy, over file-based LDS.

Envoy builds a new plugin instance for every new filter configuration, so a broken update reaches
a fresh plugin with no policy to keep: by default it fails closed (503). With `reject_invalid`,
the filter reports the configuration as invalid and Envoy rejects the update, so the listener
loaded before keeps deciding (Envoy's own keep-last-good).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

import envoy as E
from conftest import StartEnvoy

GOOD = ['allow "ok" { to path "/ok/**" }']
GOOD_V2 = ['allow "v2" { to path "/v2/**" }']
BROKEN = ['allow "ok" { to path "/ok/**" ']
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"


class Lds:
    """A listener served from a file Envoy watches."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "lds.json"

    def write(self, policy: list[str], **extra: Any) -> None:
        cfg = {"policy": policy, "decision_log": True, **extra}
        listener = E.listener("dynamic", [E.wasm_filter(cfg)])
        listener["@type"] = LISTENER
        tmp = self.dir / "lds.tmp"
        tmp.write_text(json.dumps({"resources": [listener]}))
        # Envoy reloads on a rename into place, never on a half-written file.
        os.replace(tmp, self.path)

    def bootstrap(self, backend: int) -> dict[str, Any]:
        b = E.bootstrap([], backend)
        b["dynamic_resources"] = {"lds_config": {"resource_api_version": "V3", "path_config_source": {"path": str(self.path)}}}
        return b


def wait_attempts(proxy: E.Envoy, attempts: int) -> dict[str, int]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stats = proxy.stats()
        if stats.get("listener_manager.lds.update_attempt", 0) >= attempts:
            return stats
        time.sleep(0.05)
    raise AssertionError(f"envoy did not read the update:\n{proxy.log_tail()}")


def wait_status(proxy: E.Envoy, path: str, status: int) -> E.Response:
    """The listener drains and is replaced asynchronously: wait for the new one to answer."""
    deadline = time.monotonic() + 15
    while True:
        r = proxy.request("dynamic", path)
        if r.status == status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


@pytest.mark.parametrize("reject", [False, True])
def test_broken_update(start_envoy: StartEnvoy, backend: int, tmp_path: Path, reject: bool) -> None:
    lds = Lds(tmp_path)
    extra = {"reject_invalid": True} if reject else {}
    lds.write(GOOD, **extra)
    proxy = start_envoy(lds.bootstrap(backend), name=f"lds-{reject}")
    assert proxy.request("dynamic", "/ok/1").status == 200
    assert proxy.request("dynamic", "/other").status == 403

    lds.write(BROKEN, **extra)
    stats = wait_attempts(proxy, 2)
    if reject:
        assert stats["listener_manager.lds.update_rejected"] == 1
        proxy.wait_log(r"lds: listener 'dynamic' config rejected")
        assert any("the configuration is rejected (reject_invalid)" in m for m in proxy.wasm_logs("error"))
        # The listener loaded before keeps deciding.
        assert proxy.request("dynamic", "/ok/1").status == 200
        assert proxy.request("dynamic", "/other").status == 403
        # A good update after a rejected one applies.
        lds.write(GOOD_V2, **extra)
        wait_attempts(proxy, 3)
        assert wait_status(proxy, "/v2/x", 200).status == 200
        assert proxy.request("dynamic", "/ok/1").status == 403
    else:
        assert stats["listener_manager.lds.update_rejected"] == 0
        r = wait_status(proxy, "/ok/1", 503)
        assert (r.status, r.body) == (503, "meshgate: the authorization policy is not loaded\n")


def test_reject_invalid_at_startup_stops_a_static_envoy(start_envoy: StartEnvoy, backend: int) -> None:
    cfg = {"policy": BROKEN, "reject_invalid": True}
    proxy = start_envoy(E.bootstrap([E.listener("static", [E.wasm_filter(cfg)])], backend), name="static-reject", expect_exit=True)
    assert proxy.proc is not None and proxy.proc.wait(timeout=10) != 0
    assert any("Unable to create Wasm plugin meshgate" in line for line in proxy.log_lines())
