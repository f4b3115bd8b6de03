"""Property tests of the risk limits: clipping never grows a ladder or breaks a limit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import MarketConfig, RiskConfig
from common.messages import Level
from common.prices import MONEY_SCALE, ONE_DOLLAR
from services.risk.limits import GateState, check_intent

levels = st.lists(
    st.builds(Level, price=st.integers(1, ONE_DOLLAR - 1), size=st.integers(1, 200_000)),
    max_size=6,
)


@settings(max_examples=400)
@given(
    levels, levels, st.integers(-200_000, 200_000), st.floats(1, 5000), st.floats(1, 20_000),
    st.floats(1, 5000), st.integers(0, 30_000 * MONEY_SCALE), st.floats(0, 10),
)
def test_clipped_ladders_stay_inside_every_limit(
    bids: list[Level], asks: list[Level], net: int, max_position: float, max_total: float,
    max_order: float, other: int, min_size: float,
) -> None:
    market = MarketConfig(
        id="m", venue="kalshi", venue_market="M", max_position_usd=max_position, min_size=min_size
    )
    risk = RiskConfig(max_total_exposure_usd=max_total, max_order_size=max_order)
    d = check_intent(
        bids, asks, net=net, market=market, risk=risk, other_exposure=other, gate=GateState()
    )
    pos_limit = round(max_position * MONEY_SCALE)
    total_limit = round(max_total * MONEY_SCALE)
    cum = 0
    for lv in d.bids:
        assert 0 < lv.size <= round(max_order * 100)
        assert lv.size <= max(x.size for x in bids if x.price == lv.price)
        cum += lv.size
        long = net + cum
        if long > 0:
            assert long * lv.price <= pos_limit
            assert long * lv.price <= max(0, total_limit - other)
    cum = 0
    for lv in d.asks:
        assert 0 < lv.size <= round(max_order * 100)
        cum += lv.size
        short = cum - net
        if short > 0:
            assert short * (ONE_DOLLAR - lv.price) <= pos_limit
            assert short * (ONE_DOLLAR - lv.price) <= max(0, total_limit - other)
    assert d.outcome == ("clipped" if d.reasons else "approved")
