"""Approaching resolution, pure: when to stop adding inventory and how to exit it.

- Inside `stop_adding_window_s` before the market's resolution time the engine quotes only
  the side that reduces |net|, and at most |net| of it (flat: nothing at all).
- Inside the final `pull_window_s` (signals on, `[quoting.signals.resolution]`) every quote
  is pulled: a binary about to settle is all gamma (strategy/signals/evaluate.py).
- Inside `exit_window_s`, when |net| exceeds `exit_threshold * max_inventory`, the excess
  is exited with marketable limit orders at the prices resting on the book (walking it),
  the one case of a non-post-only order. They travel as `QuoteIntent.exit_bids/exit_asks`
  and must still pass risk's limits.
"""

from __future__ import annotations

from common.config import QuotingConfig
from common.messages import Level
from common.prices import SIZE_SCALE
from strategy.model import BookLike

__all__ = ["exit_orders", "final_window", "stop_adding", "time_to_resolution_s"]


def time_to_resolution_s(resolves_at_ns: int | None, now_ns: int) -> float | None:
    """Seconds until resolution (negative once past), or None when unknown."""
    return None if resolves_at_ns is None else (resolves_at_ns - now_ns) / 1e9


def stop_adding(params: QuotingConfig, ttr_s: float | None) -> bool:
    """True inside the stop-adding window before resolution."""
    return ttr_s is not None and ttr_s < params.stop_adding_window_s


def final_window(pull_window_s: float, ttr_s: float | None) -> bool:
    """True inside the final window before resolution (and after it), where quotes are
    pulled; never without a resolution time or with a zero window."""
    return ttr_s is not None and pull_window_s > 0 and ttr_s < pull_window_s


def exit_orders(
    book: BookLike, net_centi: int, params: QuotingConfig, ttr_s: float | None
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """(exit_bids, exit_asks) that bring |net| down to the exit threshold, or empty."""
    if ttr_s is None or ttr_s >= params.exit_window_s or net_centi == 0:
        return (), ()
    limit = int(params.exit_threshold * params.max_inventory * SIZE_SCALE)
    excess = abs(net_centi) - limit
    if excess <= 0:
        return (), ()
    levels = book.bids if net_centi > 0 else book.asks  # long: sell into bids
    out: list[Level] = []
    for lv in levels:
        if excess <= 0:
            break
        take = min(excess, lv.size)
        if take > 0:
            out.append(Level(price=lv.price, size=take))
            excess -= take
    return ((), tuple(out)) if net_centi > 0 else (tuple(out), ())
