"""The venue-neutral face of an order-entry venue, with outcomes typed definitive/ambiguous.

STYLE.md habit 6: only a definitive venue answer marks an order rejected or a cancel
failed. A timeout, a disconnect or a 5xx after sending leaves the order in flight
(`InFlight`) or the cancel unknown (`CancelOutcome.ambiguous`) until the next
reconciliation with the venue's open orders settles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from msgspec import Struct

from common.messages import Fill, OrderSide, Venue
from services.executor.collateral import Balance
from services.executor.orders import Amend, DesiredOrder, MarketTokens, VenueOrder

__all__ = ["AmendReport", "CancelOutcome", "ExecutionAdapter", "InFlight", "OrderUpdate",
    "PlaceReport", "PlaceResult", "Placed", "Rejected", "UserSink"]


class Placed(Struct, frozen=True):
    """Definitive: the venue accepted the order and it rests (or traded) under `order_id`."""

    request: DesiredOrder
    order_id: str


class Rejected(Struct, frozen=True):
    """Definitive: the venue refused the order (or it never left); nothing rests."""

    request: DesiredOrder
    reason: str


class InFlight(Struct, frozen=True):
    """Ambiguous: the order may rest. `order_id` is known up front where the venue allows."""

    request: DesiredOrder
    order_id: str
    reason: str


PlaceResult = Placed | Rejected | InFlight


class PlaceReport(Struct, frozen=True):
    """Results in request order, and when the first request left for the wire (monotonic)."""

    results: list[PlaceResult]
    wire_ns: int = 0


class CancelOutcome(Struct, frozen=True):
    """`gone`: ids surely no longer resting; `failed`: the venue definitively refused.

    With `ambiguous` set the request may or may not have been applied.
    `everything` marks a cancel-all / cancel-market whose scope is now empty.
    """

    gone: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    ambiguous: bool = False
    everything: bool = False
    reason: str = ""


class AmendReport(Struct, frozen=True):
    """`done`: (order id, remaining) of each amend the venue applied. `failed`: (order id,
    reason) of the rest, refused or with an unknown outcome; the executor cancels those, so
    no order is left resting at a price nobody wants."""

    done: tuple[tuple[str, int], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()


class OrderUpdate(Struct, frozen=True, kw_only=True):
    """A change to one of our orders seen on the venue's private stream."""

    order_id: str
    token: str
    side: OrderSide
    price: int
    remaining: int
    kind: Literal["placed", "update", "cancelled"]
    reason: str = ""


class UserSink(Protocol):
    """Receives the private stream's events on the event loop."""

    async def on_fill(self, fill: Fill, *, settled: bool = True) -> None:
        """A fill of ours, at its first sighting and at every later status of its trade;
        `settled` is False while the venue may leave it out of our positions (a
        Polymarket trade before CONFIRMED)."""
        ...

    async def on_fill_failed(self, fill: Fill) -> None: ...

    async def on_order(self, update: OrderUpdate) -> None: ...

    def is_ours(self, order_id: str) -> bool:
        """True if `order_id` is one of our live or in-flight orders."""
        ...


class ExecutionAdapter(Protocol):
    """One venue account: order entry, cancels, open orders, liveness, private stream."""

    venue: Venue
    can_amend: bool
    """True if the venue moves a resting order in place (Kalshi); else requotes cancel and
    place."""

    async def start(self) -> None:
        """Authenticate and warm caches; raise VenueError if the venue cannot be used yet."""
        ...

    async def close(self) -> None: ...

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        """Post resting post-only BUY orders (the adapter batches as the venue allows)."""
        ...

    async def cancel(self, order_ids: Sequence[str]) -> CancelOutcome: ...

    async def amend(self, amends: Sequence[Amend]) -> AmendReport:
        """Move resting orders in place (only called when `can_amend`)."""
        ...

    def reserve_placements(self, market: str, n: int) -> float:
        """Spend the venue budget for `n` placements or amends of `market` now and return 0
        (its next requests use them instead of waiting), or spend nothing and return the
        seconds until they would be affordable.

        The executor reserves before sending a ladder, so its cancels, amends and placements
        leave together instead of the cancels emptying the market while placements queue.
        """
        ...

    async def cancel_market(self, market: MarketTokens) -> CancelOutcome: ...

    async def cancel_all(self) -> CancelOutcome: ...

    async def open_orders(self) -> list[VenueOrder]:
        """Every open order of the account; raise VenueError if it cannot be read."""
        ...

    async def heartbeat(self) -> None:
        """Keep the venue-side dead man's switch armed."""
        ...

    async def balance(self) -> Balance | None:
        """The account's collateral as the venue reports it (collateral.py); None if the
        answer cannot be read (or there is no limit: paper); VenueError if the read fails."""
        ...

    async def run_user_stream(self, sink: UserSink) -> None:
        """Follow the private websocket forever (reconnecting); feed `sink`."""
        ...
