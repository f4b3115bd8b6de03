"""Kalshi websocket wire format (trade API v2): frames of the market and user channels.

Every frame is one JSON object, an envelope `{"type", "sid", "seq", "id", "msg"}` whose
`msg` body depends on `type`. Prices and counts are fixed-point strings (`"0.5600"`,
`"12.00"`), read through common/wire_numbers.py. Each converter here raises
VenueDataError (the field named) on anything unusable; the caller drops and counts it.

- market channel (ingest): `orderbook_snapshot`, `orderbook_delta`, `trade`;
- user channel (executor): `fill` (whose body is also the shape of a REST fill row).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from common import venue_drops
from common import wire_numbers as wn
from common.errors import VenueDataError
from common.messages import Fill
from common.prices import complement

__all__ = ["BookDelta", "PublicTrade", "as_object", "book_side", "decode_frame", "delta_of",
           "fill_from_wire", "public_trade", "snapshot_sides"]


def decode_frame(frame: str | bytes) -> dict[str, Any] | None:
    """One frame's envelope; None if it is JSON but not an object.

    Raises msgspec.DecodeError or UnicodeDecodeError on a frame that is not JSON.
    """
    msg = msgspec.json.decode(frame)
    return msg if isinstance(msg, dict) else None


def as_object(value: Any, field: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else VenueDataError naming `field`."""
    if not isinstance(value, dict):
        raise VenueDataError(field, value, "not an object")
    return value


# --- market channel ----------------------------------------------------------------------


def book_side(raw: Any, field: str) -> dict[int, int]:
    """A snapshot side, [[price_dollars, count_fp], ...], as {pips: centi}."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise VenueDataError(field, raw, "not a list")
    levels: dict[int, int] = {}
    for level in raw:
        if not isinstance(level, list) or len(level) != 2:
            raise VenueDataError(field, level, "not a [price, count] pair")
        levels[wn.pips(level[0], field)] = wn.centi(level[1], field)
    return levels


def snapshot_sides(body: dict[str, Any]) -> tuple[dict[int, int], dict[int, int]]:
    """The YES and NO bid levels of an `orderbook_snapshot` body, as {pips: centi} each."""
    return (book_side(body.get("yes_dollars_fp"), "yes_dollars_fp"),
            book_side(body.get("no_dollars_fp"), "no_dollars_fp"))


class BookDelta(Struct, frozen=True, kw_only=True):
    """An `orderbook_delta` body in our units: a signed change of one YES or NO bid level."""

    side: str
    """"yes" or "no": the book the level is on (a NO bid at q is a YES ask at 1 - q)."""
    price: int
    """The level's price in pips, in that side's own terms."""
    delta: int
    """Signed change of the level's size, centi-contracts."""
    ts_venue_ms: int


def delta_of(body: dict[str, Any]) -> BookDelta:
    """Read an `orderbook_delta` body (the venue's time is 0 when absent)."""
    side = body.get("side")
    price = wn.pips(body["price_dollars"], "price_dollars")
    if side not in ("yes", "no"):
        raise VenueDataError("side", side, "not yes or no")
    delta = wn.signed_centi(body["delta_fp"], "delta_fp")
    return BookDelta(side=side, price=price, delta=delta,
                     ts_venue_ms=wn.millis(body.get("ts_ms"), "ts_ms"))


class PublicTrade(Struct, frozen=True, kw_only=True):
    """A `trade` body in our units, YES terms."""

    ts_venue_ms: int
    price: int
    """YES price, pips."""
    size: int
    """Centi-contracts."""
    taker_side: str
    """"yes" or "no": which outcome the taker bought."""


def public_trade(body: dict[str, Any]) -> PublicTrade:
    """Read a public `trade` body; `ts` (unix seconds, or ms in some recordings) as ms."""
    taker = str(body.get("taker_side") or body.get("taker_outcome_side") or "")
    if taker not in ("yes", "no"):
        raise VenueDataError("taker_side", taker, "not yes or no")
    ts = wn.millis(body.get("ts"), "ts")
    return PublicTrade(ts_venue_ms=ts * 1000 if ts < 10**11 else ts,
                       price=wn.pips(body["yes_price_dollars"], "yes_price_dollars"),
                       size=wn.centi(body["count_fp"], "count_fp"), taker_side=taker)


# --- user channel ------------------------------------------------------------------------


def fill_from_wire(body: dict[str, Any], market: str, ts_recv_ns: int) -> Fill:
    """A Kalshi fill (REST Fill or `fill` channel body) as our Fill, in the token's own price.

    Raises VenueDataError (field named) on anything unusable: a price outside (0, 1), a
    size beyond the cap, a non-object body, ids that are not strings.
    """
    if not isinstance(body, dict):
        raise VenueDataError("msg", body, "not an object")
    outcome = body.get("outcome_side") or body.get("side") or ""  # REST `side` is deprecated
    action = body.get("action") or "buy"
    if outcome not in ("yes", "no"):
        raise VenueDataError("side", outcome, "not yes or no")
    if action not in ("buy", "sell"):
        raise VenueDataError("action", action, "not buy or sell")
    yes_price = wn.pips(body.get("yes_price_dollars"), "yes_price_dollars")
    # a fill is a real trade: a bad fee or time is counted and read as 0, never a lost fill
    fee = venue_drops.optional(lambda: wn.micros(body.get("fee_cost"), "fee_cost"),
                               venue="kalshi", channel="fills")
    ts_ms = venue_drops.optional(lambda: wn.millis(body.get("ts_ms"), "ts_ms")
                                 or wn.millis(body.get("ts"), "ts") * 1000,
                                 venue="kalshi", channel="fills")
    trade_id, order_id = body.get("trade_id"), body.get("order_id")
    if not isinstance(trade_id, str) or not trade_id:
        raise VenueDataError("trade_id", trade_id, "not an id")
    if not isinstance(order_id, str) or not order_id:
        raise VenueDataError("order_id", order_id, "not an id")
    return Fill(
        venue="kalshi", market=market, trade_id=trade_id,
        order_id=order_id, outcome="YES" if outcome == "yes" else "NO",
        side="BUY" if action == "buy" else "SELL",
        price=yes_price if outcome == "yes" else complement(yes_price),
        size=wn.centi(body.get("count_fp"), "count_fp"), fee=fee, ts_venue_ms=ts_ms,
        ts_recv_ns=ts_recv_ns,
    )
