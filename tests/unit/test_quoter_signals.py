"""Each signal on constructed sequences that must trigger it and ones that must not."""

from __future__ import annotations

import math

import msgspec
import pytest

from common.messages import Level
from common.signal_config import (
    BookImbalanceConfig,
    MomentumConfig,
    RegimeConfig,
    ToxicityConfig,
    VolSpikeConfig,
    VolumeSpikeConfig,
)
from strategy.model import Book, TradeTick
from strategy.signals import (
    book_imbalance,
    momentum,
    regime,
    toxicity,
    vol_spike,
    volume_spike,
)
from strategy.signals.types import (
    MomentumState,
    RegimeState,
    ToxicityState,
    VolSpikeState,
    VolumeState,
)

T0 = 1_800_000_000 * 10**9
S = 10**9
MS = 10**6


# --- volatility spike --------------------------------------------------------------------------


def _vol_feed(mids: list[float], cfg: VolSpikeConfig, step_ns: int = 100 * MS,
              state: VolSpikeState | None = None, start: int = T0) -> tuple[VolSpikeState, int]:
    st = state or VolSpikeState()
    now = start
    for m in mids:
        st = vol_spike.update(st, m, now, cfg)
        now += step_ns
    return st, now


def test_vol_spike_triggers_on_a_run_of_big_moves_and_cools_down() -> None:
    cfg = VolSpikeConfig(ratio=3.0, cooldown_s=5.0)
    calm = [5000 + (10 if i % 2 else 0) for i in range(200)]  # 10-pip chatter every 100 ms
    st, now = _vol_feed(calm, cfg)
    eff, reading = vol_spike.effect(st, now, cfg)
    assert not reading.active and eff.widen == 1.0
    jump = [5000 + 100 * k for k in range(1, 6)]  # a tick per book: news
    st, now = _vol_feed(jump, cfg, state=st, start=now)
    eff, reading = vol_spike.effect(st, now, cfg)
    assert reading.active and reading.value >= cfg.ratio
    assert eff.widen == cfg.widen and not (eff.pull_bid or eff.pull_ask)
    # Quiet again: still active inside the cooldown, inactive after it.
    assert vol_spike.effect(st, now + 4 * S, cfg)[1].active
    assert not vol_spike.effect(st, now + 6 * S, cfg)[1].active


def test_vol_spike_pull_action_and_warmup() -> None:
    cfg = VolSpikeConfig(action="pull", warmup_books=50)
    st, now = _vol_feed([5000 + 100 * k for k in range(10)], cfg)  # violent, but only 10 books
    assert not vol_spike.effect(st, now, cfg)[1].active
    st, now = _vol_feed([5000.0] * 60 + [5000 + 100 * k for k in range(1, 6)], cfg)
    eff, reading = vol_spike.effect(st, now, cfg)
    assert reading.active and eff.pull_bid and eff.pull_ask


def test_vol_spike_flat_market_never_spikes_on_one_tick() -> None:
    cfg = VolSpikeConfig()
    st, now = _vol_feed([5000.0] * 100 + [5050.0] + [5000.0] * 5, cfg)
    assert not vol_spike.effect(st, now, cfg)[1].active


# --- momentum ----------------------------------------------------------------------------------


MOMENTUM = MomentumConfig(fast_s=1.0, slow_s=20.0, widen_threshold=0.004, pull_threshold=0.012)


def _mom_feed(fairs: list[float], cfg: MomentumConfig) -> MomentumState:
    st = MomentumState()
    for i, f in enumerate(fairs):
        st = momentum.update(st, f, T0 + i * 100 * MS, cfg)
    return st


def test_momentum_widens_then_pulls_the_side_a_rise_runs_over() -> None:
    cfg = MOMENTUM
    flat = [5000.0] * 100
    gentle = flat + [5000 + 10 * k for k in range(1, 21)]  # +2c over 2 s
    eff, reading = momentum.effect(_mom_feed(gentle, cfg), cfg)
    assert reading.active and reading.value > cfg.widen_threshold
    assert eff.widen_ask == cfg.side_widen and eff.widen_bid == 1.0 and not eff.pull_ask
    steep = flat + [5000 + 50 * k for k in range(1, 21)]  # +10c over 2 s
    eff, reading = momentum.effect(_mom_feed(steep, cfg), cfg)
    assert reading.active and eff.pull_ask and not eff.pull_bid and reading.note == "pull ask"


def test_momentum_fall_runs_over_the_bid_and_flat_does_nothing() -> None:
    cfg = MOMENTUM
    fall = [5000.0] * 100 + [5000 - 50 * k for k in range(1, 21)]
    eff, reading = momentum.effect(_mom_feed(fall, cfg), cfg)
    assert eff.pull_bid and not eff.pull_ask and reading.value < 0
    chatter = [5000.0 + (50 if i % 2 else -50) for i in range(300)]
    eff, reading = momentum.effect(_mom_feed(chatter, cfg), cfg)
    assert not reading.active and eff == momentum.NONE


def test_momentum_is_time_based_not_book_rate_based() -> None:
    """One book after 2 s or twenty books 100 ms apart at the same price: the same EMAs."""
    cfg = MomentumConfig()
    a = momentum.update(MomentumState(), 5000, T0, cfg)
    a = momentum.update(a, 5100, T0 + 2 * S, cfg)
    b = momentum.update(MomentumState(), 5000, T0, cfg)
    for k in range(1, 21):
        b = momentum.update(b, 5100, T0 + k * 100 * MS, cfg)
    assert momentum.drift(a) == pytest.approx(momentum.drift(b), rel=1e-9)
    assert momentum.drift(a) > 0


# --- toxicity ----------------------------------------------------------------------------------


def _trades(sides: list[int], size: int, start: int = T0, step: int = 100 * MS,
            price: int = 5100) -> tuple[TradeTick, ...]:
    return tuple(TradeTick(start + i * step, price, size, s) for i, s in enumerate(sides))


def test_toxicity_one_way_flow_goes_one_sided() -> None:
    cfg = ToxicityConfig(bucket_contracts=100, buckets=4)
    st = toxicity.update(ToxicityState(), _trades([1] * 20, 2500), 5000, T0 + 2 * S, cfg)
    vpin, flow, n = toxicity.measures(st, T0 + 2 * S, cfg)
    assert n == 4 and vpin == 1.0 and flow == 1.0
    eff, reading = toxicity.effect(st, T0 + 2 * S, cfg)
    assert reading.active and eff.pull_ask and not eff.pull_bid and eff.widen == cfg.widen


def test_toxicity_balanced_flow_is_not_toxic_and_old_buckets_are_forgotten() -> None:
    cfg = ToxicityConfig(bucket_contracts=100, buckets=4, max_age_s=30)
    st = toxicity.update(ToxicityState(), _trades([1, -1] * 20, 2500), 5000, T0 + 4 * S, cfg)
    eff, reading = toxicity.effect(st, T0 + 4 * S, cfg)
    assert not reading.active and reading.value == 0.0 and eff == toxicity.NONE
    toxic = toxicity.update(ToxicityState(), _trades([1] * 20, 2500), 5000, T0 + 2 * S, cfg)
    assert toxicity.effect(toxic, T0 + 2 * S, cfg)[1].active
    assert not toxicity.effect(toxic, T0 + 40 * S, cfg)[1].active


def test_toxicity_widens_without_going_one_sided_on_mixed_buckets() -> None:
    cfg = ToxicityConfig(bucket_contracts=100, buckets=2, threshold=0.5, one_sided=0.9)
    # bucket 1: 90 buy / 10 sell; bucket 2: 10 buy / 90 sell -> vpin 0.8, flow 0
    sides = [1] * 9 + [-1] + [1] + [-1] * 9
    st = toxicity.update(ToxicityState(), _trades(sides, 1000), 5000, T0 + 3 * S, cfg)
    vpin, flow, _ = toxicity.measures(st, T0 + 3 * S, cfg)
    assert vpin == pytest.approx(0.8) and flow == pytest.approx(0.0)
    eff, reading = toxicity.effect(st, T0 + 3 * S, cfg)
    assert reading.active and eff.widen == cfg.widen and not (eff.pull_ask or eff.pull_bid)


def test_toxicity_lean_moves_fair_value_with_the_flow() -> None:
    cfg = ToxicityConfig(bucket_contracts=100, buckets=4, threshold=1.0, nudge=0.5)
    st = toxicity.update(ToxicityState(), _trades([-1] * 20, 2500), 5000, T0 + 2 * S, cfg)
    eff, _ = toxicity.effect(st, T0 + 2 * S, cfg, half_touch=100.0)
    assert eff.fv_shift == pytest.approx(-50.0)


def test_toxicity_classifies_by_quote_rule_then_tick_rule() -> None:
    assert toxicity.classify(5100, 5000.0, 0, 0) == 1
    assert toxicity.classify(4900, 5000.0, 0, 0) == -1
    assert toxicity.classify(5000, 5000.0, 4900, -1) == 1  # at the mid: uptick
    assert toxicity.classify(5000, 5000.0, 5000, -1) == -1  # unchanged: same as last
    unknown = _trades([0] * 10, 1000, price=4900)
    st = toxicity.update(ToxicityState(), unknown, 5000, T0, ToxicityConfig(bucket_contracts=10))
    assert all(b == 0 and s > 0 for _, b, s in st.closed)


def test_toxicity_large_trade_spills_across_buckets() -> None:
    cfg = ToxicityConfig(bucket_contracts=100, buckets=10)
    st = toxicity.update(ToxicityState(), _trades([1], 25_000), 5000, T0, cfg)
    assert [(b, s) for _, b, s in st.closed] == [(10_000, 0), (10_000, 0)]
    assert (st.buy, st.sell) == (5_000, 0)


# --- volume spike ------------------------------------------------------------------------------


def _steady(cfg: VolumeSpikeConfig, seconds: int, contracts: int = 2) -> tuple[VolumeState, int]:
    st = VolumeState()
    now = T0
    for _ in range(seconds):
        st = volume_spike.update(st, (TradeTick(now, 5000, contracts * 100),), now, cfg)
        now += S
    return st, now


def test_volume_spike_pauses_quoting_then_resumes() -> None:
    cfg = VolumeSpikeConfig(cooldown_s=10)
    st, now = _steady(cfg, 300)
    assert not volume_spike.effect(st, now, cfg)[1].active
    assert volume_spike.ratio(st, now - S, cfg) == pytest.approx(1.0, rel=0.15)
    st = volume_spike.update(st, (TradeTick(now, 5000, 60_000),), now, cfg)  # 600 contracts
    eff, reading = volume_spike.effect(st, now, cfg)
    assert reading.active and eff.pull_bid and eff.pull_ask and reading.value >= cfg.multiple
    assert volume_spike.effect(st, now + 9 * S, cfg)[1].active
    assert not volume_spike.effect(st, now + 11 * S, cfg)[1].active


def test_volume_spike_needs_warmup_and_minimum_volume() -> None:
    cfg = VolumeSpikeConfig()
    st, now = _steady(cfg, 30)  # inside the 60 s warm-up
    st = volume_spike.update(st, (TradeTick(now, 5000, 60_000),), now, cfg)
    assert not volume_spike.effect(st, now, cfg)[1].active
    quiet = msgspec.structs.replace(cfg, min_contracts=1000)
    st, now = _steady(quiet, 300, contracts=0)
    st = volume_spike.update(st, (TradeTick(now, 5000, 50_000),), now, quiet)  # 500 < 1000
    assert not volume_spike.effect(st, now, quiet)[1].active


# --- book imbalance ----------------------------------------------------------------------------


def test_book_imbalance_nudges_towards_the_heavy_side() -> None:
    cfg = BookImbalanceConfig()
    heavy_bid = Book(tick=100, bids=(Level(4900, 90_000),), asks=(Level(5100, 10_000),))
    eff, reading = book_imbalance.effect(heavy_bid, cfg)
    assert reading.active and reading.value == pytest.approx(0.8)
    assert eff.fv_shift == pytest.approx(cfg.weight * 0.8 * 100)
    heavy_ask = Book(tick=100, bids=(Level(4900, 10_000),), asks=(Level(5100, 90_000),))
    assert book_imbalance.effect(heavy_ask, cfg)[0].fv_shift < 0


def test_book_imbalance_balanced_or_inside_deadzone_does_nothing() -> None:
    cfg = BookImbalanceConfig(deadzone=0.3)
    even = Book(tick=100, bids=(Level(4900, 50_000),), asks=(Level(5100, 40_000),))
    eff, reading = book_imbalance.effect(even, cfg)
    assert not reading.active and eff.fv_shift == 0.0
    deep = Book(tick=100, bids=(Level(4900, 100), Level(4800, 100), Level(4700, 100),
                                Level(4600, 1_000_000)),
                asks=(Level(5100, 300),))
    assert book_imbalance.imbalance(deep, 3) == 0.0  # the 4th level is outside the top 3


# --- regime ------------------------------------------------------------------------------------


def _regime(moves: list[float], cfg: RegimeConfig, dt_ns: int = S) -> RegimeState:
    st = RegimeState()
    mid = 5000.0
    now = T0
    st = regime.update(st, mid, now, cfg)
    for m in moves:
        mid += m
        now += dt_ns
        st = regime.update(st, mid, now, cfg)
    return st


def test_regime_classifies_trending_mean_reverting_volatile_neutral() -> None:
    cfg = RegimeConfig()
    assert regime.effect(_regime([50.0] * 20, cfg), cfg)[2] == "trending"
    assert regime.effect(_regime([50.0, -50.0] * 10, cfg), cfg)[2] == "mean_reverting"
    assert regime.effect(_regime([50.0, 50.0, -50.0, -50.0] * 5, cfg), cfg)[2] == "neutral"
    eff, reading, name = regime.effect(_regime([800.0, -800.0] * 10, cfg, dt_ns=S // 10), cfg)
    assert name == "volatile" and eff.widen == cfg.volatile_widen and reading.active
    eff, reading, name = regime.effect(_regime([50.0] * 20, cfg), cfg)
    assert eff.widen == cfg.trending_widen and reading.active


def test_regime_needs_enough_moves_and_ignores_standing_still() -> None:
    cfg = RegimeConfig(min_returns=8)
    assert regime.effect(_regime([50.0] * 7, cfg), cfg)[2] == "neutral"
    st = _regime([50.0] * 7 + [0.0] * 50, cfg)
    assert len(st.moves) == 7
    # mean-reverting widens by 1.0 by default: a regime never narrows, and 1.0 is not active
    eff, reading, name = regime.effect(_regime([50.0, -50.0] * 10, cfg), cfg)
    assert name == "mean_reverting" and eff.widen == 1.0 and not reading.active


def test_every_reading_value_is_finite() -> None:
    st = _regime([50.0] * 20, RegimeConfig())
    assert math.isfinite(regime.effect(st, RegimeConfig())[1].value)
