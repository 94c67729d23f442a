"""One Engine shared by threads; decide_many."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import meshgate

from conftest import frontend_get


def _requests() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(200):
        if i % 3 == 0:
            out.append(frontend_get(f"/api/item/{i}"))
        elif i % 3 == 1:
            out.append({"source": {"namespace": "legacy"}, "request": {"method": "GET", "path": f"/api/{i}"}})
        else:
            out.append({"source": {"namespace": "ops"}, "request": {"method": "POST", "path": f"/api/admin/{i}"}})
    return out


def test_threads_share_one_engine(engine: meshgate.Engine) -> None:
    requests = _requests()
    expected = [engine.decide(r) for r in requests]
    shared = [meshgate.Request(r) for r in requests]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                if k % 2:
                    got = [engine.decide(r) for r in shared]
                else:
                    got = engine.decide_many(requests)
                assert got == expected
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_decide_many_matches_decide(engine: meshgate.Engine) -> None:
    requests = _requests()
    mixed: list[meshgate.Request | dict[str, object]] = [meshgate.Request(r) if i % 2 else r for i, r in enumerate(requests)]
    got = engine.decide_many(mixed)
    assert got == [engine.decide(r) for r in requests]
    assert engine.decide_many([]) == []
    assert engine.decide_many(iter(requests[:3])) == [engine.decide(r) for r in requests[:3]]


def test_engines_built_in_threads(policy: meshgate.PolicySet) -> None:
    with ThreadPoolExecutor(4) as pool:
        engines = list(pool.map(lambda _: meshgate.Engine(policy), range(8)))
    assert {e.decide(frontend_get()).allowed for e in engines} == {True}
