"""A configuration update to a broken policy, over file-based LDS and ECDS (how Istio delivers a
`WasmPlugin`).

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
EXTENSION = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"


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


class Ecds:
    """The filter's configuration served from a file Envoy watches, on a static listener."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "ecds.json"

    def write(self, policy: list[str], **extra: Any) -> None:
        cfg = {"policy": policy, "decision_log": True, **extra}
        resource = {"@type": EXTENSION, "name": "meshgate", "typed_config": E.wasm_filter(cfg)["typed_config"]}
        tmp = self.dir / "ecds.tmp"
        tmp.write_text(json.dumps({"resources": [resource]}))
        os.replace(tmp, self.path)

    def bootstrap(self, backend: int) -> dict[str, Any]:
        discovered = {
            "name": "meshgate",
            "config_discovery": {
                "config_source": {"resource_api_version": "V3", "path_config_source": {"path": str(self.path)}},
                "type_urls": [E.WASM_FILTER],
            },
        }
        return E.bootstrap([E.listener("ecds", [discovered])], backend)


def wait_ecds(proxy: E.Envoy, key: str, count: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proxy.stats().get(f"extension_config_discovery.http_filter.meshgate.{key}", 0) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no ECDS `{key}` {count}: {[k for k in proxy.stats() if 'discovery' in k]}\n{proxy.log_tail()}")


@pytest.mark.parametrize("reject", [False, True])
def test_broken_ecds_update(start_envoy: StartEnvoy, backend: int, tmp_path: Path, reject: bool) -> None:
    ecds = Ecds(tmp_path)
    extra = {"reject_invalid": True} if reject else {}
    ecds.write(GOOD, **extra)
    proxy = start_envoy(ecds.bootstrap(backend), name=f"ecds-{reject}")
    assert proxy.request("ecds", "/ok/1").status == 200
    assert proxy.request("ecds", "/other").status == 403

    ecds.write(BROKEN, **extra)
    if reject:
        wait_ecds(proxy, "config_fail", 1)
        assert any("the configuration is rejected (reject_invalid)" in m for m in proxy.wasm_logs("error"))
        # The filter configuration loaded before keeps deciding.
        assert proxy.request("ecds", "/ok/1").status == 200
        assert proxy.request("ecds", "/other").status == 403
    else:
        wait_ecds(proxy, "config_reload", 2)
        r = proxy.request("ecds", "/ok/1")
        assert (r.status, r.body) == (503, "meshgate: the authorization policy is not loaded\n")

