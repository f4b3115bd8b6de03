"""The simulated venues as one object: state, trading logic and both venues' protocols.

Every part is built here and handed the collaborators it needs; nothing below this
module knows it. Handlers call the engine synchronously, then `publish()` routes the
engine's events to the venue each market belongs to: Polymarket markets to the
Polymarket feed (and the trade lifecycle), Kalshi markets to the Kalshi hub and order
groups. Background loops step the flow, check heartbeats, expire orders and resend books.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from common.config import Config
from common.prices import MONEY_SCALE
from common.tasks import reap
from services.venue_sim import allowances
from services.venue_sim.accounts import Heartbeats, KeyStore
from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine, Event, LevelChanged, Traded
from services.venue_sim.faults import Faults
from services.venue_sim.flow import Flow
from services.venue_sim.kalshi import KalshiBook
from services.venue_sim.kalshi_groups import OrderGroups
from services.venue_sim.kalshi_keys import KalshiKeys
from services.venue_sim.kalshi_ws import KalshiHub
from services.venue_sim.lifecycle import TradeLifecycle
from services.venue_sim.model import EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, UNLIMITED
from services.venue_sim.listing import Listing
from services.venue_sim.markets import candidates, sim_markets
from services.venue_sim.pm_feed import PolymarketFeed
from services.venue_sim.ratelimit_http import VenueLimits
from services.venue_sim.reference import ReferenceHub
from services.venue_sim.rewards import Rewards
from services.venue_sim.sim_state import venue_state
from services.venue_sim.ws import Hub

__all__ = ["Venue", "wall_ms"]

log = logging.getLogger(__name__)

BOOK_INTERVAL_S = 5.0
HEARTBEAT_CHECK_S = 0.25
EXPIRY_CHECK_S = 1.0


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Venue:
    """Both simulated venues on one engine, and the glue between engine and websockets."""

    def __init__(self, cfg: Config, *, clock_ms: Callable[[], int] = wall_ms) -> None:
        self.cfg = cfg
        self.sim = cfg.sim
        self.clock_ms = clock_ms
        self.start_collateral = round(cfg.sim.start_balance_usd * MONEY_SCALE)
        configured = sim_markets(cfg)
        known = {m.condition_id for m in configured}
        extra = [m for m in candidates(cfg, clock_ms() // 1000) if m.condition_id not in known]
        self.engine = Engine(configured + extra, clock_ms=clock_ms, id_seed=cfg.sim.seed)
        self.engine.wallets_approved = cfg.sim.approved
        self.flow = Flow(self.engine, cfg.sim.flow, cfg.sim.seed)
        self.listing = Listing(self.engine)
        self.rewards = Rewards(self.engine, cfg.sim.rewards)
        self.references = ReferenceHub(cfg, clock_ms)
        self.flow.followers = self.references.followers(cfg)
        self.counters = VenueCounters()
        self.faults = Faults()
        self.limits = VenueLimits(cfg.sim.rate_limits, lambda: self.clock_ms() / 1000)
        # Polymarket
        self.keys = KeyStore(cfg.sim.seed)
        self.heartbeats = Heartbeats(cfg.sim.heartbeat_timeout_ms, cfg.sim.seed)
        self.hub = Hub(self.engine, self.keys, self.counters, clock_ms)
        self.feed = PolymarketFeed(self.engine, self.hub, self.keys, clock_ms)
        self.lifecycle = TradeLifecycle(self.engine, self.faults,
                                        confirm_ms=cfg.sim.trade_confirm_ms, clock_ms=clock_ms,
                                        announce=self.feed.trade_to_users)
        # Kalshi
        self.kalshi_keys = KalshiKeys(clock_ms=self.venue_ms,
                                      window_ms=cfg.sim.kalshi_auth_window_ms)
        client_ids: dict[str, str] = {}
        self.khub = KalshiHub(self.engine, keys=self.kalshi_keys, faults=self.faults,
                              counters=self.counters, client_ids=client_ids)
        self.kalshi = KalshiBook(
            self.engine, keys=self.kalshi_keys,
            groups=OrderGroups(self.engine, announce=self.khub.on_group),
            client_ids=client_ids, faults=self.faults, counters=self.counters,
            start_collateral=self.start_collateral)
        self.started_ms = clock_ms()
        self._tasks: list[asyncio.Task[None]] = []

    def venue_ms(self) -> int:
        """The time the venue says it is, and checks request timestamps against: the
        simulator's clock plus the `clock_skew` fault (faults.py)."""
        return self.clock_ms() + self.faults.skew_ms

    # --- engine events -> websockets ------------------------------------------------------

    def publish(self) -> None:
        """Send what the engine did since the last call to the websockets of its venue."""
        events = self.engine.drain()
        if not events:
            return
        now = self.clock_ms()
        trades = self.feed.publish(self._publish_kalshi(events, now), now)
        for trade in trades:
            self.listing.on_trade(trade)
        self.lifecycle.schedule(trades)

    def _publish_kalshi(self, events: list[Event], now: int) -> list[Event]:
        """Send the Kalshi markets' events to the Kalshi hub; return the other events."""
        rest: list[Event] = []
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

    # --- faults ---------------------------------------------------------------------------

    async def drop_websockets(self) -> None:
        """Close every websocket at once (fault injection); clients must reconnect."""
        await self.hub.close_all()
        await self.khub.close_all()

    def approve(self, address: str, spender: str, amount_usd: float | None) -> None:
        """A wallet's on-chain approval of an exchange contract (`/_sim/approve`); raises
        ValueError for a spender that is neither exchange or a bad address."""
        by_lower = {s.lower(): s for s in (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2)}
        if spender.lower() not in by_lower:
            raise ValueError(f"spender must be one of {sorted(by_lower.values())}")
        if amount_usd is not None and not 0 <= amount_usd < 1e60:
            raise ValueError("amount_usd must be a number >= 0, or null for no limit")
        amount = UNLIMITED if amount_usd is None else round(amount_usd * MONEY_SCALE)
        acct = self.engine.open_wallet(to_checksum_address(address), self.start_collateral)
        allowances.approve(acct, by_lower[spender.lower()], amount)

    def change_tick(self, cid: str, tick: int) -> None:
        """Switch a market's tick (fault injection); Polymarket clients get tick_size_change.

        Kalshi pushes no message for a grid change: Kalshi clients see it in the REST
        Market object's `price_ranges` and in off-grid order rejections, as on Kalshi.
        """
        old, new = self.engine.set_tick(cid, tick)
        if new.venue == "polymarket":
            self.feed.tick_changed(old, new)

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
            self.feed.send_books(market)

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
        await reap(*self._tasks)
        self.lifecycle.cancel()
        await self.references.stop()
        await self.hub.close_all()
        await self.khub.close_all()

    # --- the venue's own truth ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Open orders, confirmed-or-pending fills and positions per account (`/_sim/state`)."""
        return venue_state(self.engine, failed=self.lifecycle.failed,
                           owner_of=self.keys.owner_of, true_p=self.flow.true_p,
                           faults=self.faults.view())

    def health(self) -> dict[str, Any]:
        """Uptime, flow and order counts, malformed requests and websockets (`/_sim/health`)."""
        return {
            "status": "ok", "uptime_ms": self.clock_ms() - self.started_ms,
            "markets": len(self.engine.markets), "flow_steps": self.flow.steps,
            "flow_skipped_orders": self.flow.skipped_orders,
            "orders_accepted": self.counters.orders_accepted,
            "orders_rejected": self.counters.orders_rejected,
            "malformed": dict(self.counters.malformed), "ws_market": len(self.hub.market_conns),
            "ws_user": len(self.hub.user_conns), "ws_slow_disconnects": self.hub.slow_disconnects,
        }
