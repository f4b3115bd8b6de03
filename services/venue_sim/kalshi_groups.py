"""Kalshi order groups on the simulator: a fill-volume breaker per group of orders.

POST /portfolio/order_groups/create `{contracts_limit_fp}` -> `{order_group_id}`;
GET/DELETE /portfolio/order_groups/{id}; PUT .../reset, .../trigger, .../limit.
When the contracts matched by a group's orders within a rolling 15 s exceed its
limit, every open order of the group is cancelled and new orders naming the group
are refused (400 `order_group_triggered`, code string UNCONFIRMED) until a reset.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from common.errors import PriceError
from common.prices import size_from_str
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.engine import Trade

if TYPE_CHECKING:
    from services.venue_sim.kalshi_routes import Handler
    from services.venue_sim.server import Venue

WINDOW_MS = 15_000
TRIGGERED = "order_group_triggered"


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

    def json(self) -> dict[str, Any]:
        return {"order_group_id": self.id, "contracts_limit_fp": kw.fp(self.limit),
                "is_auto_cancel_enabled": True,
                "status": "triggered" if self.triggered_ms else "active",
                "triggered_ts_ms": self.triggered_ms or None, "trips": self.trips,
                "orders": sorted(self.orders)}


class OrderGroups:
    """Every order group of every Kalshi account."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.groups: dict[str, Group] = {}
        self._by_order: dict[str, Group] = {}

    def create(self, account: str, limit: int) -> Group:
        group = Group(id=self.venue.engine.new_uuid(), account=account, limit=limit)
        self.groups[group.id] = group
        return group

    def check_open(self, account: str, group_id: str) -> Group | None:
        """The group an order joins; raise a 4xx if it is unknown or triggered."""
        from services.venue_sim.kalshi import KalshiReject

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
            while group.matched and group.matched[0][0] <= now_ms - WINDOW_MS:
                group.matched.popleft()
            if not group.triggered_ms and sum(n for _, n in group.matched) > group.limit:
                self.trip(group, now_ms)

    def trip(self, group: Group, now_ms: int) -> None:
        """Cancel every open order of the group and refuse new ones until reset."""
        group.triggered_ms = now_ms
        group.trips += 1
        for oid in list(group.orders):
            order = self.venue.engine.orders.get(oid)
            if order is not None and order.status == "LIVE":
                self.venue.engine.cancel(group.account, oid)
        group.orders.clear()

    def reset(self, group: Group) -> None:
        group.triggered_ms = 0
        group.matched.clear()


def add_group_routes(venue: Venue, signed: Any, base: str, router: web.UrlDispatcher) -> None:
    """Register the order-group endpoints (signed like every Kalshi route)."""
    from services.venue_sim.kalshi import KalshiReject
    from services.venue_sim.rest import reply

    groups: OrderGroups = venue.kalshi.groups

    def group_of(r: web.Request, account: str) -> Group:
        group = groups.groups.get(r.match_info["group_id"])
        if group is None or group.account != account:
            raise KalshiReject(404, kw.NOT_FOUND, "order group not found")
        return group

    def limit_of(data: Any) -> int:
        try:
            if isinstance(data, dict) and data.get("contracts_limit_fp") is not None:
                return size_from_str(str(data["contracts_limit_fp"]))
            return int(data["contracts_limit"]) * 100
        except (KeyError, TypeError, ValueError, PriceError) as exc:
            raise KalshiReject(400, kw.BAD_REQUEST, f"invalid contracts limit: {exc}") from None

    async def create(r: web.Request, account: str, data: Any) -> web.Response:
        return reply({"order_group_id": groups.create(account, limit_of(data)).id}, 201)

    async def get(r: web.Request, account: str, data: Any) -> web.Response:
        return reply(group_of(r, account).json())

    async def delete(r: web.Request, account: str, data: Any) -> web.Response:
        group = group_of(r, account)
        groups.trip(group, venue.clock_ms())
        del groups.groups[group.id]
        return reply({})

    async def reset(r: web.Request, account: str, data: Any) -> web.Response:
        groups.reset(group_of(r, account))
        return reply({})

    async def trigger(r: web.Request, account: str, data: Any) -> web.Response:
        groups.trip(group_of(r, account), venue.clock_ms())
        return reply({})

    async def limit(r: web.Request, account: str, data: Any) -> web.Response:
        group_of(r, account).limit = limit_of(data)
        return reply({})

    path = base + "/portfolio/order_groups"
    handler: Handler
    for method, suffix, handler in (
        ("POST", "/create", create), ("GET", "/{group_id}", get),
        ("DELETE", "/{group_id}", delete), ("PUT", "/{group_id}/reset", reset),
        ("PUT", "/{group_id}/trigger", trigger), ("PUT", "/{group_id}/limit", limit),
    ):
        router.add_route(method, path + suffix, signed(handler, trading=method != "GET"))
