"""A pure L2 order book for one token: integer pips and centi-contracts.

The venue's level order is never trusted: levels live in dicts keyed by price and
top-N extraction sorts locally, best level first. A book is "valid" only between a
full snapshot and the next invalidation (a tick-size change or a reconnect); level
updates to an invalid book are ignored, because the venue has no sequence numbers
and only a fresh snapshot can rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from common.messages import Level

__all__ = ["L2Book", "Side"]

Side = Literal["BUY", "SELL"]


class L2Book:
    """Aggregate size per price on each side of one token's book."""

    __slots__ = ("asks", "bids", "valid")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.valid = False

    def replace(
        self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]
    ) -> None:
        """Apply a full snapshot: every old level goes; zero-size levels are skipped."""
        self.bids = {p: s for p, s in bids if s > 0}
        self.asks = {p: s for p, s in asks if s > 0}
        self.valid = True

    def set_level(self, side: Side, price: int, size: int) -> bool:
        """Set the absolute size at a price (0 removes it); return False if the book is invalid."""
        if not self.valid:
            return False
        levels = self.bids if side == "BUY" else self.asks
        if size > 0:
            levels[price] = size
        else:
            levels.pop(price, None)
        return True

    def invalidate(self) -> None:
        """Drop every level until the next snapshot (tick change, reconnect)."""
        self.bids = {}
        self.asks = {}
        self.valid = False

    def top(self, depth: int) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The best `depth` levels of each side, best first (highest bid, lowest ask)."""
        # Sorting the int keys and looking the sizes up is 2.5x faster than heapq over
        # (price, size) items at 10-100 levels a side (tuple comparisons), per book (issue 9).
        bids, asks = self.bids, self.asks
        return (
            tuple(Level(price=p, size=bids[p]) for p in sorted(bids, reverse=True)[:depth]),
            tuple(Level(price=p, size=asks[p]) for p in sorted(asks)[:depth]),
        )
