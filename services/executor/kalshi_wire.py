"""Kalshi wire formats the executor reads and writes (fixed-point dollars and counts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from common import venue_drops
from common import wire_numbers as wn
from common.errors import VenueDataError
from common.messages import Fill
from common.prices import ONE_DOLLAR, complement


def kalshi_tokens(ticker: str) -> tuple[str, str]:
    """The executor's YES and NO token names of a Kalshi market (never sent to the venue)."""
    return f"{ticker}:yes", f"{ticker}:no"


def dollars(pips: int) -> str:
    return format(Decimal(pips) / ONE_DOLLAR, ".4f")


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
