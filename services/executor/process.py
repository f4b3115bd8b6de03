"""The executor actor: approved ladders in, venue orders out, events and fills published.

A thin shell: it owns the sockets and the loops that read them, and dispatches each
message to a collaborator that decides or acts:

- `ExecutorState` (state.py): our orders, pending ladders, the kill latch and the gates;
- `plan.py`: pure decisions: which approved ladders are queued, what a ladder sends;
- `Sequencer` (sequencer.py): one worker per market applies its newest pending ladder,
  cancels, reconciliation; it holds the adapter, the ledger and the order journal;
- `EventPublisher` / `FillSink` (events.py): the events PUB, the venue's private stream;
- `RiskWatch` (liveness.py) and `RiskLink` (replay.py): risk's heartbeats, the dead man's
  switch, fill replays; `recovery.py`: startup reconciliation and tick changes;
- `control.py`: Kill, Reset, Pause, Flatten on the control ROUTER.

Rules: commands past `expires_at_ns` are refused; nothing is placed before the first risk
heartbeat or before startup reconciliation with the venue; every order is in the on-disk
order journal before it is sent; every `reconcile_interval_ms` the venue's open orders
replace our live-order map. Exit orders (ApprovedIntent.exit_bids/exit_asks) go as
marketable fill-and-kill orders, the one non-post-only case; they never rest, so they
are not in the ladder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from common import bus, bus_curve, metrics, topics
from common.auth import receiver_verifier, seal_ack
from common.config import Config, endpoint
from common.errors import VenueError
from common.messages import (
    Ack, ApprovedIntent, BookSnapshot, CancelMarket, EventChannel, ExecutorCommand, Heartbeat,
    MarketData, RewardProgramme,
    ReplayRequest, StateChannel,
)
from common.tasks import STOP_GRACE_S, reap
from services.executor import recovery
from services.executor.adapter import ExecutionAdapter
from services.executor.caps import Caps
from services.executor.collateral import Wallet
from services.executor.control import handle_control
from services.executor.events import EventPublisher, FillSink
from services.executor.fill_journal import FillJournal
from services.executor.journal import OrderJournal
from services.executor.liveness import RiskWatch
from services.executor.orders import MarketTokens
from services.executor.plan import refusal
from services.executor.replay import PositionSnapshots, RiskLink, resume_horizon_s
from services.executor.rewards import RewardWatch
from services.executor.report import market_reports
from services.executor.sequencer import Sequencer
from services.executor.state import ExecutorState

__all__ = ["ExecutorActor"]


log = logging.getLogger(__name__)


class ExecutorActor:
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
        self.adapter = adapter
        self.venue = adapter.venue
        self.name = f"executor-{self.venue}"
        self._clock_ns = clock_ns
        self._wall_ns = wall_ns
        self.state = ExecutorState(self.venue, markets, wall_ns)
        self.journal = OrderJournal(cfg.run_dir / f"{self.name}.orders.sqlite")
        self.fill_journal = FillJournal(self.journal.path, now_ns=wall_ns())
        if hasattr(adapter, "set_journal"):
            adapter.set_journal(self.journal)
        for store in ("executor_orders", "executor_fills"):  # exported at 0: alerts see them
            metrics.STORAGE_FAULTS.labels(store=store)
        self.caps = Caps.from_config(cfg.executor)
        self._secret = secret
        self.verifier = receiver_verifier(cfg, secret, self.name)  # nonces survive a restart
        self._cmd_codec: bus.Codec[ExecutorCommand] = bus.Codec(
            ExecutorCommand, process=self.name, channel="commands")
        self._state_codec: bus.Codec[StateChannel] = bus.Codec(
            StateChannel, process=self.name, channel="state")
        self._md_codec: bus.Codec[MarketData] = bus.Codec(
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
        self.publisher = EventPublisher(
            self._pub, bus.Codec(EventChannel, process=self.name, channel="events"), self.venue)
        self.sequencer = Sequencer(
            name=self.name, adapter=adapter, state=self.state, journal=self.journal,
            publisher=self.publisher, clock_ns=clock_ns, wall_ns=wall_ns,
            wallet=Wallet(reserve=round(cfg.executor.collateral_reserve_usd * 1e6)))
        fault = self.sequencer.storage_fault
        self.sink = FillSink(ledger=self.state.ledger, journal=self.journal,
                             fill_journal=self.fill_journal, publisher=self.publisher,
                             on_storage_fault=fault, clock_ns=clock_ns, wall_ns=wall_ns,
                             fill_resume_s=resume_horizon_s(self.fill_journal, self.journal))
        self.startup_done = asyncio.Event()
        self.snapshots = PositionSnapshots(
            adapter, self.publisher, self.state, self.sink.activity,
            quiet_ms=cfg.executor.position_quiet_ms, clock_ns=clock_ns, wall_ns=wall_ns)
        self.risk_link = RiskLink(
            cfg, fill_journal=self.fill_journal, publisher=self.publisher,
            publish_positions=self.snapshots.publish,
            startup_done=self.startup_done, on_storage_fault=fault, wall_ns=wall_ns,
            start_ns=wall_ns())
        self.risk_watch = RiskWatch(sequencer=self.sequencer, risk_link=self.risk_link,
                                    timeout_ms=cfg.executor.risk_timeout_ms,
                                    clock_ns=clock_ns, wall_ns=wall_ns)
        self.rewards = RewardWatch(self.venue, getattr(adapter, "rewards", None),
                                   self.state.markets, wall_ns)
        self._hb_seq = 0

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
            if not await recovery.startup(self.sequencer, stop):
                return
            await self._read_collateral()  # before the first ladder: trimmed from the start
            self.startup_done.set()  # positions and journaled fills go to risk once it is heard
            loops: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = [
                ("_command_loop", self._command_loop),
                ("_watchdog_loop", self.risk_watch.watchdog),
                ("_report_loop", self._report_loop), ("_reconcile_loop", self._reconcile_loop),
            ]
            if self._cfg.executor.position_check_interval_ms:
                loops.append(("_position_loop", self._position_loop))
            if self._cfg.executor.collateral_check_interval_ms:
                loops.append(("_collateral_loop", self._collateral_loop))
            if self._cfg.executor.reward_check_interval_ms:
                loops.append(("_reward_loop", self._reward_loop))
            tasks.append(asyncio.create_task(self._md_loop(), name="md"))
            tasks += [asyncio.create_task(f(), name=name) for name, f in loops]
            tasks += [asyncio.create_task(self.sequencer.worker(m)) for m in self.state.markets]
            tasks.append(asyncio.create_task(self.adapter.run_user_stream(self.sink), name="user"))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    log.error("%s loop died: %r", task.get_name(), task.exception())
        finally:
            self.risk_link.cancel()
            # Bounded: a loop that ignored its cancellation must not keep the orders open.
            await reap(*tasks, grace_s=STOP_GRACE_S, what=self.name)
            await self.sequencer.shutdown_cancel()
            await self.adapter.close()
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
                await self.adapter.start()
                return True
            except VenueError as exc:
                log.warning("venue not ready (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 10.0)
        return False

    # --- commands ----------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        while True:
            frame = await self._cmd.recv()
            recv_ns = self._clock_ns()
            cmd = self._cmd_codec.decode(frame)
            if cmd is not None:
                await self.on_command(cmd, recv_ns)

    async def on_command(self, cmd: ExecutorCommand, recv_ns: int) -> None:
        """Queue an admitted ApprovedIntent for its market's worker, or run a CancelMarket."""
        count = self.sequencer.count
        if cmd.venue != self.venue or (cmd.market and cmd.market not in self.state.markets):
            count("command", "unknown_market")
            return
        if self._wall_ns() > cmd.expires_at_ns:
            metrics.EXPIRED_COMMANDS.labels(process=self.name).inc()
            return
        match cmd:
            case ApprovedIntent(market=m):
                if cmd.ts_recv_ns > 0:
                    metrics.TICK_TO_ORDER.labels(venue=self.venue).observe(
                        (recv_ns - cmd.ts_recv_ns) / 1e9)
                    metrics.HOP_LATENCY.labels(hop="risk_to_executor").observe(
                        max(0, recv_ns - cmd.ts_approved_ns) / 1e9)
                outcome, why = refusal(cmd, self.state, self.caps)
                if outcome:
                    count("intent", outcome)
                    if why:
                        log.error("approved ladder refused by the executor's hard caps: %s", why,
                                  extra={"market": m, "order_id": ""})
                    return
                self.sequencer.submit(cmd, recv_ns)
            case CancelMarket(market=m):
                asyncio.create_task(self.sequencer.cancel_market_cmd(m, cmd.reason))

    # --- risk, market data, venue ------------------------------------------------------------

    async def _state_loop(self) -> None:
        while True:
            payload = bus.payload_of(await self._state.recv_multipart())
            msg = self._state_codec.decode(payload) if payload is not None else None
            if isinstance(msg, Heartbeat) and msg.role == "risk":
                self.risk_watch.on_heartbeat(msg)
            elif isinstance(msg, ReplayRequest) and msg.venue == self.venue:
                self.risk_link.request(msg.since_ns - self._cfg.executor.fill_replay_margin_ms
                                       * 1_000_000, f"risk saw {msg.reason}", msg.id)

    async def _md_loop(self) -> None:
        """Watch our markets' books for tick changes and the mid (recovery.on_market_data)."""
        sock = bus.sub([endpoint(self._cfg, "md", self.venue)],
                       [topics.md(self.venue, m) for m in self.state.markets],
                       hwm=self._cfg.bus.recv_hwm,
                       curve=bus_curve.client(self._cfg, self.name, [("md", self.venue)]))
        try:
            while True:
                frames = await sock.recv_multipart()
                msg = self._md_codec.decode(frames[-1])
                if isinstance(msg, BookSnapshot):
                    self.rewards.on_book(msg)
                elif isinstance(msg, RewardProgramme):
                    self.rewards.on_programme(msg)
                await recovery.on_market_data(self.sequencer, msg)
        finally:
            with contextlib.suppress(Exception):
                sock.close(linger=0)

    async def _reconcile_loop(self) -> None:
        """Reconcile open orders every interval."""
        while True:
            await asyncio.sleep(self._cfg.executor.reconcile_interval_ms / 1000)
            try:
                await self.sequencer.reconcile_once()
            except VenueError as exc:
                self.sequencer.count("reconcile", "error")
                log.warning("reconcile failed: %s", exc)

    async def _position_loop(self) -> None:
        """Send the venue's positions to risk to check against its journal every
        `position_check_interval_ms` (risk/venue_check.py), apart from reconciliation: a
        check that waited for it came every max(check, reconcile) interval."""
        while True:
            await asyncio.sleep(self._cfg.executor.position_check_interval_ms / 1000)
            await self.snapshots.publish()

    async def _collateral_loop(self) -> None:
        """Read the account's collateral every `collateral_check_interval_ms`."""
        while True:
            await asyncio.sleep(self._cfg.executor.collateral_check_interval_ms / 1000)
            await self._read_collateral()

    async def _reward_loop(self) -> None:
        """Check our orders' liquidity rewards every `reward_check_interval_ms`. Rewards
        are information: whatever a check raises is logged and the loop goes on (a loop
        that ends stops the executor)."""
        while True:
            try:
                await self.rewards.check(lambda: list(self.state.ledger.live.values()))
            except Exception:  # noqa: BLE001 - see the docstring
                self.sequencer.count("rewards", "error")
                log.exception("reward check failed; the next one is in %d ms",
                              self._cfg.executor.reward_check_interval_ms)
            await asyncio.sleep(self._cfg.executor.reward_check_interval_ms / 1000)

    async def _read_collateral(self) -> None:
        """One collateral read; a failure of any kind is logged and the last read stands
        (a loop that ends stops the executor)."""
        try:
            await self.sequencer.funding.read()
        except VenueError as exc:
            self.sequencer.count("balance", "error")
            log.warning("collateral not read (%s): the last read stands", exc)
        except Exception:  # noqa: BLE001 - see the docstring
            self.sequencer.count("balance", "error")
            log.exception("collateral read failed: the last read stands")

    async def _venue_heartbeat_loop(self) -> None:
        interval = self._cfg.venues.polymarket.heartbeat_interval_ms / 1000
        while True:
            try:
                await self.adapter.heartbeat()
            except VenueError as exc:
                self.sequencer.count("heartbeat", "error")
                log.warning("venue heartbeat failed: %s", exc)
            await asyncio.sleep(interval)

    async def _report_loop(self) -> None:
        markets = tuple(self.state.markets)
        while True:
            held = self.sequencer.funding.collateral()
            if held is not None:
                metrics.VENUE_COLLATERAL.labels(venue=self.venue).set(held / 1e6)
            metrics.COLLATERAL_LOCKED.labels(venue=self.venue).set(self.sequencer.funding.locked() / 1e6)
            for report in market_reports(self.venue, self.state.markets,
                                         self.state.ledger.live.values(), self._wall_ns(),
                                         held, self.rewards.info):
                metrics.OPEN_ORDERS.labels(venue=self.venue, market=report.market).set(
                    report.open_orders)
                await self.publisher.publish(topics.events(self.venue, report.market), report)
            self._hb_seq += 1
            await self.publisher.publish(topics.heartbeat("executor"), Heartbeat(
                sender=self.name, role="executor", seq=self._hb_seq, ts_ns=self._wall_ns(),
                markets=markets, pub_seq=self.publisher.pub_seq))
            await asyncio.sleep(self._cfg.executor.report_interval_ms / 1000)

    # --- control -----------------------------------------------------------------------------

    async def _control_loop(self) -> None:
        while True:
            frames = await self._ctl.recv_multipart()
            if len(frames) < 2:
                continue
            ack = await self.on_control(frames[-1])
            await self._ctl.send_multipart([frames[0], seal_ack(ack, self._secret)])

    async def on_control(self, frame: bytes) -> Ack:
        """Authenticate and apply one control message (control.py); return the Ack."""
        return await handle_control(frame, verifier=self.verifier, sequencer=self.sequencer)
