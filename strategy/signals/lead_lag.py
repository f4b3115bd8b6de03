"""Lead-lag: an external reference price that moves first shifts fair value before the book.

Only for a market with a `reference` feed and a fresh reading (`max_age_ms`). The book is
modelled as catching up with the reference's log price x with time constant `lag_s`; what
it has absorbed so far is the EMA of x with that time constant, so the move still to come is

    shift = sensitivity * (x - ema_lag(x))           clamped to +-max_shift, pips

`sensitivity` (probability per unit log-return) is configured, or learned (0): every
`learn_horizon_s` the change of the book mid is regressed on the change of ema_lag(x) over
the same horizon (through the origin, EWMA sums with `learn_alpha`); no shift before
`min_samples`. The regressor is what the book has absorbed, not x itself: a book that
follows x with time constant `lag_s` has moved only part of the way x moved over a
horizon of a few `lag_s`, so a regression on x learns too small a sensitivity (0.31 of it
at a horizon equal to the lag, 0.72 at four lags: tests/unit/test_quoter_signals_reference.py).

`lag_s` is configured, or learned (0): one fit per lag of `LEARN_LAGS_S`, each with its own
EMA and regression, and the shift uses the fit that explains the book's moves best (the
largest R^2 among those with `min_samples`). How fast a book follows its underlying is the
market's own (the research market's `underlying` makers take 5 s); a lag set too short
shifts too little, too long shifts past what the book will do.
"""

from __future__ import annotations

import math

from common.prices import PRICE_SCALE
from common.signal_config import LeadLagConfig
from strategy.signals.maths import ema_weight
from strategy.signals.types import NONE, Effect, LagFit, LeadLagState, SignalReading

__all__ = ["LEARN_LAGS_S", "chosen", "effect", "fresh", "sensitivity", "update"]


def fresh(reference: float | None, reference_ts_ns: int, now_ns: int, max_age_ms: int) -> bool:
    """True for a positive reading no older than `max_age_ms` (and not from the future)."""
    return (reference is not None and reference > 0 and reference_ts_ns > 0
            and 0 <= now_ns - reference_ts_ns <= max_age_ms * 1_000_000)


LEARN_LAGS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""The candidate lags when `lag_s = 0` (learned)."""


def update(
    state: LeadLagState, reference: float, mid: float | None, now_ns: int, cfg: LeadLagConfig
) -> LeadLagState:
    """Fold a fresh reference reading (and the book mid, pips, if known) into every fit."""
    x = math.log(reference)
    lags = (cfg.lag_s,) if cfg.lag_s > 0 else LEARN_LAGS_S
    fits = state.fits
    if tuple(f.lag_s for f in fits) != lags:  # new, or `lag_s` changed while running
        fits = tuple(LagFit(lag_s=lag) for lag in lags)
    dt_s = (now_ns - state.last_ns) / 1e9
    return LeadLagState(last_ns=now_ns,
                        fits=tuple(_fold(f, x, mid, now_ns, dt_s, cfg) for f in fits))


def _fold(fit: LagFit, x: float, mid: float | None, now_ns: int, dt_s: float,
          cfg: LeadLagConfig) -> LagFit:
    ema = x if fit.ema_log is None else fit.ema_log + ema_weight(dt_s, fit.lag_s) * (
        x - fit.ema_log)
    anchor_log, anchor_mid, anchor_ns = fit.anchor_log, fit.anchor_mid, fit.anchor_ns
    sxy, sxx, syy, n = fit.sxy, fit.sxx, fit.syy, fit.n
    if mid is not None:
        if anchor_log is None:
            anchor_log, anchor_mid, anchor_ns = ema, mid, now_ns
        elif now_ns - anchor_ns >= cfg.learn_horizon_s * 1e9:
            dx, dy = ema - anchor_log, mid - anchor_mid
            a = cfg.learn_alpha if n else 1.0
            sxy = a * dx * dy + (1 - a) * sxy
            sxx = a * dx * dx + (1 - a) * sxx
            syy = a * dy * dy + (1 - a) * syy
            n += 1
            anchor_log, anchor_mid, anchor_ns = ema, mid, now_ns
    return LagFit(lag_s=fit.lag_s, ema_log=ema, anchor_log=anchor_log, anchor_mid=anchor_mid,
                  anchor_ns=anchor_ns, sxy=sxy, sxx=sxx, syy=syy, n=n)


def chosen(state: LeadLagState, cfg: LeadLagConfig) -> LagFit | None:
    """The fit the shift uses: the configured lag's, or the learned lag's (best R^2 among
    the fits with `min_samples`); None while still learning."""
    if len(state.fits) == 1:
        return state.fits[0]
    ready = [f for f in state.fits if f.n >= cfg.min_samples and f.sxx > 0 and f.syy > 0]
    return max(ready, key=lambda f: f.sxy * f.sxy / (f.sxx * f.syy), default=None)


def sensitivity(state: LeadLagState, cfg: LeadLagConfig) -> float | None:
    """Pips of fair value per unit log-return of the reference; None while still learning."""
    fit = chosen(state, cfg)
    return None if fit is None else _fit_sensitivity(fit, cfg)


def _fit_sensitivity(fit: LagFit, cfg: LeadLagConfig) -> float | None:
    if cfg.sensitivity > 0:
        return cfg.sensitivity * PRICE_SCALE
    if fit.n < cfg.min_samples or fit.sxx <= 0:
        return None
    return fit.sxy / fit.sxx


def effect(
    state: LeadLagState, reference: float, cfg: LeadLagConfig
) -> tuple[Effect, SignalReading]:
    """The fair-value shift still to come (reading value in $)."""
    fit = chosen(state, cfg)  # once per step: with a learned lag it scans every fit
    sens = None if fit is None else _fit_sensitivity(fit, cfg)
    if fit is None or sens is None or fit.ema_log is None:
        return NONE, SignalReading("lead_lag", 0.0, False, "learning")
    cap = cfg.max_shift * PRICE_SCALE
    shift = max(-cap, min(cap, sens * (math.log(reference) - fit.ema_log)))
    if shift == 0:
        return NONE, SignalReading("lead_lag", 0.0, False)
    note = f"shift {shift:+.0f}" + (f" (lag {fit.lag_s:g} s)" if len(state.fits) > 1 else "")
    return Effect(fv_shift=shift), SignalReading("lead_lag", shift / PRICE_SCALE, True, note)
