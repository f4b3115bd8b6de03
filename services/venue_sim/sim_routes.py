"""The simulator's own endpoints, for tests and operators: its truth, health and faults.

    GET    /_sim/state    every external account's orders, fills and positions (sim_state.py)
    GET    /_sim/health   uptime, flow steps, order and malformed-request counts, websockets
    POST   /_sim/fault    arm a fault {kind, count?, ...} (faults.py lists the kinds)
    DELETE /_sim/fault    disarm every fault
    GET    /_sim/fault    what is armed and what fired
    POST   /_sim/approve  a Polymarket wallet approves an exchange contract for its
                          collateral {address, spender, amount_usd (null: no limit)}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from services.venue_sim.faults import Faults
from services.venue_sim.responses import reply

__all__ = ["add_sim_routes"]


def add_sim_routes(
    app: web.Application, *, faults: Faults, clock_ms: Callable[[], int],
    state: Callable[[], dict[str, Any]], health: Callable[[], dict[str, Any]],
    drop_websockets: Callable[[], Awaitable[None]], change_tick: Callable[[str, int], None],
    approve: Callable[[str, str, float | None], None],
) -> None:
    """Register `/_sim/state`, `/_sim/health`, `/_sim/fault` and `/_sim/approve`.

    `POST /_sim/fault` arms (or, for drop_ws / engine_restart / tick_size_change, runs) a
    fault: `drop_websockets` closes every websocket, `change_tick(market, tick_pips)`
    switches a market's grid.
    """

    async def sim_state(_: web.Request) -> web.StreamResponse:
        return reply(state())

    async def sim_health(_: web.Request) -> web.StreamResponse:
        return reply(health())

    async def arm(request: web.Request) -> web.Response:
        try:
            data = msgspec.json.decode(await request.read())
            kind = str(data["kind"])
            count = int(data.get("count", 1))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            return web.json_response({"error": "expected {kind, count?, ...}"}, status=400)
        try:
            faults.arm(kind, count, **{k: v for k, v in data.items()
                                       if k not in ("kind", "count")})
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if kind == "drop_ws":
            faults.take("drop_ws")
            await drop_websockets()
        elif kind == "engine_restart":
            faults.take("engine_restart")
            faults.fired["engine_restart"] -= 1  # counted once, by restart()
            faults.restart(clock_ms(), ms=int(data.get("ms", 3000)),
                                 post_only_ms=int(data.get("post_only_ms", 5000)))
        elif kind == "tick_size_change":
            faults.take("tick_size_change")
            try:
                change_tick(str(data["market"]), round(float(data["tick"]) * 10_000))
            except (KeyError, ValueError) as exc:
                return web.json_response({"error": f"tick_size_change: {exc}"}, status=400)
        return web.json_response(faults.view())

    async def approve_route(request: web.Request) -> web.Response:
        try:
            data = msgspec.json.decode(await request.read())
            amount = data.get("amount_usd")
            approve(str(data["address"]), str(data["spender"]),
                    None if amount is None else float(amount))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            return web.json_response(
                {"error": f"expected {{address, spender, amount_usd}}: {exc}"}, status=400)
        return web.json_response({"ok": True})

    async def clear(request: web.Request) -> web.Response:
        faults.clear()
        return web.json_response(faults.view())

    async def view(request: web.Request) -> web.Response:
        return web.json_response(faults.view())

    app.router.add_get("/_sim/state", sim_state)
    app.router.add_get("/_sim/health", sim_health)
    app.router.add_post("/_sim/fault", arm)
    app.router.add_delete("/_sim/fault", clear)
    app.router.add_get("/_sim/fault", view)
    app.router.add_post("/_sim/approve", approve_route)
