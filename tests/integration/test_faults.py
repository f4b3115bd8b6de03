"""Every simulator fault against the whole stack under supervisord, on each venue.

One module-scoped stack per venue. Each fault is injected into the simulator while the
stack quotes and trades; we then watch the venue's own record until the stack is safe
again (quotes resting on every market, the executor's view equal to the venue's, risk's
positions equal to the venue's fills) and count duplicates (two of our orders open at the
same token and price at once), orders lost (executor and venue disagree after settling)
and fills lost (risk's positions differ from the venue's fills). At the end the stack is
quiesced with `pmm kill` and positions must match exactly. Run with -s for the table.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

TABLE = Path("/tmp/pmm-fault-table.txt")
EXTRA = """trade_confirm_ms = 400
[executor]
reconcile_interval_ms = 1000
"""
"""Appended inside the harness's [sim] table, hence the first line."""


@pytest.fixture(scope="module", params=["demo.toml", "demo-kalshi.toml"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(base=request.param, extra=EXTRA, seed=23) as s:
        yield s


def fault(stack: Stack, kind: str, **params: Any) -> None:
    r = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/fault",
                   json={"kind": kind, **params}, timeout=5)
    assert r.status_code == 200, r.text


def duplicates(stack: Stack) -> int:
    """Our open orders at the venue beyond one per (token, price)."""
    seen: Counter[tuple[str, str]] = Counter()
    for acct in stack.sim_state()["accounts"].values():
        for o in acct["open_orders"]:
            seen[(o["asset_id"], o["price"])] += 1
    return sum(n - 1 for n in seen.values() if n > 1)


def orders_disagree(stack: Stack) -> int:
    """|executor's open orders - venue's| summed over markets (0 when they agree)."""
    venue = stack.open_orders_by_market()
    ours = {m["id"]: int(m["open_orders"]) for m in stack.status()["markets"]}
    return sum(abs(ours.get(m, 0) - venue.get(m, 0)) for m in ours)


def position_gap(stack: Stack) -> Decimal:
    """Sum over markets of |risk's YES/NO position - the venue's fills|."""
    sim = stack.sim_positions()
    doc = {m["id"]: m for m in stack.status()["markets"]}
    return sum((abs(Decimal(str(doc[mid]["position_yes"])) - yes)
                + abs(Decimal(str(doc[mid]["position_no"])) - no)
                for mid, (yes, no) in sim.items()), Decimal(0))


def settle(stack: Stack, cond: Callable[[], bool], timeout: float) -> bool:
    try:
        eventually(cond, timeout=timeout, interval=0.1)
        return True
    except AssertionError:
        return False


def faults_for(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    m = stack.cfg.markets[0].venue_market
    common: list[tuple[str, dict[str, Any]]] = [
        ("drop_ws", {}),
        ("http_429", {"count": 6}),
        ("http_500", {"count": 3}),
        ("http_500_after", {"count": 2}),
        ("post_only_reject", {"count": 4}),
        ("slow", {"count": 3, "ms": 1500}),
    ]
    if stack.cfg.venues_in_use() == ["kalshi"]:
        return [*common, ("seq_gap", {"count": 2}),
                ("tick_size_change", {"market": m, "tick": 0.02}),
                ("tick_size_change", {"market": m, "tick": 0.01})]
    return [*common, ("tick_size_change", {"market": m, "tick": 0.001}),
            ("tick_size_change", {"market": m, "tick": 0.01}),
            ("trade_failed", {"count": 3})]


def test_faults_lose_nothing_and_duplicate_nothing(stack: Stack) -> None:
    markets = {m.id for m in stack.cfg.markets}

    def quoting() -> bool:
        return markets <= {m for m, n in stack.open_orders_by_market().items() if n > 0}

    eventually(quoting, timeout=60, what="quotes on every market")
    eventually(lambda: stack.sim_fill_count() > 0, timeout=60, what="a first fill")
    venue = stack.cfg.venues_in_use()[0]
    rows = []
    url = f"http://127.0.0.1:{stack.sim_port}/_sim/fault"
    for kind, params in faults_for(stack):
        dup = 0

        def armed(kind: str = kind) -> int:
            nonlocal dup
            dup = max(dup, duplicates(stack))
            return int(httpx.get(url, timeout=5).json()["armed"].get(kind, 0))

        fault(stack, kind, **params)
        # wait until every armed occurrence has hit a real request (or give up after 20 s)
        settle(stack, lambda: armed() == 0, timeout=20)
        httpx.delete(url, timeout=5)
        t0 = time.monotonic()

        def safe() -> bool:
            nonlocal dup
            dup = max(dup, duplicates(stack))
            return quoting() and orders_disagree(stack) == 0 and duplicates(stack) == 0

        # A maker is quoting again within about a second of any of these (a tick change:
        # ingest reads the new grid at the first off-grid rejection and the executor
        # re-expresses its ladder at once); 10 s leaves room for a loaded CI machine.
        deadline = 10
        ok = settle(stack, safe, timeout=deadline)
        to_safe = time.monotonic() - t0
        fills_ok = settle(stack, lambda: position_gap(stack) == 0, timeout=15)
        fired = httpx.get(url, timeout=5).json()["fired"]
        before = sum(r[2] for r in rows if r[1].split()[0] == kind)
        rows.append((venue, kind + (f" {params['tick']}" if "tick" in params else ""),
                     fired.get(kind, 0) - before, 0 if ok else orders_disagree(stack),
                     position_gap(stack), dup, f"{to_safe:.1f}s" if ok else f"not safe in {deadline}s"))
        assert dup == 0, f"{kind}: duplicated orders at the venue"
        assert ok, (f"{kind}: the stack did not come back to a safe state in {deadline}s "
                    f"(quoting {quoting()}, orders disagree by {orders_disagree(stack)}, "
                    f"duplicates {duplicates(stack)})\n{stack.logs()}")
        assert fills_ok, f"{kind}: risk's positions differ from the venue's fills"
    stack.pmm("kill", "--reason", "fault test quiesce")
    eventually(lambda: sum(stack.open_orders_by_market().values()) == 0, timeout=10)
    eventually(lambda: position_gap(stack) == 0, timeout=10, what="positions == venue fills")
    header = ("venue", "fault", "times injected", "orders lost", "fills lost (contracts)",
              "duplicates", "time to safe state")
    lines = [" | ".join(header)] + [" | ".join(str(c) for c in r) for r in rows]
    text = "\n".join(lines)
    print("\n" + text)
    with TABLE.open("a") as f:
        f.write(text + "\n")
