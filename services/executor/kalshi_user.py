"""Kalshi private stream: the `fill` and `order_group_updates` channels, with gap recovery
of fills from REST after reconnects.

Fills carry no sequence number, so after every (re)connect and subscribe the adapter
reads `GET /portfolio/fills` from shortly before the last fill it saw (or from when
it started) and hands every row to the sink; the executor's ledger publishes each
(trade id, order id) once, so a fill seen on both paths is applied once.

Both channels go in one subscribe command, sent once per connection (the venue gives each
channel its own sid); an `order_group_updates` body goes to `on_group` (kalshi_groups.py),
so a tripped group is known at once rather than at the next poll.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from websockets.exceptions import ConnectionClosed

from common import metrics, wsconnect
from common.errors import VenueDataError, VenueError
from common.kalshi_auth import KalshiSigner, path_of
from common.messages import Fill
from common.venue_drops import drop
from common.venues import kalshi as wire
from services.executor.adapter import UserSink
from services.executor.orders import MarketTokens

__all__ = ["RECOVERY_MARGIN_S", "FetchFills", "KalshiUserChannel"]

log = logging.getLogger(__name__)

RECOVERY_MARGIN_S = 5

FetchFills = Callable[[int, int], Awaitable[list[Fill]]]
"""`(min_ts_s, ts_recv_ns) -> fills`: our REST fills since a unix time, oldest first
(kalshi_reads.fills_since)."""


class KalshiUserChannel:
    """Authenticated websocket on the `fill` channel; reconnects with jittered back-off."""

    def __init__(self, url: str, *, signer: KalshiSigner, by_ticker: Mapping[str, MarketTokens],
                 fetch_fills: FetchFills,
                 on_group: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        self._url = url
        self._fetch_fills = fetch_fills
        self._signer = signer
        self._by_ticker = by_ticker
        self._on_group = on_group
        self._last_ts_s = int(time.time()) - RECOVERY_MARGIN_S
        self._dropped = metrics.VENUE_MESSAGES_DROPPED.labels(venue="kalshi", channel="user")
        self._reconnects = metrics.FEED_RECONNECTS.labels(venue="kalshi", channel="user")
        self._recovered = metrics.FILLS_RECOVERED.labels(venue="kalshi")
        self._rng = random.Random()

    def _subscribe_text(self) -> str:
        """`fill` for our markets, plus `order_group_updates` (whose market spec the venue
        ignores) when there is a group to follow."""
        channels = ["fill"] + (["order_group_updates"] if self._on_group is not None else [])
        return json.dumps({"id": 1, "cmd": "subscribe", "params": {
            "channels": channels, "market_tickers": sorted(self._by_ticker)}},
            separators=(",", ":"))

    async def run(self, sink: UserSink) -> None:
        """Follow the channel until cancelled."""
        self.resume_from(getattr(sink, "fill_resume_s", None))
        async with wsconnect.connections(
                self._url, what="kalshi user websocket", rng=self._rng,
                reconnects=self._reconnects,
                headers=lambda: self._signer.headers("GET", path_of(self._url)),
                on_refused=self._signer.clock.observe_rejection,
                open_timeout=10, compression=None) as conns:
            async for ws in conns:
                try:
                    await ws.send(self._subscribe_text())
                    await self.recover(sink)
                    async for frame in ws:
                        await self.dispatch(frame, time.monotonic_ns(), sink)
                except ConnectionClosed as exc:
                    log.warning("kalshi user websocket closed: %s", exc)

    async def recover(self, sink: UserSink) -> None:
        """Hand every REST fill since the last one seen to the sink (the ledger dedupes)."""
        try:
            fills = await self._fetch_fills(self._last_ts_s - RECOVERY_MARGIN_S,
                                            time.monotonic_ns())
        except VenueError as exc:
            log.warning("kalshi fill recovery failed: %s (next reconnect retries)", exc)
            return
        for fill in fills:  # every row is our account's
            self._recovered.inc()
            self._note(fill.ts_venue_ms)
            await sink.on_fill(fill)

    def _note(self, ts_ms: int) -> None:
        self._last_ts_s = max(self._last_ts_s, ts_ms // 1000)

    def resume_from(self, ts_s: int | None) -> None:
        """Recover from `ts_s` (unix s: the newest fill journaled before a restart) at the
        first connect too, so fills made while the executor was down reach risk."""
        if ts_s is not None and ts_s > 0:
            self._last_ts_s = min(self._last_ts_s, ts_s)

    async def dispatch(self, frame: str | bytes, ts_recv_ns: int, sink: UserSink) -> None:
        """Turn one frame into fills for the sink; malformed ones are dropped and counted."""
        try:
            msg = wire.decode_frame(frame)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            self._dropped.inc()
            drop("kalshi", "user", exc)
            return
        if msg is None:  # JSON, but not an object: ignored
            return
        kind = msg.get("type")
        if kind == "error":
            log.warning("kalshi user channel error: %.200s", frame)
            return
        if kind == "order_group_updates":
            group = msg.get("msg")
            if isinstance(group, dict) and self._on_group is not None:
                self._on_group(group)
            return
        if kind != "fill":
            return
        try:
            body = wire.as_object(msg.get("msg"), "msg")
            m = self._by_ticker.get(str(body.get("market_ticker")))
            if m is None:
                return
            fill = wire.fill_from_wire(body, m.market, ts_recv_ns)
        except VenueDataError as exc:  # fill_from_wire raises nothing else
            self._dropped.inc()
            drop("kalshi", "user", exc)
            return
        self._note(fill.ts_venue_ms)
        await sink.on_fill(fill)
