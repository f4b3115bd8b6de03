"""Unit tests of the pure quoting maths (services/quoter/strategy.py)."""

from __future__ import annotations

import msgspec
import pytest

from common.config import QuotingConfig
from common.messages import BookSnapshot, Level
from services.quoter.strategy import (
    Book,
    Ladder,
    build_ladder,
    fair_value,
    half_spread_pips,
    ladder_changed,
)

TICK = 100  # 0.01
FLAT = Book(tick=TICK, bids=(Level(4900, 10_000),), asks=(Level(5100, 10_000),))


def cfg(**overrides: object) -> QuotingConfig:
    return msgspec.structs.replace(QuotingConfig(), **overrides)


def test_worked_example_flat_book_quotes_48_52() -> None:
    ladder = build_ladder(FLAT, cfg(spread=0.02), 0.0, 500)
    assert ladder.fair_value == 5000
    assert [lv.price for lv in ladder.bids] == [4800]
    assert [lv.price for lv in ladder.asks] == [5200]
    assert ladder.bids[0].size == ladder.asks[0].size == 5000  # 50 contracts in centi


def test_book_snapshot_is_accepted_as_book() -> None:
    snap = BookSnapshot(
        venue="polymarket", market="m", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=TICK,
        bids=FLAT.bids, asks=FLAT.asks,
    )
    assert build_ladder(snap, cfg(), 0.0, 500) == build_ladder(FLAT, cfg(), 0.0, 500)


@pytest.mark.parametrize("net", [25.0, -25.0])
def test_skew_moves_both_quotes_away_from_heavy_side(net: float) -> None:
    fine = Book(tick=1, bids=FLAT.bids, asks=FLAT.asks)  # fine tick: see every pip of skew
    flat = build_ladder(fine, cfg(), 0.0, 500)
    skewed = build_ladder(fine, cfg(), net, 500)
    # shift = skew * (net / max_inventory) * 2h = 0.5 * 0.05 * 400 = 10 pips
    shift = -10 if net > 0 else 10
    assert skewed.bids[0].price == flat.bids[0].price + shift
    assert skewed.asks[0].price == flat.asks[0].price + shift
    adding, reducing = (skewed.bids, skewed.asks) if net > 0 else (skewed.asks, skewed.bids)
    assert adding[0].size == 4750  # 50 * (1 - 0.05) contracts
    assert reducing[0].size == 5000


def test_skew_on_coarse_tick_never_moves_towards_heavy_side() -> None:
    long = build_ladder(FLAT, cfg(), 25.0, 500)
    short = build_ladder(FLAT, cfg(), -25.0, 500)
    assert long.bids[0].price == 4700 and long.asks[0].price == 5200
    assert short.bids[0].price == 4800 and short.asks[0].price == 5300


def test_adding_side_stops_at_max_inventory() -> None:
    long = build_ladder(FLAT, cfg(), 500.0, 500)
    assert long.bids == () and long.asks
    short = build_ladder(FLAT, cfg(), -600.0, 500)
    assert short.asks == () and short.bids


@pytest.mark.parametrize("stale_flag", ["snapshot", "status"])
def test_stale_book_gives_empty_ladder(stale_flag: str) -> None:
    if stale_flag == "snapshot":
        snap = BookSnapshot(
            venue="polymarket", market="m", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=TICK,
            bids=FLAT.bids, asks=FLAT.asks, stale=True,
        )
        ladder = build_ladder(snap, cfg(), 0.0, 500, stale=snap.stale)
    else:
        ladder = build_ladder(FLAT, cfg(), 0.0, 500, stale=True)
    assert ladder.empty


def test_one_sided_or_crossed_book_gives_empty_ladder() -> None:
    assert build_ladder(Book(tick=TICK, bids=FLAT.bids, asks=()), cfg(), 0.0, 500).empty
    crossed = Book(tick=TICK, bids=(Level(5200, 100),), asks=(Level(5100, 100),))
    assert build_ladder(crossed, cfg(), 0.0, 500).empty


def test_half_spread_is_clamped() -> None:
    assert half_spread_pips(cfg(spread=0.3, max_spread=0.1)) == pytest.approx(1000)
    assert half_spread_pips(cfg(spread=0.001, min_spread=0.01)) == pytest.approx(100)


def test_post_only_moves_behind_the_book() -> None:
    tight = Book(tick=TICK, bids=(Level(4900, 100),), asks=(Level(5000, 100),))
    ladder = build_ladder(tight, cfg(spread=0.01, min_spread=0.01, skew=10.0), -500.0, 500)
    # A huge short pushes the reservation far up: the bid must stay under the best ask.
    assert ladder.bids[0].price == 4900
    ladder = build_ladder(tight, cfg(spread=0.01, min_spread=0.01, skew=10.0), 500.0, 500)
    assert ladder.asks[0].price == 5000


def test_levels_spacing_and_decay() -> None:
    ladder = build_ladder(FLAT, cfg(max_orders=3, level_decay=0.5), 0.0, 500)
    assert [lv.price for lv in ladder.bids] == [4800, 4600, 4400]
    assert [lv.price for lv in ladder.asks] == [5200, 5400, 5600]
    assert [lv.size for lv in ladder.bids] == [5000, 2500, 1250]
    spaced = build_ladder(FLAT, cfg(max_orders=2, level_spacing=0.01), 0.0, 500)
    assert [lv.price for lv in spaced.bids] == [4800, 4700]


def test_levels_below_min_size_are_dropped() -> None:
    ladder = build_ladder(FLAT, cfg(max_orders=3, level_decay=0.5), 0.0, 2000)
    assert [lv.size for lv in ladder.bids] == [5000, 2500]


def test_levels_outside_the_price_range_are_dropped() -> None:
    low = Book(tick=TICK, bids=(Level(100, 100),), asks=(Level(300, 100),))
    ladder = build_ladder(low, cfg(max_orders=3), 0.0, 500)
    assert ladder.bids == ()  # 0.00 and below: no bid, never clamped up to one tick
    assert [lv.price for lv in ladder.asks] == [400, 600, 800]


def test_fair_value_methods() -> None:
    book = Book(tick=TICK, bids=(Level(4900, 300),), asks=(Level(5100, 100),))
    assert fair_value(book, "mid_price") == pytest.approx(5000)
    assert fair_value(book, "microprice") == pytest.approx(5050)  # heavy bid pulls it up
    deep = Book(tick=TICK, bids=(Level(4900, 100), Level(4800, 100)), asks=(Level(5100, 100),))
    assert fair_value(deep, "weighted_mid") == pytest.approx((4850 + 5100) / 2)
    assert fair_value(deep, "vwap") == fair_value(deep, "weighted_mid")


def test_ladder_changed_threshold() -> None:
    old = Ladder(fair_value=5000, bids=(Level(4800, 100),), asks=(Level(5200, 100),))
    assert ladder_changed(None, old, 100)
    assert not ladder_changed(old, old, 100)
    nudged = Ladder(fair_value=5000, bids=(Level(4750, 100),), asks=(Level(5200, 100),))
    assert not ladder_changed(old, nudged, 100)
    assert ladder_changed(old, nudged, 0)
    moved = Ladder(fair_value=5000, bids=(Level(4700, 100),), asks=(Level(5200, 100),))
    assert ladder_changed(old, moved, 100)
    resized = Ladder(fair_value=5000, bids=(Level(4800, 90),), asks=(Level(5200, 100),))
    assert ladder_changed(old, resized, 100)
    assert ladder_changed(old, Ladder(fair_value=5000), 100)
