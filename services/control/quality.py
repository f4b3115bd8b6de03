"""Trading quality from the bus: spread captured at fill time and markouts after it. Pure.

A fill is turned into a signed YES-terms trade: BUY YES at p and SELL NO at q are long
YES at p and 1 - q; SELL YES and BUY NO are short. Then, per contract, in pips:

- spread captured = direction x (mid at fill time - YES price): the edge against the mid;
- markout at horizon h = direction x (mid h later - YES price): what the fill is worth
  h later. A markout below the spread captured is adverse selection.

Nothing here reads a clock: callers pass monotonic nanoseconds.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from common.messages import BookSnapshot, Fill
from common.prices import PRICE_SCALE

__all__ = ["HORIZONS_NS", "MAX_PENDING", "QualityTracker", "Scored", "mid_of", "yes_terms"]

HORIZONS_NS: dict[str, int] = {"1s": 1_000_000_000, "5s": 5_000_000_000, "30s": 30_000_000_000}
MAX_PENDING = 50_000


def mid_of(book: BookSnapshot) -> float | None:
    """The book mid in pips, or None for a one-sided or stale book."""
    if book.stale or not book.bids or not book.asks:
        return None
    return (book.bids[0].price + book.asks[0].price) / 2


def yes_terms(fill: Fill) -> tuple[int, int]:
    """(direction, YES price in pips): direction +1 long YES, -1 short YES."""
    if fill.outcome == "YES":
        return (1 if fill.side == "BUY" else -1), fill.price
    return (-1 if fill.side == "BUY" else 1), PRICE_SCALE - fill.price


@dataclass(frozen=True)
class Scored:
    """One measurement: per-contract USD value and the size it weighs."""

    market: str
    kind: str  # "spread" or a markout horizon such as "5s"
    usd_per_contract: float
    size_centi: int


@dataclass(order=True)
class _Pending:
    due_ns: int
    market: str = field(compare=False)
    horizon: str = field(compare=False)
    direction: int = field(compare=False)
    yes_price: int = field(compare=False)
    size_centi: int = field(compare=False)


class QualityTracker:
    """Latest mid per market plus the fills waiting for their markout horizons."""

    def __init__(self, horizons_ns: dict[str, int] | None = None) -> None:
        self.horizons_ns = dict(HORIZONS_NS if horizons_ns is None else horizons_ns)
        self.mids: dict[str, float] = {}
        self._pending: list[_Pending] = []
        self.dropped = 0

    def on_book(self, book: BookSnapshot) -> None:
        mid = mid_of(book)
        if mid is not None:
            self.mids[book.market] = mid

    def on_fill(self, fill: Fill, now_ns: int) -> list[Scored]:
        """Score the spread captured now and schedule the markouts; [] without a mid yet."""
        mid = self.mids.get(fill.market)
        if mid is None:
            return []
        direction, yes_price = yes_terms(fill)
        for name, horizon in self.horizons_ns.items():
            if len(self._pending) >= MAX_PENDING:
                self.dropped += 1
                continue
            heapq.heappush(self._pending, _Pending(now_ns + horizon, fill.market, name,
                                                   direction, yes_price, fill.size))
        edge = direction * (mid - yes_price) / PRICE_SCALE
        return [Scored(fill.market, "spread", edge, fill.size)]

    def due(self, now_ns: int) -> list[Scored]:
        """Markouts whose horizon has passed, against each market's latest mid."""
        out: list[Scored] = []
        while self._pending and self._pending[0].due_ns <= now_ns:
            p = heapq.heappop(self._pending)
            mid = self.mids.get(p.market)
            if mid is None:
                self.dropped += 1
                continue
            value = p.direction * (mid - p.yes_price) / PRICE_SCALE
            out.append(Scored(p.market, p.horizon, value, p.size_centi))
        return out

    @property
    def pending(self) -> int:
        return len(self._pending)
