"""The L2 book: snapshots replace, price changes set absolute sizes, top-N sorts locally."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.book import L2Book

prices = st.integers(min_value=1, max_value=9999)
sizes = st.integers(min_value=0, max_value=10**9)
levels = st.lists(st.tuples(prices, sizes), max_size=30)
changes = st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), prices, sizes), max_size=50)


def test_snapshot_then_changes() -> None:
    book = L2Book()
    assert not book.set_level("BUY", 5000, 10)  # no snapshot yet: ignored
    book.replace([(4800, 5), (5000, 2), (4900, 3)], [(5300, 1), (5100, 4), (5200, 0)])
    bids, asks = book.top(2)
    assert [(lv.price, lv.size) for lv in bids] == [(5000, 2), (4900, 3)]
    assert [(lv.price, lv.size) for lv in asks] == [(5100, 4), (5300, 1)]
    assert book.set_level("BUY", 5000, 0) and book.set_level("SELL", 5050, 7)
    bids, asks = book.top(5)
    assert [lv.price for lv in bids] == [4900, 4800]
    assert [lv.price for lv in asks] == [5050, 5100, 5300]
    book.invalidate()
    assert book.top(5) == ((), ()) and not book.set_level("BUY", 1, 1)


@given(levels, levels, changes, levels, levels)
def test_changes_then_snapshot_equals_snapshot(
    b0: list[tuple[int, int]], a0: list[tuple[int, int]],
    ch: list[tuple[str, int, int]], b1: list[tuple[int, int]], a1: list[tuple[int, int]],
) -> None:
    book = L2Book()
    book.replace(b0, a0)
    for side, price, size in ch:
        book.set_level(side, price, size)  # type: ignore[arg-type]
    book.replace(b1, a1)
    fresh = L2Book()
    fresh.replace(b1, a1)
    assert book.bids == fresh.bids and book.asks == fresh.asks
    assert book.top(100) == fresh.top(100)


@given(levels, levels, changes, st.integers(min_value=1, max_value=40))
def test_top_is_sorted_best_first_and_positive(
    b0: list[tuple[int, int]], a0: list[tuple[int, int]],
    ch: list[tuple[str, int, int]], depth: int,
) -> None:
    book = L2Book()
    book.replace(b0, a0)
    for side, price, size in ch:
        book.set_level(side, price, size)  # type: ignore[arg-type]
    bids, asks = book.top(depth)
    assert len(bids) <= depth and len(asks) <= depth
    assert [lv.price for lv in bids] == sorted((lv.price for lv in bids), reverse=True)
    assert [lv.price for lv in asks] == sorted(lv.price for lv in asks)
    assert all(lv.size > 0 for lv in bids + asks)
    assert len({lv.price for lv in bids}) == len(bids)
    if bids:
        assert bids[0].price == max(book.bids)
    if asks:
        assert asks[0].price == min(book.asks)
