"""Starting Envoy 1.40 with the meshgate filter, and talking to it.

Every Envoy runs as a child of the test process: started by `Envoy.start`, killed by
`Envoy.stop`, which the fixtures call on every exit path (an Envoy left behind would hold ports
and CPU after the run).
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVOY = os.environ.get("MESHGATE_ENVOY_BIN", "envoy")
WASM = os.environ.get("MESHGATE_ENVOY_WASM", "")

def die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGKILL when the test process dies, so
    that not even a killed test run leaves an Envoy behind (fixtures stop it on every other exit)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
WASM_FILTER = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
TLS_INSPECTOR = {
    "name": "envoy.filters.listener.tls_inspector",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"},
}
STRING_VALUE = "type.googleapis.com/google.protobuf.StringValue"

# A wasm log line as Envoy 1.40 writes it:
# `[…][info][wasm] [source/extensions/common/wasm/context.cc:…] wasm log meshgate meshgate: {…}`.
WASM_LOG = re.compile(r"\]\[(\w+)\]\[wasm\] \[[^\]]*\] wasm log ([^:]*): (.*)$")


def wasm_filter(
    configuration: dict[str, Any] | str,
    name: str = "meshgate",
    vm_id: str = "meshgate",
    fail_open: bool = False,
) -> dict[str, Any]:
    """The `envoy.filters.http.wasm` entry running the filter with `configuration`."""
    value = configuration if isinstance(configuration, str) else json.dumps(configuration)
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": WASM_FILTER,
            "config": {
                "name": name,
                "root_id": "meshgate",
                "fail_open": fail_open,
                "vm_config": {
                    "vm_id": vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": WASM}},
                },
                "configuration": {"@type": STRING_VALUE, "value": value},
            },
        },
    }


def router() -> dict[str, Any]:
    return {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}


def listener(
    name: str,
    http_filters: list[dict[str, Any]],
    port: int = 0,
    address: str = "127.0.0.1",
    tls: dict[str, Any] | None = None,
    routes: list[dict[str, Any]] | None = None,
    hcm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A listener with an HTTP connection manager in front of the `backend` cluster."""
    manager: dict[str, Any] = {
        "@type": HCM,
        "stat_prefix": name,
        "route_config": {
            "name": name,
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": routes or [{"match": {"prefix": "/"}, "route": {"cluster": "backend"}}],
                }
            ],
        },
        "http_filters": http_filters + [router()],
    }
    manager.update(hcm or {})
    chain: dict[str, Any] = {
        "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]
    }
    if tls is not None:
        chain["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": tls}
    return {
        "name": name,
        "address": {"socket_address": {"address": address, "port_value": port}},
        "filter_chains": [chain],
    }


def cluster(name: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}
            ],
        },
    }


def bootstrap(
    listeners: list[dict[str, Any]],
    backend_port: int,
    node_metadata: dict[str, Any] | None = None,
    clusters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "node": {"id": "e2e", "cluster": "e2e", "metadata": node_metadata or {}},
        "static_resources": {
            "listeners": listeners,
            "clusters": [cluster("backend", backend_port)] + (clusters or []),
        },
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
    }


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Envoy:
    """One Envoy process. `config` is a bootstrap (a dict, or YAML text written as is)."""

    workdir: Path
    config: dict[str, Any] | str
    name: str = "envoy"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    admin: str = ""

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 60.0, expect_exit: bool = False) -> Envoy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if isinstance(self.config, str):
            config_path = self.workdir / f"{self.name}.yaml"
            config_path.write_text(self.config)
        else:
            config_path = self.workdir / f"{self.name}.json"
            config_path.write_text(json.dumps(self.config, indent=1))
        admin_path = self.workdir / f"{self.name}.admin"
        admin_path.unlink(missing_ok=True)
        self.log_path.unlink(missing_ok=True)
        cmd = [
            ENVOY,
            "-c", str(config_path),
            "--concurrency", "1",
            # Several Envoys run at once; none of them hot-restarts.
            "--disable-hot-restart",
            "--log-path", str(self.log_path),
            "--log-level", "info",
            # The log file is flushed every 10 s by default; the tests read it as they go.
            "--file-flush-interval-msec", "20",
            "--admin-address-path", str(admin_path),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if expect_exit:
                    return self
                raise RuntimeError(f"envoy `{self.name}` exited with {self.proc.returncode}:\n{self.log_tail()}")
            if admin_path.exists() and admin_path.read_text().strip():
                self.admin = admin_path.read_text().strip()
                try:
                    if self.admin_get("/ready")[0] == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"envoy `{self.name}` not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def wasm_logs(self, level: str | None = None) -> list[str]:
        """The messages the filter logged, in order (`level`: only those of that level)."""
        out = []
        for line in self.log_lines():
            m = WASM_LOG.search(line)
            if m and (level is None or m.group(1) == level):
                out.append(m.group(3))
        return out

    def decisions(self) -> list[dict[str, Any]]:
        """The decision-log lines, parsed."""
        return [json.loads(m) for m in self.wasm_logs("info") if m.startswith("{")]

    def wait_decisions(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Waits until at least `count` decision lines are in the log (Envoy writes it
        asynchronously) and returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.decisions()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.log_lines():
                if rx.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no log line matches `{pattern}`:\n{self.log_tail()}")

    def admin_get(self, path: str) -> tuple[int, str]:
        host, port = self.admin.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def stats(self) -> dict[str, int]:
        """Counters and gauges from `/stats` (`name: value` lines)."""
        out = {}
        for line in self.admin_get("/stats")[1].splitlines():
            name, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def port(self, listener_name: str) -> int:
        """The port a listener bound (listeners ask for port 0)."""
        status, body = self.admin_get("/listeners?format=json")
        for entry in json.loads(body).get("listener_statuses", []):
            if entry.get("name") == listener_name:
                return int(entry["local_address"]["socket_address"]["port_value"])
        raise KeyError(f"no listener `{listener_name}`: {body}")

    def request(self, listener_name: str, path: str = "/", **kw: Any) -> Response:
        return request(self.port(listener_name), path, **kw)


def request(
    port: int,
    path: str = "/",
    method: str = "GET",
    headers: list[tuple[str, str]] | dict[str, str] | None = None,
    host: str = "e2e.test",
    tls: ssl.SSLContext | None = None,
    sni: str | None = None,
    address: str = "127.0.0.1",
) -> Response:
    """One HTTP/1.1 request with the path sent exactly as given (no client-side normalization).
    An `address` starting with NUL is an abstract Unix socket."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if address.startswith("\0"):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.settimeout(10)
        raw.connect(address)
    else:
        raw = socket.create_connection((address, port), timeout=10)
    conn.sock = raw if tls is None else tls.wrap_socket(raw, server_hostname=sni)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        for k, v in items:
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        conn.close()
