"""Kalshi wire formats the executor reads and writes (fixed-point dollars and counts)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from common.errors import PriceError
from common.messages import Fill
from common.prices import ONE_DOLLAR, complement, price_from_str, size_from_str


def kalshi_tokens(ticker: str) -> tuple[str, str]:
    """The executor's YES and NO token names of a Kalshi market (never sent to the venue)."""
    return f"{ticker}:yes", f"{ticker}:no"


def dollars(pips: int) -> str:
    return format(Decimal(pips) / ONE_DOLLAR, ".4f")


def fill_from_wire(body: dict[str, Any], market: str, ts_recv_ns: int) -> Fill:
    """A Kalshi fill (REST Fill or `fill` channel body) as our Fill, in the token's own price."""
    outcome = str(body.get("outcome_side") or body.get("side") or "")  # REST `side` is deprecated
    action = str(body.get("action") or "buy")
    if outcome not in ("yes", "no") or action not in ("buy", "sell"):
        raise PriceError(f"bad fill side {outcome!r}/{action!r}")
    yes_price = price_from_str(str(body["yes_price_dollars"]))
    try:
        fee = int(Decimal(str(body.get("fee_cost") or "0")) * 1_000_000)
    except InvalidOperation as exc:
        raise PriceError(f"bad fee {body.get('fee_cost')!r}") from exc
    ts_ms = int(body.get("ts_ms") or 0) or int(body.get("ts") or 0) * 1000
    return Fill(
        venue="kalshi", market=market, trade_id=str(body["trade_id"]),
        order_id=str(body["order_id"]), outcome="YES" if outcome == "yes" else "NO",
        side="BUY" if action == "buy" else "SELL",
        price=yes_price if outcome == "yes" else complement(yes_price),
        size=size_from_str(str(body["count_fp"])), fee=fee, ts_venue_ms=ts_ms,
        ts_recv_ns=ts_recv_ns,
    )


def error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return f"{resp.status_code}: {resp.text[:200]}"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return f"{resp.status_code}: {err.get('code', '')} {str(err.get('message', ''))[:200]}"
    return f"{resp.status_code}: {str(err or data)[:200]}"
