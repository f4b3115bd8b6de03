"""The executor actor: approved ladders in, venue orders out, events and fills published.

Thin shell over pure modules (diff, reconcile, report) and a venue adapter. Rules:
- Only the newest pending ApprovedIntent per market is kept, and one worker per
  market applies it, so at most one reconcile per market runs at a time.
- Commands past `expires_at_ns` are refused; nothing is placed before the first risk
  heartbeat; a risk silence past `risk_timeout_ms` cancels everything at the venue
  and refuses ladders until heartbeats return (dead man's switch).
- Kill cancels first, then acknowledges, and latches until Reset.
- Every `reconcile_interval_ms` the venue's open orders replace our live-order map.
- Every order is in the on-disk order journal before it is sent; at startup and after
  a risk outage nothing is placed until reconciliation with the venue has succeeded
  (recovery.py). Control messages are handled in control.py.
- Exit orders (ApprovedIntent.exit_bids/exit_asks) go as marketable fill-and-kill
  orders, the one non-post-only case; they never rest, so they are not in the ladder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from common import bus, bus_curve, metrics, topics
from common.auth import receiver_verifier, seal_ack
from common.config import Config, endpoint
from common.errors import StorageError, VenueError
from common.messages import (
    ApprovedIntent, CancelMarket, EventChannel, ExecutorCommand, Level, MarketData,
    OrderEvent, StateChannel,
)
from services.executor import apply, control, recovery
from services.executor.adapter import CancelOutcome, ExecutionAdapter
from services.executor.caps import Caps, check_ladder
from services.executor.control import handle_control
from services.executor.events import EventsMixin
from services.executor.fill_journal import FillJournal
from services.executor.journal import OrderJournal
from services.executor.ledger import OrderLedger
from services.executor.liveness import LivenessMixin
from services.executor.orders import CLIENT_KEY_PREFIX, MarketTokens
from services.executor.replay import RiskLink, publish_positions, resume_horizon_s

log = logging.getLogger(__name__)


class ExecutorActor(EventsMixin, LivenessMixin):
    """Live orders of one venue account and the sockets around them."""

    def __init__(
        self,
        cfg: Config,
        adapter: ExecutionAdapter,
        markets: Iterable[MarketTokens],
        *,
        secret: bytes,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._cfg = cfg
        self._adapter = adapter
        self.venue = adapter.venue
        self.name = f"executor-{self.venue}"
        self._clock_ns = clock_ns
        self._wall_ns = wall_ns
        self.markets = {m.market: m for m in markets}
        self.tokens = {t: m for m in self.markets.values() for t in (m.yes_token, m.no_token)}
        self.ledger = OrderLedger(self.venue, self.tokens, wall_ns)
        self.journal = OrderJournal(cfg.run_dir / f"{self.name}.orders.sqlite")
        self.fill_journal = FillJournal(self.journal.path, now_ns=wall_ns())
        self.fill_resume_s = resume_horizon_s(self.fill_journal, self.journal)
        self.startup_done = asyncio.Event()
        self.startup_adopted = 0
        self.risk_link = RiskLink(self, cfg, start_ns=wall_ns())
        if hasattr(adapter, "set_journal"):
            adapter.set_journal(self.journal)
        self.reconciled = False
        self.resuming: asyncio.Task[None] | None = None
        self.startup_cancelled = 0
        self.last_exit: dict[str, tuple[tuple[Level, ...], tuple[Level, ...], int]] = {}
        self._pending: dict[str, tuple[ApprovedIntent, int]] = {}
        self.last_intent: dict[str, tuple[ApprovedIntent, int]] = {}  # re-expressed on a new tick
        self._wake = {m: asyncio.Event() for m in self.markets}
        self._locks = {m: asyncio.Lock() for m in self.markets}
        self.cancel_epoch = dict.fromkeys(self.markets, 0)
        """Bumped by every scope cancel (risk's CancelMarket, kill, flatten): a ladder whose
        placements were on the wire when a cancel for its market was issued is cancelled
        again as soon as they land, since the cancel may have reached the venue first."""
        self.recv_to_wire_ns: deque[int] = deque(maxlen=10_000)
        for store in ("executor_orders", "executor_fills"):  # exported at 0: alerts see them
            metrics.STORAGE_FAULTS.labels(store=store)
        self.pub_seq = 0
        """Live fills and reversals published so far (Fill.pub_seq, events.py)."""
        self.caps = Caps.from_config(cfg.executor)
        self.mids: dict[str, int] = {}
        """Each market's last book mid in pips (md_loop), for the price collar (caps.py)."""
        self.fault_cancel: asyncio.Task[Any] | None = None
        """The cancel a storage fault started (control.storage_fault)."""
        self.risk_ok = False
        self.risk_instance = ""
        """The risk incarnation heard last (`Heartbeat.instance`); approvals from any other
        are refused (liveness.py)."""
        self._last_risk_ns = clock_ns()
        self.deadman_done = False
        self.kill_all = False
        self.killed_markets: set[str] = set()
        self._secret = secret
        self.verifier = receiver_verifier(cfg, secret, self.name)  # nonces survive a restart
        self._cmd_codec: bus.Codec[ExecutorCommand] = bus.Codec(
            ExecutorCommand, process=self.name, channel="commands")
        self._ev_codec: bus.Codec[EventChannel] = bus.Codec(
            EventChannel, process=self.name, channel="events")
        self._state_codec: bus.Codec[StateChannel] = bus.Codec(
            StateChannel, process=self.name, channel="state")
        self.md_codec: bus.Codec[MarketData] = bus.Codec(
            MarketData, process=self.name, channel="md")
        b = cfg.bus
        # CURVE on tcp:// (common/bus_curve.py): commands only from risk, events to risk,
        # control and this venue's ingest, the control ROUTER only from the control role.
        self._auth = bus_curve.start_authenticator(
            cfg, process=self.name,
            serves=[("commands", self.venue), ("events", self.venue), ("control", self.name)])
        self._cmd = bus.pull(endpoint(cfg, "commands", self.venue), hwm=b.recv_hwm,
                             curve=bus_curve.server(cfg, self.name, "commands", self.venue))
        self._pub = bus.pub(endpoint(cfg, "events", self.venue), hwm=b.send_hwm,
                            curve=bus_curve.server(cfg, self.name, "events", self.venue))
        self._state = bus.sub([endpoint(cfg, "state")],
                              [topics.heartbeat("risk"), topics.replay(self.venue)], hwm=b.recv_hwm,
                              curve=bus_curve.client(cfg, self.name, [("state", "")]))
        self._ctl = bus.router(endpoint(cfg, "control", self.name),
                               curve=bus_curve.server(cfg, self.name, "control", self.name))
        self._hb_seq = 0

    @property
    def adapter(self) -> ExecutionAdapter:
        return self._adapter

    def md_socket(self) -> Any:
        """A SUB on this venue's market data, for our markets only (tick changes)."""
        return bus.sub([endpoint(self._cfg, "md", self.venue)],
                       [topics.md(self.venue, m) for m in self.markets],
                       hwm=self._cfg.bus.recv_hwm,
                       curve=bus_curve.client(self._cfg, self.name, [("md", self.venue)]))

    def lock(self, market: str) -> asyncio.Lock:
        return self._locks[market]

    def reexpress(self, market: str) -> bool:
        """Queue the last applied ladder again (tick changed); a newer or expired one wins."""
        last = self.last_intent.get(market)
        if last is None or market in self._pending or self.blocked(market) \
                or self._wall_ns() > last[0].expires_at_ns:
            return False
        self._pending[market] = last
        self._wake[market].set()
        return True

    def drop_pending(self, market: str | None) -> None:
        """Forget queued and last applied ladders of one market (None: of every market),
        ahead of a cancel of that scope; placements already on the wire are superseded."""
        if market is None:
            self._pending.clear()
            self.last_intent.clear()
            for m in self.cancel_epoch:
                self.cancel_epoch[m] += 1
        else:
            self._pending.pop(market, None)
            self.last_intent.pop(market, None)
            if market in self.cancel_epoch:
                self.cancel_epoch[market] += 1

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Start the adapter, run every loop until `stop`, then cancel all and close."""
        control = asyncio.create_task(self._control_loop(), name="control")
        state = asyncio.create_task(self._state_loop(), name="state")
        tasks: list[asyncio.Task[None]] = [control, state]
        try:
            if not await self._start_adapter(stop):
                return
            heartbeat = asyncio.create_task(self._venue_heartbeat_loop(), name="venue_hb")
            tasks.append(heartbeat)
            if not await recovery.startup(self, stop):
                return
            loops: list[Callable[[], Coroutine[Any, Any, None]]] = [
                self._command_loop, self._watchdog_loop, self._report_loop,
                self._reconcile_loop,
            ]
            tasks.append(asyncio.create_task(recovery.md_loop(self), name="md"))
            tasks += [asyncio.create_task(f(), name=f.__name__) for f in loops]
            tasks += [asyncio.create_task(self._worker(m)) for m in self.markets]
            tasks.append(asyncio.create_task(self._adapter.run_user_stream(self), name="user"))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    log.error("%s loop died: %r", task.get_name(), task.exception())
        finally:
            self.risk_link.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._shutdown_cancel()
            await self._adapter.close()
            for sock in (self._cmd, self._pub, self._state, self._ctl):
                sock.close(linger=0)
            if self._auth is not None:
                self._auth.stop()
            self.journal.close()
            self.fill_journal.close()

    async def _start_adapter(self, stop: asyncio.Event) -> bool:
        delay = 0.5
        while not stop.is_set():
            try:
                await self._adapter.start()
                return True
            except VenueError as exc:
                log.warning("venue not ready (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 10.0)
        return False

    async def _shutdown_cancel(self) -> None:
        try:
            outcome = await asyncio.wait_for(self._adapter.cancel_all(), 10)
            await self._apply_cancel(outcome, list(self.ledger.live), reason="shutdown")
        except (asyncio.TimeoutError, VenueError) as exc:
            log.error("cancel-all at shutdown failed: %s", exc)

    # --- commands ----------------------------------------------------------------------------

    def blocked(self, market: str) -> bool:
        """True if ladders for `market` must be refused (kill latch, dead man's switch, or
        the venue not reconciled yet)."""
        return (self.kill_all or market in self.killed_markets or not self.risk_ok
                or not self.reconciled)

    def wall_ns(self) -> int:
        return self._wall_ns()

    def count(self, action: str, outcome: str, n: int = 1) -> None:
        """Count one order-path outcome (pmm_orders_total)."""
        self._count(action, outcome, n)

    def _count(self, action: str, outcome: str, n: int = 1) -> None:
        metrics.ORDERS.labels(venue=self.venue, action=action, outcome=outcome).inc(n)

    async def _command_loop(self) -> None:
        while True:
            frame = await self._cmd.recv()
            recv_ns = self._clock_ns()
            cmd = self._cmd_codec.decode(frame)
            if cmd is not None:
                await self.on_command(cmd, recv_ns)

    async def on_command(self, cmd: ExecutorCommand, recv_ns: int) -> None:
        """Conflate an ApprovedIntent into its market's slot, or run a CancelMarket."""
        if cmd.venue != self.venue or (cmd.market and cmd.market not in self.markets):
            self._count("command", "unknown_market")
            return
        if self._wall_ns() > cmd.expires_at_ns:
            metrics.EXPIRED_COMMANDS.labels(process=self.name).inc()
            return
        match cmd:
            case ApprovedIntent(market=m):
                if cmd.ts_recv_ns > 0:
                    metrics.TICK_TO_ORDER.labels(venue=self.venue).observe(
                        (recv_ns - cmd.ts_recv_ns) / 1e9)
                    metrics.HOP_LATENCY.labels(hop="risk_to_executor").observe(max(0, recv_ns - cmd.ts_approved_ns) / 1e9)
                if self.blocked(m):
                    self._count("intent", "refused")
                    return
                if cmd.risk_instance and cmd.risk_instance != self.risk_instance:
                    self._count("intent", "stale_risk_instance")
                    return
                why = check_ladder(cmd, mid=self.mids.get(m), caps=self.caps)
                if why:
                    self._count("intent", "over_hard_cap")
                    log.error("approved ladder refused by the executor's hard caps: %s", why,
                              extra={"market": m, "order_id": ""})
                    return
                if m in self._pending:
                    self._count("intent", "conflated")
                self._pending[m] = (cmd, recv_ns)
                self._wake[m].set()
            case CancelMarket(market=m):
                asyncio.create_task(self._cancel_market_cmd(m, cmd.reason))

    async def _cancel_market_cmd(self, market: str, reason: str) -> None:
        scope = [market] if market else list(self.markets)
        for m in scope:
            self.drop_pending(m)
        if not market:
            await self.cancel_scope(None, reason)
            return
        async with self._locks[market]:
            await self.cancel_scope(market, reason)

    async def _worker(self, market: str) -> None:
        wake = self._wake[market]
        while True:
            await wake.wait()
            wake.clear()
            item = self._pending.pop(market, None)
            if item is None:
                continue
            async with self._locks[market]:
                try:
                    await self.apply_intent(*item)
                except VenueError as exc:
                    log.warning("ladder not applied: %s", exc, extra={"market": market})
                except StorageError as exc:  # nothing unjournaled was sent: fail safe
                    control.storage_fault(self, exc)

    async def apply_intent(self, intent: ApprovedIntent, recv_ns: int) -> None:
        """Apply one approved ladder to the venue (apply.py)."""
        await apply.apply_intent(self, intent, recv_ns)

    @property
    def pending(self) -> dict[str, tuple[ApprovedIntent, int]]:
        """Per market, the newest approved ladder not yet applied (conflated)."""
        return self._pending

    def clock_ns(self) -> int:
        return self._clock_ns()

    async def publish_event(self, ev: OrderEvent) -> None:
        await self._publish_event(ev)

    # --- cancels -----------------------------------------------------------------------------

    async def cancel_ids(self, ids: list[str], *, reason: str) -> None:
        """Cancel some of our orders by id and apply the outcome."""
        if ids:
            await self._apply_cancel(await self._adapter.cancel(ids), ids, reason=reason)

    async def cancel_scope(self, market: str | None, reason: str) -> CancelOutcome:
        """Cancel one market (by venue market) or everything; update the live map."""
        if market is None:
            outcome = await self._adapter.cancel_all()
            ids = list(self.ledger.live)
        else:
            outcome = await self._adapter.cancel_market(self.markets[market])
            ids = [o.order_id for o in self.ledger.in_market(market)]
        await self._apply_cancel(outcome, ids, reason=reason)
        return outcome

    async def _apply_cancel(self, outcome: CancelOutcome, ids: list[str], *, reason: str) -> None:
        for ev in self.ledger.apply_cancel(outcome, ids, reason=reason, now_ns=self._clock_ns()):
            await self._publish_event(ev)
        self._count("cancel", "ambiguous" if outcome.ambiguous else
                    "failed" if outcome.failed else "ok")
        if outcome.ambiguous or outcome.failed:
            log.warning("cancel (%s) not confirmed: %s", reason, outcome.reason,
                        extra={"market": "", "order_id": ",".join(ids[:5])})

    # --- venue truth -------------------------------------------------------------------------

    async def reconcile_once(self) -> None:
        """Replace the live map with the venue's open orders and cancel strays."""
        requested = self._clock_ns()
        venue_orders = await self._adapter.open_orders()
        blocked = frozenset(self.markets) if (self.kill_all or self.deadman_done) else frozenset(
            self.killed_markets)
        result = self.ledger.reconcile(
            venue_orders, requested_ns=requested, blocked=blocked,
            owns=lambda vo: self.journal.owns(vo.order_id, vo.client_id))
        try:
            for provisional, order_id in result.resolved.items():
                self.journal.placed(provisional.removeprefix(CLIENT_KEY_PREFIX), order_id)
            self.journal.prune_retired(  # keeps the journal to minutes of orders (journal.py)
                {k.removeprefix(CLIENT_KEY_PREFIX) for k in self.ledger.live}, self._wall_ns())
        except StorageError as exc:
            control.storage_fault(self, exc)
        if result.adopted or result.dropped or result.foreign:
            log.info("reconciled: adopted %d, dropped %d, foreign %d (cancelled)",
                     result.adopted, result.dropped, result.foreign)
        if not self.reconciled:
            self.startup_cancelled += len(result.cancel)
        if result.foreign:
            self._count("reconcile", "foreign", result.foreign)
        if result.cancel:
            await self._apply_cancel(await self._adapter.cancel(result.cancel), result.cancel,
                                     reason="reconcile")

    async def _reconcile_loop(self) -> None:
        """Reconcile open orders every interval; send the venue's positions to risk to check
        against its journal every `position_check_interval_ms` (risk/venue_check.py)."""
        check_ns = self._cfg.executor.position_check_interval_ms * 1_000_000
        checked_ns = self._clock_ns()
        while True:
            await asyncio.sleep(self._cfg.executor.reconcile_interval_ms / 1000)
            try:
                await self.reconcile_once()
            except VenueError as exc:
                self._count("reconcile", "error")
                log.warning("reconcile failed: %s", exc)
            if check_ns and self._clock_ns() - checked_ns >= check_ns:
                checked_ns = self._clock_ns()
                await publish_positions(self)

    async def _venue_heartbeat_loop(self) -> None:
        interval = self._cfg.venues.polymarket.heartbeat_interval_ms / 1000
        while True:
            try:
                await self._adapter.heartbeat()
            except VenueError as exc:
                self._count("heartbeat", "error")
                log.warning("venue heartbeat failed: %s", exc)
            await asyncio.sleep(interval)

    # --- control -----------------------------------------------------------------------------

    async def _control_loop(self) -> None:
        while True:
            frames = await self._ctl.recv_multipart()
            if len(frames) < 2:
                continue
            ack = await self.on_control(frames[-1])
            await self._ctl.send_multipart([frames[0], seal_ack(ack, self._secret)])

    async def on_control(self, frame: bytes) -> Any:
        """Authenticate and apply one control message (control.py); return the Ack."""
        return await handle_control(self, frame)
