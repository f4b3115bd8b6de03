"""Polymarket user events as our records: fills of a trade, order updates, and failures.

A trade event is one message per status transition; a Fill is emitted once per
(trade id, our order id) by the executor's deduplication. For a MAKER fill the side,
price, size and asset come from our own entry in `maker_orders` (a BUY YES taker can
match our BUY NO); for a TAKER fill they come from the trade itself. Trades are
provisional until CONFIRMED: a trade that later goes FAILED (`trade_failed`) has its
fills reversed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from msgspec import Struct

from common import venue_drops
from common.errors import VenueDataError
from common.messages import Fill, Outcome
from common.prices import ONE_DOLLAR
from common.venues.polymarket import OrderMsg, TradeMsg
from common.wire_numbers import Num, basis_points, centi, millis, pips, seconds_or_iso
from services.executor.adapter import OrderUpdate

__all__ = ["Asset", "Identity", "fills_from_trade", "order_update", "trade_failed", "trade_settled"]

Asset = tuple[str, Outcome]
"""(pmm market id, outcome) of a token id."""


class Identity(Struct, frozen=True):
    """How to recognise our side of a trade: API key (owner) and funder address."""

    api_key: str
    address: str = ""


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


def trade_settled(trade: TradeMsg) -> bool:
    """True for CONFIRMED (websocket) or TRADE_STATUS_CONFIRMED (REST): final, and in the
    venue's balances (before it, the executor's position check leaves the market unquiet)."""
    return (trade.status or "").upper().endswith("CONFIRMED")


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
