"""Momentum: short-term drift of fair value widens or pulls the side it would run over.

Two time-constant EMAs of the fair value (`fast_s`, `slow_s` seconds; time-based weights,
so the book rate does not matter). The drift is their difference in dollars:

    drift = ema_fast - ema_slow
    |drift| >= widen_threshold: the run-over side's half-spread x side_widen
    |drift| >= pull_threshold:  the run-over side is pulled

Rising fair value runs over the ask (takers lift a stale ask on the way up), falling fair
value the bid. The other side is left alone: we do not lean into the move, we step aside.
`skew` also moves fair value by skew x drift (0: off), both quotes with the move, since a
book that lags the news keeps drifting the same way for a while.
"""

from __future__ import annotations

from common.prices import PRICE_SCALE
from common.signal_config import MomentumConfig
from strategy.signals.maths import ema_weight
from strategy.signals.types import NONE, Effect, MomentumState, SignalReading

__all__ = ["drift", "effect", "update"]


def update(state: MomentumState, fair: float, now_ns: int, cfg: MomentumConfig) -> MomentumState:
    """Fold one fair value (pips) seen on a new book into both EMAs."""
    if state.fast is None or state.slow is None:
        return MomentumState(fast=fair, slow=fair, last_ns=now_ns)
    dt_s = (now_ns - state.last_ns) / 1e9
    wf, ws = ema_weight(dt_s, cfg.fast_s), ema_weight(dt_s, cfg.slow_s)
    return MomentumState(
        fast=state.fast + wf * (fair - state.fast),
        slow=state.slow + ws * (fair - state.slow),
        last_ns=now_ns,
    )


def drift(state: MomentumState) -> float:
    """Fast minus slow EMA, in dollars (0 before the first observation)."""
    if state.fast is None or state.slow is None:
        return 0.0
    return (state.fast - state.slow) / PRICE_SCALE


def effect(state: MomentumState, cfg: MomentumConfig) -> tuple[Effect, SignalReading]:
    d = drift(state)
    size = abs(d)
    up = d > 0
    side = "ask" if up else "bid"
    shift = cfg.skew * d * PRICE_SCALE
    if size >= cfg.pull_threshold and size > 0:
        eff = Effect(pull_ask=True, fv_shift=shift) if up else Effect(pull_bid=True, fv_shift=shift)
        return eff, SignalReading("momentum", d, True, f"pull {side}")
    if size >= cfg.widen_threshold and size > 0:
        w = cfg.side_widen
        eff = (Effect(widen_ask=w, fv_shift=shift) if up
               else Effect(widen_bid=w, fv_shift=shift))
        return eff, SignalReading("momentum", d, True, f"widen {side} {w}")
    if shift:
        return Effect(fv_shift=shift), SignalReading("momentum", d, False, f"skew {shift:+.0f}")
    return NONE, SignalReading("momentum", d, False)
