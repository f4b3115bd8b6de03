"""Run every enabled signal for one engine step and fold them into one action, pure.

Called by `strategy.engine.step` after the book's fair value is known and before the
ladder is built. Learning follows the engine's rule: estimators of the book (volatility
spike, momentum, regime) learn only from new books; trade estimators (toxicity, volume)
from the trades since the previous step; reference estimators (lead-lag, threshold) from a
reference reading they have not seen. Readings are returned for every enabled signal, in a
fixed order, active or not, so the actor, `pmm preview` and the backtester can show them.

`fv_method = "threshold"` is an explicit choice of fair value, so the threshold fair value
(and its gamma widening) runs whenever it is selected, even with the master switch off.
Lead-lag runs for every market with a `reference` feed unless `[quoting.signals.lead_lag]
enabled = false`: configuring the feed is the opt-in, and it is the one signal measured to
pay (issue 17: ARCHITECTURE.md "Default parameters", the `underlying` scenario). Every
other signal needs `[quoting.signals] enabled = true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from common.prices import PRICE_SCALE
from common.signal_config import SignalsConfig
from strategy import resolution
from strategy.model import BookLike, TradeTick
from strategy.signals import (
    book_imbalance,
    lead_lag,
    momentum,
    period,
    regime,
    threshold,
    toxicity,
    vol_spike,
    volume_spike,
)
from strategy.signals.combine import combine
from strategy.signals.types import (
    NEUTRAL,
    Combined,
    Effect,
    SignalReading,
    SignalState,
)

__all__ = ["SignalInputs", "SignalOutcome", "evaluate"]


@dataclass(frozen=True, slots=True)
class SignalInputs:
    """What the signals see of one step (pips for prices, unix ns for times)."""

    now_ns: int
    book: BookLike
    mid: float | None
    fair: float
    new_book: bool = True
    trades: tuple[TradeTick, ...] = ()
    reference: float | None = None
    reference_ts_ns: int = 0
    has_reference: bool = False
    strike: float = 0.0
    ttr_s: float | None = None
    half_spread_usd: float = 0.02


class SignalOutcome(NamedTuple):
    state: SignalState
    combined: Combined
    readings: tuple[SignalReading, ...]
    fair: float
    """Fair value after the threshold method (pips); the nudge is in `combined`."""
    market_regime: str


def evaluate(
    state: SignalState, inp: SignalInputs, cfg: SignalsConfig, *, enabled: bool,
    threshold_fv: bool,
) -> SignalOutcome:
    """One step of every signal (module docstring)."""
    now = inp.now_ns
    effects: list[Effect] = []
    readings: list[SignalReading] = []
    s = state
    fair = inp.fair
    regime_name = ""
    learn_book = inp.new_book and inp.mid is not None
    if enabled:
        if cfg.vol_spike.enabled:
            if learn_book:
                assert inp.mid is not None
                s = _r(s, vol_spike=vol_spike.update(s.vol_spike, inp.mid, now, cfg.vol_spike))
            _add(effects, readings, vol_spike.effect(s.vol_spike, now, cfg.vol_spike))
        if cfg.momentum.enabled:
            if learn_book:
                s = _r(s, momentum=momentum.update(s.momentum, inp.fair, now, cfg.momentum))
            _add(effects, readings, momentum.effect(s.momentum, cfg.momentum))
        if cfg.toxicity.enabled:
            tox = toxicity.update(s.toxicity, inp.trades, s.last_mid, now, cfg.toxicity)
            s = _r(s, toxicity=tox)
            half = (inp.book.asks[0].price - inp.book.bids[0].price) / 2
            _add(effects, readings, toxicity.effect(tox, now, cfg.toxicity, half))
        if cfg.volume_spike.enabled:
            vol = volume_spike.update(s.volume, inp.trades, now, cfg.volume_spike)
            s = _r(s, volume=vol)
            _add(effects, readings, volume_spike.effect(vol, now, cfg.volume_spike))
        if cfg.book_imbalance.enabled:
            _add(effects, readings, book_imbalance.effect(inp.book, cfg.book_imbalance))
        if cfg.regime.enabled:
            if learn_book:
                assert inp.mid is not None
                s = _r(s, regime=regime.update(s.regime, inp.mid, now, cfg.regime))
            eff, reading, regime_name = regime.effect(s.regime, cfg.regime)
            _add(effects, readings, (eff, reading))
        if cfg.resolution.enabled:
            _add(effects, readings, _resolution(inp.ttr_s, cfg))
        if cfg.period.enabled and cfg.period.period_s > 0:
            _add(effects, readings, period.effect(now, cfg.period))
    if cfg.lead_lag.enabled and inp.has_reference and not threshold_fv:
        s = _lead_lag(s, inp, cfg, effects, readings, learn_book)
    if threshold_fv:
        s, fair = _threshold(s, inp, cfg, effects, readings)
    if learn_book:
        s = _r(s, last_mid=inp.mid)
    if not effects and not readings:
        return SignalOutcome(s, NEUTRAL, (), fair, regime_name)
    combined = combine(effects, cfg.max_widen, cfg.max_fv_nudge * PRICE_SCALE)
    return SignalOutcome(s, combined, tuple(readings), fair, regime_name)


def _r(s: SignalState, **changes: object) -> SignalState:
    return msgspec.structs.replace(s, **changes)


def _add(effects: list[Effect], readings: list[SignalReading],
         pair: tuple[Effect, SignalReading]) -> None:
    effects.append(pair[0])
    readings.append(pair[1])


def _resolution(ttr_s: float | None, cfg: SignalsConfig) -> tuple[Effect, SignalReading]:
    value = -1.0 if ttr_s is None else ttr_s
    if resolution.final_window(cfg.resolution.pull_window_s, ttr_s):
        return Effect(pull_bid=True, pull_ask=True), SignalReading("resolution", value, True, "pull")
    return Effect(), SignalReading("resolution", value, False)


def _lead_lag(s: SignalState, inp: SignalInputs, cfg: SignalsConfig, effects: list[Effect],
              readings: list[SignalReading], learn_book: bool) -> SignalState:
    c = cfg.lead_lag
    if not lead_lag.fresh(inp.reference, inp.reference_ts_ns, inp.now_ns, c.max_age_ms):
        readings.append(SignalReading("lead_lag", 0.0, False, "no fresh reference"))
        return s
    assert inp.reference is not None
    mid = inp.mid if learn_book else None
    ll = s.lead_lag
    if inp.reference_ts_ns != ll.last_ns or learn_book:
        ll = lead_lag.update(ll, inp.reference, mid, inp.now_ns, c)
    _add(effects, readings, lead_lag.effect(ll, inp.reference, c))
    return _r(s, lead_lag=ll)


def _threshold(s: SignalState, inp: SignalInputs, cfg: SignalsConfig, effects: list[Effect],
               readings: list[SignalReading]) -> tuple[SignalState, float]:
    """Threshold fair value (or the book's, unavailable) and its gamma widening."""
    c = cfg.threshold
    fresh = lead_lag.fresh(inp.reference, inp.reference_ts_ns, inp.now_ns, c.max_age_ms)
    if not fresh:
        readings.append(SignalReading("threshold", 0.0, False, "no fresh reference"))
        return s, inp.fair
    assert inp.reference is not None
    per = cfg.period if cfg.period.period_s > 0 else None
    index = period.position(inp.now_ns, per)[0] if per is not None else -1
    th = threshold.update(s.threshold, inp.reference, inp.reference_ts_ns, index, c)
    s = _r(s, threshold=th)
    strike = inp.strike if inp.strike > 0 else th.period_strike
    end = period.end_ns(inp.now_ns, per) if per is not None else None
    tau = (end - inp.now_ns) / 1e9 if end is not None else inp.ttr_s
    sigma = threshold.sigma(th, c)
    if strike <= 0 or tau is None or sigma is None:
        why = "no strike" if strike <= 0 else "no time left" if tau is None else "learning vol"
        readings.append(SignalReading("threshold", 0.0, False, why))
        return s, inp.fair
    p = threshold.probability(inp.reference, strike, tau, sigma)
    move = threshold.move_over(inp.reference, strike, tau, sigma, c.horizon_s)
    factor = threshold.widen_factor(move, inp.half_spread_usd, c)
    effects.append(Effect(widen=factor))
    readings.append(SignalReading("threshold", p, True, f"gamma widen {factor:.2f}"))
    return s, p * PRICE_SCALE
