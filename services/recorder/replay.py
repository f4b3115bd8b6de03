"""The replayer: play a recording onto the md bus at real speed or `speed` times faster,
binding each venue's md endpoint as ingest would (run it instead of ingest), so quoters,
risk and a paper executor trade against history.

Market-data messages are re-stamped on the way out: `ts_recv_ns` becomes the replay's
monotonic receive time (tick-to-order stays meaningful) and the original order is kept.
Ingest heartbeats are published by the replayer itself every `heartbeat_ms`, and a market is
announced fresh (`MarketStatus(stale=False)`) before its first book, as ingest does.
Recorded reference prices (`ref.<feed>|`) go out on the reference endpoint when the config
has `[[references]]`, in place of the reference process.

Start (ZeroMQ slow joiner): a PUB drops every message published before a subscriber's
connection and subscription have arrived, so a replay that starts at once loses its opening
books - and with them, on a short recording, every fill. The md endpoint is therefore an
XPUB with XPUB_VERBOSE: the replayer sees every subscription (one per SUB socket and topic
prefix) and plays nothing until each replayed market's topic is matched by at least
`subscribers` of them (quoter, risk, control, the executor's tick watcher and the paper
executor's fill stream each hold one), or fails after `wait_s` saying what to start. Then it
waits `start_delay_s` more and plays.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import msgspec
import zmq
import zmq.asyncio

from common import bus, recording, topics
from common.config import Config, endpoint
from common.errors import PmmError
from common.messages import BookSnapshot, Heartbeat, MarketData, MarketStatus, TradePrint
from common.tasks import reap

__all__ = ["ReplayError", "Replayer"]

log = logging.getLogger(__name__)


class ReplayError(PmmError):
    """The replay cannot start (nobody subscribed); the message says what to start."""


class Replayer:
    """Publishes the records of `data_dir` onto the md endpoints of their venues."""

    def __init__(self, cfg: Config, data_dir: str | Path, *, speed: float = 1.0,
                 markets: Iterable[str] | None = None, heartbeat_ms: int = 500,
                 start_delay_s: float = 0.5, subscribers: int = 1,
                 wait_s: float = 30.0) -> None:
        if speed <= 0:
            from common.errors import ConfigError

            raise ConfigError(f"--speed must be > 0, got {speed}")
        if subscribers < 0 or wait_s < 0 or start_delay_s < 0:
            from common.errors import ConfigError

            raise ConfigError(f"--subscribers, --wait-s and --start-delay-s must be >= 0, got "
                              f"{subscribers}, {wait_s}, {start_delay_s}")
        self.cfg = cfg
        self.dir = Path(data_dir)
        self.speed = speed
        self.markets = set(markets) if markets is not None else None
        keys = recording.markets_of(self.dir)
        self.venues = sorted({k.split(".", 1)[0] for k in keys})
        self.topics = {k: topics.md(*k.split(".", 1)) for k in keys
                       if self.markets is None or k.split(".", 1)[1] in self.markets}
        """`venue.market` -> md topic of every market this replay plays."""
        self.heartbeat_ms = heartbeat_ms
        self.start_delay_s = start_delay_s
        self.subscribers = subscribers
        self.wait_s = wait_s
        self.subscriptions: dict[str, Counter[bytes]] = {v: Counter() for v in self.venues}
        """Per venue, live subscriptions by topic prefix (one per SUB socket)."""
        self.published = 0
        self.skipped = 0

    async def run(self, stop: asyncio.Event) -> None:
        socks = {v: self._bind(endpoint(self.cfg, "md", v)) for v in self.venues}
        ref = self._bind(endpoint(self.cfg, "md", "reference")) if self.cfg.references else None
        dec = msgspec.msgpack.Decoder(MarketData)
        enc = msgspec.msgpack.Encoder()
        hb = asyncio.create_task(self._heartbeats(socks, enc))
        try:
            if not await self.wait_for_subscribers(socks, stop):
                return
            try:  # subscribers are in; let the last of them settle
                await asyncio.wait_for(stop.wait(), self.start_delay_s)
                return
            except asyncio.TimeoutError:
                pass
            t0_rec: int | None = None
            fresh: set[str] = set()
            t0 = time.monotonic()
            for rec in recording.read(self.dir):
                if stop.is_set():
                    break
                key = recording.market_key(rec.topic)
                is_ref = rec.topic.startswith(topics.REFERENCE_ALL)
                if not key and not (is_ref and ref is not None):
                    continue  # heartbeats: the replayer sends its own
                if key and self.markets is not None and key.split(".", 1)[1] not in self.markets:
                    continue
                t0_rec = rec.ts_ns if t0_rec is None else t0_rec
                due = t0 + (rec.ts_ns - t0_rec) / 1e9 / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        break
                    except asyncio.TimeoutError:
                        pass
                try:
                    msg = dec.decode(rec.payload)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    self.skipped += 1
                    continue
                if is_ref and ref is not None:
                    await bus.send_pub(ref, rec.topic, rec.payload)
                    self.published += 1
                    continue
                sock = socks[key.split(".", 1)[0]]
                if isinstance(msg, BookSnapshot) and key not in fresh:
                    fresh.add(key)  # as ingest does on a market's first full book
                    await bus.send_pub(sock, rec.topic, enc.encode(MarketStatus(
                        venue=msg.venue, market=msg.market, ts_ns=time.time_ns(), stale=False,
                        reason="replay")))
                if isinstance(msg, BookSnapshot | TradePrint):
                    msg = msgspec.structs.replace(msg, ts_recv_ns=time.monotonic_ns())
                await bus.send_pub(sock, rec.topic, enc.encode(msg))
                self.published += 1
            log.info("replay done: %d published, %d skipped", self.published, self.skipped)
        finally:
            await reap(hb)
            for s in [*socks.values(), *([ref] if ref is not None else [])]:
                s.close(linger=0)

    def _bind(self, ep: str) -> zmq.asyncio.Socket:
        """An XPUB on the md endpoint (a PUB that also reports every subscription)."""
        sock = bus.context().socket(zmq.XPUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, self.cfg.bus.send_hwm)
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)  # pass every subscriber's subscription up
        bus.bind(sock, ep)
        return sock

    async def _take_subscriptions(self, venue: str, sock: zmq.asyncio.Socket) -> None:
        """Apply the (un)subscription frames waiting on an XPUB without blocking."""
        subs = self.subscriptions[venue]
        while True:
            try:
                frame = await sock.recv(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if frame[:1] == b"\x01":
                subs[frame[1:]] += 1
            elif frame[:1] == b"\x00" and subs[frame[1:]] > 0:
                subs[frame[1:]] -= 1

    def subscribed(self, key: str) -> int:
        """How many subscriptions match market `venue.market`'s md topic right now."""
        topic = self.topics[key]
        subs = self.subscriptions[key.split(".", 1)[0]]
        return sum(n for prefix, n in subs.items() if topic.startswith(prefix))

    async def wait_for_subscribers(self, socks: dict[str, zmq.asyncio.Socket],
                                   stop: asyncio.Event) -> bool:
        """Wait until every replayed market has `subscribers` matching subscriptions; False
        if stopped first. Raises ReplayError after `wait_s` seconds."""
        deadline = time.monotonic() + self.wait_s
        while not stop.is_set():
            for venue, sock in socks.items():
                await self._take_subscriptions(venue, sock)
            short = {k: self.subscribed(k) for k in self.topics}
            short = {k: n for k, n in short.items() if n < self.subscribers}
            if not short:
                log.info("subscribers in: %s", {k: self.subscribed(k) for k in self.topics})
                return True
            if time.monotonic() > deadline:
                raise ReplayError(
                    f"after {self.wait_s:.0f}s these markets have fewer than "
                    f"{self.subscribers} subscriber(s): {short}; start the stack first "
                    "(`pmm up --paper`), stop its ingest (`supervisorctl -s unix://<run_dir>/"
                    "supervisor.sock stop ingest-<venue>`: subscribers stay connected to a "
                    "running ingest) or lower --subscribers")
            await asyncio.sleep(0.02)
        return False

    async def _heartbeats(self, socks: dict[str, zmq.asyncio.Socket],
                          enc: msgspec.msgpack.Encoder) -> None:
        seq = 0
        while True:
            seq += 1
            for venue, sock in socks.items():
                await self._take_subscriptions(venue, sock)
                msg = Heartbeat(sender=f"ingest-{venue}", role="ingest", seq=seq,
                                ts_ns=time.time_ns())
                await bus.send_pub(sock, topics.heartbeat("ingest"), enc.encode(msg))
            await asyncio.sleep(self.heartbeat_ms / 1000)
