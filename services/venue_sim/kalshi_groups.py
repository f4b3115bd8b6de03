"""Kalshi order groups on the simulator: a fill-volume breaker per group of orders.

Endpoints and shapes follow kalshi-python-sync 3.34.0 (`OrderGroupsApi`, models
`CreateOrderGroupRequest/Response`, `GetOrderGroupResponse`, `GetOrderGroupsResponse`,
`OrderGroup`, `UpdateOrderGroupLimitRequest`) and docs.kalshi.com/getting_started/order_groups:

    POST   /portfolio/order_groups/create      {contracts_limit | contracts_limit_fp} -> 201
           {order_group_id, subaccount, exchange_index}
    GET    /portfolio/order_groups             -> {order_groups: [{id, contracts_limit_fp,
                                                   is_auto_cancel_enabled, exchange_index}]}
    GET    /portfolio/order_groups/{id}        -> {is_auto_cancel_enabled, contracts_limit_fp,
                                                   orders, exchange_index}
    DELETE /portfolio/order_groups/{id}        cancels the group's orders, removes it -> {}
    PUT    .../{id}/reset                      clears the trip and the rolling counter -> {}
    PUT    .../{id}/trigger                    trips it now -> {}
    PUT    .../{id}/limit {contracts_limit[_fp]}  trips it if the window already exceeds it -> {}

A group trips when the contracts its orders matched in a rolling 15 s exceed its limit
(1 to 1,000,000 contracts), on a manual trigger, or on a limit update below the window's
volume: every resting order of the group is cancelled and orders naming it are refused
until a reset. While tripped, `is_auto_cancel_enabled` reads true, false once reset: the
official model only calls it "whether auto-cancel is enabled"; that trigger sets it and
reset clears it was observed on Kalshi's demo by a third-party suite
(synpath `TestOrderGroups.test_trip_and_reset`), so it is UNCONFIRMED by Kalshi's docs.
Each change is also pushed on the websocket's `order_group_updates` channel (event_type
created | triggered | reset | deleted | limit_updated), which is documented.
The refusal's error code (`order_group_triggered`) is UNCONFIRMED.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from services.venue_sim import kalshi_wire as kw
from services.venue_sim.engine import Engine, Trade
from services.venue_sim.kalshi_http import Handler, Signed
from services.venue_sim.kalshi_requests import group_limit
from services.venue_sim.kalshi_wire import KalshiReject
from services.venue_sim.responses import reply

__all__ = ["WINDOW_MS", "Group", "GroupAnnounce", "OrderGroups", "add_group_routes"]

WINDOW_MS = 15_000
TRIGGERED = "order_group_triggered"



class GroupAnnounce(Protocol):
    """Push a group change to its owner's `order_group_updates` subscriptions."""

    def __call__(self, account: str, event_type: str, group_id: str, now_ms: int, *,
                 limit_centi: int | None) -> None: ...


@dataclass
class Group:
    id: str
    account: str
    limit: int
    """Centi-contracts per rolling window."""
    orders: set[str] = field(default_factory=set)
    matched: deque[tuple[int, int]] = field(default_factory=deque)
    triggered_ms: int = 0
    trips: int = 0

    def matched_in_window(self, now_ms: int) -> int:
        while self.matched and self.matched[0][0] <= now_ms - WINDOW_MS:
            self.matched.popleft()
        return sum(n for _, n in self.matched)

    def json(self) -> dict[str, Any]:
        """GetOrderGroupResponse."""
        return {"is_auto_cancel_enabled": bool(self.triggered_ms),
                "contracts_limit_fp": kw.fp(self.limit), "orders": sorted(self.orders),
                "exchange_index": 0}

    def listed(self) -> dict[str, Any]:
        """OrderGroup (a row of GetOrderGroupsResponse)."""
        return {"id": self.id, "contracts_limit_fp": kw.fp(self.limit),
                "is_auto_cancel_enabled": bool(self.triggered_ms), "exchange_index": 0}


class OrderGroups:
    """Every order group of every Kalshi account."""

    def __init__(self, engine: Engine, announce: GroupAnnounce) -> None:
        self.engine = engine
        self.announce = announce
        self.groups: dict[str, Group] = {}
        self._by_order: dict[str, Group] = {}

    def _announce(self, group: Group, event_type: str, now_ms: int) -> None:
        self.announce(group.account, event_type, group.id, now_ms,
                                 limit_centi=group.limit
                                 if event_type in ("created", "limit_updated") else None)

    def create(self, account: str, limit: int, now_ms: int = 0) -> Group:
        group = Group(id=self.engine.new_uuid(), account=account, limit=limit)
        self.groups[group.id] = group
        self._announce(group, "created", now_ms)
        return group

    def check_open(self, account: str, group_id: str) -> Group | None:
        """The group an order joins; raise a 4xx if it is unknown or triggered."""
        if not group_id:
            return None
        group = self.groups.get(group_id)
        if group is None or group.account != account:
            raise KalshiReject(404, kw.NOT_FOUND, f"order group {group_id} not found")
        if group.triggered_ms:
            raise KalshiReject(400, TRIGGERED, "order group triggered: reset it to place orders")
        return group

    def attach(self, group: Group | None, order_id: str) -> None:
        if group is not None:
            group.orders.add(order_id)
            self._by_order[order_id] = group

    def forget(self, order_id: str) -> None:
        """A finished order left the engine's memory: it can no longer trade."""
        group = self._by_order.pop(order_id, None)
        if group is not None:
            group.orders.discard(order_id)

    def on_trade(self, trade: Trade, now_ms: int) -> None:
        """Count the contracts a group's order matched; trip the group past its limit."""
        for oid in (trade.maker_order_id, trade.taker_order_id):
            group = self._by_order.get(oid)
            if group is None:
                continue
            group.matched.append((now_ms, trade.size))
            if not group.triggered_ms and group.matched_in_window(now_ms) > group.limit:
                self.trip(group, now_ms)

    def trip(self, group: Group, now_ms: int) -> None:
        """Cancel every open order of the group and refuse new ones until reset."""
        group.triggered_ms = max(now_ms, 1)
        group.trips += 1
        self._cancel_orders(group)
        self._announce(group, "triggered", now_ms)

    def _cancel_orders(self, group: Group) -> None:
        for oid in list(group.orders):
            order = self.engine.orders.get(oid)
            if order is not None and order.status == "LIVE":
                self.engine.cancel(group.account, oid)
        group.orders.clear()

    def reset(self, group: Group, now_ms: int) -> None:
        group.triggered_ms = 0
        group.matched.clear()
        self._announce(group, "reset", now_ms)

    def set_limit(self, group: Group, limit: int, now_ms: int) -> None:
        group.limit = limit
        self._announce(group, "limit_updated", now_ms)
        if not group.triggered_ms and group.matched_in_window(now_ms) > limit:
            self.trip(group, now_ms)

    def delete(self, group: Group, now_ms: int) -> None:
        self._cancel_orders(group)
        for oid in [o for o, g in self._by_order.items() if g is group]:
            del self._by_order[oid]
        del self.groups[group.id]
        self._announce(group, "deleted", now_ms)


def add_group_routes(groups: OrderGroups, signed: Signed, base: str,
                     router: web.UrlDispatcher, clock_ms: Callable[[], int]) -> None:
    """Register the order-group endpoints (signed like every Kalshi route)."""

    def group_of(r: web.Request, account: str) -> Group:
        group = groups.groups.get(r.match_info["group_id"])
        if group is None or group.account != account:
            raise KalshiReject(404, kw.NOT_FOUND, "order group not found")
        return group

    async def create(r: web.Request, account: str, data: Any) -> web.Response:
        group = groups.create(account, group_limit(data), clock_ms())
        return reply({"order_group_id": group.id, "subaccount": 0, "exchange_index": 0}, 201)

    async def listing(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"order_groups": [g.listed() for g in groups.groups.values()
                                       if g.account == account]})

    async def get(r: web.Request, account: str, data: Any) -> web.Response:
        return reply(group_of(r, account).json())

    async def delete(r: web.Request, account: str, data: Any) -> web.Response:
        groups.delete(group_of(r, account), clock_ms())
        return reply({})

    async def reset(r: web.Request, account: str, data: Any) -> web.Response:
        groups.reset(group_of(r, account), clock_ms())
        return reply({})

    async def trigger(r: web.Request, account: str, data: Any) -> web.Response:
        groups.trip(group_of(r, account), clock_ms())
        return reply({})

    async def limit(r: web.Request, account: str, data: Any) -> web.Response:
        group = group_of(r, account)
        groups.set_limit(group, group_limit(data), clock_ms())
        return reply({})

    path = base + "/portfolio/order_groups"
    handler: Handler
    for method, suffix, handler in (
        ("POST", "/create", create), ("GET", "", listing), ("GET", "/{group_id}", get),
        ("DELETE", "/{group_id}", delete), ("PUT", "/{group_id}/reset", reset),
        ("PUT", "/{group_id}/trigger", trigger), ("PUT", "/{group_id}/limit", limit),
    ):
        router.add_route(method, path + suffix, signed(handler, trading=method != "GET"))
