"""A Kalshi websocket connection on the simulator, its subscriptions, and what any
command answers with: a book snapshot or an error.

Each channel of a subscribe gets its own `sid`; `orderbook_delta` and
`order_group_updates` messages carry `seq` from 1 upwards, per sid (the orderbook's
first is its snapshot).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from services.venue_sim import kalshi_wire as kw
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine

__all__ = ["QUEUE_LIMIT", "KConn", "Sub", "send_error", "snapshot"]

QUEUE_LIMIT = 20_000
"""Messages queued per connection; a client that falls this far behind is disconnected."""

_enc = msgspec.json.Encoder()


@dataclass(eq=False)
class Sub:
    sid: int
    channel: str
    markets: set[str]
    """Empty: every market."""
    seq: int = 0


@dataclass(eq=False)
class KConn:
    ws: web.WebSocketResponse
    account: str
    subs: dict[int, Sub] = field(default_factory=dict)
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def send(self, msg: dict[str, Any]) -> bool:
        try:
            self.queue.put_nowait(_enc.encode(msg))
        except asyncio.QueueFull:
            return False
        return True


def snapshot(engine: Engine, conn: KConn, sub: Sub, ticker: str) -> None:
    """One `orderbook_snapshot` of `ticker` on `sub`; a side with no bids is left out."""
    sub.seq += 1
    yes, no = kw.book_levels(engine, ticker)
    body: dict[str, Any] = {"market_ticker": ticker, "market_id": ticker}
    if yes:
        body["yes_dollars_fp"] = yes
    if no:
        body["no_dollars_fp"] = no
    conn.send({"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.seq, "msg": body})


def send_error(counters: VenueCounters, conn: KConn, cmd_id: Any, code: int, text: str) -> None:
    """Answer a command with an `error` message (and count it as malformed)."""
    counters.count_malformed("kalshi_ws")
    conn.send({"id": cmd_id, "type": "error", "msg": {"code": code, "msg": text}})
