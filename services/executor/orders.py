"""Plain records the executor's pure modules and venue adapters share.

Prices here are the token's own price in pips (a NO order at 0.45 has price 4500),
sizes are centi-contracts; YES-terms conversion happens in diff.py and report code.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from common.messages import OrderSide, Outcome

__all__ = [
    "Actions", "Amend", "CLIENT_KEY_PREFIX", "DesiredOrder", "LiveOrder", "MarketTokens",
    "OrderState", "VenueOrder", "client_key",
]

OrderState = Literal["live", "inflight", "cancelling"]

CLIENT_KEY_PREFIX = "coid:"
"""Live-map key of a submit whose outcome is unknown and whose venue id is not known yet
(Kalshi): `coid:<client order id>`; reconciliation swaps it for the venue id."""


def client_key(client_id: str) -> str:
    """The provisional live-map key of an in-flight order known only by its client id."""
    return CLIENT_KEY_PREFIX + client_id
"""live: the venue confirmed it; inflight: a submit with an ambiguous outcome;
cancelling: a cancel with an ambiguous outcome. Reconciliation settles the last two."""


class MarketTokens(Struct, frozen=True, kw_only=True):
    """Everything an executor needs about one configured market."""

    market: str
    venue_market: str
    yes_token: str
    no_token: str
    tick: int
    min_size: int
    neg_risk: bool = False

    def outcome_of(self, token: str) -> Outcome | None:
        if token == self.yes_token:
            return "YES"
        if token == self.no_token:
            return "NO"
        return None


class DesiredOrder(Struct, frozen=True, kw_only=True):
    """One resting BUY order the ladder wants at the venue."""

    market: str
    token: str
    outcome: Outcome
    price: int
    size: int
    tif: Literal["GTC", "FAK"] = "GTC"
    """GTC: a resting post-only ladder order; FAK: a marketable exit order (fill and kill)."""


class LiveOrder(Struct, kw_only=True):
    """One of our orders as the executor believes it rests at the venue."""

    order_id: str
    market: str
    token: str
    outcome: Outcome
    side: OrderSide
    price: int
    size: int
    state: OrderState = "live"
    created_ns: int = 0
    filled: int = 0
    """Matched so far, as far as we know: the larger of the fills we have seen and the
    venue's own count, never their sum (both count the same contracts, and the venue's
    order update and its trade message arrive in either order). An amend's count is
    filled + the new remaining, on Kalshi."""
    fills_seen: int = 0
    """The sizes of this order's fills we have received, summed."""
    original: int = 0
    """The order's full size: as placed, as amended (filled + remaining) or as the venue
    lists it (remaining + matched); 0 at construction means size + filled."""

    def __post_init__(self) -> None:
        if self.original <= 0:
            self.original = self.size + self.filled

    def matched_at_least(self, matched: int) -> None:
        """The venue has matched at least `matched` of the order: keep the larger count and
        what it leaves (a partial fill seen twice, once as a trade and once as an order
        update, must not shrink the order twice: an order we think gone while it rests is
        doubled by the next ladder)."""
        self.filled = max(self.filled, matched)
        self.size = max(0, self.original - self.filled)


class VenueOrder(Struct, frozen=True, kw_only=True):
    """An open order as the venue reports it (the reconciliation truth)."""

    order_id: str
    token: str
    side: OrderSide
    price: int
    size: int
    venue_market: str = ""
    client_id: str = ""
    """The client order id the venue echoes (Kalshi); "" where there is none."""
    filled: int | None = None
    """Matched so far, where the venue lists it (Kalshi `fill_count_fp`, Polymarket
    `size_matched`; amends need it); None where it does not."""


class Amend(Struct, frozen=True):
    """Move one live order to a new price and remaining size in place (Kalshi amend)."""

    order: LiveOrder
    to: DesiredOrder

    @property
    def raises(self) -> bool:
        """True if the order's own price goes up (towards crossing our other side)."""
        return self.to.price > self.order.price


class Actions(Struct, frozen=True):
    """What to do to reach a desired ladder: cancels first, then amends, then placements."""

    cancels: tuple[str, ...] = ()
    placements: tuple[DesiredOrder, ...] = ()
    amends: tuple[Amend, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.cancels or self.placements or self.amends)
