"""Spread captured and markouts from fills and later books (services/control/quality.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.messages import BookSnapshot, Fill, Level
from services.control.quality import QualityTracker, yes_terms


def book(bid: int, ask: int, market: str = "m") -> BookSnapshot:
    return BookSnapshot(venue="polymarket", market=market, seq=1, ts_recv_ns=0, ts_venue_ms=0, tick=100,
                        bids=(Level(bid, 100),), asks=(Level(ask, 100),))


def fill(outcome: str, side: str, price: int, size: int = 1000) -> Fill:
    return Fill(venue="polymarket", market="m", trade_id="t", order_id="o", outcome=outcome,  # type: ignore[arg-type]
                side=side, price=price, size=size, fee=0, ts_venue_ms=0, ts_recv_ns=0)  # type: ignore[arg-type]


def test_a_bid_filled_below_the_mid_captures_the_half_spread() -> None:
    q = QualityTracker({"1s": 1_000_000_000})
    q.on_book(book(4900, 5100))
    [s] = q.on_fill(fill("YES", "BUY", 4800), now_ns=0)
    assert s.kind == "spread" and abs(s.usd_per_contract - 0.02) < 1e-12 and s.size_centi == 1000


def test_markout_uses_the_mid_at_the_horizon_and_shows_adverse_selection() -> None:
    q = QualityTracker({"1s": 1_000_000_000})
    q.on_book(book(4900, 5100))
    q.on_fill(fill("YES", "BUY", 4800), now_ns=0)
    q.on_book(book(4500, 4700))  # the price fell after we bought: adverse
    assert q.due(999_999_999) == []
    [s] = q.due(1_000_000_000)
    assert s.kind == "1s" and abs(s.usd_per_contract - (-0.02)) < 1e-12
    assert q.pending == 0


def test_a_fill_before_any_book_is_not_scored() -> None:
    q = QualityTracker()
    assert q.on_fill(fill("YES", "BUY", 4800), now_ns=0) == [] and q.pending == 0


def test_stale_books_do_not_move_the_mid() -> None:
    q = QualityTracker()
    q.on_book(book(4900, 5100))
    stale = BookSnapshot(venue="polymarket", market="m", seq=2, ts_recv_ns=0, ts_venue_ms=0, tick=100,
                         bids=(Level(100, 1),), asks=(Level(9900, 1),), stale=True)
    q.on_book(stale)
    assert q.mids["m"] == 5000


@given(price=st.integers(1, 9999), bid=st.integers(1, 4999), spread=st.integers(0, 4999))
def test_buy_no_equals_sell_yes_at_the_complement(price: int, bid: int, spread: int) -> None:
    """BUY NO at q is SELL YES at 1 - q: both score exactly the same."""
    a, b = QualityTracker(), QualityTracker()
    for q in (a, b):
        q.on_book(book(bid, bid + spread))
    [x] = a.on_fill(fill("NO", "BUY", price), now_ns=0)
    [y] = b.on_fill(fill("YES", "SELL", 10_000 - price), now_ns=0)
    assert x.usd_per_contract == y.usd_per_contract
    assert yes_terms(fill("NO", "SELL", price)) == (1, 10_000 - price)
