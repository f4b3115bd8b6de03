"""Threshold markets ("above K at resolution?"): fair value from the reference price.

With S the reference, K the strike, tau the seconds left and sigma the volatility of log S
per sqrt(second), the risk-neutral probability of finishing above K (drift 0) is

    d2 = (ln(S / K) - sigma^2 * tau / 2) / (sigma * sqrt(tau))      P = N(d2)

and at tau <= 0 (or sigma 0) it is 1 above K, 0 below, 1/2 at K. `fv_method = "threshold"`
uses P (in pips) as fair value; without a fresh reference, a strike or a time left it falls
back to the weighted mid.

Gamma near expiry: P's sensitivity dP/dS = phi(d2) / (S sigma sqrt(tau)) explodes at the money
as tau -> 0. Over a quote's holding horizon h the typical move of P is

    move_h = phi(d2) * sqrt(h / tau)          (capped at 1/2)

and the half-spread is multiplied by min(max_widen, 1 + gamma_widen * move_h / spread).
(The textbook gamma of a digital, d2P/dS2, vanishes exactly at the money where this risk is
largest, so the widening uses the move it causes rather than gamma itself.)

sigma is `annual_vol / sqrt(seconds per year)`, or learned from the feed (0): variance per
second as the ratio of EWMAs of squared log-returns and of the seconds between readings.
For a period market without a strike (15-minute up/down), K is the first reference reading
of the current period (period.py gives the period).
"""

from __future__ import annotations

import math

from common.signal_config import ThresholdConfig
from strategy.signals.maths import norm_cdf, norm_pdf
from strategy.signals.types import ThresholdState

__all__ = ["SECONDS_PER_YEAR", "move_over", "probability", "sigma", "update", "widen_factor"]

SECONDS_PER_YEAR = 365.25 * 86_400
_MIN_DT_S = 1e-3
_MIN_STDEV = 1e-12
"""Below this stdev of log S to expiry, the probability is the step function."""


def probability(reference: float, strike: float, tau_s: float, sigma: float) -> float:
    """P(S_T > K) = N(d2), in [0, 1]; sigma per sqrt(second)."""
    if reference <= 0 or strike <= 0:
        raise ValueError("reference and strike must be positive")
    s = sigma * math.sqrt(tau_s) if tau_s > 0 and sigma > 0 else 0.0
    if s < _MIN_STDEV:  # no time or no volatility left: the outcome is known
        return 1.0 if reference > strike else 0.0 if reference < strike else 0.5
    return norm_cdf((math.log(reference / strike) - 0.5 * s * s) / s)


def move_over(reference: float, strike: float, tau_s: float, sigma: float, h_s: float) -> float:
    """Typical move of P over `h_s` seconds: phi(d2) * sqrt(h / tau), in [0, 0.5]."""
    if tau_s <= 0 or sigma <= 0 or reference <= 0 or strike <= 0:
        return 0.0
    s = sigma * math.sqrt(tau_s)
    if s < _MIN_STDEV:
        return 0.0
    d2 = (math.log(reference / strike) - 0.5 * s * s) / s
    return min(0.5, norm_pdf(d2) * math.sqrt(h_s / tau_s))


def widen_factor(move: float, half_spread_usd: float, cfg: ThresholdConfig) -> float:
    """Half-spread multiplier for a typical move of P (>= 1, <= max_widen)."""
    if move <= 0 or cfg.gamma_widen <= 0:
        return 1.0
    return min(cfg.max_widen, 1.0 + cfg.gamma_widen * move / max(half_spread_usd, 1e-6))


def update(state: ThresholdState, reference: float, ts_ns: int, period: int,
           cfg: ThresholdConfig) -> ThresholdState:
    """Fold a new reference reading (ts_ns: its publish time) into the volatility estimate;
    the first reading of a new period (`period` >= 0) becomes its strike."""
    strike, idx = state.period_strike, state.period
    if period >= 0 and period != idx:
        strike, idx = reference, period
    if ts_ns == state.last_ns and state.last_log is not None:
        return ThresholdState(last_log=state.last_log, last_ns=state.last_ns, sq=state.sq,
                              dt_s=state.dt_s, n=state.n, period=idx, period_strike=strike)
    x = math.log(reference)
    if state.last_log is None:
        return ThresholdState(last_log=x, last_ns=ts_ns, n=1, period=idx, period_strike=strike)
    move_sq = (x - state.last_log) ** 2
    dt = max(_MIN_DT_S, (ts_ns - state.last_ns) / 1e9)
    a = cfg.vol_alpha
    sq, dts = (move_sq, dt) if state.n == 1 else (
        a * move_sq + (1 - a) * state.sq, a * dt + (1 - a) * state.dt_s)
    return ThresholdState(last_log=x, last_ns=ts_ns, sq=sq, dt_s=dts, n=state.n + 1,
                          period=idx, period_strike=strike)


def sigma(state: ThresholdState, cfg: ThresholdConfig) -> float | None:
    """Volatility of log S per sqrt(second): configured, learned, or None while learning."""
    if cfg.annual_vol > 0:
        return cfg.annual_vol / math.sqrt(SECONDS_PER_YEAR)
    if state.n < cfg.min_samples or state.dt_s <= 0:
        return None
    return math.sqrt(state.sq / state.dt_s)
