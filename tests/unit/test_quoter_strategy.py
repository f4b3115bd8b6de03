"""Worked examples and per-feature tests of the quoting engine (services/quoter/*)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from common import config
from common.config import QuoteTier, QuotingConfig
from common.messages import BookSnapshot, Level
from strategy import fair_value as fv
from strategy import inventory, spread, volatility
from strategy.engine import step
from strategy.model import (
    Book,
    EngineInputs,
    EngineState,
    MarketInfo,
    TradeTick,
    VolState,
)
from strategy.one_shot import build_ladder

TICK = 100  # 0.01
FLAT = Book(tick=TICK, bids=(Level(4900, 10_000),), asks=(Level(5100, 10_000),))
T0 = 1_800_000_000 * 10**9


HABITS = {"spread": 0.02, "skew": 0.5, "skew_rounding": "away", "vol_mult": 10.0, "fv_method": "weighted_mid",
          "inventory_widen": 0.5}
"""DESIGN.md's operator defaults, which the worked examples below were written for: pinned,
so the examples keep testing the formulas now that the defaults are issue 17's
(ARCHITECTURE.md "Default parameters"). They are deploy/presets/habits.toml."""


def test_the_worked_examples_habits_are_the_habits_preset() -> None:
    preset = config.load(Path(__file__).resolve().parents[2] / "deploy/presets/habits.toml").quoting
    assert {k: getattr(preset, k) for k in HABITS} == HABITS
    assert preset != QuotingConfig()  # the preset differs from the shipped defaults


def cfg(**overrides: object) -> QuotingConfig:
    return msgspec.structs.replace(QuotingConfig(), **{**HABITS, **overrides})


def prices(levels: tuple[Level, ...]) -> list[int]:
    return [lv.price for lv in levels]


# --- worked examples from the operator's playbook --------------------------------------------


def test_worked_example_flat_book_quotes_48_52() -> None:
    ladder = build_ladder(FLAT, cfg(spread=0.02), 0.0, 500)
    assert ladder.fair_value == 5000
    assert prices(ladder.bids) == [4800] and prices(ladder.asks) == [5200]
    assert ladder.bids[0].size == ladder.asks[0].size == 5000  # 50 contracts in centi


def test_worked_example_25_yes_skews_down_and_shrinks_the_bid() -> None:
    flat = build_ladder(FLAT, cfg(), 0.0, 500)
    long = build_ladder(FLAT, cfg(), 25.0, 500)
    # skew 0.5 * q 0.05 * 2h 400 pips = 10 pips = 0.1 tick, rounded away from zero: 1 tick.
    assert prices(long.bids) == [4700] and prices(long.asks) == [5100]
    assert long.bids[0].price < flat.bids[0].price and long.asks[0].price < flat.asks[0].price
    assert long.bids[0].size == 4750 < flat.bids[0].size  # the side that adds YES shrinks
    assert long.asks[0].size == flat.asks[0].size


def test_book_snapshot_is_accepted_as_book() -> None:
    snap = BookSnapshot(
        venue="polymarket", market="m", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=TICK,
        bids=FLAT.bids, asks=FLAT.asks,
    )
    assert build_ladder(snap, cfg(), 0.0, 500) == build_ladder(FLAT, cfg(), 0.0, 500)


# --- inventory -------------------------------------------------------------------------------


@pytest.mark.parametrize("net", [25.0, -25.0, 250.0, -250.0])
def test_skew_moves_both_quotes_away_from_heavy_side(net: float) -> None:
    flat = build_ladder(FLAT, cfg(), 0.0, 500)
    skewed = build_ladder(FLAT, cfg(), net, 500)
    shift = -TICK if net > 0 else TICK
    assert skewed.bids[0].price == flat.bids[0].price + shift
    assert skewed.asks[0].price == flat.asks[0].price + shift


def test_skew_zero_does_not_move_the_ladder() -> None:
    assert build_ladder(FLAT, cfg(skew=0.0), 100.0, 500).bids[0].price == 4800


def test_skew_ticks_formula() -> None:
    p = cfg()
    assert inventory.skew_ticks(0.0, p, 200, 100) == 0
    assert inventory.skew_ticks(0.05, p, 200, 100) == 1
    assert inventory.skew_ticks(1.0, p, 200, 100) == 2  # 0.5 * 1 * 400 = 200 pips
    assert inventory.skew_ticks(-1.0, p, 200, 10) == -20
    assert inventory.skew_ticks(0.3, p, 200, 100) == 1  # 60 pips -> 1 tick
    assert inventory.skew_ticks(0.6, p, 200, 100) == 2  # 120 pips -> 2 ticks


def test_exact_skew_moves_one_side_first_and_leans_against_the_position() -> None:
    """`skew_rounding = "none"`: the exact shift. On the 49/51 book at a 1.2c half-spread,
    flat quotes 48.8 -> 48 / 51.2 -> 52. Long 100 of 500 shifts the centre 0.5 * 0.2 * 240 =
    24 pips: the ask reaches 50.96 -> 51 (towards selling) while the bid stays at 48; the
    whole-tick rounding moves both a tick."""
    exact = cfg(spread=0.012, skew_rounding="none")
    assert inventory.skew_pips(0.2, exact, 120, TICK) == pytest.approx(24.0)
    assert inventory.skew_pips(-0.2, exact, 120, TICK) == pytest.approx(-24.0)
    assert inventory.skew_pips(0.2, cfg(spread=0.012), 120, TICK) == 100.0
    flat = build_ladder(FLAT, exact, 0.0, 500)
    long = build_ladder(FLAT, exact, 100.0, 500)
    short = build_ladder(FLAT, exact, -100.0, 500)
    assert (prices(flat.bids), prices(flat.asks)) == ([4800], [5200])
    assert (prices(long.bids), prices(long.asks)) == ([4800], [5100])
    assert (prices(short.bids), prices(short.asks)) == ([4900], [5200])
    ticks = build_ladder(FLAT, cfg(spread=0.012), 100.0, 500)
    assert (prices(ticks.bids), prices(ticks.asks)) == ([4700], [5100])


@pytest.mark.parametrize(
    ("net", "regime", "bid", "ask"),
    [
        (100.0, "neutral", 4000, 5000),  # 50 * 0.8, 50
        (300.0, "moderate", 1000, 7500),  # 50 * 0.4 * 0.5, 50 * 1.5
        (450.0, "aggressive", 125, 10_000),  # 50 * 0.1 * 0.25, 50 * 2
    ],
)
def test_regimes_shrink_adding_side_and_grow_reducing_side(
    net: float, regime: str, bid: int, ask: int
) -> None:
    state, decision = step(
        EngineState(), EngineInputs(book=FLAT, net_centi=round(net * 100)), cfg(),
        MarketInfo(), T0,
    )
    assert decision.regime == regime
    assert decision.bids[0].size == bid and decision.asks[0].size == ask


def test_adding_side_stops_at_max_inventory() -> None:
    long = build_ladder(FLAT, cfg(), 500.0, 500)
    assert long.bids == () and long.asks
    short = build_ladder(FLAT, cfg(), -600.0, 500)
    assert short.asks == () and short.bids


def test_locked_value_of_holding_both_sides() -> None:
    _, d = step(
        EngineState(),
        EngineInputs(book=FLAT, net_centi=1000, position_yes=5000, position_no=4000),
        cfg(), MarketInfo(), T0,
    )
    assert d.locked_value == 4000 * 10_000  # 40 pairs pay $40 whatever happens
    assert inventory.locked_value(0, 300) == 0


# --- fair value ------------------------------------------------------------------------------


def test_fair_value_mid_weighted_micro() -> None:
    book = Book(tick=TICK, bids=(Level(4900, 300),), asks=(Level(5100, 100),))
    assert fv.fair_value(book, "mid_price") == pytest.approx(5000)
    assert fv.fair_value(book, "microprice") == pytest.approx(5050)  # heavy bid pulls it up
    balanced = Book(tick=TICK, bids=(Level(4900, 100),), asks=(Level(5100, 100),))
    assert fv.fair_value(balanced, "microprice") == pytest.approx(5000)
    deep = Book(tick=TICK, bids=(Level(4900, 100), Level(4800, 100)), asks=(Level(5100, 100),))
    assert fv.fair_value(deep, "weighted_mid") == pytest.approx((4850 + 5100) / 2)
    assert fv.fair_value(balanced, "weighted_mid") == pytest.approx(5000)


def test_fair_value_vwap_uses_recent_trades_only() -> None:
    trades = (TradeTick(T0 - 120 * 10**9, 4000, 100), TradeTick(T0 - 10**9, 5050, 300),
              TradeTick(T0, 4950, 100))
    recent = fv.window_trades(trades, T0, 60_000, 100)
    assert len(recent) == 2
    assert fv.fair_value(FLAT, "vwap", trades=recent) == pytest.approx(5025)
    # No trades: the weighted mid; a stale print outside the touch is clamped to it.
    assert fv.fair_value(FLAT, "vwap") == pytest.approx(5000)
    assert fv.fair_value(FLAT, "vwap", trades=trades[:1]) == pytest.approx(4900)


def test_fair_value_ema_smooths_with_alpha() -> None:
    p = cfg(fv_method="ema", alpha=0.3)
    up = Book(tick=TICK, bids=(Level(5900, 10_000),), asks=(Level(6100, 10_000),))
    state, d1 = step(EngineState(), EngineInputs(book=FLAT), p, MarketInfo(), T0)
    assert d1.fair_value == 5000
    state, d2 = step(state, EngineInputs(book=up), p, MarketInfo(), T0 + 10**9)
    assert d2.fair_value == 5900  # 0.3 * 6000 + 0.7 * 5000 = 5300, clamped into the touch
    wide = Book(tick=TICK, bids=(Level(5000, 10_000),), asks=(Level(7000, 10_000),))
    state, d3 = step(state, EngineInputs(book=wide), p, MarketInfo(), T0 + 2 * 10**9)
    assert d3.fair_value == round(0.3 * 6000 + 0.7 * 5300)  # 5510, inside the touch
    # A timer step (no new book) does not move the EMA.
    _, d4 = step(state, EngineInputs(book=wide, new_book=False), p, MarketInfo(), T0 + 3 * 10**9)
    assert d4.fair_value == d3.fair_value


def test_one_sided_or_crossed_book_gives_empty_ladder() -> None:
    assert build_ladder(Book(tick=TICK, bids=FLAT.bids, asks=()), cfg(), 0.0, 500).empty
    crossed = Book(tick=TICK, bids=(Level(5200, 100),), asks=(Level(5100, 100),))
    assert build_ladder(crossed, cfg(), 0.0, 500).empty
    assert build_ladder(FLAT, cfg(), 0.0, 500, stale=True).empty


# --- spread widenings, each triggering and not -----------------------------------------------


def test_half_spread_is_clamped() -> None:
    assert spread.base_half_spread(cfg(spread=0.3, max_spread=0.1)) == pytest.approx(1000)
    assert spread.base_half_spread(cfg(spread=0.001, min_spread=0.01)) == pytest.approx(100)


def test_volatility_widens_only_when_the_price_moves() -> None:
    v = VolState()
    for i in range(5):
        v = volatility.update(v, 5000.0, T0 + i * 10**9, 0.1)
    assert volatility.sigma_per_update(v) == 0.0
    assert spread.half_spread(cfg(), sigma_pips=0.0).total == pytest.approx(200)
    w = VolState()
    for i in range(5):
        w = volatility.update(w, 5000.0 + (50 if i % 2 else -50), T0 + i * 10**9, 0.1)
    sigma = volatility.sigma_per_update(w)
    assert sigma == pytest.approx(100)
    assert volatility.sigma_per_sqrt_second(w) == pytest.approx(0.01)
    parts = spread.half_spread(cfg(vol_mult=1.0), sigma_pips=sigma)
    assert parts.vol_add == pytest.approx(100) and parts.total == pytest.approx(300)


def test_the_sampled_estimator_reads_a_lagging_mid_closer_to_the_value_it_lags() -> None:
    """A value walking 30 pips per sqrt(s) (0.003 $/sqrt s), updates every 100 ms, and a
    mid closing 2% of the gap per update (the research makers' lag): the per-update
    estimate reads a fraction of it, the one sampled every 30 s most of it."""
    import random

    rng = random.Random(7)
    value = mid = 5000.0
    fast, sampled = VolState(), VolState()
    for i in range(36_000):
        value += 30 * 0.1 ** 0.5 * rng.gauss(0.0, 1.0)
        mid += 0.02 * (value - mid)
        now = T0 + i * 100_000_000
        fast = volatility.update(fast, mid, now, 0.1)
        sampled = volatility.update(sampled, mid, now, 0.1, 30_000_000_000)
    true = 0.003
    assert volatility.sigma_per_sqrt_second(fast) < 0.5 * true
    assert 0.6 * true < volatility.sigma_per_sqrt_second(sampled) < 1.5 * true
    assert volatility.sigma(fast, sampled) == volatility.sigma_per_sqrt_second(sampled)
    assert sampled.n == 120, "one observation per 30 s of the hour"


def test_engine_widens_after_a_jumpy_tape() -> None:
    p = cfg(vol_mult=1.0)  # sigma ~ 1c per sqrt(s) here: +1c of half-spread
    state = EngineState()
    for i in range(6):
        b = FLAT if i % 2 else Book(tick=TICK, bids=(Level(5000, 10_000),), asks=(Level(5200, 10_000),))
        state, d = step(state, EngineInputs(book=b), p, MarketInfo(), T0 + i * 10**9)
    assert d.half_spread > 200 and d.sigma > 0


def test_resolution_widens_inside_its_window_only() -> None:
    p = cfg(resolution_widen_window_s=1000, resolution_widen=1.0)
    assert spread.half_spread(p, ttr_s=None).total == pytest.approx(200)
    assert spread.half_spread(p, ttr_s=2000).total == pytest.approx(200)
    assert spread.half_spread(p, ttr_s=500).total == pytest.approx(300)
    assert spread.half_spread(p, ttr_s=0).total == pytest.approx(400)


def test_low_liquidity_widens_only_below_the_floor() -> None:
    p = cfg(liquidity_min_depth=100, liquidity_widen=1.0)
    assert spread.half_spread(p, depth_contracts=150).total == pytest.approx(200)
    assert spread.half_spread(p, depth_contracts=50).total == pytest.approx(300)
    thin = Book(tick=TICK, bids=(Level(4900, 2500),), asks=(Level(5100, 10_000),))
    assert fv.depth_contracts(thin) == 25
    _, d = step(EngineState(), EngineInputs(book=thin), p, MarketInfo(), T0)
    assert d.half_spread == pytest.approx(350)


def test_inventory_beyond_threshold_widens() -> None:
    p = cfg(inventory_widen_threshold=0.5, inventory_widen=1.0)
    assert spread.half_spread(p, q_abs=0.5).total == pytest.approx(200)
    assert spread.half_spread(p, q_abs=0.75).total == pytest.approx(300)


def test_max_spread_caps_every_widening() -> None:
    p = cfg(liquidity_min_depth=100, liquidity_widen=100.0)
    assert spread.half_spread(p, depth_contracts=0).total == pytest.approx(1000)


# --- layers and tiers ------------------------------------------------------------------------


def test_levels_spacing_and_decay() -> None:
    ladder = build_ladder(FLAT, cfg(max_orders=3, level_decay=0.5), 0.0, 500)
    assert prices(ladder.bids) == [4800, 4600, 4400]
    assert prices(ladder.asks) == [5200, 5400, 5600]
    assert [lv.size for lv in ladder.bids] == [5000, 2500, 1250]
    spaced = build_ladder(FLAT, cfg(max_orders=2, level_spacing=0.01), 0.0, 500)
    assert prices(spaced.bids) == [4800, 4700]


def test_tiers_replace_layers() -> None:
    p = cfg(tiers=(QuoteTier(spread=0.05, size=100), QuoteTier(spread=0.02, size=10)))
    ladder = build_ladder(FLAT, p, 0.0, 500)
    assert prices(ladder.bids) == [4800, 4500] and prices(ladder.asks) == [5200, 5500]
    assert [lv.size for lv in ladder.asks] == [1000, 10_000]


def test_levels_below_min_size_are_dropped() -> None:
    ladder = build_ladder(FLAT, cfg(max_orders=3, level_decay=0.5), 0.0, 2000)
    assert [lv.size for lv in ladder.bids] == [5000, 2500]


def test_levels_outside_the_price_range_are_dropped() -> None:
    low = Book(tick=TICK, bids=(Level(100, 10_000),), asks=(Level(300, 10_000),))
    ladder = build_ladder(low, cfg(max_orders=3), 0.0, 500)
    assert ladder.bids == ()  # 0.00 and below: no bid, never clamped up to one tick
    assert prices(ladder.asks) == [400, 600, 800]


def test_post_only_moves_behind_the_book() -> None:
    tight = Book(tick=TICK, bids=(Level(4900, 10_000),), asks=(Level(5000, 10_000),))
    p = cfg(spread=0.01, min_spread=0.01, skew=10.0)
    assert build_ladder(tight, p, -400.0, 500).bids[0].price == 4900
    assert build_ladder(tight, p, 400.0, 500).asks[0].price == 5000
