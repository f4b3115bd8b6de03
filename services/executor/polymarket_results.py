"""Reading Polymarket's answers: definitive or ambiguous, per order and per cancel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from py_clob_client_v2.exceptions import PolyApiException

from services.executor.adapter import CancelOutcome, InFlight, Placed, PlaceResult, Rejected
from services.executor.orders import DesiredOrder


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
