"""The simulator process shell: one aiohttp app serving both venues' routes and websockets.

Everything runs on one event loop; `Venue` (venue.py) holds the state and the glue,
this module registers each venue's routes on it and serves them.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from aiohttp import web

from common.config import Config
from common.errors import ConfigError
from services.venue_sim.gamma import add_gamma_routes
from services.venue_sim.kalshi_groups import add_group_routes
from services.venue_sim.kalshi_http import BASE as KALSHI_BASE
from services.venue_sim.kalshi_http import signer
from services.venue_sim.kalshi_incentives import add_incentive_routes
from services.venue_sim.kalshi_routes import add_kalshi_routes
from services.venue_sim.pm_rewards import add_reward_routes, scoring_routes
from services.venue_sim.kalshi_ws import WS_PATH as KALSHI_WS_PATH
from services.venue_sim.ratelimit_http import (
    add_kalshi_limit_routes,
    add_rate_limit_routes,
    rate_limit_middleware,
)
from services.venue_sim.reference import WS_PATH as REFERENCE_WS_PATH
from services.venue_sim.rest import add_public_routes
from services.venue_sim.sim_routes import add_sim_routes
from services.venue_sim.trading import add_trading_routes
from services.venue_sim.venue import Venue

__all__ = ["VENUE_KEY", "build_app", "register_env_kalshi_key", "serve", "start_site"]

log = logging.getLogger(__name__)

VENUE_KEY = web.AppKey("venue", Venue)


def register_env_kalshi_key(venue: Venue) -> None:
    """Accept the Kalshi key `pmm up` made for this run (public key file and key id from env)."""
    key_id = os.environ.get(venue.cfg.venues.kalshi.key_id_env, "").strip()
    path = os.environ.get(venue.sim.kalshi_public_key_file_env, "").strip()
    if not key_id or not path:
        return
    try:
        venue.kalshi.register(key_id, Path(path).read_bytes())
    except (OSError, ConfigError) as exc:
        log.error("cannot load the Kalshi public key named by $%s: %s; Kalshi requests will get "
                  "401 until it is fixed", venue.sim.kalshi_public_key_file_env, exc)
        return
    log.info("kalshi key accepted from the environment")


def add_polymarket_routes(app: web.Application, venue: Venue) -> None:
    """The CLOB REST API (public and L2), its two websocket channels and Gamma's listing."""
    add_public_routes(app, engine=venue.engine, keys=venue.keys, counters=venue.counters,
                      clock_ms=venue.clock_ms, venue_ms=venue.venue_ms,
                      start_collateral=venue.start_collateral)
    add_trading_routes(
        app, engine=venue.engine, keys=venue.keys, heartbeats=venue.heartbeats,
        faults=venue.faults, counters=venue.counters, lifecycle=venue.lifecycle,
        publish=venue.publish, clock_ms=venue.clock_ms, venue_ms=venue.venue_ms,
        start_collateral=venue.start_collateral, verify_signatures=venue.sim.verify_signatures,
        scoring=scoring_routes(rewards=venue.rewards, keys=venue.keys, clock_ms=venue.clock_ms),
    )
    add_reward_routes(app, engine=venue.engine, rewards=venue.rewards)

    async def market_ws(request: web.Request) -> web.StreamResponse:
        return await venue.hub.handle(request, "market")

    async def user_ws(request: web.Request) -> web.StreamResponse:
        return await venue.hub.handle(request, "user")

    app.router.add_get("/ws/market", market_ws)
    app.router.add_get("/ws/user", user_ws)


def add_kalshi(app: web.Application, venue: Venue) -> None:
    """Kalshi's REST API (orders, order groups, account limits) and its websocket."""
    signed = signer(venue.kalshi_keys, venue.faults, venue.counters, venue.publish)
    add_kalshi_routes(app, book=venue.kalshi, listing=venue.listing, signed=signed,
                      clock_ms=venue.clock_ms, listed_ms=venue.started_ms)
    add_group_routes(venue.kalshi.groups, signed, KALSHI_BASE, app.router, venue.clock_ms)
    add_incentive_routes(app, engine=venue.engine, cfg=venue.sim.rewards, signed=signed,
                         clock_ms=venue.clock_ms)
    add_kalshi_limit_routes(venue.limits, signed, KALSHI_BASE, app.router)

    async def kalshi_ws(request: web.Request) -> web.StreamResponse:
        return await venue.khub.handle(request)

    app.router.add_get(KALSHI_WS_PATH, kalshi_ws)


def venue_date_middleware(venue_ms: Callable[[], int]) -> Any:
    """Every answer's `Date` header from the venue's own clock (the `clock_skew` fault moves
    it): a client may read the venue's time from any answer, as from a real venue."""

    @web.middleware
    async def dated(request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                    ) -> web.StreamResponse:
        resp = await handler(request)
        if not resp.prepared:
            resp.headers["Date"] = formatdate(venue_ms() / 1000, usegmt=True)
        return resp

    return dated


def build_app(venue: Venue) -> web.Application:
    app = web.Application(client_max_size=2 << 20,
                          middlewares=[venue_date_middleware(venue.venue_ms),
                                       rate_limit_middleware(venue.limits)])
    app[VENUE_KEY] = venue
    add_polymarket_routes(app, venue)
    add_sim_routes(app, faults=venue.faults, clock_ms=venue.clock_ms, state=venue.state,
                   health=venue.health, drop_websockets=venue.drop_websockets,
                   change_tick=venue.change_tick, approve=venue.approve)
    app.router.add_get(REFERENCE_WS_PATH, venue.references.handle)
    add_gamma_routes(app, venue.engine, venue.listing, venue.rewards)
    add_kalshi(app, venue)
    add_rate_limit_routes(app, venue.limits)

    async def on_startup(_: web.Application) -> None:
        venue.start()

    async def on_shutdown(_: web.Application) -> None:
        await venue.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


async def start_site(venue: Venue, host: str, port: int) -> web.AppRunner:
    """Start serving `venue`; port 0 picks a free port (read it from runner.addresses)."""
    runner = web.AppRunner(build_app(venue), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


async def serve(cfg: Config, stop: asyncio.Event) -> None:
    """Serve the venue at cfg.sim.host:port until `stop` is set."""
    venue = Venue(cfg)
    register_env_kalshi_key(venue)
    runner = await start_site(venue, cfg.sim.host, cfg.sim.port)
    log.info(
        "venue simulator listening",
        extra={"host": cfg.sim.host, "port": cfg.sim.port, "markets": len(venue.engine.markets)},
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
