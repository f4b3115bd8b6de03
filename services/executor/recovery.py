"""Executor recovery: startup reconciliation, and venue tick changes seen on the md bus.

- Startup (issue 3, issue 6): before anything is quoted, the venue's open orders are
  read; those in the order journal are adopted, every other order on the account is
  cancelled; the venue's positions are published to risk as one `VenuePositions` on
  the events channel (topic `ev.<venue>.|`) so risk can compare them with its journal,
  with the journaled fills, once risk's first heartbeat is heard (replay.py).
  This is retried until it succeeds; until then every ladder is refused. A kill that
  came meanwhile (acknowledged at once: nothing was sent) cancels its scope right after.
- Resume (liveness.py): when risk's heartbeats return after the dead man's switch fired,
  ladders stay refused until a fresh reconciliation has succeeded.
- Tick changes: a BookSnapshot whose tick differs from the market's (ingest saw the
  venue's tick_size_change, or read a new Kalshi price grid) updates the market, the
  adapter's signing options and the ledger; live orders off the new grid are cancelled
  and the last applied ladder is re-expressed on the new grid at once (bids snap down,
  asks snap up), without waiting for the quoter's next ladder (`on_market_data`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec

from common import metrics
from common.errors import StorageError, VenueError
from common.messages import BookSnapshot, MarketData
from services.executor.adapter import ExecutionAdapter
from services.executor.sequencer import Sequencer
from services.executor.state import ExecutorState

__all__ = [
    "MAX_RETRY_S", "RETRY_S", "adopt_tick", "on_market_data", "reconcile_until_done", "startup",
]

log = logging.getLogger(__name__)

RETRY_S = 0.5
MAX_RETRY_S = 5.0


async def reconcile_until_done(sequencer: Sequencer, stop: asyncio.Event | None = None) -> bool:
    """Reconcile with the venue, retrying with back-off; True once it succeeded."""
    delay = RETRY_S
    while stop is None or not stop.is_set():
        try:
            await sequencer.reconcile_once()
            return True
        except VenueError as exc:
            metrics.ORDERS.labels(venue=sequencer.venue, action="reconcile", outcome="error").inc()
            log.warning("reconciliation failed (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)
    return False


async def startup(sequencer: Sequencer, stop: asyncio.Event) -> bool:
    """Adopt ours, cancel the rest, prune the journal; True once done (False: stopped).
    Positions and journaled fills go to risk at its first heartbeat (replay.py)."""
    state = sequencer.state
    started_ns = time.time_ns()
    if not await reconcile_until_done(sequencer, stop):
        return False
    state.reconciled = True
    keep = set(state.ledger.live)
    try:
        pruned = sequencer.journal.prune(keep, started_ns)
    except StorageError as exc:
        pruned = 0
        sequencer.storage_fault(exc)
    state.startup_adopted = len(keep)
    for scope in [None] if state.kill_all else sorted(state.killed_markets):
        # a kill that came while starting (control.py acked it): adopted orders go too
        await sequencer.cancel_scope(scope, "kill")
    log.info("startup reconciliation done: %d order(s) adopted, %d cancelled, %d journal "
             "row(s) pruned; positions go to risk at its first heartbeat", len(keep),
             state.startup_cancelled, pruned)
    return True


def adopt_tick(state: ExecutorState, adapter: ExecutionAdapter, market: str,
               tick: int) -> list[str]:
    """Adopt a new tick for `market`; return our live order ids off the new grid."""
    old = state.markets[market]
    if tick <= 0 or tick == old.tick:
        return []
    new = msgspec.structs.replace(old, tick=tick)
    setter = getattr(adapter, "set_tick", None)
    if setter is not None:
        try:
            setter(new)
        except ValueError as exc:  # ConfigError: not a tick this venue signs for
            log.error("tick %d of %s not adopted: %s", tick, market, exc,
                      extra={"market": market, "order_id": ""})
            return []
    state.replace_market(new)
    log.warning("tick of %s changed %d -> %d pips", market, old.tick, tick,
                extra={"market": market, "order_id": ""})
    return state.off_grid(market)


async def on_market_data(sequencer: Sequencer, msg: MarketData | None) -> None:
    """Note a book's mid (the price collar, caps.py); act on a tick change."""
    state = sequencer.state
    tick = getattr(msg, "tick", 0)
    market = getattr(msg, "market", "")
    if isinstance(msg, BookSnapshot):  # the collar needs a live two-sided book
        if msg.bids and msg.asks and not msg.stale:
            state.mids[market] = (msg.bids[0].price + msg.asks[0].price) // 2
        else:
            state.mids.pop(market, None)
    if market in state.markets and tick and tick != state.markets[market].tick:
        off_grid = adopt_tick(state, sequencer.adapter, market, tick)
        if off_grid:
            async with sequencer.lock(market):
                await sequencer.cancel_ids(off_grid, reason="tick_size_change")
        if state.markets[market].tick == tick:  # adopted: re-express now, no timer
            sequencer.reexpress(market)
