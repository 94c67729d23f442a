"""meshgate: an embeddable authorization engine for service meshes.

>>> import meshgate
>>> policy = meshgate.PolicySet.from_source('''
...     role reader { permit GET, HEAD on "/api/**" }
...     allow "frontend-reads-payments" {
...       from principal "spiffe://cluster.local/ns/shop/sa/frontend"
...       to   service "payments.prod.svc.cluster.local"
...       grant reader
...     }
... ''', name="payments.mgp")
>>> engine = meshgate.Engine(policy)
>>> engine.decide({
...     "source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"},
...     "destination": {"service": "payments.prod.svc.cluster.local"},
...     "request": {"method": "GET", "path": "/api/balance"},
... })
Decision(allowed=True, reasons=['frontend-reads-payments'])
"""

from ._native import (
    Decision,
    Engine,
    InternalError,
    PolicyError,
    PolicySet,
    Request,
    RequestError,
    __version__,
    check,
    format_source,
    run_test_file,
)
from ._types import PolicyCaseReport, DecisionDict, Diagnostic, DryRun, EvalError, RequestDict, PolicyTestReport
from .istio import IstioImport, import_istio
from .tools import DiffReport, Explanation, LintReport, RunReport, diff, explain, lint, run_tests

__all__ = [
    "Decision",
    "DecisionDict",
    "Diagnostic",
    "DiffReport",
    "DryRun",
    "Engine",
    "EvalError",
    "Explanation",
    "InternalError",
    "IstioImport",
    "LintReport",
    "PolicyError",
    "PolicySet",
    "Request",
    "RequestDict",
    "RequestError",
    "RunReport",
    "__version__",
    "PolicyCaseReport",
    "PolicyTestReport",
    "check",
    "diff",
    "explain",
    "format_source",
    "import_istio",
    "lint",
    "run_test_file",
    "run_tests",
]
