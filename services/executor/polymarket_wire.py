"""Polymarket number formats and REST shapes the executor reads, tolerant of variations.

Services never import each other, so these few helpers mirror the ingest's wire
module (a candidate for common/ - see the issue report).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec
from msgspec import Struct

from common.errors import PriceError
from common.prices import PRICE_SCALE, price_from_str, size_from_str

Num = str | int | float | None
"""A venue number: a decimal string ("0.51"), a JSON number, or null."""

IGNORED_TEXTS = frozenset({"PONG", "NO NEW ASSETS"})

LIVE_STATUSES = frozenset({"", "LIVE", "ORDER_STATUS_LIVE", "DELAYED", "ORDER_STATUS_DELAYED"})


class WireError(PriceError):
    """A venue payload that cannot be read; the caller drops and counts it."""


def number_text(value: Num) -> str:
    """The decimal text of a venue number, or WireError if it is missing."""
    if value is None or isinstance(value, bool) or value == "":
        raise WireError(f"missing number: {value!r}")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def pips(value: Num) -> int:
    """A venue price as integer pips, exactly, or WireError."""
    try:
        result = price_from_str(number_text(value))
    except PriceError as exc:
        raise WireError(str(exc)) from exc
    if not 0 <= result <= PRICE_SCALE:
        raise WireError(f"price {value!r} outside [0, 1]")
    return result


def centi(value: Num) -> int:
    """A venue size as integer centi-contracts (dust truncated), or WireError."""
    try:
        return size_from_str(number_text(value))
    except PriceError as exc:
        raise WireError(str(exc)) from exc


def millis(value: Num) -> int:
    """A venue timestamp as an integer; 0 when absent or not a number."""
    if value is None or isinstance(value, bool) or value == "":
        return 0
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0


class OpenOrder(Struct):
    """A row of GET /data/orders (OpenOrder)."""

    id: str
    asset_id: str
    side: str
    price: Num
    original_size: Num
    size_matched: Num = None
    status: str | None = None
    market: str = ""


class OpenOrdersPage(Struct):
    data: list[OpenOrder]
    next_cursor: str | None = None


def open_order(raw: object) -> OpenOrder:
    """Convert one REST row; raise WireError if it is malformed."""
    try:
        return msgspec.convert(raw, OpenOrder, strict=False)
    except msgspec.ValidationError as exc:
        raise WireError(str(exc)) from exc


def remaining(order: OpenOrder) -> int:
    """Unfilled size in centi-contracts; 0 for orders no longer live."""
    if (order.status or "").upper() not in LIVE_STATUSES:
        return 0
    matched = centi(order.size_matched) if order.size_matched not in (None, "") else 0
    return max(0, centi(order.original_size) - matched)
