"""The whole stack under real supervisord on Kalshi alone and on both venues at once.

One stack per venue set (module-scoped, parametrized); tests run in file order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["demo-kalshi.toml", "demo-both.toml"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running(base=request.param) as s:
        yield s


def test_quotes_rest_on_every_market_of_every_venue(stack: Stack) -> None:
    markets = {m.id for m in stack.cfg.markets}
    eventually(lambda: markets <= {m for m, n in stack.open_orders_by_market().items() if n > 0},
               timeout=40, what="an open order at the simulator on every market")
    procs = stack.processes()
    for venue in stack.cfg.venues_in_use():
        assert procs[f"executor-{venue}"]["statename"] == "RUNNING"
        assert procs[f"ingest-{venue}"]["statename"] == "RUNNING"


def test_fills_reach_risk(stack: Stack) -> None:
    eventually(lambda: stack.sim_fill_count() > 0, timeout=60, what="a fill of ours at the sim")
    eventually(lambda: sum(m["fills"] for m in stack.status()["markets"]) > 0, timeout=10,
               what="risk reports the fill")


def test_kill_empties_every_venue(stack: Stack) -> None:
    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=20)
    t0 = time.monotonic()
    proc = stack.pmm_background("kill", "--reason", "venues test")
    eventually(lambda: sum(stack.open_orders_by_market().values()) == 0, timeout=5,
               interval=0.01, what="zero open orders after kill")
    print(f"kill -> zero open orders: {(time.monotonic() - t0) * 1000:.0f} ms")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    for venue in stack.cfg.venues_in_use():
        assert f"executor-{venue}" in out
    assert "NO ANSWER" not in out


def test_positions_at_risk_equal_the_simulators_record(stack: Stack) -> None:
    def matches() -> bool:
        sim = stack.sim_positions()
        doc = {m["id"]: m for m in stack.status()["markets"]}
        return all(
            Decimal(str(doc[mid]["position_yes"])) == yes
            and Decimal(str(doc[mid]["position_no"])) == no
            for mid, (yes, no) in sim.items()
        )

    eventually(matches, timeout=10, what="risk positions == simulator fills")


def test_down_leaves_no_order_open(stack: Stack) -> None:
    from services.control import stack as stack_mod

    stack.pmm("reset")
    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=20,
               what="quotes return after reset")
    venues = stack.cfg.venues_in_use()
    stack_mod.stop_programs(stack.run_dir, ["control", "quoter",
                                            *(f"ingest-{v}" for v in venues),
                                            *(f"executor-{v}" for v in venues), "risk"])
    assert sum(stack.open_orders_by_market().values()) == 0
    stack.pmm("down")
