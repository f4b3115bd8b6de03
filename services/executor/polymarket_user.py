"""Polymarket user channel: tolerant wire Structs, fill extraction, and the websocket loop.

A trade event is one message per status transition; a Fill is emitted once per
(trade id, our order id) by the executor's deduplication. For a MAKER fill the side,
price, size and asset come from our own entry in `maker_orders` (a BUY YES taker can
match our BUY NO); for a TAKER fill they come from the trade itself.
Trades are provisional until CONFIRMED: a fill is published at its first sighting
(MATCHED) and a trade that later goes FAILED is handed to `sink.on_fill_failed`,
which publishes one FillReversal. After every reconnect the gap is recovered from
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
from typing import Any, Literal, cast

import msgspec
from msgspec import Struct
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from common import metrics, venue_drops, wsconnect
from common.errors import VenueDataError, VenueError
from common.messages import Fill, Outcome
from common.prices import ONE_DOLLAR
from common.venue_drops import drop
from common.wire_numbers import basis_points, seconds_or_iso
from services.executor.adapter import OrderUpdate, UserSink
from services.executor.polymarket_wire import IGNORED_TEXTS, Num, WireError, centi, millis, pips

log = logging.getLogger(__name__)

RECOVERY_MARGIN_S = 5
"""Trades are recovered from this long before the newest one seen (clock and batching slack)."""

Asset = tuple[str, Outcome]
"""(pmm market id, outcome) of a token id."""


class MakerOrder(Struct):
    order_id: str
    asset_id: str = ""
    matched_amount: Num = None
    price: Num = None
    side: str | None = None
    owner: str | None = None
    maker_address: str | None = None
    fee_rate_bps: Num = None
    outcome: str | None = None


class TradeMsg(Struct):
    """``trade`` event (also the shape of REST /data/trades rows)."""

    id: str
    asset_id: str = ""
    market: str = ""
    side: str | None = None
    size: Num = None
    price: Num = None
    status: str | None = None
    taker_order_id: str | None = None
    owner: str | None = None
    trade_owner: str | None = None
    trader_side: str | None = None
    fee_rate_bps: Num = None
    timestamp: Num = None
    match_time: Num = None
    maker_orders: list[MakerOrder] | None = None
    maker_address: str | None = None
    """The funder address of the party this record is for (ours when trader_side is TAKER)."""


class OrderMsg(Struct):
    """``order`` event: PLACEMENT, UPDATE (partial fill) or CANCELLATION."""

    id: str
    asset_id: str = ""
    market: str = ""
    side: str | None = None
    price: Num = None
    original_size: Num = None
    size_matched: Num = None
    status: str | None = None
    type: str | None = None
    timestamp: Num = None


class Identity(Struct, frozen=True):
    """How to recognise our side of a trade: API key (owner) and funder address."""

    api_key: str
    address: str = ""


def decode_user_frame(frame: str | bytes) -> tuple[list[TradeMsg | OrderMsg], int]:
    """Decode one user-channel frame (object or array); return events and the malformed count."""
    text = frame.strip() if isinstance(frame, str) else frame.strip().decode("utf-8", "replace")
    if not text or text in IGNORED_TEXTS:
        return [], 0
    try:
        raw = msgspec.json.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        drop("polymarket", "user", exc)
        return [], 1
    out: list[TradeMsg | OrderMsg] = []
    bad = 0
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict):
            bad += 1
            drop("polymarket", "user", VenueDataError("event", item, "not an object"))
            continue
        kind = str(item.get("event_type") or "").lower()
        typ = str(item.get("type") or "").upper()
        cls: type[TradeMsg] | type[OrderMsg]
        if kind == "trade" or typ == "TRADE":
            cls = TradeMsg
        elif kind == "order" or typ in ("PLACEMENT", "UPDATE", "CANCELLATION"):
            cls = OrderMsg
        else:
            bad += 1
            drop("polymarket", "user", VenueDataError("event_type", kind or typ, "unknown"))
            continue
        try:
            out.append(msgspec.convert(item, cls, strict=False))
        except msgspec.ValidationError as exc:
            bad += 1
            drop("polymarket", "user", exc)
    return out, bad


def _side(text: str | None) -> str:
    side = (text or "").upper()
    if side not in ("BUY", "SELL"):
        raise VenueDataError("side", text, "not BUY or SELL")
    return side


def _fee_micros(size: int, price: int, fee_rate_bps: Num) -> int:
    """Taker fee in micro-dollars: size x rate x p x (1 - p) (V2 formula, exponent 1)."""
    # a fill is a real trade: an unreadable fee rate is counted and read as 0
    bps = venue_drops.optional(lambda: basis_points(fee_rate_bps), venue="polymarket",
                               channel="user")
    return size * bps * price * (ONE_DOLLAR - price) // 10**8


def _ts_ms(trade: TradeMsg) -> int:
    """The trade's venue time in unix ms. The official docs' example sends `timestamp` in
    unix seconds, the venue's other messages in ms; the official SDK reads a value below
    1e11 as seconds, and so do we."""
    ts = millis(trade.timestamp)
    if ts:
        return ts * 1000 if ts < 10**11 else ts
    seconds = seconds_or_iso(trade.match_time, "match_time")
    return seconds * 1000 if 0 < seconds < 10**11 else seconds


def fills_from_trade(
    trade: TradeMsg,
    *,
    me: Identity,
    assets: Mapping[str, Asset],
    known_order: Any,
    ts_recv_ns: int,
) -> list[Fill]:
    """Our fills in one trade event: maker entries that are ours, and the taker leg if ours.

    `known_order(order_id) -> bool` says whether an id is one of our orders. The
    caller checks `trade_failed(trade)`. Raises WireError on a malformed leg.
    """
    # a fill is a real trade: a bad time is counted and read as 0, never a lost fill
    ts_ms = venue_drops.optional(lambda: _ts_ms(trade), venue="polymarket", channel="user")
    fills: list[Fill] = []
    for mo in trade.maker_orders or ():
        ours = (
            (bool(me.api_key) and mo.owner == me.api_key)
            or known_order(mo.order_id)
            or (bool(me.address) and (mo.maker_address or "").lower() == me.address.lower())
        )
        asset = assets.get(mo.asset_id)
        if not ours or asset is None:
            continue
        size = centi(mo.matched_amount, "matched_amount")
        if size <= 0:
            continue
        fills.append(
            Fill(
                venue="polymarket", market=asset[0], trade_id=trade.id, order_id=mo.order_id,
                outcome=asset[1], side=_side(mo.side or trade.side),  # type: ignore[arg-type]
                price=pips(mo.price), size=size, fee=0, ts_venue_ms=ts_ms, ts_recv_ns=ts_recv_ns,
            )
        )
    taker_id = trade.taker_order_id or ""
    taker_side = (trade.trader_side or "").upper()
    taker_ours = bool(taker_id) and (
        known_order(taker_id)
        or (bool(me.api_key) and trade.owner == me.api_key and taker_side != "MAKER")
        or (
            bool(me.address)
            and taker_side == "TAKER"
            and (trade.maker_address or "").lower() == me.address.lower()
        )
    )
    if taker_ours:
        asset = assets.get(trade.asset_id)
        size = centi(trade.size)
        if asset is not None and size > 0:
            price = pips(trade.price)
            fills.append(
                Fill(
                    venue="polymarket", market=asset[0], trade_id=trade.id, order_id=taker_id,
                    outcome=asset[1], side=_side(trade.side),  # type: ignore[arg-type]
                    price=price, size=size, fee=_fee_micros(size, price, trade.fee_rate_bps),
                    ts_venue_ms=ts_ms, ts_recv_ns=ts_recv_ns,
                )
            )
    return fills


def trade_failed(trade: TradeMsg) -> bool:
    """True for FAILED (websocket) or TRADE_STATUS_FAILED (REST): the fill must be reversed."""
    return (trade.status or "").upper().endswith("FAILED")


def order_update(msg: OrderMsg) -> OrderUpdate:
    """Translate an order event; remaining = original - matched (never negative)."""
    original = (centi(msg.original_size, "original_size")
                if msg.original_size not in (None, "") else 0)
    matched = centi(msg.size_matched, "size_matched") if msg.size_matched not in (None, "") else 0
    typ = (msg.type or "").upper()
    status = (msg.status or "").upper()
    if typ == "CANCELLATION" or status.startswith("CANCELED") or status == "INVALID":
        kind = "cancelled"
    elif typ == "PLACEMENT":
        kind = "placed"
    else:
        kind = "update"
    kind = cast(Literal["placed", "update", "cancelled"], kind)
    return OrderUpdate(
        order_id=msg.id, token=msg.asset_id, side=_side(msg.side),  # type: ignore[arg-type]
        price=pips(msg.price), remaining=max(0, original - matched), kind=kind,
        reason=msg.status or "",
    )


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
        self._subscribe = json.dumps(
            {"type": "user", "auth": auth, "markets": condition_ids}, separators=(",", ":")
        )
        self._me = me
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
                pinger = asyncio.create_task(self._ping(ws))
                try:
                    await ws.send(self._subscribe)  # carries credentials: never logged
                    await self.recover(sink)
                    async for frame in ws:
                        await self.dispatch(frame, time.monotonic_ns(), sink)
                except ConnectionClosed as exc:
                    log.warning("user websocket closed: %s", exc.rcvd or exc)
                finally:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pinger

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.PING_INTERVAL_S)
                await ws.send("PING")

    async def apply_trade(self, trade: TradeMsg, ts_recv_ns: int, sink: UserSink) -> None:
        """Hand our legs of one trade to the sink: fills, or failures to reverse."""
        failed = trade_failed(trade)
        for fill in fills_from_trade(trade, me=self._me, assets=self._assets,
                                     known_order=sink.is_ours, ts_recv_ns=ts_recv_ns):
            if failed:
                await sink.on_fill_failed(fill)
            else:
                self._note(fill.ts_venue_ms)
                await sink.on_fill(fill)

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
