"""Fold every signal's effect into ONE quote action per market, pure.

    widen_bid = min(max_widen, max over effects of max(widen, widen_bid))      same for asks
    pull_bid  = any effect pulls the bid                                        same for asks
    fv_nudge  = sum of fv_shift, clamped to +-max_fv_nudge (pips)

Factors take the largest, not the product: correlated signals (a volatility spike and a
volatile regime) describe the same danger and should not compound. The action names the
result: `pull` (both sides pulled), `bid_only`, `ask_only`, `widen` (a factor above 1 on a
quoted side), else `both`. A pulled side is never quoted, and no factor is below 1.
"""

from __future__ import annotations

from collections.abc import Iterable

from strategy.signals.types import Combined, Effect, QuoteAction

__all__ = ["action_of", "combine", "widened"]


def combine(effects: Iterable[Effect], max_widen: float, max_nudge_pips: float) -> Combined:
    """The one action of a set of effects (module docstring)."""
    wb = wa = 1.0
    pb = pa = False
    nudge = 0.0
    for e in effects:
        wb = max(wb, e.widen, e.widen_bid)
        wa = max(wa, e.widen, e.widen_ask)
        pb = pb or e.pull_bid
        pa = pa or e.pull_ask
        nudge += e.fv_shift
    cap = max(1.0, max_widen)
    wb, wa = min(cap, wb), min(cap, wa)
    nudge = max(-max_nudge_pips, min(max_nudge_pips, nudge))
    return Combined(action=action_of(pb, pa, wb, wa), widen_bid=wb, widen_ask=wa,
                    pull_bid=pb, pull_ask=pa, fv_nudge=nudge)


def action_of(pull_bid: bool, pull_ask: bool, widen_bid: float, widen_ask: float) -> QuoteAction:
    """The action's name for pulled sides and factors."""
    if pull_bid and pull_ask:
        return "pull"
    if pull_ask:
        return "bid_only"
    if pull_bid:
        return "ask_only"
    if widen_bid > 1.0 or widen_ask > 1.0:
        return "widen"
    return "both"


def widened(half_spread: float, factor: float, max_half: float) -> float:
    """`half_spread` x `factor`, capped at `max_half` but never below `half_spread`: a
    signal widens, it never narrows."""
    return max(half_spread, min(half_spread * max(1.0, factor), max_half))
