"""One side of a price-time order book: price levels of FIFO queues, in YES-price pips."""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ONE", "Book", "BookSide", "Order", "Side"]

ONE = 10_000
"""One dollar in pips: the payout of a winning token."""

Side = Literal["BUY", "SELL"]


@dataclass(eq=False, slots=True)
class Order:
    """A live or finished order. `price` and `side` are in the order's own token terms."""

    id: str
    account: str
    market: str
    asset_id: str
    is_yes: bool
    side: Side
    price: int
    original_size: int
    order_type: str
    post_only: bool
    expiration: int
    created_ms: int
    size_matched: int = 0
    status: str = "LIVE"
    trade_ids: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.original_size - self.size_matched

    @property
    def yes_bid(self) -> bool:
        """True if the order rests on the YES bid side (BUY YES, or SELL NO)."""
        return (self.side == "BUY") == self.is_yes

    @property
    def yes_price(self) -> int:
        return self.price if self.is_yes else ONE - self.price


class BookSide:
    """Price levels of one side; `prices` is kept sorted ascending."""

    __slots__ = ("is_bid", "levels", "sizes", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, deque[Order]] = {}
        self.sizes: dict[int, int] = {}
        self.prices: list[int] = []

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def crosses(self, limit: int) -> bool:
        """True if an incoming opposite order at YES price `limit` would match this side."""
        best = self.best()
        if best is None:
            return False
        return best >= limit if self.is_bid else best <= limit

    def fillable(self, limit: int, wanted: int) -> int:
        """Size available at prices that cross `limit`, counted up to `wanted`."""
        total = 0
        ordered = reversed(self.prices) if self.is_bid else iter(self.prices)
        for price in ordered:
            if (price < limit) if self.is_bid else (price > limit):
                break
            total += self.sizes[price]
            if total >= wanted:
                break
        return total

    def add(self, order: Order) -> int:
        """Append at the back of its level; return the level's new size."""
        price = order.yes_price
        level = self.levels.get(price)
        if level is None:
            level = deque()
            self.levels[price] = level
            self.sizes[price] = 0
            bisect.insort(self.prices, price)
        level.append(order)
        self.sizes[price] += order.remaining
        return self.sizes[price]

    def reduce(self, price: int, size: int) -> int:
        """Take size off a level's aggregate (after a fill); return the new aggregate."""
        self.sizes[price] -= size
        return self.sizes[price]

    def pop_front(self, price: int) -> None:
        level = self.levels[price]
        level.popleft()
        if not level:
            self._drop(price)

    def remove(self, order: Order) -> int:
        """Remove a resting order; return the level's new size (0 when the level is gone)."""
        price = order.yes_price
        level = self.levels[price]
        level.remove(order)
        self.sizes[price] -= order.remaining
        if not level:
            self._drop(price)
            return 0
        return self.sizes[price]

    def _drop(self, price: int) -> None:
        del self.levels[price]
        del self.sizes[price]
        i = bisect.bisect_left(self.prices, price)
        del self.prices[i]

    def depth(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Levels best first as (price, size)."""
        ordered = reversed(self.prices) if self.is_bid else iter(self.prices)
        out: list[tuple[int, int]] = []
        for price in ordered:
            out.append((price, self.sizes[price]))
            if limit is not None and len(out) >= limit:
                break
        return out


class Book:
    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
