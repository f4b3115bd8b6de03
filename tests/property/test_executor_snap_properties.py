"""Re-expressing a ladder on a new tick grid (executor diff.snap_ladder)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.messages import Level
from services.executor.diff import express_ladder, snap_ladder
from services.executor.orders import MarketTokens

TICKS = st.sampled_from([1, 10, 25, 50, 100, 200, 500])
LEVELS = st.lists(st.builds(Level, st.integers(1, 9_999), st.integers(1, 10_000)), max_size=6)


@given(LEVELS, LEVELS, TICKS)
def test_snapped_levels_sit_on_the_grid_and_are_never_more_aggressive(
    bids: list[Level], asks: list[Level], tick: int
) -> None:
    new_bids, new_asks = snap_ladder(bids, asks, tick)
    assert [lv.size for lv in new_bids] == [lv.size for lv in bids]
    assert [lv.size for lv in new_asks] == [lv.size for lv in asks]
    for old, new in zip(bids, new_bids):
        assert new.price % tick == 0 and old.price - tick < new.price <= old.price
    for old, new in zip(asks, new_asks):
        assert new.price % tick == 0 and old.price <= new.price < old.price + tick


@given(LEVELS, LEVELS, TICKS)
def test_a_snapped_ladder_loses_only_levels_outside_the_price_bounds(
    bids: list[Level], asks: list[Level], tick: int
) -> None:
    tokens = MarketTokens(market="m", venue_market="T", yes_token="Y", no_token="N", tick=tick,
                          min_size=1)
    new_bids, new_asks = snap_ladder(bids, asks, tick)
    orders, invalid = express_ladder(tokens, new_bids, new_asks)
    assert all(not tick <= lv.price <= 10_000 - tick for lv in invalid)
    assert sum(o.size for o in orders) + sum(lv.size for lv in invalid) == \
        sum(lv.size for lv in (*bids, *asks))
