"""Type stubs for the compiled extension ``meshgate._native``."""

from os import PathLike
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union, final

from ._types import DecisionDict, Diagnostic, DryRun, EvalError, PolicyTestReport

__all__ = [
    "Decision",
    "Engine",
    "InternalError",
    "PolicyError",
    "PolicySet",
    "Request",
    "RequestError",
    "__version__",
    "_diff",
    "_explain",
    "_import_istio",
    "_lint",
    "_run_tests",
    "check",
    "format_source",
    "run_test_file",
]
__version__: str

@final
class PolicySet:
    """A validated set of policies: rules and roles from one or more sources."""

    @staticmethod
    def from_source(text: str, name: str = "policy.mgp") -> PolicySet: ...
    @staticmethod
    def from_sources(sources: Union[Mapping[str, str], Iterable[Tuple[str, str]]]) -> PolicySet: ...
    @staticmethod
    def from_files(paths: Iterable[Union[str, PathLike[str]]]) -> PolicySet: ...
    @property
    def rule_ids(self) -> list[str]: ...
    @property
    def role_names(self) -> list[str]: ...
    @property
    def files(self) -> list[str]: ...
    @property
    def warnings(self) -> list[Diagnostic]: ...
    def __len__(self) -> int: ...

@final
class Request:
    """A request read once and reused."""

    def __new__(cls, data: Mapping[str, Any]) -> Request: ...
    @staticmethod
    def from_json(text: str) -> Request: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self) -> str: ...

@final
class Decision:
    """The outcome of one decision."""

    @property
    def allowed(self) -> bool: ...
    @property
    def reasons(self) -> list[str]: ...
    @property
    def audits(self) -> list[str]: ...
    @property
    def dry_run(self) -> list[DryRun]: ...
    @property
    def errors(self) -> list[EvalError]: ...
    def to_dict(self) -> DecisionDict: ...

@final
class Engine:
    """A decision engine compiled from a ``PolicySet``; immutable and thread-safe."""

    def __new__(cls, policy_set: PolicySet) -> Engine: ...
    def decide(self, request: Union[Request, Mapping[str, Any]]) -> Decision: ...
    def decide_many(self, requests: Iterable[Union[Request, Mapping[str, Any]]]) -> list[Decision]: ...
    @property
    def rule_count(self) -> int: ...

class PolicyError(ValueError):
    """Policy text that cannot be loaded; ``diagnostics`` lists every error and warning."""

    diagnostics: list[Diagnostic]

class RequestError(ValueError):
    """A request that cannot be read; ``field`` names the offending field."""

    field: str
    index: Optional[int]

class InternalError(RuntimeError):
    """A bug in meshgate."""

def check(text: str, name: str = "policy.mgp") -> list[Diagnostic]: ...
def run_test_file(path: Union[str, PathLike[str]]) -> PolicyTestReport: ...
def format_source(text: str, name: str = "policy.mgp") -> str: ...

# The authoring tools' raw results (JSON shapes, with decisions as `Decision`s); the typed
# classes built from them are in `meshgate.tools`.
def _explain(policy_set: PolicySet, request: Union[Request, Mapping[str, Any]]) -> tuple[dict[str, Any], str]: ...
def _lint(policy_set: PolicySet, deny_warnings: bool = False) -> dict[str, Any]: ...
def _diff(old: PolicySet, new: PolicySet) -> tuple[dict[str, Any], str]: ...
def _run_tests(
    paths: Sequence[Union[str, PathLike[str]]], coverage: bool = False
) -> tuple[dict[str, Any], Optional[tuple[str, str]]]: ...

# The Istio importer's raw result (the policy text and the warnings); `meshgate.import_istio`
# builds `meshgate.IstioImport` from it.
def _import_istio(
    sources: Sequence[tuple[str, str]],
    root_namespace: str = "istio-system",
    trust_domain: str = "cluster.local",
    trust_domain_aliases: Sequence[str] = ...,
) -> tuple[str, list[Diagnostic]]: ...
