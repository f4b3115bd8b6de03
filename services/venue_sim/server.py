"""The simulator process shell: engine, flow, keys and websockets behind one aiohttp app.

Everything runs on one event loop; handlers call the pure engine synchronously and
then `publish()` turns the engine's events into websocket messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from common.config import Config
from common.errors import ConfigError
from common.prices import MONEY_SCALE, price_to_str
from services.venue_sim import wire
from services.venue_sim.accounts import Heartbeats, KeyStore
from services.venue_sim.engine import (
    Engine,
    LevelChanged,
    OrderChanged,
    SimMarket,
    Trade,
    Traded,
)
from services.venue_sim.faults import Faults, add_fault_routes
from services.venue_sim.flow import Flow
from services.venue_sim.kalshi import KalshiBook, add_kalshi_routes
from services.venue_sim.kalshi_ws import WS_PATH as KALSHI_WS_PATH
from services.venue_sim.kalshi_ws import KalshiHub
from services.venue_sim.kalshi_wire import tokens as kalshi_tokens
from services.venue_sim.lifecycle import TradeLifecycle
from services.venue_sim.listing import Listing, add_gamma_routes, candidates
from services.venue_sim.ratelimit_http import (
    VenueLimits,
    add_rate_limit_routes,
    rate_limit_middleware,
)
from services.venue_sim.reference import WS_PATH as REFERENCE_WS_PATH
from services.venue_sim.reference import ReferenceHub
from services.venue_sim.ws import Hub

log = logging.getLogger(__name__)

BOOK_INTERVAL_S = 5.0
HEARTBEAT_CHECK_S = 0.25
EXPIRY_CHECK_S = 1.0
INTERNAL_OWNER_PREFIX = "00000000-0000-4000-8000-"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def sim_markets(cfg: Config) -> list[SimMarket]:
    """Every configured market; a Kalshi ticker gets synthetic `<ticker>:yes|no` tokens."""
    out = []
    for m in cfg.markets:
        yes, no = (m.yes_token, m.no_token) if m.venue == "polymarket" else kalshi_tokens(
            m.venue_market)
        out.append(SimMarket(
            condition_id=m.venue_market, yes_token=yes, no_token=no,
            tick=m.tick_pips, min_size=m.min_size_centi, neg_risk=m.neg_risk,
            start_probability=m.sim_start_probability, name=m.name or m.id, venue=m.venue,
            resolves_at_s=(m.resolves_at_ns or 0) // 1_000_000_000,
        ))
    return out


class Venue:
    """State of the simulated venue and the glue between engine, REST and websockets."""

    def __init__(self, cfg: Config, *, clock_ms: Callable[[], int] = wall_ms) -> None:
        self.cfg = cfg
        self.sim = cfg.sim
        self.clock_ms = clock_ms
        configured = sim_markets(cfg)
        known = {m.condition_id for m in configured}
        extra = [m for m in candidates(cfg, clock_ms() // 1000) if m.condition_id not in known]
        self.engine = Engine(configured + extra, clock_ms=clock_ms, id_seed=cfg.sim.seed)
        self.flow = Flow(self.engine, cfg.sim.flow, cfg.sim.seed)
        self.listing = Listing(self.engine)
        self.references = ReferenceHub(cfg, clock_ms)
        self.flow.followers = self.references.followers(cfg)
        self.keys = KeyStore(cfg.sim.seed)
        self.heartbeats = Heartbeats(cfg.sim.heartbeat_timeout_ms, cfg.sim.seed)
        self.hub = Hub(self)
        self.faults = Faults()
        self.limits = VenueLimits(cfg.sim.rate_limits, lambda: self.clock_ms() / 1000)
        self.kalshi = KalshiBook(self)
        self.khub = KalshiHub(self)
        self.malformed: Counter[str] = Counter()
        self.orders_accepted = 0
        self.orders_rejected = 0
        self._tops: dict[str, tuple[int | None, int | None]] = {}
        self.started_ms = clock_ms()
        self._tasks: list[asyncio.Task[None]] = []
        self.lifecycle = TradeLifecycle(self)

    # --- helpers used by handlers ---------------------------------------------------------

    def count_malformed(self, channel: str) -> None:
        self.malformed[channel] += 1

    def owner_of(self, address: str) -> str:
        key = self.keys.key_of_account(address)
        if key is not None:
            return key.api_key
        return INTERNAL_OWNER_PREFIX + address[-12:]

    def owners(self, *addresses: str) -> dict[str, str]:
        return {a: self.owner_of(a) for a in addresses}

    def market_of_token(self, token: str) -> SimMarket | None:
        found = self.engine.tokens.get(token)
        return None if found is None else found[0]

    def book_event(self, asset_id: str) -> dict[str, Any]:
        market = self.engine.tokens[asset_id][0]
        return wire.book_event(self.engine, market, asset_id, self.clock_ms())

    def open_external(self, address: str) -> None:
        self.engine.open_account(address, round(self.sim.start_balance_usd * MONEY_SCALE))

    # --- engine events -> websockets ------------------------------------------------------

    def publish(self) -> None:
        events = self.engine.drain()
        if not events:
            return
        now = self.clock_ms()
        events = self._publish_kalshi(events, now)
        levels: dict[str, dict[tuple[bool, int], LevelChanged]] = {}
        traded: dict[str, list[Trade]] = {}
        for ev in events:
            if isinstance(ev, LevelChanged):
                levels.setdefault(ev.market, {})[(ev.yes_bid, ev.price)] = ev
            elif isinstance(ev, Traded):
                traded.setdefault(ev.trade.market, []).append(ev.trade)
                self.listing.on_trade(ev.trade)
                self.trade_to_users(ev.trade, "MATCHED", now)
            elif isinstance(ev, OrderChanged):
                acct = self.engine.accounts[ev.order.account]
                if not acct.internal:
                    self.hub.to_user(
                        acct.address, ev.order.market,
                        wire.order_event(ev.kind, ev.order, ev.size_matched, ev.status, ev.ts_ms,
                                         self.owner_of(acct.address)),
                    )
        for cid, changes in levels.items():
            market = self.engine.markets[cid]
            msg = wire.price_change(self.engine, market, list(changes.values()), now)
            self.hub.to_market(
                {market.yes_token, market.no_token},
                functools.partial(_filtered_price_change, msg),
            )
            self._send_best_bid_ask(market, now)
        for cid, trades in traded.items():
            market = self.engine.markets[cid]
            for trade in trades:
                prints = wire.last_trade_prices(market, trade)
                self.hub.to_market(
                    {market.yes_token, market.no_token},
                    functools.partial(_prints_for, prints),
                )
            self._send_books(market)
        self.lifecycle.schedule([t for ts in traded.values() for t in ts])

    def _publish_kalshi(self, events: list[Any], now: int) -> list[Any]:
        """Send the Kalshi markets' events to the Kalshi hub; return the other events."""
        rest: list[Any] = []
        touched: set[str] = set()
        for ev in events:
            cid = ev.trade.market if isinstance(ev, Traded) else (
                ev.market if isinstance(ev, LevelChanged) else ev.order.market)
            if self.engine.markets[cid].venue != "kalshi":
                rest.append(ev)
            elif isinstance(ev, LevelChanged):
                self.khub.on_level(ev, now)
                touched.add(cid)
            elif isinstance(ev, Traded):
                self.khub.on_trade(ev.trade)
                self.listing.on_trade(ev.trade)
                self.kalshi.groups.on_trade(ev.trade, now)
        for cid in touched:
            self.khub.on_ticker(cid, now)
        return rest

    async def drop_websockets(self) -> None:
        """Close every websocket at once (fault injection); clients must reconnect."""
        await self.hub.close_all()
        await self.khub.close_all()

    def change_tick(self, cid: str, tick: int) -> None:
        """Switch a market's tick (fault injection); Polymarket clients get tick_size_change.

        Kalshi pushes no message for a grid change: Kalshi clients see it in the REST
        Market object's `price_ranges` and in off-grid order rejections, as on Kalshi.
        """
        old = self.engine.markets[cid]
        new = dataclasses.replace(old, tick=tick)
        self.engine.markets[cid] = new
        self.engine.tokens[new.yes_token] = (new, True)
        self.engine.tokens[new.no_token] = (new, False)
        self.flow.markets = list(self.engine.markets.values())
        if new.venue != "polymarket":
            return
        now = str(self.clock_ms())
        for token in (new.yes_token, new.no_token):
            msg = {"event_type": "tick_size_change", "asset_id": token, "market": cid,
                   "old_tick_size": price_to_str(old.tick), "new_tick_size": price_to_str(tick),
                   "timestamp": now}
            self.hub.to_market({token}, functools.partial(_same, msg))
        self._send_books(new)

    def _send_best_bid_ask(self, market: SimMarket, now: int) -> None:
        """`best_bid_ask` per token to custom-feature subscribers, when the top moved."""
        top = self.engine.best(market.condition_id)
        if self._tops.get(market.condition_id) == top:
            return
        self._tops[market.condition_id] = top
        self.hub.to_market(
            {market.yes_token, market.no_token},
            lambda wanted: [wire.best_bid_ask(self.engine, market, a, now) for a in sorted(wanted)],
            custom_only=True,
        )

    def _send_books(self, market: SimMarket) -> None:
        self.hub.to_market(
            {market.yes_token, market.no_token},
            lambda wanted: [self.book_event(a) for a in sorted(wanted)],
        )

    def trade_to_users(self, trade: Trade, status: str, now: int) -> None:
        """Send one trade status to the user channels of its external parties."""
        roles = ((trade.taker_account, "TAKER"), (trade.maker_account, "MAKER"))
        owners = self.owners(trade.taker_account, trade.maker_account)
        for address, role in roles:
            if self.engine.accounts[address].internal:
                continue
            record = wire.trade_record(
                trade, viewer=address, role=role, status=status, owners=owners,
                now_ms=now, event=True,
            )
            self.hub.to_user(address, trade.market, record)

    # --- background loops -----------------------------------------------------------------

    async def _every(self, interval_s: float, action: Callable[[], None], name: str) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            try:
                action()
                self.publish()
            except Exception:  # a bug in one step must not stop the venue; log it loudly
                log.exception("venue background step failed", extra={"loop": name})
            if loop.time() - next_at > 10 * interval_s:
                next_at = loop.time()  # fell far behind: skip rather than burst

    def _check_heartbeats(self) -> None:
        for address in self.heartbeats.expired(self.clock_ms()):
            ids = [i for account in self.keys.accounts_of(address)
                   for i in self.engine.cancel_where(account)]
            log.warning(
                "heartbeats stopped: cancelled every open order of the account",
                extra={"account": address, "orders": len(ids)},
            )

    def _expire(self) -> None:
        self.engine.expire(self.clock_ms() // 1000)

    def _periodic_books(self) -> None:
        for market in self.engine.markets.values():
            self._send_books(market)

    def start(self) -> None:
        step_s = self.sim.flow.step_ms / 1000
        self._tasks = [
            asyncio.create_task(self._every(step_s, self.flow.step, "flow")),
            asyncio.create_task(self._every(HEARTBEAT_CHECK_S, self._check_heartbeats, "hb")),
            asyncio.create_task(self._every(EXPIRY_CHECK_S, self._expire, "expiry")),
            asyncio.create_task(self._every(BOOK_INTERVAL_S, self._periodic_books, "books")),
        ]
        self.references.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.lifecycle.cancel()
        await self.references.stop()
        await self.hub.close_all()
        await self.khub.close_all()

    # --- the venue's own truth ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Open orders, confirmed-or-pending fills and positions per account (`/_sim/state`)."""
        from services.venue_sim.sim_state import venue_state

        return venue_state(self)


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


def _prints_for(prints: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    """The trade prints of the assets a connection subscribed to."""
    return [p for p in prints if p["asset_id"] in wanted]


def _same(msg: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The same message for every subscriber."""
    return msg


def _filtered_price_change(msg: dict[str, Any], wanted: set[str]) -> dict[str, Any] | None:
    entries = [e for e in msg["price_changes"] if e["asset_id"] in wanted]
    if not entries:
        return None
    if len(entries) == len(msg["price_changes"]):
        return msg
    return {**msg, "price_changes": entries}


VENUE_KEY = web.AppKey("venue", Venue)


def build_app(venue: Venue) -> web.Application:
    from services.venue_sim.rest import add_routes

    app = web.Application(client_max_size=2 << 20,
                          middlewares=[rate_limit_middleware(venue.limits)])
    app[VENUE_KEY] = venue
    add_routes(app, venue)

    async def market_ws(request: web.Request) -> web.StreamResponse:
        return await venue.hub.handle(request, "market")

    async def user_ws(request: web.Request) -> web.StreamResponse:
        return await venue.hub.handle(request, "user")

    async def kalshi_ws(request: web.Request) -> web.StreamResponse:
        return await venue.khub.handle(request)

    app.router.add_get("/ws/market", market_ws)
    app.router.add_get("/ws/user", user_ws)
    app.router.add_get(KALSHI_WS_PATH, kalshi_ws)
    app.router.add_get(REFERENCE_WS_PATH, venue.references.handle)
    add_gamma_routes(app, venue.engine, venue.listing)
    add_kalshi_routes(app, venue)
    add_fault_routes(app, venue)
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
