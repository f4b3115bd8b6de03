"""Reading Polymarket's REST answers: post and cancel outcomes (definitive or ambiguous)
and open-order rows.

Number conversions are the shared ones in common/wire_numbers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
from msgspec import Struct
from py_clob_client_v2.exceptions import PolyApiException

from common.venue_drops import field_of
from common.wire_numbers import Num, WireError, centi, pips
from services.executor.adapter import CancelOutcome, InFlight, Placed, PlaceResult, Rejected
from services.executor.orders import DesiredOrder, VenueOrder

__all__ = ["LIVE_STATUSES", "OpenOrder", "OpenOrdersPage", "cancel_outcome", "classify_post",
           "error_text", "is_definitive", "open_order", "remaining", "venue_order"]

LIVE_STATUSES = frozenset({"", "LIVE", "ORDER_STATUS_LIVE", "DELAYED", "ORDER_STATUS_DELAYED"})


def is_definitive(exc: Exception) -> bool:
    """A 4xx answer means the venue did not act; anything else may have been applied."""
    status = getattr(exc, "status_code", None)
    return isinstance(exc, PolyApiException) and status is not None and 400 <= status < 500


def error_text(exc: Exception) -> str:
    """A short reason for logs and events (never includes request headers)."""
    if isinstance(exc, PolyApiException):
        return f"{exc.status_code}: {str(exc.error_msg)[:200]}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def classify_post(
    requests: Sequence[DesiredOrder], response: object, id_of: Callable[[int], str]
) -> list[PlaceResult]:
    """Per-order outcomes of a 200 answer to POST /orders (one row per order, in order).

    A row with an orderID and no `success: false` is placed; a row with no orderID or
    `success: false` is a definitive reject; a missing row or a non-list body leaves
    the order in flight under its locally computed id, `id_of(index)`.
    """
    if not isinstance(response, list):
        return [InFlight(r, id_of(k), "unexpected response") for k, r in enumerate(requests)]
    out: list[PlaceResult] = []
    for k, req in enumerate(requests):
        row = response[k] if k < len(response) else None
        if not isinstance(row, dict):
            out.append(InFlight(req, id_of(k), "no result row"))
            continue
        venue_id = row.get("orderID") or ""
        reason = str(row.get("errorMsg") or "")
        if venue_id and row.get("success") is not False:
            out.append(Placed(req, str(venue_id)))
        else:
            out.append(Rejected(req, reason or "rejected"))
    return out


def cancel_outcome(response: object, *, everything: bool = False) -> CancelOutcome:
    """Read a cancel answer: `canceled` and `not_canceled` ids are both no longer resting."""
    if not isinstance(response, dict):
        return CancelOutcome(ambiguous=True, reason="unexpected response")
    gone = [str(i) for i in response.get("canceled") or ()]
    not_canceled = response.get("not_canceled") or {}
    if isinstance(not_canceled, dict):
        gone.extend(str(i) for i in not_canceled)
    return CancelOutcome(gone=tuple(gone), everything=everything)


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


def matched(order: OpenOrder) -> int:
    """Matched so far, in centi-contracts."""
    return (centi(order.size_matched, "size_matched")
            if order.size_matched not in (None, "") else 0)


def remaining(order: OpenOrder) -> int:
    """Unfilled size in centi-contracts; 0 for orders no longer live."""
    if (order.status or "").upper() not in LIVE_STATUSES:
        return 0
    return max(0, centi(order.original_size, "original_size") - matched(order))


def venue_order(raw: object) -> VenueOrder:
    """One open-order row as our VenueOrder; raise WireError if it is malformed."""
    oo = open_order(raw)
    side = oo.side.upper()
    if side not in ("BUY", "SELL"):
        raise WireError("side", oo.side, "not BUY or SELL")
    return VenueOrder(
        order_id=oo.id, token=oo.asset_id, side=side,  # type: ignore[arg-type]
        price=pips(oo.price), size=remaining(oo), venue_market=oo.market, filled=matched(oo),
    )
