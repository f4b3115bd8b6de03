"""Kalshi websocket (/trade-api/ws/v2) on the simulator.

The HTTP upgrade must carry a valid signature of ``ts + "GET" + "/trade-api/ws/v2"``
(401 otherwise). Commands are answered in `kalshi_ws_commands`, connections and
subscriptions are in `kalshi_ws_subs`. Channels: orderbook_delta, ticker, trade, fill,
order_group_updates. The server pings every 10 s. A mirror of each
market's bid levels turns the engine's absolute level sizes into Kalshi's signed `delta_fp`.

Message bodies follow docs.kalshi.com/asyncapi.yaml; tests/conformance/schemas/kalshi_ws.json
holds the required fields of each and tests/conformance/test_kalshi_ws.py checks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from common.tasks import reap
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.accounts import AuthFailed
from services.venue_sim.book import ONE
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine, LevelChanged, Trade
from services.venue_sim.faults import Faults
from services.venue_sim.kalshi_keys import KalshiKeys
from services.venue_sim.kalshi_ws_commands import on_command
from services.venue_sim.kalshi_ws_subs import KConn, Sub
from services.venue_sim.markets import kalshi_tokens

__all__ = ["PING_S", "WS_PATH", "KalshiHub", "Tape"]

log = logging.getLogger(__name__)

WS_PATH = "/trade-api/ws/v2"
PING_S = 10.0


@dataclass
class Tape:
    """Per-market trade totals the ticker reports."""

    volume: int = 0
    """Centi-contracts."""
    notional: int = 0
    """Centi-contracts times YES price in pips."""
    last_size: int = 0


class KalshiHub:
    """Every Kalshi websocket, their subscriptions, and the book mirror for deltas."""

    def __init__(self, engine: Engine, *, keys: KalshiKeys, faults: Faults,
                 counters: VenueCounters, client_ids: dict[str, str]) -> None:
        self.engine = engine
        self.keys = keys
        self.faults = faults
        self.counters = counters
        self.client_ids = client_ids
        """order id -> client order id (owned by KalshiBook), for fill messages."""
        self.conns: set[KConn] = set()
        self._sids = itertools.count(1)
        self.mirror: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        """ticker -> (yes bid levels, no bid levels), prices in each side's own dollars."""
        self.tape: dict[str, Tape] = {}
        self.slow_disconnects = 0

    # --- engine events -> messages ---------------------------------------------------------

    def on_level(self, ev: LevelChanged, now_ms: int) -> None:
        yes, no = self.mirror.setdefault(ev.market, ({}, {}))
        levels, price, side = (yes, ev.price, "yes") if ev.yes_bid else (no, ONE - ev.price, "no")
        delta = ev.size - levels.get(price, 0)
        if ev.size > 0:
            levels[price] = ev.size
        else:
            levels.pop(price, None)
        if delta == 0:
            return
        body = {"market_ticker": ev.market, "market_id": ev.market,
                "price_dollars": kw.dollars(price), "delta_fp": kw.fp(delta), "side": side,
                "ts": kw.iso(now_ms), "ts_ms": now_ms}
        gap = False
        for conn, sub in self._subs("orderbook_delta", ev.market):
            if sub.seq == 0:
                continue  # snapshot not sent yet
            sub.seq += 1
            if not gap and self.faults.armed["seq_gap"] > 0:
                gap = True
                continue
            self._deliver(conn, {"type": "orderbook_delta", "sid": sub.sid, "seq": sub.seq,
                                 "msg": body})
        if gap:
            self.faults.take("seq_gap")

    def on_trade(self, trade: Trade) -> None:
        tape = self.tape.setdefault(trade.market, Tape())
        tape.volume += trade.size
        tape.notional += trade.size * trade.yes_price
        tape.last_size = trade.size
        taker_yes = (trade.taker_outcome.lower() == "yes") == (trade.taker_side == "BUY")
        body = {"trade_id": trade.id, "market_ticker": trade.market,
                "yes_price_dollars": kw.dollars(trade.yes_price),
                "no_price_dollars": kw.dollars(ONE - trade.yes_price),
                "count_fp": kw.fp(trade.size), "taker_side": "yes" if taker_yes else "no",
                "taker_outcome_side": "yes" if taker_yes else "no",
                "taker_book_side": "bid" if taker_yes else "ask",
                "ts": trade.match_ms // 1000, "ts_ms": trade.match_ms}
        for conn, sub in self._subs("trade", trade.market):
            self._deliver(conn, {"type": "trade", "sid": sub.sid, "msg": body})
        engine = self.engine
        for account in {trade.taker_account, trade.maker_account}:
            if engine.accounts[account].internal:
                continue
            oid = trade.taker_order_id if trade.taker_account == account else trade.maker_order_id
            yes_t, no_t = kalshi_tokens(trade.market)
            pos = engine.accounts[account].positions
            fill = kw.fill_json(trade, account, self.client_ids.get(oid, ""),
                                ws=True, post_position=pos.get(yes_t, 0) - pos.get(no_t, 0))
            fill |= {"outcome_side": fill["side"],
                     "book_side": "bid" if fill["side"] == "yes" else "ask"}
            for conn, sub in self._subs("fill", trade.market, account):
                self._deliver(conn, {"type": "fill", "sid": sub.sid, "msg": fill})

    def on_ticker(self, ticker: str, now_ms: int) -> None:
        subs = self._subs("ticker", ticker)
        if not subs:
            return
        engine = self.engine
        m = kw.market_json(engine, engine.markets[ticker])
        tape = self.tape.get(ticker, Tape())
        yes_t, _ = kalshi_tokens(ticker)
        open_interest = sum(max(a.positions.get(yes_t, 0), 0) for a in engine.accounts.values())
        body = {"market_ticker": ticker, "market_id": ticker,
                "price_dollars": m["last_price_dollars"], "yes_bid_dollars": m["yes_bid_dollars"],
                "yes_ask_dollars": m["yes_ask_dollars"],
                "yes_bid_size_fp": m["yes_bid_size_fp"], "yes_ask_size_fp": m["yes_ask_size_fp"],
                "last_trade_size_fp": kw.fp(tape.last_size), "volume_fp": kw.fp(tape.volume),
                "open_interest_fp": kw.fp(open_interest),
                "dollar_volume": tape.notional // (100 * ONE),
                "dollar_open_interest": open_interest // 100,
                "ts": now_ms // 1000, "ts_ms": now_ms, "time": kw.iso(now_ms)}
        for conn, sub in subs:
            self._deliver(conn, {"type": "ticker", "sid": sub.sid, "msg": body})

    def on_group(self, account: str, event_type: str, group_id: str, now_ms: int, *,
                 limit_centi: int | None) -> None:
        """An `order_group_updates` message to the group owner's subscriptions."""
        body: dict[str, Any] = {"event_type": event_type, "order_group_id": group_id,
                                "ts_ms": now_ms}
        if limit_centi is not None:
            body["contracts_limit_fp"] = kw.fp(limit_centi)
        for conn, sub in self._subs("order_group_updates", "", account):
            sub.seq += 1
            self._deliver(conn, {"type": "order_group_updates", "sid": sub.sid, "seq": sub.seq,
                                 "msg": body})

    def _subs(self, channel: str, ticker: str, account: str = "") -> list[tuple[KConn, Sub]]:
        return [(c, s) for c in list(self.conns) if not account or c.account == account
                for s in c.subs.values()
                if s.channel == channel and (not s.markets or ticker in s.markets)]

    def _deliver(self, conn: KConn, msg: dict[str, Any]) -> None:
        if not conn.send(msg):
            self.slow_disconnects += 1
            log.warning("kalshi websocket client too slow, disconnecting")
            self.conns.discard(conn)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.get_nowait()
                conn.queue.put_nowait(None)

    # --- connections ---------------------------------------------------------------------

    async def close_all(self) -> None:
        for conn in list(self.conns):
            self.conns.discard(conn)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.put_nowait(None)
            await conn.ws.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            account = self.keys.authenticate(request.headers, "GET", WS_PATH)
        except AuthFailed:
            self.counters.count_malformed("kalshi_ws_auth")
            return web.json_response(kw.err(kw.AUTH_FAILED, "authentication required"),
                                     status=401)
        ws = web.WebSocketResponse(max_msg_size=1 << 20, heartbeat=PING_S)
        await ws.prepare(request)
        conn = KConn(ws=ws, account=account)
        self.conns.add(conn)
        writer = asyncio.create_task(self._write(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    on_command(conn, msg.data, engine=self.engine, counters=self.counters,
                               sids=self._sids)
                elif msg.type == WSMsgType.BINARY:
                    self.counters.count_malformed("kalshi_ws")
        finally:
            self.conns.discard(conn)
            with contextlib.suppress(asyncio.QueueFull):
                conn.queue.put_nowait(None)
            await reap(writer)
        return ws

    async def _write(self, conn: KConn) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                await conn.ws.close()
                return
            try:
                await conn.ws.send_str(item.decode())
            except ConnectionError:
                return
