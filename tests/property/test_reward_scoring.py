"""Polymarket's liquidity-reward scoring (strategy/rewards.py): properties and one worked
example from the published formula."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.messages import Level
from strategy.rewards import (
    Programme, adjusted_mid, estimate, order_score, q_min, reach,
)

PROG = Programme(max_spread=300, min_size=2_000, daily_usd=100.0)  # 3 cents, 20 shares

prices = st.integers(100, 9_900)
sizes = st.integers(1, 100_000)
levels = st.lists(st.tuples(prices, sizes), max_size=6)


def test_a_worked_example() -> None:
    # 100 shares 1 cent from the mid with a 3-cent band: ((3 - 1) / 3)^2 * 100 shares
    assert order_score(100, 10_000, PROG) == pytest.approx(4 / 9 * 10_000)
    assert order_score(300, 10_000, PROG) == 0.0  # on the edge of the band: nothing
    assert order_score(0, 1_999, PROG) == 0.0  # under the min size
    # one-sided between 0.10 and 0.90 scores a third; outside it, nothing
    assert q_min(900.0, 0.0, 5_000) == pytest.approx(300.0)
    assert q_min(900.0, 0.0, 9_500) == 0.0
    bids, asks = [(4_900, 10_000)], [(5_100, 10_000)]
    est = estimate(PROG, book_bids=bids, book_asks=asks, our_bids=bids, our_asks=asks)
    assert (est.mid, est.scoring_levels, est.share, est.usd_per_day) == (5_000, 2, 1.0, 100.0)
    # a competitor as big as us on each side, as close: half the pool
    book_bids, book_asks = [(4_900, 20_000)], [(5_100, 20_000)]
    est = estimate(PROG, book_bids=book_bids, book_asks=book_asks, our_bids=bids, our_asks=asks)
    assert est.share == pytest.approx(0.5) and est.usd_per_day == pytest.approx(50.0)


@given(st.integers(0, 1_000), st.integers(0, 1_000), sizes)
def test_an_order_scores_less_the_further_it_sits(d1: int, d2: int, size: int) -> None:
    near, far = sorted((d1, d2))
    assert 0 <= order_score(far, size, PROG) <= order_score(near, size, PROG) <= size


@given(st.floats(0, 1e9), st.floats(0, 1e9), st.integers(0, 10_000))
def test_q_min_lies_between_the_sides(q1: float, q2: float, mid: int) -> None:
    q = q_min(q1, q2, mid)
    assert min(q1, q2) <= q <= max(q1, q2) + 1e-6
    assert q == q_min(q2, q1, mid)


@given(levels, levels, st.lists(st.tuples(st.integers(4_000, 4_900), sizes), max_size=4),
       st.lists(st.tuples(st.integers(5_100, 6_000), sizes), max_size=4))
def test_competition_behind_the_touch_leaves_our_score_and_raises_the_total(
        ours_b: list[tuple[int, int]], ours_a: list[tuple[int, int]],
        more_b: list[tuple[int, int]], more_a: list[tuple[int, int]]) -> None:
    """A book whose touch is at 0.49/0.51 with enough depth there: more makers behind it
    cannot move the adjusted mid, so our Q stays and everyone's grows."""
    touch_b, touch_a = [(4_900, PROG.min_size)], [(5_100, PROG.min_size)]

    def book(*sides: list[tuple[int, int]], bid: bool) -> list[tuple[int, int]]:
        depth: dict[int, int] = {}
        for side in sides:
            for p, s in side:
                depth[p] = depth.get(p, 0) + s
        return sorted(depth.items(), reverse=bid)

    ours_b = [(min(p, 4_900), s) for p, s in ours_b]
    ours_a = [(max(p, 5_100), s) for p, s in ours_a]
    alone = estimate(PROG, book_bids=book(touch_b, ours_b, bid=True),
                     book_asks=book(touch_a, ours_a, bid=False), our_bids=ours_b,
                     our_asks=ours_a)
    crowded = estimate(PROG, book_bids=book(touch_b, ours_b, more_b, bid=True),
                       book_asks=book(touch_a, ours_a, more_a, bid=False), our_bids=ours_b,
                       our_asks=ours_a)
    assert alone.mid == crowded.mid == 5_000
    assert crowded.ours == pytest.approx(alone.ours)
    assert crowded.total >= alone.total - 1e-9
    for est in (alone, crowded):
        assert 0.0 <= est.share <= 1.0 + 1e-9
        assert 0.0 <= est.usd_per_day <= PROG.daily_usd + 1e-9
    assert crowded.share <= alone.share + 1e-9


@given(levels, levels)
def test_the_adjusted_mid_needs_the_min_size_on_both_sides(
        bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
    mid = adjusted_mid(bids, asks, PROG.min_size)
    enough = sum(s for _, s in bids) >= PROG.min_size and sum(s for _, s in asks) >= PROG.min_size
    assert (mid is not None) == enough
    if mid is not None:
        assert min(p for p, _ in bids) <= mid or min(p for p, _ in asks) <= mid
        assert max(p for p, _ in bids) >= mid or max(p for p, _ in asks) >= mid


ladders = st.lists(st.tuples(st.integers(1, 98), sizes), min_size=0, max_size=4)


@given(ladders, ladders, st.integers(20, 80).map(lambda c: c * 100),
       st.integers(1, 4).map(lambda c: c * 100),
       st.integers(0, 600), st.integers(0, 300_000), st.integers(0, 300_000))
def test_reaching_into_the_band_never_crosses_goes_out_or_overfills(
        bid_cents: list[tuple[int, int]], ask_cents: list[tuple[int, int]], mid: int,
        half: int, reach_pips: int, bid_room: int, ask_room: int) -> None:
    """Whatever the ladder and the book: a moved level moves in by at most the reach,
    stays off the book's far side, only where that side scored nothing, the side's total
    stays within its room, and the side scores afterwards. (A book on the tick grid, as
    the venue's always is.)"""
    tick = 100
    book_bids = [(mid - half - tick * i, 5_000) for i in range(3)]
    book_asks = [(mid + half + tick * i, 5_000) for i in range(3)]
    bids = tuple(sorted({Level(max(tick, book_bids[0][0] - c * tick), s) for c, s in bid_cents},
                        key=lambda lv: -lv.price))
    asks = tuple(sorted({Level(min(9_900, book_asks[0][0] + c * tick), s) for c, s in ask_cents},
                        key=lambda lv: lv.price))
    nb, na = reach(bids, asks, PROG, book_bids=book_bids, book_asks=book_asks, tick=tick,
                   reach_pips=reach_pips, bid_room=bid_room, ask_room=ask_room)
    adj = adjusted_mid(book_bids, book_asks, PROG.min_size)
    assert adj is not None
    for old, new, room, bid in ((bids, nb, bid_room, True), (asks, na, ask_room, False)):
        assert len(new) == len(old) and new[1:] == old[1:]
        if new == old:
            continue
        assert not any(order_score(abs(lv.price - adj), lv.size, PROG) for lv in old)
        moved = new[0].price - old[0].price if bid else old[0].price - new[0].price
        assert 0 <= moved <= reach_pips and new[0].size >= old[0].size
        assert new[0].price % tick == 0
        assert new[0].price < book_asks[0][0] if bid else new[0].price > book_bids[0][0]
        assert sum(lv.size for lv in new) <= room
        assert order_score(abs(new[0].price - adj), new[0].size, PROG) > 0
    if nb and na:  # never a bid at or above our own ask
        assert nb[0].price < na[0].price


def test_reaching_moves_a_side_that_just_misses_the_band_and_not_one_too_far() -> None:
    book_bids, book_asks = [(4_700, 5_000)], [(5_300, 5_000)]  # mid 0.50, band 3 cents
    bids, asks = (Level(4_600, 1_000),), (Level(5_400, 3_000),)
    nb, na = reach(bids, asks, PROG, book_bids=book_bids, book_asks=book_asks, tick=100,
                   reach_pips=200, bid_room=10_000, ask_room=10_000)
    assert nb == (Level(4_800, 2_000),)  # 0.46 -> 0.48 (2 cents from the mid), 20 shares
    assert na == (Level(5_200, 3_000),)
    assert reach(bids, asks, PROG, book_bids=book_bids, book_asks=book_asks, tick=100,
                 reach_pips=100, bid_room=10_000, ask_room=10_000) == (bids, asks)
    assert reach(bids, asks, PROG, book_bids=book_bids, book_asks=book_asks, tick=100,
                 reach_pips=200, bid_room=1_500, ask_room=10_000)[0] == bids  # no room


def test_reaching_never_crosses_our_own_other_side_nor_the_reservation() -> None:
    """Book 0.48/0.52 (mid 0.50), a 1-cent band on a 1-cent grid: both targets are the
    mid itself; the ask goes first and the bid must stay below it."""
    prog = Programme(max_spread=100, min_size=2_000, daily_usd=100.0)
    book_bids, book_asks = [(4_800, 5_000)], [(5_200, 5_000)]
    bids, asks = (Level(4_700, 3_000),), (Level(5_100, 3_000),)
    nb, na = reach(bids, asks, prog, book_bids=book_bids, book_asks=book_asks, tick=100,
                   reach_pips=300, bid_room=10_000, ask_room=10_000)
    assert na == (Level(5_000, 3_000),) and nb == bids  # the bid may not join our ask
    nb2, na2 = reach(bids, asks, prog, book_bids=book_bids, book_asks=book_asks, tick=100,
                     reach_pips=300, bid_room=10_000, ask_room=10_000, bid_max=4_700,
                     ask_min=5_300)
    assert (nb2, na2) == (bids, asks)  # the reservation caps leave no room to move
