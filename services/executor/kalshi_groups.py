"""Kalshi order groups: the venue-side fill-volume breaker, one per market.

Kalshi has no cancel-on-disconnect and no heartbeat endpoint; an order group is its
nearest analogue, so they are ON by default. The executor creates one group per Kalshi
market at start (`POST /portfolio/order_groups/create`) and names the market's group on
each of its orders. When a group's orders match more contracts than its limit within a
rolling 15 s, Kalshi cancels every resting order of the group and refuses new ones until
the group is reset. One group per market, not one for the account: a market being run over
pauses that market's quotes, not every market's (with one shared group at the largest
`max_inventory`, the candidate defaults' fault test saw the busy markets' fills together
trip it within 10 s of the start, pulling every Kalshi quote for 15 s).

The limit (`[venues.kalshi] order_group_contracts`):
- unset (default): the market's `max_inventory`, in whole contracts, clamped to Kalshi's
  1 to 1,000,000. Matching a market's whole inventory allowance within 15 s is never
  ordinary quoting (a ladder level is `size`, default 50 against 500), it is being run
  over, so that is when the venue pulls the market's quotes;
- a number: that many contracts per market; 0: no order groups.

A trip is seen two ways, both official: the websocket's `order_group_updates` channel
(event_type `triggered`, with the engine's `ts_ms`; subscribed by kalshi_user.py) and
`GET /portfolio/order_groups`, polled on the venue-heartbeat timer (one request for every
group), whose rows' `is_auto_cancel_enabled` reads true while the group is triggered.
Kalshi's model only calls that field "whether auto-cancel is enabled"; that trigger sets it
and reset clears it was observed on Kalshi's demo by a third-party suite, so it is not the
only signal relied on. Once the window has passed since the trip,
`PUT /portfolio/order_groups/{id}/reset` clears it, so a burst of fills pauses the market's
quoting for at least 15 s instead of for ever. A group missing from the list (deleted) is
created again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from common import metrics
from common.errors import VenueError
from common.prices import size_to_str
from services.executor.kalshi_wire import error_text

__all__ = [
    "BASE", "MAX_LIMIT_CONTRACTS", "WINDOW_MS", "OrderGroup", "OrderGroups", "Request",
    "limit_contracts", "reset_due", "tripped",
]

log = logging.getLogger(__name__)

WINDOW_MS = 15_000
"""Kalshi's rolling window for the contracts limit."""
MAX_LIMIT_CONTRACTS = 1_000_000
BASE = "/portfolio/order_groups"


Request = Callable[..., Awaitable[httpx.Response]]
"""KalshiHttp.request (kalshi_http.py): one signed, rate-limited request."""


def limit_contracts(setting: float | None, max_inventories: Iterable[float]) -> int:
    """The group's limit in whole contracts; 0 means no group (see the module docstring)."""
    if setting is not None:
        return 0 if setting == 0 else min(max(math.ceil(setting), 1), MAX_LIMIT_CONTRACTS)
    largest = max(max_inventories, default=0.0)
    return min(max(math.ceil(largest), 1), MAX_LIMIT_CONTRACTS) if largest > 0 else 0


def tripped(view: Mapping[str, Any]) -> bool:
    """A GetOrderGroupResponse of a triggered group."""
    return view.get("is_auto_cancel_enabled") is True


def reset_due(tripped_at_ms: int | None, now_ms: int, window_ms: int = WINDOW_MS) -> bool:
    """True once a whole window has passed since the trip."""
    return tripped_at_ms is not None and now_ms - tripped_at_ms >= window_ms


def _object(resp: httpx.Response, what: str) -> dict[str, Any]:
    """A 200 reply's JSON object; anything else is an ambiguous venue failure, never an
    exception that would end the executor's heartbeat loop."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise VenueError(f"order group {what}: the reply is not a JSON object",
                         definitive=False, status=resp.status_code)
    return body


class OrderGroup:
    """One market's order group: created at start, reset a window after each trip."""

    def __init__(self, request: Request, *, contracts: int, write_cost: float,
                 market: str = "") -> None:
        self._request = request
        self.market = market
        self.contracts = contracts
        self._cost = write_cost
        self.id = ""
        self.tripped_at_ms: int | None = None
        self.resets = 0

    def _fail(self, what: str, resp: httpx.Response) -> VenueError:
        return VenueError(f"order group {what}: {error_text(resp)}",
                          definitive=resp.status_code < 500, status=resp.status_code)

    async def create(self) -> str:
        """Create the group; its id is attached to every order from now on."""
        resp = await self._request("POST", f"{BASE}/create",
                                   body={"contracts_limit_fp": size_to_str(self.contracts * 100)},
                                   write=True, cost=self._cost)
        if resp.status_code not in (200, 201):
            raise self._fail("create", resp)
        self.id = str(_object(resp, "create").get("order_group_id") or "")
        self.tripped_at_ms = None
        log.info("kalshi order group created", extra={
            "order_group_id": self.id, "contracts_limit": self.contracts, "market": self.market})
        return self.id

    def on_update(self, body: Mapping[str, Any]) -> None:
        """Take an `order_group_updates` message body for our group."""
        if str(body.get("order_group_id")) != self.id or not self.id:
            return
        event = body.get("event_type")
        if event == "triggered":
            ts = body.get("ts_ms")
            at = int(ts) if isinstance(ts, int) and ts > 0 else None
            if at is not None and (self.tripped_at_ms is None or at < self.tripped_at_ms):
                self.tripped_at_ms = at
            log.warning("kalshi order group triggered",
                        extra={"order_group_id": self.id, "market": self.market})
        elif event == "reset":
            self.tripped_at_ms = None

    async def keep(self, now_ms: int, view: Mapping[str, Any] | None = None,
                   listed: bool = False) -> bool:
        """Reset the group once a window has passed since it tripped; True if it was reset.
        `view`: the group's row of a list just read (None: read the group itself); `listed`
        with no view: the list was read and the group is not in it."""
        if not self.id:
            return False
        if view is None and not listed:
            resp = await self._request("GET", f"{BASE}/{self.id}")
            if resp.status_code not in (200, 404):
                raise self._fail("read", resp)
            view = _object(resp, "read") if resp.status_code == 200 else None
        if view is None:
            log.warning("kalshi order group %s is gone; creating a new one", self.id,
                        extra={"market": self.market})
            await self.create()
            return False
        if tripped(view):
            self.tripped_at_ms = min(self.tripped_at_ms or now_ms, now_ms)
        elif self.tripped_at_ms is None:
            return False
        if not reset_due(self.tripped_at_ms, now_ms):
            return False
        resp = await self._request("PUT", f"{BASE}/{self.id}/reset", write=True,
                                   cost=self._cost, urgent=True)
        if resp.status_code != 200:
            raise self._fail("reset", resp)
        self.tripped_at_ms = None
        self.resets += 1
        metrics.ORDERS.labels(venue="kalshi", action="order_group", outcome="reset").inc()
        log.warning("kalshi order group had tripped (fill volume over %d contracts in 15 s); "
                    "reset after the window", self.contracts,
                    extra={"order_group_id": self.id, "market": self.market})
        return True


class OrderGroups:
    """The executor's order groups, one per Kalshi market whose limit is not 0."""

    def __init__(self, request: Request, *, limits: Mapping[str, int],
                 write_cost: float) -> None:
        self._request = request
        self.by_market = {m: OrderGroup(request, contracts=c, write_cost=write_cost, market=m)
                          for m, c in limits.items() if c > 0}

    def of(self, market: str) -> OrderGroup | None:
        return self.by_market.get(market)

    def id_for(self, market: str) -> str:
        """The group id an order in `market` names ("" for none)."""
        group = self.by_market.get(market)
        return group.id if group is not None else ""

    @property
    def resets(self) -> int:
        return sum(g.resets for g in self.by_market.values())

    async def create(self) -> None:
        for group in self.by_market.values():
            await group.create()

    def on_update(self, body: Mapping[str, Any]) -> None:
        """Take an `order_group_updates` message body (for whichever group it names)."""
        for group in self.by_market.values():
            group.on_update(body)

    async def keep(self, now_ms: int) -> int:
        """Read every group in one list request; reset each a window after its trip and
        create again any the venue no longer has. The number reset."""
        if not any(g.id for g in self.by_market.values()):
            return 0
        resp = await self._request("GET", BASE)
        if resp.status_code != 200:
            raise VenueError(f"order groups list: {error_text(resp)}",
                             definitive=resp.status_code < 500, status=resp.status_code)
        rows = _object(resp, "list").get("order_groups")
        views = {str(r.get("id")): r for r in rows if isinstance(r, dict)} \
            if isinstance(rows, list) else {}
        reset = 0
        for group in self.by_market.values():
            reset += await group.keep(now_ms, views.get(group.id), listed=True)
        return reset
