"""When to send a new ladder, pure: compare it with the live one and its age.

- Nothing sent yet: send ("first").
- A level appeared or vanished, a size changed, or a price moved by at least the requote
  threshold (0: any move): send ("changed").
- The live ladder is older than `max_quote_age_ms`: send anyway ("max_age").
- A timer step (the `interval_ms` floor): send the live ladder again ("timer"; the engine
  re-sends `last` unchanged, so resting levels do not move), so a lost intent or a
  restarted risk/executor is repaired within one interval (desired state is idempotent).
- Otherwise skip ("within_threshold"): the live quotes are still good enough.

The actor steps on every book change (event-driven) and at least every `interval_ms`
(the timer floor), so time-driven changes (resolution windows, EMA) are seen too.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.config import QuotingConfig
from common.messages import Level
from common.prices import PRICE_SCALE
from strategy.model import Ladder, RequoteReason

__all__ = ["ladder_changed", "requote"]


def _side_changed(old: Sequence[Level], new: Sequence[Level], threshold_pips: int) -> bool:
    if len(old) != len(new):
        return True
    for a, b in zip(old, new, strict=True):
        if a.size != b.size:
            return True
        moved = abs(a.price - b.price)
        if moved and moved >= threshold_pips:
            return True
    return False


def ladder_changed(old: Ladder | None, new: Ladder, threshold_pips: int) -> bool:
    """True if `new` must replace `old` (see the module docstring); exits must match exactly."""
    if old is None:
        return True
    return (
        _side_changed(old.bids, new.bids, threshold_pips)
        or _side_changed(old.asks, new.asks, threshold_pips)
        or old.exit_bids != new.exit_bids
        or old.exit_asks != new.exit_asks
    )


def requote(
    last: Ladder | None, last_ns: int, new: Ladder, now_ns: int, params: QuotingConfig,
    *, timer: bool = False,
) -> tuple[bool, RequoteReason]:
    """(send?, why) for `new` against the live ladder `last` sent at `last_ns`."""
    if last is None:
        return True, "first"
    if ladder_changed(last, new, round(params.threshold * PRICE_SCALE)):
        return True, "changed"
    if now_ns - last_ns >= params.max_quote_age_ms * 1_000_000:
        return True, "max_age"
    if timer:
        return True, "timer"
    return False, "within_threshold"
