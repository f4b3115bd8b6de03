"""The venue-neutral face of a market-data feed.

A feed adapter knows one venue's websocket: its URL, subscription and keepalive
texts, and how to turn a frame into the domain updates below, already in YES terms
and integer units and keyed by pmm market id. The ingest process owns the books,
sockets and timers and never looks at venue wire formats.
"""

from __future__ import annotations

from typing import Literal, Protocol

from msgspec import Struct

from common.messages import Venue

__all__ = [
    "BookReplace", "FeedAdapter", "FeedUpdate", "LevelChange", "LevelChanges", "MarketClosed",
    "Resubscribe", "TickChanged", "TradeSeen",
]


class BookReplace(Struct, frozen=True):
    """A full snapshot of a market's YES book; `tick`/`min_size` are 0 when not given."""

    market: str
    ts_venue_ms: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    tick: int = 0
    min_size: int = 0


class LevelChange(Struct, frozen=True):
    """The new absolute size at one price of one side (0 removes the level)."""

    side: Literal["BUY", "SELL"]
    price: int
    size: int


class LevelChanges(Struct, frozen=True):
    """Level updates of one market's YES book, applied in order."""

    market: str
    ts_venue_ms: int
    changes: list[LevelChange]


class TickChanged(Struct, frozen=True):
    """The market's tick changed: drop the book until the next snapshot."""

    market: str
    ts_venue_ms: int
    tick: int


class TradeSeen(Struct, frozen=True):
    """A trade on the market, in YES terms; `side` is the aggressor's."""

    market: str
    ts_venue_ms: int
    price: int
    size: int
    side: Literal["BUY", "SELL"]


class MarketClosed(Struct, frozen=True):
    """The market resolved or closed; its book is stale from now on."""

    market: str
    ts_venue_ms: int
    reason: str


class Resubscribe(Struct, frozen=True):
    """The market's book is invalid (sequence gap): mark it stale and send `messages`."""

    market: str
    reason: str
    messages: list[str]


FeedUpdate = BookReplace | LevelChanges | TickChanged | TradeSeen | MarketClosed | Resubscribe


class FeedAdapter(Protocol):
    """One venue's market-data websocket, translated into FeedUpdates."""

    venue: Venue

    def url(self) -> str:
        """The websocket URL to connect to."""
        ...

    def subscribe_messages(self) -> list[str]:
        """Text frames to send right after each (re)connect."""
        ...

    def ping_message(self) -> str:
        """The application-level keepalive text ("" when the venue uses protocol pings)."""
        ...

    def connect_headers(self) -> dict[str, str]:
        """Headers for the websocket upgrade, made fresh per connect (signed auth)."""
        ...

    def connect_failed(self, exc: Exception) -> None:
        """A connect attempt failed (a signed feed reads the venue's time from a refusal)."""
        ...

    def markets(self) -> list[str]:
        """Every pmm market id this feed serves."""
        ...

    def parse(self, frame: str | bytes) -> tuple[list[FeedUpdate], int]:
        """Translate one frame; return the updates and how many messages were malformed."""
        ...
