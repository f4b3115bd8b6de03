"""Polymarket websocket channels: `/ws/market` (public books) and `/ws/user` (one account's events).

Each connection has a bounded outbound queue drained by its own writer task; a
client that falls that far behind is disconnected rather than allowed to build an
unbounded backlog. Text `PING` is answered with `PONG` on both channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from common.tasks import reap
from services.venue_sim import wire
from services.venue_sim.accounts import AuthFailed, KeyStore
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine

__all__ = ["QUEUE_LIMIT", "Conn", "Hub"]

log = logging.getLogger(__name__)

QUEUE_LIMIT = 20_000
_enc = msgspec.json.Encoder()


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    channel: str
    assets: set[str] = field(default_factory=set)
    address: str = ""
    markets: set[str] = field(default_factory=set)
    custom_features: bool = False
    """`custom_feature_enabled` of the latest market subscription: adds best_bid_ask."""
    queue: asyncio.Queue[str | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    def send(self, payload: Any) -> bool:
        """Queue one JSON message (object or array); False if the client is too slow."""
        try:
            self.queue.put_nowait(_enc.encode(payload).decode())
        except asyncio.QueueFull:
            return False
        return True


class Hub:
    """Every open websocket and what it subscribed to."""

    def __init__(self, engine: Engine, keys: KeyStore, counters: VenueCounters,
                 clock_ms: Callable[[], int]) -> None:
        self.engine = engine
        self.keys = keys
        self.counters = counters
        self.clock_ms = clock_ms
        self.market_conns: set[Conn] = set()
        self.user_conns: set[Conn] = set()
        self.slow_disconnects = 0

    def _deliver(self, conn: Conn, payload: Any) -> None:
        if not conn.send(payload):
            self.slow_disconnects += 1
            log.warning("websocket client too slow, disconnecting", extra={"channel": conn.channel})
            self.market_conns.discard(conn)
            self.user_conns.discard(conn)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.get_nowait()
                conn.queue.put_nowait(None)

    def book_event(self, asset_id: str) -> dict[str, Any]:
        """The `book` message of one token, now."""
        market = self.engine.tokens[asset_id][0]
        return wire.book_event(self.engine, market, asset_id, self.clock_ms())

    def to_market(
        self, assets: set[str], build: Callable[[set[str]], Any], *, custom_only: bool = False
    ) -> None:
        """Send build(conn's subscribed assets among `assets`) to each interested client."""
        for conn in list(self.market_conns):
            if custom_only and not conn.custom_features:
                continue
            wanted = conn.assets & assets
            if wanted:
                payload = build(wanted)
                if payload:
                    self._deliver(conn, payload)

    def to_user(self, address: str, market: str, payload: Any) -> None:
        """Send to the user channels of the API key `address` (signer or funder) is booked to."""
        key = self.keys.key_of_account(address)
        signer = address if key is None else key.address
        for conn in list(self.user_conns):
            if conn.address == signer and (not conn.markets or market in conn.markets):
                self._deliver(conn, payload)

    async def close_all(self) -> None:
        for conn in list(self.market_conns | self.user_conns):
            await conn.ws.close()

    async def handle(self, request: web.Request, channel: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Conn(ws=ws, channel=channel)
        writer = asyncio.create_task(self._write(conn))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        self.counters.count_malformed(f"ws_{channel}")
                    continue
                if msg.data.strip().upper() == "PING":
                    with contextlib.suppress(asyncio.QueueFull):
                        conn.queue.put_nowait("PONG")
                    continue
                self._on_text(conn, msg.data)
                if ws.closed:
                    break
        finally:
            self.market_conns.discard(conn)
            self.user_conns.discard(conn)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.put_nowait(None)
            await reap(writer)
        return ws

    async def _write(self, conn: Conn) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                await conn.ws.close()
                return
            try:
                await conn.ws.send_str(item)
            except ConnectionError:
                return

    def _on_text(self, conn: Conn, text: str) -> None:
        try:
            msg = msgspec.json.decode(text)
        except (msgspec.DecodeError, UnicodeDecodeError):
            msg = None
        if not isinstance(msg, dict):
            self.counters.count_malformed(f"ws_{conn.channel}")
            conn.send({"error": "invalid message: expected a JSON object"})
            return
        if conn.channel == "market":
            self._on_market(conn, msg)
        else:
            self._on_user(conn, msg)

    def _on_market(self, conn: Conn, msg: dict[str, Any]) -> None:
        assets = msg.get("assets_ids", msg.get("asset_ids"))
        if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
            self.counters.count_malformed("ws_market")
            conn.send({"error": "invalid subscription: assets_ids must be a list of strings"})
            return
        operation = msg.get("operation", "subscribe")
        if "custom_feature_enabled" in msg:
            conn.custom_features = msg["custom_feature_enabled"] is True
        if operation == "unsubscribe":
            conn.assets.difference_update(assets)
            return
        known = [a for a in assets if a in self.engine.tokens]
        new = [a for a in known if a not in conn.assets]
        conn.assets.update(known)
        self.market_conns.add(conn)
        if new and msg.get("initial_dump", True):
            conn.send([self.book_event(a) for a in new])

    def _on_user(self, conn: Conn, msg: dict[str, Any]) -> None:
        markets = msg.get("markets") or []
        if not isinstance(markets, list):
            self.counters.count_malformed("ws_user")
            conn.send({"error": "invalid subscription: markets must be a list"})
            return
        operation = msg.get("operation")
        if operation in ("subscribe", "unsubscribe") and conn.address:
            if operation == "subscribe":
                conn.markets.update(markets)
            else:
                conn.markets.difference_update(markets)
            return
        try:
            key = self.keys.check_ws_auth(msg.get("auth"))
        except AuthFailed:
            self.counters.count_malformed("ws_user_auth")
            conn.send({"error": "Unauthorized/Invalid api key"})
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.put_nowait(None)
            return
        conn.address = key.address
        conn.markets = {str(m) for m in markets}
        self.user_conns.add(conn)
