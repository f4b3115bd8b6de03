"""The executor's own hard caps (issue 15, item 2): a second line independent of risk."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common import metrics
from common.config import ExecutorConfig
from common.messages import ApprovedIntent, Level
from services.executor.caps import Caps, check_ladder
from tests.support.executor import FakeVenue, intent, ready_actor

CAPS = Caps.from_config(ExecutorConfig(max_order_contracts=1000, max_order_notional_usd=600,
                                       price_collar=0.2))


def ladder(bids: list[tuple[int, int]] = (), asks: list[tuple[int, int]] = (),  # type: ignore[assignment]
           exit_bids: list[tuple[int, int]] = (), exit_asks: list[tuple[int, int]] = ()  # type: ignore[assignment]
           ) -> ApprovedIntent:
    def lv(xs: list[tuple[int, int]]) -> tuple[Level, ...]:
        return tuple(Level(p, s) for p, s in xs)
    return ApprovedIntent(venue="polymarket", market="m1", risk_seq=1, intent_seq=1, ts_recv_ns=0,
                          ts_approved_ns=0, expires_at_ns=time.time_ns() + 10**9,
                          bids=lv(bids), asks=lv(asks), exit_bids=lv(exit_bids),
                          exit_asks=lv(exit_asks))


@pytest.mark.parametrize(("intent_", "mid", "why"), [
    (ladder([(4800, 100_000)], [(5200, 100_000)]), 5000, ""),
    (ladder([(4800, 100_001)]), 5000, "bid size 1000.01 over max_order_contracts"),
    (ladder([(9999, 10**12)]), 5000, "bid size 1e+10 over max_order_contracts"),
    (ladder(asks=[(1000, 70_000)]), 5000, "ask notional 630 USD over max_order_notional_usd"),
    (ladder(asks=[(2000, 70_000)]), 3000, ""),  # NO at 0.80 x 700 = 560 USD: under
    (ladder([(7001, 100)]), 5000, "bid at 7001 pips outside the price collar around mid 5000"),
    (ladder([(7000, 100)]), 5000, ""),
    (ladder(asks=[(2999, 100)]), 5000, "ask at 2999 pips outside the price collar around mid 5000"),
    (ladder([(100, 100)], [(9900, 100)]), 5000, ""),  # deep passive levels pass
    (ladder([(4800, 100)]), None, ""),  # no book: post-only levels pass
    (ladder(exit_bids=[(9900, 100)]), None, ""),  # no book: no collar, size and notional only
    (ladder(exit_bids=[(9900, 100)]), 5000, "exit bid at 9900 pips outside the price collar around mid 5000"),
    (ladder(exit_asks=[(4900, 100)]), 5000, ""),
])
def test_each_cap_refuses_with_its_reason(intent_: ApprovedIntent, mid: int | None,
                                          why: str) -> None:
    assert check_ladder(intent_, mid=mid, caps=CAPS) == why


@given(price=st.integers(1, 9999), size=st.integers(1, 10**9), mid=st.integers(1, 9999),
       bid=st.booleans())
def test_a_level_passes_exactly_when_it_is_inside_every_cap(price: int, size: int, mid: int,
                                                            bid: bool) -> None:
    cost = (price if bid else 10_000 - price) * size
    collared = price <= mid + CAPS.collar if bid else price >= mid - CAPS.collar
    inside = size <= CAPS.max_size and cost <= CAPS.max_notional and collared
    one = ladder([(price, size)]) if bid else ladder(asks=[(price, size)])
    assert (check_ladder(one, mid=mid, caps=CAPS) == "") == inside


def test_the_actor_refuses_an_approval_over_its_caps_whatever_risk_said(tmp_path: Path) -> None:
    async def scenario() -> None:
        with ready_actor(tmp_path, FakeVenue()) as actor:
            refused = metrics.ORDERS.labels(venue="polymarket", action="intent",
                                            outcome="over_hard_cap")
            before = refused._value.get()
            await actor.on_command(intent("m1", [(9999, 10**12)], []), 0)
            assert refused._value.get() == before + 1 and "m1" not in actor.state.pending
            await actor.on_command(intent("m1", [(4800, 1000)], []), 0)
            assert "m1" in actor.state.pending

    asyncio.run(scenario())
