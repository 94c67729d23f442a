"""Istio AuthorizationPolicy import: the policies of a cluster as one meshgate policy.

The same importer as ``meshgate import istio`` (the ``meshgate-istio`` crate; the mapping and its
known differences from Istio are in ``spec/istio.md``)::

    import meshgate

    imported = meshgate.import_istio(pathlib.Path("policies.yaml"))  # or YAML text, or a list
    imported = meshgate.import_istio(text, trust_domain="new-td", trust_domain_aliases=["old-td"])
    imported.warnings                     # [PolicyDiagnostic(code='istio-host-port', ...)]
    engine = meshgate.Engine(imported.policy_set())
    engine.decide({"destination": {"namespace": "foo", "labels": {"app": "httpbin"}}, ...})

Input: YAML with one or more documents, or the ``kind: List`` of ``kubectl get
authorizationpolicies -A -o yaml``; documents of other kinds are skipped with a warning. Any
error (``CUSTOM``, ``provider``, unknown fields, values Istio rejects…) refuses the whole import:
``PolicyError``, whose ``diagnostics`` point into the YAML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Tuple, Union

from ._native import PolicySet, _import_istio
from .tools import PolicyDiagnostic, _Record

__all__ = ["IstioImport", "IstioSource", "import_istio"]

#: One input: YAML text (a ``str``) or the path of a YAML file (an ``os.PathLike``).
IstioSource = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True, repr=False)
class IstioImport(_Record):
    """A successful import: ``policy``, the meshgate policy text (one ``default allow`` and one
    rule per Istio rule, each with a comment naming its source), and ``warnings`` (skipped
    documents, ``hosts`` compared without the port)."""

    policy: str
    warnings: List[PolicyDiagnostic]
    _name: str = field(default="istio.mgp", compare=False)

    def policy_set(self) -> PolicySet:
        """The imported policy, parsed and validated."""
        return PolicySet.from_source(self.policy, name=self._name)

    def __str__(self) -> str:
        return self.policy

    def __repr__(self) -> str:
        lines = self.policy.count("\n")
        return f"IstioImport(policy=<{lines} lines>, warnings={[w.code for w in self.warnings]!r})"


def _sources(sources: Union[IstioSource, Sequence[IstioSource]]) -> List[Tuple[str, str]]:
    """``(name, text)`` pairs: files are read (UTF-8) and named by their path; texts are named
    ``<string>`` (``<string N>``, 1-based, when there are several)."""
    items: Sequence[IstioSource]
    if isinstance(sources, (str, os.PathLike)):
        items = [sources]
    elif isinstance(sources, (list, tuple)):
        items = sources
    else:
        raise TypeError(f"`sources` must be YAML text, a path, or a list of them, not {type(sources).__name__}")
    texts = sum(1 for s in items if isinstance(s, str))
    out: List[Tuple[str, str]] = []
    for i, s in enumerate(items, start=1):
        if isinstance(s, str):
            out.append(("<string>" if texts == 1 else f"<string {i}>", s))
        elif isinstance(s, os.PathLike):
            path = Path(s)
            out.append((str(path), path.read_text(encoding="utf-8")))
        else:
            raise TypeError(f"`sources[{i - 1}]` must be YAML text or a path, not {type(s).__name__}")
    return out


def import_istio(
    sources: Union[IstioSource, Sequence[IstioSource]],
    *,
    root_namespace: str = "istio-system",
    trust_domain: str = "cluster.local",
    trust_domain_aliases: Sequence[str] = (),
) -> IstioImport:
    """Converts Istio ``AuthorizationPolicy`` resources into one meshgate policy that decides as
    Istio does (``spec/istio.md``).

    ``sources`` is YAML text (a ``str``), the path of a YAML file (``pathlib.Path`` or any
    ``os.PathLike``; a plain ``str`` is always text), or a list of them, read in order.
    ``root_namespace`` is Istio's ``meshConfig.rootNamespace``, whose policies apply to every
    namespace. ``trust_domain`` and ``trust_domain_aliases`` are ``meshConfig.trustDomain`` and
    ``meshConfig.trustDomainAliases``: as in Istio, a principal (or ``trustDomains`` value)
    naming a trust domain of that bundle, or ``cluster.local``, matches every trust domain of it
    (``spec/istio.md``, "Trust domains").

    Raises ``PolicyError`` (its ``diagnostics`` point into the YAML) when any resource cannot be
    imported, ``OSError`` when a file cannot be read, ``ValueError`` for a trust domain that is
    empty (an empty ``trust_domain`` means ``cluster.local``) or holds a ``/``, ``TypeError`` for
    other kinds of input.
    """
    if isinstance(trust_domain_aliases, str):
        raise TypeError("`trust_domain_aliases` must be a list of trust domains, not a string")
    pairs = _sources(sources)
    policy, warnings = _import_istio(
        pairs,
        root_namespace=root_namespace,
        trust_domain=trust_domain,
        trust_domain_aliases=list(trust_domain_aliases),
    )
    return IstioImport(policy=policy, warnings=[PolicyDiagnostic._from(w) for w in warnings])
