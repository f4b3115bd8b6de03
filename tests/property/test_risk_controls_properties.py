"""Property tests of the ladder controls: whatever comes in, what goes out obeys every control."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import MarketConfig, RiskConfig
from common.messages import Level
from common.prices import ONE_DOLLAR
from services.risk.market_limits import resolve
from services.risk.limits import BookTop, EventContext, GateState, check_intent, throttle

MARKET = MarketConfig(id="m", venue="kalshi", venue_market="M", min_size=0)
prices = st.integers(1, ONE_DOLLAR - 1)
levels = st.lists(st.builds(Level, price=prices, size=st.integers(1, 100_000)), max_size=6)


@settings(max_examples=400)
@given(
    levels, levels, levels, levels, st.integers(-100_000, 100_000),
    st.integers(0, ONE_DOLLAR - 1), st.integers(0, ONE_DOLLAR - 1), st.integers(0, ONE_DOLLAR - 1),
    st.integers(0, 2000), st.integers(0, 500), st.integers(0, 8),
    st.lists(prices, max_size=3), st.lists(prices, max_size=3),
)
def test_output_obeys_collar_cross_spread_count_and_exits(
    bids: list[Level], asks: list[Level], exit_bids: list[Level], exit_asks: list[Level],
    net: int, fair: int, book_bid: int, book_ask: int, collar: int, spread: int,
    max_orders: int, ev_bids: list[int], ev_asks: list[int],
) -> None:
    lim = msgspec.structs.replace(resolve(RiskConfig(), MARKET), price_collar=collar / 10_000,
                                  min_spread=spread / 10_000, max_orders=max_orders)
    d = check_intent(
        bids, asks, net=net, market=MARKET, risk=RiskConfig(), other_exposure=0,
        gate=GateState(), limits=lim, fair_value=fair, book=BookTop(bid=book_bid, ask=book_ask),
        event=EventContext(bids=tuple(ev_bids), asks=tuple(ev_asks)),
        exit_bids=exit_bids, exit_asks=exit_asks,
    )
    cap = min([x + collar for x in (fair, book_ask) if x > 0], default=ONE_DOLLAR)
    floor = max([x - collar for x in (fair, book_bid) if x > 0], default=0)
    assert all(lv.price <= cap for lv in d.bids) and all(lv.price >= floor for lv in d.asks)
    if d.bids and d.asks:
        best_bid, best_ask = max(lv.price for lv in d.bids), min(lv.price for lv in d.asks)
        assert best_bid < best_ask
        if spread:
            assert best_ask - best_bid >= spread
    if ev_asks:
        assert all(lv.price < min(ev_asks) for lv in d.bids)
    if ev_bids:
        assert all(lv.price > max(ev_bids) for lv in d.asks)
    if max_orders:
        assert len(d.bids) + len(d.asks) <= max_orders
    # Nothing invented: every level is an input level, possibly smaller.
    for out, src in ((d.bids, bids), (d.asks, asks)):
        for lv in out:
            assert any(s.price == lv.price and 0 < lv.size <= s.size for s in src)
    # Exit orders only reduce |net| and never pass flat.
    assert sum(lv.size for lv in d.exit_asks) <= max(0, net)
    assert sum(lv.size for lv in d.exit_bids) <= max(0, -net)
    assert d.outcome == ("clipped" if d.reasons else "approved")


@settings(max_examples=300)
@given(st.floats(0.1, 1000), st.integers(1, 50),
       st.lists(st.integers(0, 2_000_000_000), min_size=1, max_size=200))
def test_throttle_never_exceeds_burst_plus_rate_times_time(
    rate: float, burst: int, gaps: list[int]
) -> None:
    tokens, last, now, allowed = float(burst), 0, 0, 0
    for gap in gaps:
        now += gap
        ok, tokens, last = throttle(tokens, last, now, rate, burst)
        allowed += ok
        assert 0 <= tokens <= burst
    assert allowed <= burst + rate * now / 1e9 + 1e-6


@settings(max_examples=400)
@given(levels, levels, st.integers(-100_000, 100_000), st.integers(-100_000, 100_000),
       st.floats(0, 5000), st.floats(0, 5000))
def test_contract_and_event_limits_hold_after_every_level(
    bids: list[Level], asks: list[Level], net: int, other_net: int, max_contracts: float,
    max_event: float,
) -> None:
    risk = RiskConfig(max_event_position_usd=max_event)
    lim = msgspec.structs.replace(resolve(risk, MARKET), max_position_contracts=max_contracts)
    d = check_intent(bids, asks, net=net, market=MARKET, risk=risk, other_exposure=0,
                     gate=GateState(), limits=lim, event=EventContext(other_net=other_net))
    cap = round(max_contracts * 100)
    event_cap = round(max_event * 1_000_000)
    cum = 0
    for lv in d.bids:  # walking best first: every prefix filled stays inside
        cum += lv.size
        if cap:
            assert net + cum <= max(cap, net)
        if event_cap and net + other_net + cum > 0:
            assert (net + other_net + cum) * lv.price <= event_cap
    cum = 0
    for lv in d.asks:
        cum += lv.size
        if cap:
            assert cum - net <= max(cap, -net)
        if event_cap and cum - net - other_net > 0:
            assert (cum - net - other_net) * (ONE_DOLLAR - lv.price) <= event_cap
