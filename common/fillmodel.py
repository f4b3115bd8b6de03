"""Queue-position fill model for paper trading, shared by the backtester's paper venue
(research/) and the paper executor (services/executor/paper.py), so both fill
our orders by the same rules. Pure and deterministic: no clock, no randomness, no I/O.

Our orders are not in the market-data book (the book is someone else's: recorded, replayed,
synthetic or live), so the model infers what would have happened to them:

- Arrival: a post-only order that would cross the book is rejected (as the venue does);
  otherwise it joins the back of its price level: `queue_ahead` = the book's size there.
- Book update: size at our level that shrinks was ahead of us (cancels or trades), so
  `queue_ahead` = min(queue_ahead, size now). A book that trades through our price
  (best ask <= our bid, best bid >= our ask) fills the whole remainder at our price.
- Trade print (aggressor SELL hits bids, BUY lifts asks): orders priced better than the
  print would have been hit first and fill up to the print's size; an order at the print's
  price fills only after `queue_ahead` is consumed. Partial fills follow naturally.

Prices are YES-terms pips, sizes centi-contracts (ARCHITECTURE.md "Units").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

__all__ = ["LevelLike", "QueueFill", "QueueModel", "RestingOrder", "level_size"]


class LevelLike(Protocol):
    @property
    def price(self) -> int: ...

    @property
    def size(self) -> int: ...


@dataclass(slots=True)
class RestingOrder:
    """One of our orders resting in the paper book, in YES terms (`yes_bid`: bid side)."""

    order_id: str
    yes_bid: bool
    price: int
    remaining: int
    queue_ahead: int


class QueueFill(NamedTuple):
    """A (partial) fill of one of our resting orders, at its own YES-terms price."""

    order_id: str
    yes_bid: bool
    price: int
    size: int
    remaining: int


def level_size(levels: Sequence[LevelLike], price: int) -> int:
    """Size resting at `price` on one side of a book (0 when the level is absent)."""
    for lv in levels:
        if lv.price == price:
            return lv.size
    return 0


class QueueModel:
    """Our resting orders on one market and how the market's book and trades fill them."""

    def __init__(self) -> None:
        self.orders: dict[str, RestingOrder] = {}
        self.bids: Sequence[LevelLike] = ()
        self.asks: Sequence[LevelLike] = ()

    def crosses(self, yes_bid: bool, price: int) -> bool:
        """True if a post-only order at `price` would take liquidity from the current book."""
        if yes_bid:
            return bool(self.asks) and self.asks[0].price <= price
        return bool(self.bids) and self.bids[0].price >= price

    def add(self, order_id: str, yes_bid: bool, price: int, size: int) -> bool:
        """Rest a post-only order at the back of its level; False if it would cross."""
        if size <= 0 or self.crosses(yes_bid, price):
            return False
        ahead = level_size(self.bids if yes_bid else self.asks, price)
        self.orders[order_id] = RestingOrder(order_id, yes_bid, price, size, ahead)
        return True

    def cancel(self, order_id: str) -> RestingOrder | None:
        """Remove an order; return it (None if it had already filled or never rested)."""
        return self.orders.pop(order_id, None)

    def on_book(self, bids: Sequence[LevelLike], asks: Sequence[LevelLike]) -> list[QueueFill]:
        """Take a new book: shrink queues ahead of us, fill orders the book traded through."""
        self.bids, self.asks = bids, asks
        fills: list[QueueFill] = []
        best_bid = bids[0].price if bids else None
        best_ask = asks[0].price if asks else None
        for order in list(self.orders.values()):
            through = (
                (best_ask is not None and best_ask <= order.price)
                if order.yes_bid
                else (best_bid is not None and best_bid >= order.price)
            )
            if through:
                fills.append(self._fill(order, order.remaining))
                continue
            now = level_size(bids if order.yes_bid else asks, order.price)
            if now < order.queue_ahead:
                order.queue_ahead = now
        return fills

    def on_trade(self, price: int, size: int, aggressor_buy: bool) -> list[QueueFill]:
        """Take a trade print: fill orders the aggressor would have reached, best first."""
        left = size
        fills: list[QueueFill] = []
        side = [o for o in self.orders.values() if o.yes_bid != aggressor_buy]
        if aggressor_buy:  # lifts asks: ours at or below the print, lowest first
            side = sorted((o for o in side if o.price <= price), key=lambda o: o.price)
        else:  # hits bids: ours at or above the print, highest first
            side = sorted((o for o in side if o.price >= price), key=lambda o: -o.price)
        for order in side:
            if left <= 0:
                break
            if order.price == price and order.queue_ahead > 0:
                eaten = min(order.queue_ahead, left)
                order.queue_ahead -= eaten
                left -= eaten
            take = min(left, order.remaining)
            if take > 0:
                left -= take
                fills.append(self._fill(order, take))
        return fills

    def _fill(self, order: RestingOrder, size: int) -> QueueFill:
        order.remaining -= size
        if order.remaining <= 0:
            del self.orders[order.order_id]
        return QueueFill(order.order_id, order.yes_bid, order.price, size, order.remaining)
