"""Volatility spike: short-window realised volatility of the mid against its baseline.

Two estimators of the variance per second of the mid, each the ratio of an EWMA of squared
moves to an EWMA of the seconds between books (as strategy/volatility.py, robust to
bursts of books): a fast one (`fast_alpha` per book) and a slow baseline (`slow_alpha`).

    ratio = sigma_fast / max(sigma_slow, min_sigma)          sigma in $ per sqrt(s)

After `warmup_books`, a ratio at or above `ratio` starts a cooldown of `cooldown_s`: until it
ends the quotes widen by `widen` (`action = "widen"`) or are pulled (`action = "pull"`). A
news jump moves the book several ticks in a row: that is the moment the slowest maker gets
picked off, and the fast estimator sees it within a few books.
"""

from __future__ import annotations

import math

import msgspec

from common.prices import PRICE_SCALE
from common.signal_config import VolSpikeConfig
from strategy.signals.types import NONE, Effect, SignalReading, VolSpikeState

__all__ = ["effect", "ratio", "update"]

_MIN_DT_S = 1e-3


def update(state: VolSpikeState, mid: float, now_ns: int, cfg: VolSpikeConfig) -> VolSpikeState:
    """Fold one new book's mid (pips) into both estimators; start a cooldown on a spike."""
    if state.last is None:
        return VolSpikeState(last=mid, last_ns=now_ns, n=1, until_ns=state.until_ns)
    move_sq = (mid - state.last) ** 2
    dt_s = max(_MIN_DT_S, (now_ns - state.last_ns) / 1e9)
    if state.n == 1:
        fast_sq = slow_sq = move_sq
        fast_dt = slow_dt = dt_s
    else:
        a, b = cfg.fast_alpha, cfg.slow_alpha
        fast_sq = a * move_sq + (1 - a) * state.fast_sq
        fast_dt = a * dt_s + (1 - a) * state.fast_dt_s
        slow_sq = b * move_sq + (1 - b) * state.slow_sq
        slow_dt = b * dt_s + (1 - b) * state.slow_dt_s
    new = VolSpikeState(
        last=mid, last_ns=now_ns, fast_sq=fast_sq, fast_dt_s=fast_dt, slow_sq=slow_sq,
        slow_dt_s=slow_dt, n=state.n + 1, until_ns=state.until_ns,
    )
    if new.n >= cfg.warmup_books and ratio(new, cfg) >= cfg.ratio:
        new = msgspec.structs.replace(new, until_ns=now_ns + int(cfg.cooldown_s * 1e9))
    return new


def ratio(state: VolSpikeState, cfg: VolSpikeConfig) -> float:
    """Fast over slow volatility (0 until two books)."""
    if state.n < 2 or state.fast_dt_s <= 0 or state.slow_dt_s <= 0:
        return 0.0
    fast = math.sqrt(state.fast_sq / state.fast_dt_s) / PRICE_SCALE
    slow = math.sqrt(state.slow_sq / state.slow_dt_s) / PRICE_SCALE
    return fast / max(slow, cfg.min_sigma, 1e-12)


def effect(
    state: VolSpikeState, now_ns: int, cfg: VolSpikeConfig
) -> tuple[Effect, SignalReading]:
    """Widen or pull while a cooldown runs."""
    value = ratio(state, cfg)
    if now_ns >= state.until_ns:
        return NONE, SignalReading("vol_spike", value, False)
    if cfg.action == "pull":
        return Effect(pull_bid=True, pull_ask=True), SignalReading("vol_spike", value, True, "pull")
    return Effect(widen=cfg.widen), SignalReading("vol_spike", value, True, f"widen {cfg.widen}")
