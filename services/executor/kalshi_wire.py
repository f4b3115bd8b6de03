"""Kalshi REST shapes the executor reads and writes (fixed-point dollars and counts).

The `fill` body, shared with the websocket, is read by common/venues/kalshi.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from common import wire_numbers as wn
from common.errors import VenueDataError
from common.prices import ONE_DOLLAR, complement
from services.executor.orders import VenueOrder

__all__ = ["MAX_CURSOR_CHARS", "dollars", "error_text", "kalshi_tokens", "page_rows",
           "row_error", "venue_order"]


def kalshi_tokens(ticker: str) -> tuple[str, str]:
    """The executor's YES and NO token names of a Kalshi market (never sent to the venue)."""
    return f"{ticker}:yes", f"{ticker}:no"


def dollars(pips: int) -> str:
    return format(Decimal(pips) / ONE_DOLLAR, ".4f")


MAX_CURSOR_CHARS = 2_000


def page_rows(resp: httpx.Response, key: str, seen: set[str]) -> tuple[list[Any], str]:
    """The rows under `key` and the next cursor of one Kalshi list page.

    Raises VenueDataError on a page that is not an object, rows that are not a list, or a
    cursor already followed (a venue that pages in a circle must not loop us forever).
    """
    try:
        data = resp.json()
    except ValueError as exc:
        raise VenueDataError("body", resp.text[:60], "not JSON") from exc
    if not isinstance(data, dict):
        raise VenueDataError("body", data, "not an object")
    rows = data.get(key) or []
    if not isinstance(rows, list):
        raise VenueDataError(key, rows, "not a list")
    cursor = data.get("cursor") or ""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS or cursor in seen:
        raise VenueDataError("cursor", cursor, "not a new cursor")
    seen.add(cursor)
    return rows, cursor


def error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return f"{resp.status_code}: {resp.text[:200]}"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return f"{resp.status_code}: {err.get('code', '')} {str(err.get('message', ''))[:200]}"
    return f"{resp.status_code}: {str(err or data)[:200]}"


def row_error(err: Any) -> str:
    """`code: message` of a batch row's error (the message names e.g. an off-grid price)."""
    if not isinstance(err, dict):
        return str(err)
    code, message = str(err.get("code") or ""), str(err.get("message") or "")[:200]
    return f"{code}: {message}" if code and message else code or message or str(err)


def venue_order(row: dict[str, Any]) -> VenueOrder:
    """A row of GET /portfolio/orders as our VenueOrder, in the token's own price.

    Raises VenueDataError (or another of venue_drops.MALFORMED) on an unusable row.
    """
    if not isinstance(row, dict):
        raise VenueDataError("orders", row, "not an object")
    for key in ("ticker", "order_id"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise VenueDataError(key, row.get(key), "not an id")
    yes_tok, no_tok = kalshi_tokens(str(row["ticker"]))
    is_yes = row.get("outcome_side", row.get("side")) == "yes"
    yes_price = wn.pips(row.get("yes_price_dollars"), "yes_price_dollars")
    buy = row.get("action", "buy") == "buy"
    return VenueOrder(
        order_id=str(row["order_id"]), token=yes_tok if is_yes else no_tok,
        side="BUY" if buy else "SELL",
        price=yes_price if is_yes else complement(yes_price),
        size=wn.centi(row.get("remaining_count_fp"), "remaining_count_fp"),
        venue_market=str(row["ticker"]),
        client_id=str(row.get("client_order_id") or ""),
        filled=wn.centi(row.get("fill_count_fp") or "0", "fill_count_fp"),
    )
