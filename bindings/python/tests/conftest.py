"""Shared fixtures: the repository root and a small policy."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshgate

ROOT = Path(__file__).resolve().parents[3]
CONFORMANCE = ROOT / "spec" / "conformance"

pytest_plugins = ["pytester"]

POLICY = """
role reader   { permit GET, HEAD on "/api/**" }
role operator { include reader  permit POST on "/api/admin/**" }

allow "frontend-reads-payments" {
  from principal "spiffe://cluster.local/ns/shop/sa/frontend"
  to   service "payments.prod.svc.cluster.local"
  grant reader
}
allow "ops-admin" {
  from namespace "ops"
  grant operator
}
deny "no-legacy" { from namespace "legacy" }
audit "watch-admin" { to path "/api/admin/**" }
dry_run deny "maybe-block-exports" { to path "/api/export/**" }
"""

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
PAYMENTS = "payments.prod.svc.cluster.local"


@pytest.fixture(scope="session")
def policy() -> meshgate.PolicySet:
    return meshgate.PolicySet.from_source(POLICY, name="payments.mgp")


@pytest.fixture(scope="session")
def engine(policy: meshgate.PolicySet) -> meshgate.Engine:
    return meshgate.Engine(policy)


def frontend_get(path: str = "/api/balance") -> dict[str, object]:
    return {
        "source": {"principal": FRONTEND},
        "destination": {"service": PAYMENTS},
        "request": {"method": "GET", "path": path},
    }
