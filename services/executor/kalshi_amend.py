"""Kalshi amends: move resting orders in place (POST /portfolio/events/orders/{id}/amend).

A requote that moves a level is one amend instead of a cancel and a placement, and the
level is never absent from the book. The body names the market, the side ("bid" for a
YES order, "ask" for a NO one), the price in YES terms (as placements do) and `count`,
the new maximum fillable total: filled so far + the new remaining (venues.md B4). An
amend costs `amend_cost` write tokens, drawn from what `reserve_placements` set aside.

Amends run concurrently; each answer is applied on its own. Any answer but 200 (refused
as crossing, not found, a 5xx, a timeout) puts the order in `failed`, and the executor
cancels it: an order whose amend did not surely apply must not rest at a stale price.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from common.errors import PriceError, VenueError
from common.prices import complement, size_from_str, size_to_str
from services.executor.adapter import AmendReport
from services.executor.kalshi_http import KalshiHttp
from services.executor.kalshi_wire import dollars, error_text
from services.executor.orders import Amend, MarketTokens

__all__ = ["amend"]


async def amend(http: KalshiHttp, markets: Mapping[str, MarketTokens], amends: Sequence[Amend],
                *, amend_cost: int) -> AmendReport:
    """Send every amend at once; return what the venue applied and what it did not.

    `markets` maps our market ids to their tokens; each amend costs `amend_cost` tokens.
    """
    results = await asyncio.gather(*(_one(http, markets, a, amend_cost) for a in amends))
    done = tuple((oid, left) for oid, left, _ in results if left is not None)
    failed = tuple((oid, why) for oid, left, why in results if left is None)
    return AmendReport(done=done, failed=failed)


async def _one(http: KalshiHttp, markets: Mapping[str, MarketTokens], a: Amend,
               cost: int) -> tuple[str, int | None, str]:
    tokens = markets[a.to.market]
    bid = a.to.token == tokens.yes_token
    body = {"ticker": tokens.venue_market, "side": "bid" if bid else "ask",
            "price": dollars(a.to.price if bid else complement(a.to.price)),
            "count": size_to_str(a.order.filled + a.to.size)}
    oid = a.order.order_id
    try:
        resp = await http.request(
            "POST", f"/portfolio/events/orders/{oid}/amend", body=body, write=True,
            cost=http.owed(a.to.market, cost))
    except VenueError as exc:
        return oid, None, str(exc)
    if resp.status_code != 200:
        return oid, None, error_text(resp)
    try:
        return oid, size_from_str(str(resp.json()["remaining_count"])), ""
    except (KeyError, TypeError, ValueError, PriceError):
        return oid, None, "amend answer without remaining_count"
