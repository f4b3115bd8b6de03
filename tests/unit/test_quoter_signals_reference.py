"""Reference-driven and clock-driven signals: lead-lag, threshold fair value, period phases,
time to resolution, and the combination into one action."""

from __future__ import annotations

import math
import random

import pytest

from common.signal_config import LeadLagConfig, PeriodConfig, ThresholdConfig
from strategy import resolution
from strategy.signals import lead_lag, period, threshold
from strategy.signals.combine import action_of, combine, widened
from strategy.signals.types import Effect, LeadLagState, ThresholdState

T0 = 1_800_000_000 * 10**9
S = 10**9
MS = 10**6


# --- lead-lag ----------------------------------------------------------------------------------


def test_lead_lag_shifts_fair_value_before_the_book_moves() -> None:
    cfg = LeadLagConfig(sensitivity=5.0, lag_s=2.0)  # 1% of reference = 5 cents
    st = LeadLagState()
    for k in range(50):
        st = lead_lag.update(st, 100.0, 5000.0, T0 + k * 200 * MS, cfg)
    eff, reading = lead_lag.effect(st, 100.0, cfg)
    assert not reading.active and eff.fv_shift == 0.0  # nothing moved: nothing to anticipate
    now = T0 + 50 * 200 * MS
    st = lead_lag.update(st, 101.0, 5000.0, now, cfg)  # the reference jumps 1%
    eff, reading = lead_lag.effect(st, 101.0, cfg)
    expected = 5.0 * 10_000 * math.log(1.01) * math.exp(-0.2 / 2.0)
    assert reading.active and eff.fv_shift == pytest.approx(expected, rel=1e-6)
    for k in range(1, 100):  # the book has had time to catch up: the shift decays away
        st = lead_lag.update(st, 101.0, 5500.0, now + k * 200 * MS, cfg)
    assert abs(lead_lag.effect(st, 101.0, cfg)[0].fv_shift) < 1.0


def test_lead_lag_shift_is_capped_and_stale_readings_are_refused() -> None:
    cfg = LeadLagConfig(sensitivity=50.0, lag_s=2.0, max_shift=0.03)
    st = lead_lag.update(LeadLagState(), 100.0, 5000.0, T0, cfg)
    st = lead_lag.update(st, 110.0, 5000.0, T0 + 100 * MS, cfg)
    assert lead_lag.effect(st, 110.0, cfg)[0].fv_shift == pytest.approx(300.0)
    assert lead_lag.fresh(100.0, T0, T0 + 1_999 * MS, 2000)
    assert not lead_lag.fresh(100.0, T0, T0 + 2_001 * MS, 2000)
    assert not lead_lag.fresh(None, T0, T0, 2000)
    assert not lead_lag.fresh(100.0, 0, T0, 2000)
    assert not lead_lag.fresh(100.0, T0 + S, T0, 2000)  # from the future


@pytest.mark.parametrize("horizon_s", [1.0, 2.0, 8.0])
def test_lead_lag_learns_the_sensitivity_of_a_book_that_lags(horizon_s: float) -> None:
    """The book follows the reference's log price with time constant lag_s (the signal's
    own model), 3 cents per 1%. Regressed on the reference itself, the sensitivity came out
    at 0.21, 0.31 and 0.72 of the truth at these horizons (half, one and four lags);
    regressed on what the book has absorbed it is exact at every horizon."""
    cfg = LeadLagConfig(lag_s=2.0, learn_horizon_s=horizon_s, min_samples=20, learn_alpha=0.1)
    st = LeadLagState()
    rng = random.Random(7)
    ref, absorbed = 100.0, 0.0
    step_s = 0.5
    for k in range(2000):
        ref *= math.exp(rng.gauss(0.0, 0.001))  # a random walk
        absorbed += (1 - math.exp(-step_s / cfg.lag_s)) * (math.log(ref / 100.0) - absorbed)
        absorbed = absorbed if k else math.log(ref / 100.0)  # the signal's EMA starts at x
        mid = 5000 + 3.0 * 10_000 * absorbed  # the book: 3 cents per 1%, lagging
        st = lead_lag.update(st, ref, mid, T0 + k * 500 * MS, cfg)
    sens = lead_lag.sensitivity(st, cfg)
    assert sens is not None and sens == pytest.approx(3.0 * 10_000, rel=1e-6)


@pytest.mark.parametrize("lag_s", [1.0, 4.0, 8.0])
def test_lead_lag_learns_how_fast_the_book_follows(lag_s: float) -> None:
    """`lag_s = 0`: of the candidate lags, the one the book really follows with explains
    its moves exactly, so it is chosen, with the exact sensitivity; the shift names it."""
    cfg = LeadLagConfig(lag_s=0.0, learn_horizon_s=2.0, min_samples=20, learn_alpha=0.1)
    assert lag_s in lead_lag.LEARN_LAGS_S
    st = LeadLagState()
    rng = random.Random(3)
    ref, absorbed = 100.0, 0.0
    for k in range(3000):
        ref *= math.exp(rng.gauss(0.0, 0.001))
        absorbed += (1 - math.exp(-0.5 / lag_s)) * (math.log(ref / 100.0) - absorbed)
        absorbed = absorbed if k else math.log(ref / 100.0)
        st = lead_lag.update(st, ref, 5000 + 3.0 * 10_000 * absorbed, T0 + k * 500 * MS, cfg)
    fit = lead_lag.chosen(st, cfg)
    assert fit is not None and fit.lag_s == lag_s
    assert lead_lag.sensitivity(st, cfg) == pytest.approx(3.0 * 10_000, rel=1e-6)
    assert lead_lag.effect(st, ref * 1.01, cfg)[1].note.endswith(f"(lag {lag_s:g} s)")


def test_changing_lag_s_while_running_starts_the_fits_again() -> None:
    """A quoter keeps its engine state across a config change: the fits must follow it."""
    fixed, learned = LeadLagConfig(lag_s=2.0), LeadLagConfig(lag_s=0.0)
    st = lead_lag.update(LeadLagState(), 100.0, 5000.0, T0, fixed)
    assert [f.lag_s for f in st.fits] == [2.0]
    st = lead_lag.update(st, 101.0, 5000.0, T0 + S, learned)
    assert [f.lag_s for f in st.fits] == list(lead_lag.LEARN_LAGS_S)
    st = lead_lag.update(st, 102.0, 5000.0, T0 + 2 * S, LeadLagConfig(lag_s=4.0))
    assert [f.lag_s for f in st.fits] == [4.0] and st.fits[0].ema_log == math.log(102.0)


def test_lead_lag_says_it_is_learning_until_it_has_samples() -> None:
    cfg = LeadLagConfig(learn_horizon_s=1.0, min_samples=20, learn_alpha=0.1)
    learning = lead_lag.update(LeadLagState(), 100.0, 5000.0, T0, cfg)
    assert lead_lag.sensitivity(learning, cfg) is None
    assert lead_lag.effect(learning, 101.0, cfg)[1].note == "learning"


# --- threshold fair value ----------------------------------------------------------------------


def test_threshold_probability_known_values() -> None:
    sig = 0.6 / math.sqrt(threshold.SECONDS_PER_YEAR)
    at_money = threshold.probability(100.0, 100.0, 900.0, sig)
    assert 0.49 < at_money < 0.5  # N(-sigma sqrt(tau) / 2): a hair under a half
    assert threshold.probability(110.0, 100.0, 900.0, sig) > 0.999
    assert threshold.probability(90.0, 100.0, 900.0, sig) < 0.001
    assert threshold.probability(101.0, 100.0, 0.0, sig) == 1.0
    assert threshold.probability(99.0, 100.0, -5.0, sig) == 0.0
    assert threshold.probability(100.0, 100.0, 0.0, sig) == 0.5
    with pytest.raises(ValueError):
        threshold.probability(0.0, 100.0, 10.0, sig)


def test_threshold_gamma_widens_near_expiry_at_the_money() -> None:
    cfg = ThresholdConfig(gamma_widen=1.0, horizon_s=5.0, max_widen=4.0)
    sig = 0.6 / math.sqrt(threshold.SECONDS_PER_YEAR)
    far = threshold.move_over(100.0, 100.0, 86_400.0, sig, 5.0)
    near = threshold.move_over(100.0, 100.0, 30.0, sig, 5.0)
    away = threshold.move_over(103.0, 100.0, 30.0, sig, 5.0)
    assert far < near and away < near
    assert threshold.widen_factor(far, 0.02, cfg) < threshold.widen_factor(near, 0.02, cfg)
    assert threshold.widen_factor(near, 0.02, cfg) == 4.0  # capped
    assert threshold.widen_factor(0.0, 0.02, cfg) == 1.0


def test_threshold_learns_vol_and_sets_the_period_strike() -> None:
    cfg = ThresholdConfig(min_samples=5)
    st = ThresholdState()
    for k in range(10):
        price = 100.0 * (1.001 if k % 2 else 1.0)
        st = threshold.update(st, price, T0 + k * S, period=7, cfg=cfg)
    assert st.period == 7 and st.period_strike == 100.0
    sig = threshold.sigma(st, cfg)
    assert sig is not None and sig == pytest.approx(math.log(1.001), rel=1e-6)
    same = threshold.update(st, 100.5, T0 + 9 * S, period=7, cfg=cfg)  # same publish time
    assert same.n == st.n
    st = threshold.update(st, 105.0, T0 + 10 * S, period=8, cfg=cfg)
    assert st.period == 8 and st.period_strike == 105.0
    assert threshold.sigma(ThresholdState(), cfg) is None
    fixed = ThresholdConfig(annual_vol=0.5)
    assert threshold.sigma(ThresholdState(), fixed) == pytest.approx(
        0.5 / math.sqrt(threshold.SECONDS_PER_YEAR))


# --- period phases -----------------------------------------------------------------------------


def test_period_phases_of_a_15_minute_market() -> None:
    cfg = PeriodConfig(period_s=900, early_s=60, final_s=120, pull_s=15)
    start = (T0 // (900 * S) + 1) * 900 * S  # a period boundary
    assert period.phase(start + 10 * S, cfg) == "early"
    assert period.phase(start + 400 * S, cfg) == "middle"
    assert period.phase(start + 800 * S, cfg) == "final"
    assert period.phase(start + 890 * S, cfg) == "pull"
    assert period.phase(start + 900 * S, cfg) == "early"  # the next period
    assert period.end_ns(start + 100 * S, cfg) == start + 900 * S
    eff, reading = period.effect(start + 890 * S, cfg)
    assert eff.pull_bid and eff.pull_ask and reading.active
    assert period.effect(start + 10 * S, cfg)[0].widen == cfg.early_widen
    assert period.effect(start + 800 * S, cfg)[0].widen == cfg.final_widen
    assert not period.effect(start + 400 * S, cfg)[1].active


def test_period_offset_and_no_periods() -> None:
    cfg = PeriodConfig(period_s=900, offset_s=300)
    start = (T0 // (900 * S) + 1) * 900 * S + 300 * S
    assert period.position(start + S, cfg)[1] == pytest.approx(1.0)
    assert period.phase(T0, PeriodConfig()) == ""
    assert period.end_ns(T0, PeriodConfig()) is None


def test_period_config_rejects_overlapping_phases() -> None:
    import msgspec

    with pytest.raises(msgspec.ValidationError, match="pull_s"):
        msgspec.convert({"pull_s": 200, "final_s": 100}, PeriodConfig)
    with pytest.raises(msgspec.ValidationError, match="fit in period_s"):
        msgspec.convert({"period_s": 100, "early_s": 60, "final_s": 60}, PeriodConfig)


# --- time to resolution ------------------------------------------------------------------------


def test_resolution_final_window() -> None:
    assert resolution.final_window(60.0, 59.0)
    assert resolution.final_window(60.0, -1.0)  # past resolution
    assert not resolution.final_window(60.0, 61.0)
    assert not resolution.final_window(60.0, None)
    assert not resolution.final_window(0.0, 1.0)


# --- combination -------------------------------------------------------------------------------


def test_combine_one_action() -> None:
    assert combine([], 4.0, 500).action == "both"
    c = combine([Effect(widen=2.0), Effect(widen_ask=3.0)], 4.0, 500)
    assert (c.action, c.widen_bid, c.widen_ask) == ("widen", 2.0, 3.0)
    assert combine([Effect(widen=9.0)], 4.0, 500).widen_bid == 4.0
    assert combine([Effect(pull_ask=True), Effect(widen=2.0)], 4.0, 500).action == "bid_only"
    assert combine([Effect(pull_bid=True)], 4.0, 500).action == "ask_only"
    assert combine([Effect(pull_bid=True), Effect(pull_ask=True)], 4.0, 500).action == "pull"
    nudged = combine([Effect(fv_shift=400), Effect(fv_shift=300)], 4.0, 500)
    assert nudged.fv_nudge == 500 and nudged.action == "both"
    assert action_of(False, False, 1.0, 1.0) == "both"


def test_widened_never_narrows_and_respects_the_cap() -> None:
    assert widened(200.0, 2.0, 1000.0) == 400.0
    assert widened(200.0, 10.0, 1000.0) == 1000.0
    assert widened(200.0, 0.5, 1000.0) == 200.0
    assert widened(1200.0, 2.0, 1000.0) == 1200.0  # already past the cap: unchanged
