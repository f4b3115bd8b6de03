"""Regime detection: trending, mean-reverting or volatile, from the recent moves of the mid.

Only non-zero moves count (a tick-grid mid mostly stands still), as (pips, seconds since
the previous move), the last `window` of them. With at least `min_returns`:

    sigma       = sqrt(sum r^2 / sum dt) / 10_000                    $ per sqrt(s)
    efficiency  = |sum r| / sum |r|                                  1: every move one way
    autocorr    = sum r_i * r_(i-1) / sum r_i^2                      lag 1, uncentred

volatile if sigma >= volatile_sigma, else trending if efficiency >= trend_efficiency, else
mean_reverting if autocorr <= mean_revert_autocorr, else neutral. Each regime has its own
spread factor (>= 1: a regime can only widen; neutral 1).
"""

from __future__ import annotations

import math

from common.prices import PRICE_SCALE
from common.signal_config import RegimeConfig
from strategy.signals.types import NONE, Effect, RegimeState, SignalReading

__all__ = ["classify", "effect", "update"]

_MIN_DT_S = 1e-3


def update(state: RegimeState, mid: float, now_ns: int, cfg: RegimeConfig) -> RegimeState:
    """Record the move of the mid since the previous change, if it changed."""
    if state.last is None:
        return RegimeState(last=mid, last_ns=now_ns)
    move = mid - state.last
    if move == 0:
        return state
    dt = max(_MIN_DT_S, (now_ns - state.last_ns) / 1e9)
    moves = (*state.moves, (move, dt))[-cfg.window:]
    return RegimeState(last=mid, last_ns=now_ns, moves=moves)


def classify(state: RegimeState, cfg: RegimeConfig) -> tuple[str, float, float, float]:
    """(regime, sigma, efficiency, autocorr); neutral with too few moves."""
    moves = state.moves
    if len(moves) < cfg.min_returns:
        return "neutral", 0.0, 0.0, 0.0
    r = [m for m, _ in moves]
    span = sum(dt for _, dt in moves)
    sq = sum(x * x for x in r)
    sigma = math.sqrt(sq / span) / PRICE_SCALE if span > 0 else 0.0
    efficiency = abs(sum(r)) / sum(abs(x) for x in r)
    autocorr = sum(a * b for a, b in zip(r[1:], r[:-1], strict=True)) / sq
    if sigma >= cfg.volatile_sigma:
        name = "volatile"
    elif efficiency >= cfg.trend_efficiency:
        name = "trending"
    elif autocorr <= cfg.mean_revert_autocorr:
        name = "mean_reverting"
    else:
        name = "neutral"
    return name, sigma, efficiency, autocorr


def effect(state: RegimeState, cfg: RegimeConfig) -> tuple[Effect, SignalReading, str]:
    """The regime's widening, its reading (value: efficiency) and its name."""
    name, _, efficiency, _ = classify(state, cfg)
    factor = {"trending": cfg.trending_widen, "mean_reverting": cfg.mean_reverting_widen,
              "volatile": cfg.volatile_widen}.get(name, 1.0)
    reading = SignalReading("regime", efficiency, factor > 1, name)
    return (Effect(widen=factor) if factor > 1 else NONE), reading, name
