"""Lead-lag: an external reference price that moves first shifts fair value before the book.

Only for a market with a `reference` feed and a fresh reading (`max_age_ms`). The book is
modelled as catching up with the reference's log price x with time constant `lag_s`; what
it has absorbed so far is the EMA of x with that time constant, so the move still to come is

    shift = sensitivity * (x - ema_lag(x))           clamped to +-max_shift, pips

`sensitivity` (probability per unit log-return) is configured, or learned (0): every
`learn_horizon_s` the change of the book mid is regressed on the change of x over the same
horizon (through the origin, EWMA sums with `learn_alpha`); no shift before `min_samples`.
"""

from __future__ import annotations

import math

from common.prices import PRICE_SCALE
from common.signal_config import LeadLagConfig
from strategy.signals.maths import ema_weight
from strategy.signals.types import NONE, Effect, LeadLagState, SignalReading

__all__ = ["effect", "fresh", "sensitivity", "update"]


def fresh(reference: float | None, reference_ts_ns: int, now_ns: int, max_age_ms: int) -> bool:
    """True for a positive reading no older than `max_age_ms` (and not from the future)."""
    return (reference is not None and reference > 0 and reference_ts_ns > 0
            and 0 <= now_ns - reference_ts_ns <= max_age_ms * 1_000_000)


def update(
    state: LeadLagState, reference: float, mid: float | None, now_ns: int, cfg: LeadLagConfig
) -> LeadLagState:
    """Fold a fresh reference reading (and the book mid, pips, if known) in."""
    x = math.log(reference)
    if state.ema_log is None:
        ema = x
    else:
        ema = state.ema_log + ema_weight((now_ns - state.last_ns) / 1e9, cfg.lag_s) * (
            x - state.ema_log)
    anchor_log, anchor_mid, anchor_ns = state.anchor_log, state.anchor_mid, state.anchor_ns
    sxy, sxx, n = state.sxy, state.sxx, state.n
    if mid is not None:
        if anchor_log is None:
            anchor_log, anchor_mid, anchor_ns = x, mid, now_ns
        elif now_ns - anchor_ns >= cfg.learn_horizon_s * 1e9:
            dx, dy = x - anchor_log, mid - anchor_mid
            a = cfg.learn_alpha if n else 1.0
            sxy = a * dx * dy + (1 - a) * sxy
            sxx = a * dx * dx + (1 - a) * sxx
            n += 1
            anchor_log, anchor_mid, anchor_ns = x, mid, now_ns
    return LeadLagState(ema_log=ema, last_ns=now_ns, anchor_log=anchor_log,
                        anchor_mid=anchor_mid, anchor_ns=anchor_ns, sxy=sxy, sxx=sxx, n=n)


def sensitivity(state: LeadLagState, cfg: LeadLagConfig) -> float | None:
    """Pips of fair value per unit log-return of the reference; None while still learning."""
    if cfg.sensitivity > 0:
        return cfg.sensitivity * PRICE_SCALE
    if state.n < cfg.min_samples or state.sxx <= 0:
        return None
    return state.sxy / state.sxx


def effect(
    state: LeadLagState, reference: float, cfg: LeadLagConfig
) -> tuple[Effect, SignalReading]:
    """The fair-value shift still to come (reading value in $)."""
    sens = sensitivity(state, cfg)
    if sens is None or state.ema_log is None:
        return NONE, SignalReading("lead_lag", 0.0, False, "learning")
    cap = cfg.max_shift * PRICE_SCALE
    shift = max(-cap, min(cap, sens * (math.log(reference) - state.ema_log)))
    if shift == 0:
        return NONE, SignalReading("lead_lag", 0.0, False)
    return Effect(fv_shift=shift), SignalReading(
        "lead_lag", shift / PRICE_SCALE, True, f"shift {shift:+.0f}")
