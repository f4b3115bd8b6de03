"""Hedge analysis properties: a hedge never worsens the worst case, a close is exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from common.hedge import analyse

price = st.integers(min_value=1, max_value=9999)
size = st.integers(min_value=1, max_value=1_000_000)


@st.composite
def book(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bid_prices = sorted(draw(st.sets(st.integers(1, 9998), max_size=5)), reverse=True)
    top = bid_prices[0] if bid_prices else 0
    ask_prices = sorted(draw(st.sets(st.integers(top + 1, 9999), max_size=5))) if top < 9999 else []
    bids = [(p, draw(size)) for p in bid_prices]
    asks = [(p, draw(size)) for p in ask_prices]
    return bids, asks


@settings(max_examples=300)
@given(net=st.integers(-1_000_000, 1_000_000).filter(bool), avg=price, b=book())
def test_the_hedged_worst_case_is_bounded(net: int, avg: int, b: tuple) -> None:
    bids, asks = b
    a = analyse(net, avg, bids, asks)
    # Never worse than holding, never better than the best the position could do.
    assert a.hold_worst_micro <= a.hedge_worst_micro <= a.hold_best_micro
    assert a.hold_worst_micro <= a.close_pnl_micro <= a.hold_best_micro
    # Fully hedged: the outcome no longer matters, the loss is locked in.
    if a.hedge_unfilled_centi == 0:
        assert a.hedge_worst_micro == 10_000 * a.size_centi - a.hedge_cash_micro - a.cost_pips * a.size_centi
    # On one book the complement's asks mirror our bids: the two cost the same.
    assert a.hedge_worst_micro == a.close_pnl_micro


@settings(max_examples=300)
@given(net=st.integers(1, 1_000_000), avg=price, bid=st.integers(1, 9998), extra=st.integers(0, 10**6))
def test_closing_realises_exactly_the_mark_at_the_touch(net: int, avg: int, bid: int, extra: int) -> None:
    # Enough size at the best bid: closing long YES realises (bid - avg) per contract, exactly.
    a = analyse(net, avg, [(bid, net + extra)], [(bid + 1, 100)], mark=bid)
    assert a.close_pnl_micro == (bid - avg) * net == a.marked_pnl_micro
    assert a.close_unfilled_centi == 0 and a.close_cash_micro == bid * net
    # Short side: closing NO at the mirrored touch realises the NO mark exactly.
    s = analyse(-net, avg, [(bid - 1, 100)] if bid > 1 else [], [(bid, net + extra)], mark=bid)
    assert s.close_pnl_micro == ((10_000 - bid) - (10_000 - avg)) * net == s.marked_pnl_micro
