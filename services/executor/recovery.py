"""Executor recovery: startup reconciliation, resume after a risk outage, venue tick changes.

- Startup (issue 3, issue 6): before anything is quoted, the venue's open orders are
  read; those in the order journal are adopted, every other order on the account is
  cancelled; the venue's positions are published to risk as one `VenuePositions` on
  the events channel (topic `ev.<venue>.|`) so risk can compare them with its journal,
  with the journaled fills, once risk's first heartbeat is heard (replay.py).
  This is retried until it succeeds; until then every ladder is refused.
- Resume: when risk's heartbeats return after the dead man's switch fired, ladders stay
  refused until a fresh reconciliation has succeeded.
- Tick changes: a BookSnapshot whose tick differs from the market's (ingest saw the
  venue's tick_size_change, or read a new Kalshi price grid) updates the market, the
  adapter's signing options and the ledger; live orders off the new grid are cancelled
  and the last applied ladder is re-expressed on the new grid at once (bids snap down,
  asks snap up), without waiting for the quoter's next ladder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import msgspec

from common import metrics
from common.errors import StorageError, VenueError
from common.messages import BookSnapshot
from services.executor import control

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

log = logging.getLogger(__name__)

RETRY_S = 0.5
MAX_RETRY_S = 5.0


async def reconcile_until_done(actor: ExecutorActor, stop: asyncio.Event | None = None) -> bool:
    """Reconcile with the venue, retrying with back-off; True once it succeeded."""
    delay = RETRY_S
    while stop is None or not stop.is_set():
        try:
            await actor.reconcile_once()
            return True
        except VenueError as exc:
            metrics.ORDERS.labels(venue=actor.venue, action="reconcile", outcome="error").inc()
            log.warning("reconciliation failed (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)
    return False


async def startup(actor: ExecutorActor, stop: asyncio.Event) -> bool:
    """Adopt ours, cancel the rest, hand positions to risk, prune the journal."""
    started_ns = time.time_ns()
    if not await reconcile_until_done(actor, stop):
        return False
    actor.reconciled = True
    keep = set(actor.ledger.live)
    try:
        pruned = actor.journal.prune(keep, started_ns)
    except StorageError as exc:
        pruned = 0
        control.storage_fault(actor, exc)
    actor.startup_adopted = len(keep)
    actor.startup_done.set()  # positions and journaled fills go to risk once it is heard
    log.info("startup reconciliation done: %d order(s) adopted, %d cancelled, %d journal "
             "row(s) pruned; positions go to risk at its first heartbeat", len(keep),
             actor.startup_cancelled, pruned)
    return True


async def resume(actor: ExecutorActor) -> None:
    """Risk is back after the dead man's switch: reconcile, then accept ladders again."""
    try:
        if await reconcile_until_done(actor):
            actor.risk_ok = True
            actor.deadman_done = False
            log.info("risk heartbeats resumed and the venue is reconciled: quoting resumes")
    finally:
        actor.resuming = None


def on_tick(actor: ExecutorActor, market: str, tick: int) -> list[str]:
    """Adopt a new tick for `market`; return our live order ids off the new grid."""
    old = actor.markets[market]
    if tick <= 0 or tick == old.tick:
        return []
    new = msgspec.structs.replace(old, tick=tick)
    setter = getattr(actor.adapter, "set_tick", None)
    if setter is not None:
        try:
            setter(new)
        except ValueError as exc:  # ConfigError: not a tick this venue signs for
            log.error("tick %d of %s not adopted: %s", tick, market, exc,
                      extra={"market": market, "order_id": ""})
            return []
    actor.markets[market] = new
    for token in (new.yes_token, new.no_token):
        actor.tokens[token] = new
    log.warning("tick of %s changed %d -> %d pips", market, old.tick, tick,
                extra={"market": market, "order_id": ""})
    return [o.order_id for o in actor.ledger.in_market(market) if o.price % tick]


async def md_loop(actor: ExecutorActor) -> None:
    """Watch our markets' books for tick changes and the mid (the price collar, caps.py)."""
    sock = actor.md_socket()
    try:
        while True:
            frames = await sock.recv_multipart()
            msg = actor.md_codec.decode(frames[-1])
            tick = getattr(msg, "tick", 0)
            market = getattr(msg, "market", "")
            if isinstance(msg, BookSnapshot):  # the collar needs a live two-sided book
                if msg.bids and msg.asks and not msg.stale:
                    actor.mids[market] = (msg.bids[0].price + msg.asks[0].price) // 2
                else:
                    actor.mids.pop(market, None)
            if market in actor.markets and tick and tick != actor.markets[market].tick:
                off_grid = on_tick(actor, market, tick)
                if off_grid:
                    async with actor.lock(market):
                        await actor.cancel_ids(off_grid, reason="tick_size_change")
                if actor.markets[market].tick == tick:  # adopted: re-express now, no timer
                    actor.reexpress(market)
    finally:
        with contextlib.suppress(Exception):
            sock.close(linger=0)
