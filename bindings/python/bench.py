"""meshgate vs cedarpy vs pycasbin on the `mesh` workload, in one process and one run.

    cargo xtask python --bench          # builds meshgate, installs cedarpy and casbin, runs this
    python bench.py [--sizes 1000,10000] [--quick]

The workload has the shape of `benches/` (`benches/src/workload.rs`, `mesh`): distinct SPIFFE
principals over 100 namespaces and 200 services; each rule allows one principal, in its
namespace, to GET a path prefix on one service; 5% deny rules carve `…/admin/` out of an earlier
rule's prefix; 10% of the allow rules carry a label or an hour-of-day condition. It is generated
here with Python's `random` from a fixed seed (the same shape, not the same rules as the Rust
generator's ChaCha8 stream). The translations are those of `benches/README.md`:

- meshgate: one `allow`/`deny` rule per rule, `path "P/**"`, `when source.labels["team"] ==
  "tN"` / `when time.hour in A..B`.
- Cedar (cedarpy): one `permit`/`forbid` per rule on `Workload`/`Action`/`Service` entities,
  `context.path like "P/*"`, the hour test on a `datetime` context value; measured with the
  policy set and entities pre-parsed (`cedarpy.PolicySet`, `cedarpy.Entities`) and, for
  reference, as plain text parsed on every call.
- casbin (pycasbin): `r = sub, dom, svc, obj, act, attrs`, `keyMatch(r.obj, p.obj)`, conditions
  through `eval(p.cond)` on `r.attrs`.

Before timing, every engine must decide the benchmark requests (`last`: matches the last rule,
allowed; `none`: no rule covers the path; `deny`: hit by the last deny rule) and a spread of
probe requests exactly as the workload's model does; any disagreement stops the run.

Figures are per-call medians over batches (each batch lasting about 2 ms, or one call for
anything slower), with p99 over batches, printed with the ratio to meshgate's.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import meshgate

SEED = 0x6D65736867617465  # "meshgate"
TRUST_DOMAIN = "cluster.local"
BASE_TIME = "2026-03-27T12:30:00Z"


def spiffe(ns: str, sa: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}"


def time_at(hour: int) -> str:
    return f"2026-03-27T{hour:02}:30:00Z"


@dataclass
class Rule:
    id: str
    deny: bool
    principal: str
    namespace: str
    service: str
    prefix: str  # ends with "/"
    cond: Optional[Tuple[str, Any, Any]] = None  # ("label", key, value) | ("hours", from, to)


@dataclass
class Req:
    principal: str
    namespace: str
    service: str
    method: str
    path: str
    labels: Dict[str, str] = field(default_factory=lambda: {"app": "web"})
    time: Optional[str] = BASE_TIME

    def hour(self) -> Optional[int]:
        return int(self.time[11:13]) if self.time else None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "source": {"principal": self.principal, "namespace": self.namespace, "labels": dict(self.labels)},
            "destination": {"service": self.service},
            "request": {"method": self.method, "path": self.path},
        }
        if self.time is not None:
            out["time"] = self.time
        return out


def generate(n: int) -> List[Rule]:
    rng = random.Random(SEED ^ n)
    deny_at = [0 < i < n - 1 and rng.random() < 0.05 for i in range(n)]
    if not any(deny_at):
        deny_at[n - 2] = True
    rules: List[Rule] = []
    for i, is_deny in enumerate(deny_at):
        allows = [r for r in rules if not r.deny]
        if is_deny and allows:
            base = rng.choice(allows)
            rules.append(Rule(f"mesh-deny-{i}", True, base.principal, base.namespace, base.service, base.prefix + "admin/"))
            continue
        ns = f"ns{rng.randrange(100)}"
        svc = rng.randrange(200)
        cond: Optional[Tuple[str, Any, Any]] = None
        if rng.random() < 0.10:
            if rng.random() < 0.5:
                cond = ("label", "team", f"t{rng.randrange(20)}")
            else:
                start = rng.randrange(12)
                cond = ("hours", start, start + 1 + rng.randrange(11))
        rules.append(
            Rule(
                f"mesh-{i}",
                False,
                spiffe(ns, f"sa{i}"),
                ns,
                f"svc{svc}.ns{svc % 100}.svc.cluster.local",
                f"/svc{svc}/p{i}/",
                cond,
            )
        )
    return rules


def rule_matches(rule: Rule, req: Req) -> bool:
    if (rule.principal, rule.namespace, rule.service) != (req.principal, req.namespace, req.service):
        return False
    if req.method != "GET" or not req.path.startswith(rule.prefix):
        return False
    if rule.cond is None:
        return True
    if rule.cond[0] == "label":
        return req.labels.get(rule.cond[1]) == rule.cond[2]
    h = req.hour()
    return h is not None and rule.cond[1] <= h <= rule.cond[2]


def model_decide(rules: List[Rule], req: Req) -> bool:
    allowed = False
    for r in rules:
        if rule_matches(r, req):
            if r.deny:
                return False
            allowed = True
    return allowed


def request_for(rule: Rule, tail: str) -> Req:
    req = Req(rule.principal, rule.namespace, rule.service, "GET", rule.prefix + tail)
    if rule.cond is not None:
        if rule.cond[0] == "label":
            req.labels[rule.cond[1]] = rule.cond[2]
        else:
            req.time = time_at(rule.cond[1])
    return req


def bench_requests(rules: List[Rule]) -> List[Tuple[str, Req, bool]]:
    last = request_for(rules[-1], "items/42")
    none = request_for(rules[-1], "items/42")
    none.path = "/nomatch/mesh/items/42"
    deny_rule = next(r for r in reversed(rules) if r.deny)
    deny = request_for(deny_rule, "x")
    for r in rules:
        if not r.deny and r.principal == deny_rule.principal and deny.path.startswith(r.prefix):
            base = request_for(r, "")
            deny.labels, deny.time = base.labels, base.time
            break
    out = [("last", last, model_decide(rules, last)), ("none", none, model_decide(rules, none)), ("deny", deny, model_decide(rules, deny))]
    assert [a for _, _, a in out] == [True, False, False], "the generated workload lacks its benchmark requests"
    return out


def probe_requests(rules: List[Rule], count: int = 60) -> List[Req]:
    out = []
    for rule in rules[:: max(1, len(rules) // count)]:
        req = request_for(rule, "a/b")
        post = request_for(rule, "a/b")
        post.method = "POST"
        stranger = request_for(rule, "a/b")
        stranger.principal = spiffe(req.namespace, "stranger")
        parent = request_for(rule, "")
        parent.path = rule.prefix.rstrip("/")
        no_cond = request_for(rule, "a/b")
        no_cond.labels = {"app": "web"}
        no_cond.time = time_at(23)
        no_time = request_for(rule, "a/b")
        no_time.time = None
        out += [req, post, stranger, parent, no_cond, no_time]
    return out


# --- translations -------------------------------------------------------------------------------


def q(s: str) -> str:
    return json.dumps(s)


def render_meshgate(rules: List[Rule]) -> str:
    lines = []
    for r in rules:
        kw = "deny" if r.deny else "allow"
        line = (
            f"{kw} {q(r.id)} {{ from principal {q(r.principal)}, namespace {q(r.namespace)}"
            f" to service {q(r.service)}, method GET, path {q(r.prefix + '**')}"
        )
        if r.cond is not None:
            if r.cond[0] == "label":
                line += f" when source.labels[{q(r.cond[1])}] == {q(r.cond[2])}"
            else:
                line += f" when time.hour in {r.cond[1]}..{r.cond[2]}"
        lines.append(line + " }")
    return "\n".join(lines) + "\n"


def render_cedar(rules: List[Rule]) -> str:
    out = []
    for r in rules:
        head = "forbid" if r.deny else "permit"
        when = [f"context.source_namespace == {q(r.namespace)}", f"context.path like {q(r.prefix + '*')}"]
        if r.cond is not None:
            if r.cond[0] == "label":
                k, v = q(r.cond[1]), q(r.cond[2])
                when.append(f"context.labels has {k} && context.labels[{k}] == {v}")
            else:
                when.append(
                    f'context has time && context.time.toTime() >= duration("{r.cond[1]}h")'
                    f' && context.time.toTime() < duration("{r.cond[2] + 1}h")'
                )
        out.append(
            f"@id({q(r.id)})\n{head} (principal == Workload::{q(r.principal)}, action == Action::\"GET\","
            f" resource == Service::{q(r.service)}) when {{ {' && '.join(when)} }};"
        )
    return "\n".join(out) + "\n"


def cedar_request(req: Req) -> Dict[str, Any]:
    context: Dict[str, Any] = {"source_namespace": req.namespace, "path": req.path, "labels": dict(req.labels)}
    if req.time is not None:
        context["time"] = {"__extn": {"fn": "datetime", "arg": req.time}}
    return {
        "principal": f"Workload::{q(req.principal)}",
        "action": 'Action::"GET"' if req.method == "GET" else f"Action::{q(req.method)}",
        "resource": f"Service::{q(req.service)}",
        "context": context,
    }


CASBIN_MODEL = """
[request_definition]
r = sub, dom, svc, obj, act, attrs

[policy_definition]
p = sub, dom, svc, obj, act, eft, cond

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.sub == p.sub && r.dom == p.dom && r.svc == p.svc && keyMatch(r.obj, p.obj) && r.act == p.act && (p.cond == "" || eval(p.cond))
"""


class Attrs:
    """`r.attrs` for casbin: labels and the UTC hour (-1 without a time)."""

    def __init__(self, labels: Dict[str, str], hour: int) -> None:
        self.labels = Labels(labels)
        self.hour = hour


class Labels:
    """Labels as attributes; an absent label is the empty string (so a test on it is false)."""

    def __init__(self, labels: Dict[str, str]) -> None:
        self.__dict__.update(labels)

    def __getattr__(self, name: str) -> str:
        return ""


def casbin_policies(rules: List[Rule]) -> List[List[str]]:
    seen = set()
    out = []
    for r in rules:
        cond = ""
        if r.cond is not None:
            cond = f"r.attrs.labels.{r.cond[1]} == {q(r.cond[2])}" if r.cond[0] == "label" else f"r.attrs.hour >= {r.cond[1]} && r.attrs.hour <= {r.cond[2]}"
        line = (r.principal, r.namespace, r.service, r.prefix + "*", "GET", "deny" if r.deny else "allow", cond)
        if line not in seen:
            seen.add(line)
            out.append(list(line))
    return out


def casbin_args(req: Req) -> Tuple[Any, ...]:
    h = req.hour()
    return (req.principal, req.namespace, req.service, req.path, req.method, Attrs(req.labels, -1 if h is None else h))


# --- timing -------------------------------------------------------------------------------------


def measure(fn: Callable[[], Any], budget: float) -> Tuple[float, float, int]:
    """Median and p99 seconds per call, over batches of about 2 ms, within about `budget` s."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-8)
    batch = max(1, int(0.002 / one))
    samples = max(5, min(400, int(budget / (one * batch))))
    per_call = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        per_call.append((time.perf_counter_ns() - t0) / batch / 1e9)
    per_call.sort()
    return statistics.median(per_call), per_call[min(len(per_call) - 1, int(len(per_call) * 0.99))], samples


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def run(n: int, quick: bool, plain_cedar: bool) -> List[Dict[str, Any]]:
    import casbin
    import cedarpy

    rules = generate(n)
    requests = bench_requests(rules)
    # pycasbin takes about a second per decision at 10,000 rules: fewer probes there.
    probes = probe_requests(rules, 60 if n <= 1000 else 8)

    t0 = time.perf_counter()
    mg = meshgate.Engine(meshgate.PolicySet.from_source(render_meshgate(rules), name="mesh.mgp"))
    mg_load = time.perf_counter() - t0

    cedar_text = render_cedar(rules)
    t0 = time.perf_counter()
    cedar_ps = cedarpy.PolicySet.from_str(cedar_text)
    cedar_entities = cedarpy.Entities.from_json_str("[]")
    cedar_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = casbin.model.Model()
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.add_policies(casbin_policies(rules))
    casbin_load = time.perf_counter() - t0

    # Agreement first: every engine decides as the model does.
    for req in [r for _, r, _ in requests] + probes:
        want = model_decide(rules, req)
        got = {
            "meshgate": mg.decide(req.to_json()).allowed,
            "meshgate Request": mg.decide(meshgate.Request(req.to_json())).allowed,
            "cedarpy": cedarpy.is_authorized(cedar_request(req), cedar_ps, cedar_entities).allowed,
            "pycasbin": enforcer.enforce(*casbin_args(req)),
        }
        bad = {k: v for k, v in got.items() if v != want}
        if bad:
            sys.exit(f"disagreement at {n} rules on {req.to_json()}: model says {want}, {bad}")
    print(f"{n} rules: all engines agree on {len(requests) + len(probes)} requests", flush=True)

    budget = 0.3 if quick else 1.5
    rows: List[Dict[str, Any]] = []
    for name, req, _ in requests:
        as_dict = req.to_json()
        held = meshgate.Request(as_dict)
        cedar_req = cedar_request(req)
        args = casbin_args(req)
        cases: List[Tuple[str, Callable[[], Any]]] = [
            ("meshgate dict", lambda: mg.decide(as_dict)),
            ("meshgate Request", lambda: mg.decide(held)),
            ("cedarpy pre-parsed", lambda: cedarpy.is_authorized(cedar_req, cedar_ps, cedar_entities)),
            ("pycasbin", lambda: enforcer.enforce(*args)),
        ]
        if plain_cedar:
            cases.append(("cedarpy text", lambda: cedarpy.is_authorized(cedar_req, cedar_text, [])))
        for engine, fn in cases:
            median, p99, samples = measure(fn, budget)
            rows.append({"rules": n, "request": name, "engine": engine, "median": median, "p99": p99, "samples": samples})
            print(f"  {name:5} {engine:20} {fmt(median):>10}  (p99 {fmt(p99)}, {samples} samples)", flush=True)
    many = [r.to_json() for _, r, _ in requests] * 100
    median, p99, samples = measure(lambda: mg.decide_many(many), budget)
    rows.append({"rules": n, "request": "mix", "engine": "meshgate decide_many", "median": median / len(many), "p99": p99 / len(many), "samples": samples})
    print(f"  mix   meshgate decide_many   {fmt(median / len(many)):>10} per request", flush=True)
    for engine, secs in (("meshgate", mg_load), ("cedarpy", cedar_load), ("pycasbin", casbin_load)):
        rows.append({"rules": n, "request": "load", "engine": engine, "median": secs, "p99": secs, "samples": 1})
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    out = ["| rules | request | engine | median per call | p99 | × meshgate dict |", "|---:|---|---|---:|---:|---:|"]
    base = {(r["rules"], r["request"]): r["median"] for r in rows if r["engine"] in ("meshgate dict", "meshgate")}
    for r in rows:
        b = base.get((r["rules"], r["request"]))
        ratio = f"{r['median'] / b:,.1f}×" if b else ""
        out.append(f"| {r['rules']:,} | {r['request']} | {r['engine']} | {fmt(r['median'])} | {fmt(r['p99'])} | {ratio} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated rule counts")
    ap.add_argument("--quick", action="store_true", help="shorter sampling")
    ap.add_argument("--no-plain-cedar", action="store_true", help="skip cedarpy with policy text parsed per call")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    import casbin
    import cedarpy

    versions = f"meshgate {meshgate.__version__}, cedarpy {getattr(cedarpy, '__version__', '?')}, casbin {getattr(casbin, '__version__', '?')}"
    try:
        from importlib.metadata import version

        versions = f"meshgate {version('meshgate')}, cedarpy {version('cedarpy')}, casbin {version('casbin')}"
    except Exception:  # noqa: BLE001 - versions are informative only
        pass
    print(f"Python {platform.python_version()} on {platform.machine()}, {versions}", flush=True)
    rows: List[Dict[str, Any]] = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        rows += run(n, args.quick, not args.no_plain_cedar)
    print()
    print(table(rows))
    print()
    for n in sorted({r["rules"] for r in rows}):
        def med(engine: str, request: str) -> float:
            return next(r["median"] for r in rows if r["rules"] == n and r["engine"] == engine and r["request"] == request)

        for req in ("last", "none", "deny"):
            print(
                f"{n:>6} rules, {req:4}: cedarpy pre-parsed / meshgate Request = "
                f"{med('cedarpy pre-parsed', req) / med('meshgate Request', req):,.0f}×, "
                f"pycasbin / meshgate Request = {med('pycasbin', req) / med('meshgate Request', req):,.0f}×"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
