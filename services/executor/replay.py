"""Re-publishing journaled fills and venue positions when risk (re)appears.

Fills go out on PUB/SUB, which has no replay: whatever is published while risk is
stopped, dead, restarting or not yet subscribed (slow joiner) is lost. Every fill is
in the fill journal before it is published (fill_journal.py), so when risk's
heartbeats show it may have missed some, the executor re-publishes every fill
journaled since the last time risk was known alive (minus `[executor]
fill_replay_margin_ms`, for fills still queued at risk when it died), then a fresh
`VenuePositions`. Risk dedupes fills by trade id, so a replay is harmless.

Triggers (`RiskLink.on_heartbeat`):
- the first risk heartbeat after the executor started: it proves risk's state PUB
  reaches us, and risk opens its events SUB before its first heartbeat; the replay
  still waits one risk heartbeat interval so that SUB's handshake has completed;
- heartbeats returning after a silence longer than `[executor] risk_timeout_ms`;
- a heartbeat seq not above the previous one (risk restarts count from 1).
A replay also waits for startup reconciliation (the positions must be the venue's).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec

from common import topics
from common.config import Config
from common.errors import StorageError, VenueError
from common.messages import MarketPosition, VenuePositions
from services.executor.adapter import ExecutionAdapter
from services.executor.events import EventPublisher
from services.executor.fill_activity import FillActivity
from services.executor.fill_journal import FillJournal
from services.executor.journal import OrderJournal
from services.executor.state import ExecutorState


log = logging.getLogger(__name__)

__all__ = ["PACE_S", "PositionSnapshots", "RiskLink", "carried", "resume_horizon_s"]

PERSIST_EVERY_NS = 1_000_000_000
"""The wall time of risk's last heartbeat is written to disk at most this often."""
PACE_S = 0.005
"""A replay pauses this long after every half high-water mark of fills: the PUB socket
drops what it cannot queue, and a replay sent in one burst to a risk still digesting a
backlog lost fills of its own, every time, in the HWM chaos test."""


class RiskLink:
    """Risk's incarnations as seen through its heartbeats, and the replays they trigger.

    A replay publishes, through `publisher`, the fills in `fill_journal` since the horizon,
    then calls `publish_positions`; it waits for `startup_done` (startup reconciliation).
    """

    def __init__(self, cfg: Config, *, fill_journal: FillJournal, publisher: EventPublisher,
                 publish_positions: Callable[[int], Awaitable[None]], startup_done: asyncio.Event,
                 on_storage_fault: Callable[[StorageError], None], wall_ns: Callable[[], int],
                 start_ns: int) -> None:
        self._fill_journal = fill_journal
        self._publisher = publisher
        self._publish_positions = publish_positions
        self._startup_done = startup_done
        self._on_storage_fault = on_storage_fault
        self._wall_ns = wall_ns
        self._start_ns = start_ns
        self._margin_ns = cfg.executor.fill_replay_margin_ms * 1_000_000
        self._timeout_ns = cfg.executor.risk_timeout_ms * 1_000_000
        self._settle_s = min(max(cfg.risk.heartbeat_interval_ms / 1000, 0.05), 1.0)
        self._chunk = max(1, cfg.bus.send_hwm // 2)
        self.seq: int | None = None
        self.seen_ns = fill_journal.risk_seen_ns()
        """Wall time risk was last heard (across executor restarts); 0 if never."""
        self._persisted_ns = self.seen_ns
        self._pending: int | None = None
        self._pending_id = 0
        self._task: asyncio.Task[None] | None = None
        self.replays = 0
        self.replayed_fills = 0

    def on_heartbeat(self, seq: int, wall_ns: int, silent_ns: int) -> None:
        """Note one risk heartbeat; `silent_ns` is how long risk had been silent before it."""
        reason = ""
        if self.seq is None:
            reason = "first risk heartbeat since start"
            since = min(self._start_ns, self.seen_ns or self._start_ns)
        elif silent_ns > self._timeout_ns or seq <= self.seq:
            reason = "risk restarted" if seq <= self.seq else "risk heartbeats resumed"
            since = self.seen_ns or self._start_ns
        if reason:
            self.request(since - self._margin_ns, reason)
        self.seq = seq
        self.seen_ns = wall_ns
        if wall_ns - self._persisted_ns >= PERSIST_EVERY_NS:
            self._persisted_ns = wall_ns
            try:
                self._fill_journal.note_risk_seen(wall_ns)
            except StorageError as exc:
                self._on_storage_fault(exc)

    def request(self, since_ns: int, reason: str, replay_id: int = 0) -> None:
        """Schedule a replay of fills journaled since `since_ns` (merged with a pending one);
        `replay_id` is risk's ReplayRequest.id, echoed when the replay is done."""
        log.info("%s: replaying fills journaled in the last %.1f s", reason,
                 (self._wall_ns() - since_ns) / 1e9)
        self._pending = since_ns if self._pending is None else min(self._pending, since_ns)
        self._pending_id = max(self._pending_id, replay_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="replay")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while self._pending is not None:
            await self._startup_done.wait()
            await asyncio.sleep(self._settle_s)
            since, self._pending = self._pending, None
            replay_id, self._pending_id = self._pending_id, 0
            await self._replay(since, replay_id)

    async def _replay(self, since_ns: int, replay_id: int) -> None:
        items = self._fill_journal.since(since_ns)
        for k, msg in enumerate(items, start=1):  # numbered: one dropped is a gap too
            await self._publisher.numbered(msg)
            if k % self._chunk == 0:
                await asyncio.sleep(PACE_S)
        self.replays += 1
        self.replayed_fills += len(items)
        await self._publish_positions(replay_id)
        log.info("re-published %d journaled fill(s)/reversal(s) and the venue's positions",
                 len(items))


def resume_horizon_s(fills: FillJournal, orders: OrderJournal) -> int | None:
    """Where the venue's fills are recovered from at the first user-stream connect (unix s):
    the newest journaled fill, else the oldest journaled order; None on a fresh run dir."""
    last_fill_ms, oldest_order_ns = fills.last_fill_ms(), orders.oldest_ns()
    if last_fill_ms:
        return last_fill_ms // 1000
    return oldest_order_ns // 1_000_000_000 if oldest_order_ns else None


class PositionSnapshots:
    """Reads the venue's positions and publishes them to risk as one VenuePositions.

    After the read it waits `[executor] position_quiet_ms`, then marks quiet every market
    with no fill event from that long before the read until then (fill_activity.py): risk
    takes a quiet market's difference as exact (risk/venue_check.py). The fills published
    during the wait reach risk before the snapshot, so they are added to the venue's
    figures: every market is then compared as of the same moment as before the wait."""

    def __init__(self, adapter: ExecutionAdapter, publisher: EventPublisher,
                 state: ExecutorState, activity: FillActivity, *, quiet_ms: int,
                 clock_ns: Callable[[], int], wall_ns: Callable[[], int]) -> None:
        self._adapter = adapter
        self._publisher = publisher
        self._state = state
        self._activity = activity
        self._quiet_ns = quiet_ms * 1_000_000
        self._clock_ns = clock_ns
        self._wall_ns = wall_ns

    async def publish(self, replay_id: int = 0) -> None:
        """One snapshot (closing replay `replay_id`, if not 0: risk then knows every fill of
        the replay arrived)."""
        positions = getattr(self._adapter, "positions", None)
        state, venue = self._state, self._state.venue
        gross = venue != "kalshi"
        held: tuple[MarketPosition, ...] = ()
        if positions is not None:
            start_ns = self._clock_ns()
            try:
                held = tuple(await positions())
            except VenueError as exc:
                log.warning("venue positions unavailable (%s); risk gets none this time", exc)
                return
            if self._quiet_ns:
                moved = self._activity.watch()
                try:
                    await asyncio.sleep(self._quiet_ns / 1e9)
                finally:
                    self._activity.unwatch(moved)
                quiet = self._activity.quiet((p.market for p in held),
                                             start_ns - self._quiet_ns)
                held = tuple(carried(p, moved.get(p.market), p.market in quiet, gross=gross)
                             for p in held)
                log.info("venue positions read: %d market(s), %d quiet", len(held), len(quiet))
        await self._publisher.publish(topics.events(venue, ""), VenuePositions(
            venue=venue, ts_ns=self._wall_ns(), positions=held, gross=gross,
            open_orders_adopted=state.startup_adopted,
            open_orders_cancelled=state.startup_cancelled, replay_id=replay_id,
            pub_seq=self._publisher.pub_seq))


def carried(pos: MarketPosition, moved: list[int] | None, quiet: bool, *,
            gross: bool) -> MarketPosition:
    """`pos` plus what our fills moved since it was read ([yes, no]), marked `quiet`;
    `gross` False where the venue reports net holdings only (VenuePositions.gross)."""
    if not moved:
        return msgspec.structs.replace(pos, quiet=quiet)
    net = pos.net + moved[0] - moved[1]
    if not gross:
        return MarketPosition(pos.market, max(net, 0), max(-net, 0), net, quiet)
    return MarketPosition(pos.market, pos.position_yes + moved[0], pos.position_no + moved[1],
                          net, quiet)


