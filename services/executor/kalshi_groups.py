"""Kalshi order groups: the venue-side fill-volume breaker every ladder order joins.

`[venues.kalshi] order_group_contracts` > 0 makes the executor create one group at
start (`POST /portfolio/order_groups/create`) and attach its id to every order. When
more contracts than that match within a rolling 15 s, the venue cancels every order
of the group and refuses new ones until the group is reset. The executor checks the
group on its venue-heartbeat timer and resets it once the window has passed, so a
burst of fills pauses quoting for at least 15 s instead of for ever.

The exact response shape of GET /portfolio/order_groups/{id} (beyond
`is_auto_cancel_enabled`) is UNCONFIRMED (venues.md B3); the simulator's `status`
field (`active` | `triggered`) and `triggered_ts_ms` are what is read here.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from common import metrics
from common.errors import VenueError
from common.prices import size_to_str
from services.executor.kalshi_wire import error_text

if TYPE_CHECKING:
    from services.executor.kalshi import KalshiExecution

log = logging.getLogger(__name__)

WINDOW_MS = 15_000
"""Kalshi's rolling window for the contracts limit."""


async def create_group(adapter: KalshiExecution) -> str:
    """Create the order group; its id is attached to every order from now on."""
    limit = round(adapter._k.order_group_contracts * 100)
    resp = await adapter.request("POST", "/portfolio/order_groups/create",
                                 body={"contracts_limit_fp": size_to_str(limit)}, write=True,
                                 cost=adapter._k.order_cost)
    if resp.status_code not in (200, 201):
        raise VenueError(f"order group: {error_text(resp)}", definitive=resp.status_code < 500,
                         status=resp.status_code)
    adapter.order_group_id = str(resp.json().get("order_group_id") or "")
    log.info("kalshi order group created", extra={"order_group_id": adapter.order_group_id,
                                                   "contracts_limit": limit / 100})
    return adapter.order_group_id


async def keep_group(adapter: KalshiExecution, *, now_ms: int | None = None) -> bool:
    """Reset the group if it tripped more than a window ago; True if it was reset."""
    group = adapter.order_group_id
    if not group:
        return False
    resp = await adapter.request("GET", f"/portfolio/order_groups/{group}")
    if resp.status_code != 200:
        raise VenueError(f"order group: {error_text(resp)}", definitive=resp.status_code < 500,
                         status=resp.status_code)
    data = resp.json()
    if data.get("status") != "triggered":
        return False
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    if now - int(data.get("triggered_ts_ms") or 0) < WINDOW_MS:
        return False
    resp = await adapter.request("PUT", f"/portfolio/order_groups/{group}/reset", write=True,
                                 cost=adapter._k.order_cost, urgent=True)
    if resp.status_code != 200:
        raise VenueError(f"order group reset: {error_text(resp)}",
                         definitive=resp.status_code < 500, status=resp.status_code)
    metrics.ORDERS.labels(venue="kalshi", action="order_group", outcome="reset").inc()
    log.warning("kalshi order group had tripped (fill volume over its limit); reset after "
                "%d s", WINDOW_MS // 1000, extra={"order_group_id": group})
    return True
