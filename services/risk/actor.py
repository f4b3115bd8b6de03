"""The risk process shell: sockets and timers around `RiskGate`.

Binds PULL `intents`, PUB `state`, ROUTER `control-risk`; connects SUB to every
`events-<venue>` (fills, order events, executor heartbeats) and `md-<venue>` (marks
and staleness), and one PUSH to each `commands-<venue>`. Per wake-up it handles market
data, then fills, then control, then intents (conflated to the newest per market), so
a decision always sees the freshest marks, positions and switches.

Books do not wake risk: it reads them at the start of every wake-up (an intent, a fill,
control, a timer) and at least every `_MD_EVERY_NS`. The book that made a quoter requote
reaches risk before the quoter's intent does, so the decision still sees it, and risk
wakes once per book-and-intent instead of twice, off the CPU while the quoter works
(issue 9). Sockets are read and written with NOBLOCK calls on synchronous shadows and one
persistent readiness wait (common/hotloop.py), not a zmq.asyncio Poller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec
import zmq
import zmq.asyncio

from common import bus, bus_curve, hotloop, metrics, topics
from common.auth import receiver_verifier, seal_ack
from common.config import Config, endpoint
from common.errors import AuthError
from common.messages import (
    Ack,
    BookSnapshot,
    ControlMessage,
    Envelope,
    EventChannel,
    ExecutorCommand,
    Fill,
    FillReversal,
    Heartbeat,
    IntentChannel,
    MarketData,
    MarketStatus,
    QuoteIntent,
    ReplayRequest,
    StateChannel,
    VenuePositions,
)
from services.risk.fill_sequence import FillSequence
from services.risk.gate import RiskGate
from services.risk.journal import Journal, journal_path

__all__ = ["NAME", "RiskActor"]

log = logging.getLogger(__name__)

NAME = "risk"
_MAX_DRAIN = 10_000
_MAX_POLL_MS = 50
_QUOTER_CHECK_NS = 100_000_000
_REASK_AFTER_NS = 5_000_000_000
"""A replay request still without a whole answer this long after it was sent is sent again."""
_POSITIONS_EVERY_NS = 1_000_000_000
_POSITION_SLICES = 10
"""The periodic PositionUpdates go out a tenth of the markets every tenth of the period, not
all in one burst that would hold an intent behind ~100 encodes and sends (issue 9)."""
_RISK_STATE_EVERY_NS = 500_000_000
_BACKOFF_NS = 1_000_000_000
_MD_EVERY_NS = 5_000_000
"""Market data is read at every wake-up and at least this often (marks, staleness, loss
limits, flatten re-pricing lag a book by at most this much when no intent comes)."""

_env_dec = msgspec.msgpack.Decoder(Envelope)
_ctl_dec = msgspec.msgpack.Decoder(ControlMessage)


def _nonce_of(frame: bytes) -> str:
    """Best-effort nonce of a refused control frame, so the sender can match the Ack."""
    try:
        return _ctl_dec.decode(_env_dec.decode(frame).body).nonce
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return ""


class RiskActor:
    """The single risk gate process. `run(stop)` owns every socket and the journal."""

    def __init__(
        self,
        cfg: Config,
        secret: bytes,
        *,
        mono_ns: Callable[[], int] = time.monotonic_ns,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cfg = cfg
        self._secret = secret
        self.verifier = receiver_verifier(cfg, secret, NAME)  # nonces survive a restart
        self._mono = mono_ns
        self._wall = wall_ns
        self.journal = Journal(journal_path(cfg))
        self.gate = RiskGate(cfg, self.journal, mono_ns=mono_ns, wall_ns=wall_ns)
        replayed = self.gate.replay(self.journal.replay())
        log.info("replayed %d journaled fills", replayed, extra={"journal": str(self.journal.path)})
        self._intents: bus.Codec[IntentChannel] = bus.Codec(
            IntentChannel, process=NAME, channel="intents"
        )
        self._md: bus.Codec[MarketData] = bus.Codec(MarketData, process=NAME, channel="md")
        self._events: bus.Codec[EventChannel] = bus.Codec(
            EventChannel, process=NAME, channel="events"
        )
        self._out: bus.Codec[StateChannel] = bus.Codec(StateChannel, process=NAME, channel="state")
        self._cmd = msgspec.msgpack.Encoder()
        self._hb_seq = 0
        self._state: zmq.asyncio.Socket | None = None
        self._state_now: zmq.Socket | None = None
        self._commands: dict[str, zmq.asyncio.Socket] = {}
        self._commands_now: dict[str, zmq.Socket] = {}
        """Synchronous shadows of the sockets above, for NOBLOCK sends (common/hotloop.py)."""
        self._backoff_until: dict[str, int] = {}
        self.fill_sequence = FillSequence(start_ns=wall_ns())
        metrics.STORAGE_FAULTS.labels(store="risk_journal")  # exported at 0: alerts see it
        for venue in {m.venue for m in cfg.markets}:
            metrics.FILL_SEQUENCE_GAPS.labels(venue=venue)

    # --- outputs -------------------------------------------------------------------------

    async def publish(self, topic: bytes, msg: msgspec.Struct) -> None:
        """Publish a state message on its topic."""
        assert self._state is not None
        payload = self._out.encode(msg)
        if self._state_now is not None:
            try:
                hotloop.send_pub(self._state_now, topic, payload)
                return
            except zmq.Again:
                pass
        await bus.send_pub(self._state, topic, payload)

    async def command(self, cmd: ExecutorCommand) -> None:
        """Send a command to its venue's executor; a refused send is counted."""
        sock = self._commands.get(cmd.venue)
        if sock is None:
            log.error("no command socket for venue %s", cmd.venue, extra={"market": cmd.market})
            return
        payload = self._cmd.encode(cmd)
        now_sock = self._commands_now.get(cmd.venue)
        if now_sock is not None:
            try:
                now_sock.send(payload, hotloop.NOBLOCK)
                self._backoff_until.pop(cmd.venue, None)
                return
            except zmq.Again:
                pass  # executor absent or its queue full: the timed send below decides
        channel = f"commands-{cmd.venue}"
        now = self._mono()
        if now < self._backoff_until.get(cmd.venue, 0):
            # The executor was absent a moment ago: try once without waiting, so one dead
            # executor never stalls the gate for a send timeout per command.
            try:
                await sock.send(payload, flags=zmq.NOBLOCK)
                self._backoff_until.pop(cmd.venue, None)
            except zmq.Again:
                metrics.SEND_TIMEOUTS.labels(process=NAME, channel=channel).inc()
            return
        if not await bus.send_push(sock, payload, process=NAME, channel=channel):
            self._backoff_until[cmd.venue] = now + _BACKOFF_NS
            log.warning(
                "executor-%s did not take a command", cmd.venue, extra={"market": cmd.market}
            )

    async def commands(self, cmds: list[ExecutorCommand]) -> None:
        """Send each command in order, then any the gate queued (a storage fault's cancels)."""
        for cmd in cmds:
            await self.command(cmd)
        for cmd in self.gate.take_outbox():
            await self.command(cmd)

    async def check_sequence(self, venue: str, since_ns: int | None, what: str) -> None:
        """Ask `venue`'s executor to replay its journaled fills if a gap was seen."""
        if since_ns is None:
            return
        metrics.FILL_SEQUENCE_GAPS.labels(venue=venue).inc()
        log.warning("fill sequence gap from executor-%s (%s): asking for a replay", venue, what,
                    extra={"venue": venue})
        await self.ask_replay(venue, since_ns, what)

    async def ask_replay(self, venue: str, since_ns: int, what: str) -> None:
        await self.publish(topics.replay(venue), ReplayRequest(
            venue=venue, since_ns=since_ns, reason=what,  # type: ignore[arg-type]
            id=self.fill_sequence.request_id(venue, self._wall())))

    async def reask_replays(self) -> None:
        """Ask again for every replay whose hole no whole answer has closed in time."""
        for venue, since in self.fill_sequence.overdue(self._wall(), _REASK_AFTER_NS):
            log.warning("no whole replay from executor-%s yet: asking again", venue,
                        extra={"venue": venue})
            await self.ask_replay(venue, since, "an unanswered replay")

    async def publish_positions(self, part: int = 0, parts: int = 1) -> None:
        """Publish a PositionUpdate for every market, or for slice `part` of `parts`."""
        for k, market in enumerate(self.gate.all_markets()):
            if k % parts == part:
                await self.publish(topics.position(market), self.gate.position_update(market))

    async def heartbeat(self) -> None:
        """Publish risk's heartbeat (the executors' dead man's switch)."""
        self._hb_seq += 1
        hb = Heartbeat(sender=NAME, role="risk", seq=self._hb_seq, ts_ns=self._wall(),
                       instance=self.gate.instance)
        await self.publish(topics.heartbeat("risk"), hb)

    # --- inputs --------------------------------------------------------------------------

    async def on_md(self, frames_list: list[list[bytes]]) -> None:
        """Apply books and statuses: marks, staleness, loss checks."""
        for frames in frames_list:
            payload = bus.payload_of(frames)
            msg = None if payload is None else self._md.decode(payload)
            match msg:
                case BookSnapshot():
                    await self.commands(self.gate.on_book(msg))
                case MarketStatus():
                    self.gate.on_status(msg)
                case _:
                    pass

    async def on_events(self, frames_list: list[list[bytes]]) -> None:
        """Journal and apply fills and reversals; publish the new position."""
        for frames in frames_list:
            payload = bus.payload_of(frames)
            msg = None if payload is None else self._events.decode(payload)
            match msg:
                case Fill():
                    update, cmds = self.gate.on_fill(msg)
                    await self.check_sequence(msg.venue, self.fill_sequence.on_fill(
                        msg.venue, msg.pub_seq, self._wall(), msg.ts_venue_ms * 1_000_000),
                        "a dropped fill")
                case FillReversal():
                    update, cmds = self.gate.on_reversal(msg)
                    await self.check_sequence(msg.venue, self.fill_sequence.on_fill(
                        msg.venue, msg.pub_seq, self._wall()), "a dropped fill")
                case Heartbeat(role="executor"):
                    venue = msg.sender.removeprefix("executor-")
                    await self.check_sequence(venue, self.fill_sequence.on_heartbeat(
                        venue, msg.pub_seq, self._wall()), "its newest fills dropped")
                    continue
                case VenuePositions():
                    if msg.replay_id:
                        await self.check_sequence(msg.venue, self.fill_sequence.on_replayed(
                            msg.venue, msg.replay_id, msg.pub_seq, self._wall()),
                            "fills of its replay dropped")
                    await self.commands(self.gate.compare_venue_positions(
                        msg, whole=self.fill_sequence.whole(msg.venue, msg.pub_seq)))
                    continue
                case _:
                    continue
            if update is not None:
                await self.publish(topics.position(update.market), update)
            await self.commands(cmds)

    async def on_control(self, router: zmq.asyncio.Socket, frames: list[bytes]) -> None:
        """Authenticate a [identity, envelope] control frame, apply it, and Ack."""
        if len(frames) < 2:
            return
        identity, frame = frames[0], frames[-1]
        try:
            msg = self.verifier.open(frame, now_ns=self._wall())
        except AuthError as exc:
            reason = str(exc)
            metrics.CONTROL_REJECTED.labels(process=NAME, reason=reason).inc()
            log.warning("control message refused: %s", reason)
            ack = Ack(receiver=NAME, nonce=_nonce_of(frame), ok=False, detail=reason)
            await router.send_multipart((identity, seal_ack(ack, self._secret)))
            return
        ack, cmds = self.gate.on_control(msg)
        await self.commands(cmds)
        await router.send_multipart((identity, seal_ack(ack, self._secret)))
        await self.publish(topics.RISK, self.gate.risk_state())

    async def on_intents(self, frames_list: list[list[bytes]]) -> None:
        """Gate the newest intent per market; count quoter heartbeats as liveness."""
        newest: dict[str, QuoteIntent] = {}
        for frames in frames_list:
            msg = self._intents.decode(frames[-1]) if frames else None
            match msg:
                case QuoteIntent():
                    newest[msg.market] = msg
                case Heartbeat(role="quoter"):
                    self.gate.on_quoter_heartbeat(msg)
                case _:
                    pass
        for intent in newest.values():
            routed = self.gate.on_intent(intent)
            if routed is not None:
                await self.command(routed[1])

    # --- loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Gate intents until `stop` is set; sockets and journal are closed on the way out."""
        cfg = self.cfg
        venues = cfg.venues_in_use()
        socks: list[zmq.asyncio.Socket] = []
        # CURVE on tcp:// sockets (common/bus_curve.py): each bound socket admits only the
        # roles on its allow-list; connecting sockets use risk's key. None when off.
        auth = bus_curve.start_authenticator(
            cfg, process=NAME, serves=[("intents", ""), ("state", ""), ("control", NAME)])
        try:
            intents = bus.pull(endpoint(cfg, "intents"), hwm=cfg.bus.recv_hwm,
                               curve=bus_curve.server(cfg, NAME, "intents"))
            socks.append(intents)
            self._state = bus.pub(endpoint(cfg, "state"), hwm=cfg.bus.send_hwm,
                                  curve=bus_curve.server(cfg, NAME, "state"))
            socks.append(self._state)
            self._state_now = hotloop.shadow(self._state)
            router = bus.router(endpoint(cfg, "control", "risk"),
                                curve=bus_curve.server(cfg, NAME, "control", NAME))
            socks.append(router)
            events = bus.sub(
                [endpoint(cfg, "events", v) for v in venues],
                [topics.EVENTS_ALL, topics.HEARTBEAT_ALL], hwm=cfg.bus.recv_hwm,
                curve=bus_curve.client(cfg, NAME, [("events", v) for v in venues]),
            )
            socks.append(events)
            md = bus.sub([endpoint(cfg, "md", v) for v in venues], [topics.MD_ALL],
                         hwm=cfg.bus.recv_hwm,
                         curve=bus_curve.client(cfg, NAME, [("md", v) for v in venues]))
            socks.append(md)
            for v in venues:
                self._commands[v] = bus.push(
                    [endpoint(cfg, "commands", v)], hwm=cfg.bus.send_hwm,
                    send_timeout_ms=cfg.bus.send_timeout_ms,
                    curve=bus_curve.client(cfg, NAME, [("commands", v)]),
                )
                socks.append(self._commands[v])
                metrics.SEND_TIMEOUTS.labels(process=NAME, channel=f"commands-{v}")
                self._commands_now[v] = hotloop.shadow(self._commands[v])
            await self._loop(stop, ready, intents, router, events, md)
        finally:
            for sock in socks:
                sock.close(linger=0)
            if auth is not None:
                auth.stop()
            self._state = self._state_now = None
            self._commands.clear()
            self._commands_now.clear()
            self.journal.close()

    async def _loop(
        self,
        stop: asyncio.Event,
        ready: asyncio.Event | None,
        intents: zmq.asyncio.Socket,
        router: zmq.asyncio.Socket,
        events: zmq.asyncio.Socket,
        md: zmq.asyncio.Socket,
    ) -> None:
        md_now = hotloop.shadow(md)
        hb_every = self.cfg.risk.heartbeat_interval_ms * 1_000_000
        now = self._mono()
        next_hb = next_state = next_positions = next_quoters = next_md = now
        positions_part = 0
        metrics.KILL_ACTIVE.labels(process=NAME).set(1 if self.gate.kill_active else 0)
        wake = hotloop.Readiness([intents, router, events])  # not md: see the docstring
        intents_in, router_in, events_in = wake.inputs
        if ready is not None:
            ready.set()
        try:
            while not stop.is_set():
                due = min(next_hb, next_state, next_positions, next_quoters, next_md)
                await wake.wait(min(_MAX_POLL_MS / 1000, max(0, due - self._mono()) / 1e9))
                await self.on_md(hotloop.drain(md_now, _MAX_DRAIN))
                next_md = self._mono() + _MD_EVERY_NS
                await self.on_events(events_in.drain(_MAX_DRAIN))
                for frames in router_in.drain(_MAX_DRAIN):
                    await self.on_control(router, frames)
                    router_in.touch()  # the Ack went out on the same socket
                await self.on_intents(intents_in.drain(_MAX_DRAIN))
                now = self._mono()
                if now >= next_quoters:
                    await self.commands(list(self.gate.check_quoters()))
                    await self.commands(self.gate.check_daily_reset())
                    await self.reask_replays()
                    next_quoters = now + _QUOTER_CHECK_NS
                if now >= next_hb:
                    await self.heartbeat()
                    next_hb = now + hb_every
                if now >= next_state:
                    await self.publish(topics.RISK, self.gate.risk_state())
                    next_state = now + _RISK_STATE_EVERY_NS
                if now >= next_positions:
                    await self.publish_positions(positions_part, _POSITION_SLICES)
                    positions_part = (positions_part + 1) % _POSITION_SLICES
                    next_positions = now + _POSITIONS_EVERY_NS // _POSITION_SLICES
        finally:
            wake.close()
