"""Polymarket websocket wire format: tolerant msgspec Structs and frame decoding.

Both channels send one event object or a JSON array of them per frame, plus the bare
texts ``PONG`` and ``NO NEW ASSETS``. Recorded payloads differ in small ways (numbers
as strings or numbers, nulls, extra fields, a missing ``event_type``), so every field
here accepts those variations, and the kind of a market event without ``event_type``
is inferred from its shape. A malformed event is dropped and counted; it is never fatal.

- market channel (ingest): ``decode_frame`` -> `MarketEvent`s;
- user channel (executor): ``decode_user_frame`` -> `TradeMsg` / `OrderMsg`. The trade
  Structs also decode the REST ``GET /data/trades`` rows of the same trades.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import Struct

from common.errors import VenueDataError
from common.venue_drops import drop
from common.wire_numbers import Num, centi, pips

__all__ = [
    "IGNORED_TEXTS", "BestBidAskMsg", "BookMsg", "LastTradeMsg", "MakerOrder", "MarketEvent",
    "MarketResolvedMsg", "NewMarketMsg", "OrderMsg", "PriceChange", "PriceChangeMsg",
    "TickSizeChangeMsg", "TradeMsg", "UserEvent", "WireLevel", "decode_frame",
    "decode_user_frame", "levels",
]

IGNORED_TEXTS = frozenset({"PONG", "NO NEW ASSETS"})


# --- market channel ----------------------------------------------------------------------


class WireLevel(Struct):
    price: Num = None
    size: Num = None


class BookMsg(Struct):
    """``book``: full snapshot of one asset's levels, in any order."""

    asset_id: str
    market: str = ""
    bids: list[WireLevel] | None = None
    asks: list[WireLevel] | None = None
    timestamp: Num = None
    hash: str | None = None
    tick_size: Num = None
    min_order_size: Num = None


class PriceChange(Struct):
    """One level of a ``price_change``: the new aggregate size at that price (0 removes)."""

    asset_id: str
    price: Num
    size: Num
    side: str
    hash: str | None = None
    best_bid: Num = None
    best_ask: Num = None


class PriceChangeMsg(Struct):
    """``price_change`` (schema since 2025-09-15): level updates, maybe for both tokens."""

    price_changes: list[PriceChange]
    market: str = ""
    timestamp: Num = None


class LastTradeMsg(Struct):
    """``last_trade_price``: a trade happened on one asset (no trade id)."""

    asset_id: str
    price: Num
    size: Num = None
    side: str | None = None
    market: str = ""
    timestamp: Num = None
    fee_rate_bps: Num = None
    transaction_hash: str | None = None


class TickSizeChangeMsg(Struct):
    """``tick_size_change``: the asset's minimum tick changed; its book must be rebuilt."""

    asset_id: str
    new_tick_size: Num
    old_tick_size: Num = None
    market: str = ""
    timestamp: Num = None


class BestBidAskMsg(Struct):
    """``best_bid_ask`` (custom feature): top of book of one asset."""

    asset_id: str
    market: str = ""
    best_bid: Num = None
    best_ask: Num = None
    spread: Num = None
    timestamp: Num = None


class NewMarketMsg(Struct):
    """``new_market`` (custom feature)."""

    market: str = ""
    assets_ids: list[str] | None = None
    timestamp: Num = None


class MarketResolvedMsg(Struct):
    """``market_resolved`` (custom feature)."""

    market: str = ""
    assets_ids: list[str] | None = None
    winning_asset_id: str | None = None
    winning_outcome: str | None = None
    timestamp: Num = None


MarketEvent = (
    BookMsg
    | PriceChangeMsg
    | LastTradeMsg
    | TickSizeChangeMsg
    | BestBidAskMsg
    | NewMarketMsg
    | MarketResolvedMsg
)

_BY_TYPE: dict[str, type[Struct]] = {
    "book": BookMsg,
    "price_change": PriceChangeMsg,
    "last_trade_price": LastTradeMsg,
    "tick_size_change": TickSizeChangeMsg,
    "best_bid_ask": BestBidAskMsg,
    "new_market": NewMarketMsg,
    "market_resolved": MarketResolvedMsg,
}


def _infer_type(obj: dict[str, Any]) -> str:
    """Name the event kind of an object that lacks ``event_type`` (seen in recordings)."""
    if "price_changes" in obj:
        return "price_change"
    if "bids" in obj or "asks" in obj:
        return "book"
    if "new_tick_size" in obj:
        return "tick_size_change"
    if "winning_asset_id" in obj:
        return "market_resolved"
    if "best_bid" in obj and "best_ask" in obj:
        return "best_bid_ask"
    if "assets_ids" in obj:
        return "new_market"
    if "price" in obj and "asset_id" in obj and "type" not in obj:
        return "last_trade_price"  # user-channel order/trade objects carry "type"
    return ""


def _market_struct(item: dict[str, Any]) -> type[Struct] | None:
    """The Struct of one market event; None for an unknown (newer) event type."""
    kind = item.get("event_type") or _infer_type(item)
    cls = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if cls is None and (not kind or not isinstance(kind, str)):
        raise VenueDataError("event_type", kind, "unknown shape")
    return cls


def decode_frame(frame: str | bytes) -> tuple[list[MarketEvent], int]:
    """Decode one market-channel frame into events; return them and how many were malformed.

    Keepalive texts and unknown event types (new venue features) yield nothing and are
    not counted as malformed.
    """
    return _decode(frame, "market", _market_struct)


def levels(raw: list[WireLevel] | None) -> list[tuple[int, int]]:
    """Convert wire levels to (pips, centi) pairs, in the venue's order."""
    return [(pips(lv.price), centi(lv.size)) for lv in raw or ()]


# --- user channel ------------------------------------------------------------------------


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


UserEvent = TradeMsg | OrderMsg


def _user_struct(item: dict[str, Any]) -> type[Struct]:
    """The Struct of one user event; an unknown kind is malformed."""
    kind = str(item.get("event_type") or "").lower()
    typ = str(item.get("type") or "").upper()
    if kind == "trade" or typ == "TRADE":
        return TradeMsg
    if kind == "order" or typ in ("PLACEMENT", "UPDATE", "CANCELLATION"):
        return OrderMsg
    raise VenueDataError("event_type", kind or typ, "unknown")


def decode_user_frame(frame: str | bytes) -> tuple[list[UserEvent], int]:
    """Decode one user-channel frame (object or array); return events and the malformed count."""
    return _decode(frame, "user", _user_struct)


# --- both channels -----------------------------------------------------------------------


def _decode(frame: str | bytes, channel: str,
            struct_of: Callable[[dict[str, Any]], type[Struct] | None]) -> tuple[list[Any], int]:
    """Decode one frame's events with `struct_of(event) -> Struct` (None skips the event,
    a VenueDataError makes it malformed); every malformed event is dropped and counted."""
    text = frame.strip() if isinstance(frame, str) else frame.strip().decode("utf-8", "replace")
    if not text or text in IGNORED_TEXTS:
        return [], 0
    try:
        raw = msgspec.json.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        drop("polymarket", channel, exc)
        return [], 1
    events: list[Any] = []
    bad = 0
    for item in raw if isinstance(raw, list) else [raw]:
        try:
            if not isinstance(item, dict):
                raise VenueDataError("event", item, "not an object")
            cls = struct_of(item)
            if cls is not None:
                events.append(msgspec.convert(item, cls, strict=False))
        except (VenueDataError, msgspec.ValidationError) as exc:
            bad += 1
            drop("polymarket", channel, exc)
    return events, bad
