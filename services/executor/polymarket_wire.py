"""Polymarket REST shapes the executor reads, tolerant of variations.

Number conversions are the shared ones in common/wire_numbers.py.
"""

from __future__ import annotations


import msgspec
from msgspec import Struct

from common.venue_drops import field_of
from common.wire_numbers import Num, WireError, centi, counter, millis, number_text, pips  # noqa: F401 (re-exported)


IGNORED_TEXTS = frozenset({"PONG", "NO NEW ASSETS"})

LIVE_STATUSES = frozenset({"", "LIVE", "ORDER_STATUS_LIVE", "DELAYED", "ORDER_STATUS_DELAYED"})


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
        raise WireError(field_of(exc), raw, str(exc)) from exc


def remaining(order: OpenOrder) -> int:
    """Unfilled size in centi-contracts; 0 for orders no longer live."""
    if (order.status or "").upper() not in LIVE_STATUSES:
        return 0
    matched = (centi(order.size_matched, "size_matched")
               if order.size_matched not in (None, "") else 0)
    return max(0, centi(order.original_size, "original_size") - matched)
