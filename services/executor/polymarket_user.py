"""Polymarket user channel: the authenticated websocket loop and REST gap recovery.

Frames are decoded by common/venues/polymarket.py and turned into our fills and order
updates by polymarket_fills.py. Trades are provisional until CONFIRMED: a fill is
published at its first sighting (MATCHED) and a trade that later goes FAILED is handed
to `sink.on_fill_failed`, which publishes one FillReversal. After every reconnect the gap is recovered from
REST `GET /data/trades` (`recover`): rows go through the same path and the ledger's
(trade id, order id) memory applies each fill, and each reversal, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from common import metrics, wsconnect
from common.errors import VenueError
from common.venue_drops import drop
from common.venues.polymarket import TradeMsg, decode_user_frame
from common.wire_numbers import WireError
from common.tasks import reap
from services.executor.adapter import UserSink
from services.executor.polymarket_fills import (
    Asset,
    Identity,
    fills_from_trade,
    order_update,
    trade_failed,
    trade_settled,
)

__all__ = ["RECOVERY_MARGIN_S", "Asset", "Identity", "UserChannel"]
"""`Asset` and `Identity` (polymarket_fills.py) are re-exported: UserChannel takes them."""

log = logging.getLogger(__name__)

RECOVERY_MARGIN_S = 5
"""Trades are recovered from this long before the newest one seen (clock and batching slack)."""


class UserChannel:
    """The authenticated user websocket: subscribe, PING every 10 s, reconnect, dispatch."""

    PING_INTERVAL_S = 10.0

    def __init__(
        self,
        url: str,
        *,
        auth: dict[str, str],
        condition_ids: list[str],
        me: Identity,
        assets: Mapping[str, Asset],
        fetch_trades: Callable[[int], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self._url = url
        self._auth = auth
        """Read at every connection: the adapter updates it in place after a 401."""
        self._condition_ids = condition_ids
        self.identity = me
        """Our side of a trade; replaced by the adapter if the venue issues a new key."""
        self._ws: ClientConnection | None = None
        self._closing: asyncio.Task[None] | None = None
        self._assets = assets
        self._dropped = metrics.VENUE_MESSAGES_DROPPED.labels(venue="polymarket", channel="user")
        self._reconnects = metrics.FEED_RECONNECTS.labels(venue="polymarket", channel="user")
        self._rng = random.Random()
        self._fetch_trades = fetch_trades
        self._recovered = metrics.FILLS_RECOVERED.labels(venue="polymarket")
        self._last_ts_s = int(time.time()) - RECOVERY_MARGIN_S

    async def run(self, sink: UserSink) -> None:
        """Follow the channel until cancelled; every connection failure is retried."""
        self.resume_from(getattr(sink, "fill_resume_s", None))
        async with wsconnect.connections(self._url, what="polymarket user websocket",
                                         rng=self._rng, reconnects=self._reconnects,
                                         compression=None) as conns:
            async for ws in conns:
                self._ws = ws
                pinger = asyncio.create_task(self._ping(ws))
                try:
                    subscribe = {"type": "user", "auth": self._auth, "markets": self._condition_ids}
                    await ws.send(json.dumps(subscribe, separators=(",", ":")))  # never logged
                    await self.recover(sink)
                    async for frame in ws:
                        await self.dispatch(frame, time.monotonic_ns(), sink)
                except ConnectionClosed as exc:
                    log.warning("user websocket closed: %s", exc.rcvd or exc)
                finally:
                    await reap(pinger)

    def reconnect(self) -> None:
        """Close the open connection: the loop connects again, subscribes with the
        credentials as they are now and recovers the trades it may have missed (after the
        adapter derived the API key again, the old subscription may be dead)."""
        if self._ws is not None:
            self._closing = asyncio.get_running_loop().create_task(self._ws.close())

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.PING_INTERVAL_S)
                await ws.send("PING")

    async def apply_trade(self, trade: TradeMsg, ts_recv_ns: int, sink: UserSink) -> None:
        """Hand our legs of one trade to the sink: fills, or failures to reverse."""
        failed = trade_failed(trade)
        settled = trade_settled(trade)
        for fill in fills_from_trade(trade, me=self.identity, assets=self._assets,
                                     known_order=sink.is_ours, ts_recv_ns=ts_recv_ns):
            if failed:
                await sink.on_fill_failed(fill)
            else:
                self._note(fill.ts_venue_ms)
                await sink.on_fill(fill, settled=settled)

    def _note(self, ts_ms: int) -> None:
        self._last_ts_s = max(self._last_ts_s, ts_ms // 1000)

    def resume_from(self, ts_s: int | None) -> None:
        """Recover from `ts_s` (unix s: the newest fill journaled before a restart) at the
        first connect too, so fills made while the executor was down reach risk."""
        if ts_s is not None and ts_s > 0:
            self._last_ts_s = min(self._last_ts_s, ts_s)

    async def recover(self, sink: UserSink) -> None:
        """Replay every REST trade since shortly before the last fill seen (the ledger dedupes)."""
        if self._fetch_trades is None:
            return
        since = self._last_ts_s - RECOVERY_MARGIN_S
        try:
            rows = await self._fetch_trades(since)
        except VenueError as exc:
            log.warning("polymarket trade recovery failed: %s (next reconnect retries)", exc)
            return
        now = time.monotonic_ns()
        bad = 0
        for row in reversed(rows):  # the venue lists newest first
            try:
                trade = msgspec.convert(row, TradeMsg, strict=False)
                await self.apply_trade(trade, now, sink)
            except (msgspec.ValidationError, WireError) as exc:
                bad += 1
                drop("polymarket", "rest", exc)
        self._recovered.inc(len(rows) - bad)
        if bad:
            self._dropped.inc(bad)
            log.warning("dropped %d malformed trade row(s) during recovery", bad)

    async def dispatch(self, frame: str | bytes, ts_recv_ns: int, sink: UserSink) -> None:
        """Decode one frame and hand its fills and order updates to `sink`."""
        events, bad = decode_user_frame(frame)
        for event in events:
            try:
                if isinstance(event, TradeMsg):
                    await self.apply_trade(event, ts_recv_ns, sink)
                elif event.asset_id in self._assets:
                    await sink.on_order(order_update(event))
            except WireError as exc:
                bad += 1
                drop("polymarket", "user", exc)
        if bad:
            self._dropped.inc(bad)
            log.debug("dropped %d malformed user message(s): %.200s", bad, frame)
