"""Topic prefixes on the PUB/SUB channels. A subscriber filters by byte prefix."""

from __future__ import annotations

__all__ = ["EVENTS_ALL", "HEARTBEAT_ALL", "MD_ALL", "POSITION_ALL", "REFERENCE_ALL", "RISK",
    "events", "heartbeat", "md", "position", "reference", "replay"]


def md(venue: str, market: str) -> bytes:
    """Market data of one market. Trailing '|' stops 'm1' from matching 'm10'."""
    return f"md.{venue}.{market}|".encode()


MD_ALL = b"md."


def reference(feed: str) -> bytes:
    """An external reference price feed (ReferencePrice) on the market-data bus."""
    return f"ref.{feed}|".encode()


REFERENCE_ALL = b"ref."


def events(venue: str, market: str) -> bytes:
    return f"ev.{venue}.{market}|".encode()


EVENTS_ALL = b"ev."


def position(market: str) -> bytes:
    return f"pos.{market}|".encode()


POSITION_ALL = b"pos."
RISK = b"risk|"


def replay(venue: str) -> bytes:
    """Risk's ReplayRequest to one venue's executor (on the state channel)."""
    return f"replay.{venue}|".encode()


def heartbeat(role: str) -> bytes:
    return f"hb.{role}|".encode()


HEARTBEAT_ALL = b"hb."
