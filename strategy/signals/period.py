"""Period phases: markets that run in fixed periods (15-minute crypto up/down and the like).

Periods start at unix multiples of `period_s` plus `offset_s`. Each has three phases:

    early   first `early_s`:    the strike was just set and the book is thin; x early_widen
    middle  the rest:           normal quoting
    final   last `final_s`:     x final_widen; inside the last `pull_s` every quote is pulled

A binary a few seconds from settling is all gamma: one tick of the reference flips it.
"""

from __future__ import annotations

from common.signal_config import PeriodConfig
from strategy.signals.types import NONE, Effect, SignalReading

__all__ = ["effect", "end_ns", "phase", "position"]


def position(now_ns: int, cfg: PeriodConfig) -> tuple[int, float, float]:
    """(period index, seconds into it, seconds left); index -1 without periods."""
    if cfg.period_s <= 0:
        return -1, 0.0, 0.0
    t = now_ns / 1e9 - cfg.offset_s
    index = int(t // cfg.period_s)
    into = t - index * cfg.period_s
    return index, into, cfg.period_s - into


def phase(now_ns: int, cfg: PeriodConfig) -> str:
    """early, middle, final or pull ("" without periods)."""
    index, into, left = position(now_ns, cfg)
    if index < 0:
        return ""
    if left <= cfg.pull_s:
        return "pull"
    if left <= cfg.final_s:
        return "final"
    if into < cfg.early_s:
        return "early"
    return "middle"


def end_ns(now_ns: int, cfg: PeriodConfig) -> int | None:
    """When the current period ends (unix ns), None without periods."""
    index, _, left = position(now_ns, cfg)
    return None if index < 0 else now_ns + int(left * 1e9)


def effect(now_ns: int, cfg: PeriodConfig) -> tuple[Effect, SignalReading]:
    """The phase's rule; the reading's value is the seconds left in the period."""
    name = phase(now_ns, cfg)
    _, _, left = position(now_ns, cfg)
    if name == "pull":
        return Effect(pull_bid=True, pull_ask=True), SignalReading("period", left, True, "pull")
    if name == "final" and cfg.final_widen > 1:
        return Effect(widen=cfg.final_widen), SignalReading("period", left, True, "final")
    if name == "early" and cfg.early_widen > 1:
        return Effect(widen=cfg.early_widen), SignalReading("period", left, True, "early")
    return NONE, SignalReading("period", left, False, name)
