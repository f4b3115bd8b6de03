"""The reference actor: one websocket per `[[references]]` feed in, ReferencePrice on the
md PUB (`md-reference` endpoint, topic `ref.<feed>|`) out.

Each feed reconnects on its own (common/wsconnect.py: jittered exponential backoff) and
after `silence_timeout_ms` without a message. A heartbeat (`hb.reference|`, role `reference`,
naming the feeds) goes out every `[ingest] heartbeat_interval_ms`, and the newest price
of each feed is repeated with it, so a subscriber that (re)joins late (a restarted
quoter) has a reference within one heartbeat instead of waiting for the next move.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from websockets.exceptions import ConnectionClosed

from common import bus, bus_curve, metrics, topics, wsconnect
from common.config import Config, ReferenceFeedConfig, endpoint
from common.messages import Heartbeat, MarketData, ReferencePrice
from common.tasks import STOP_GRACE_S, reap
from services.reference.wire import Malformed, parse

__all__ = ["NAME", "ReferenceActor"]

log = logging.getLogger(__name__)

NAME = "reference"


class ReferenceActor:
    """Every configured reference feed, published on one PUB socket."""

    def __init__(self, cfg: Config, *, rng: random.Random | None = None) -> None:
        self.cfg = cfg
        self.feeds = list(cfg.references)
        self.latest: dict[str, ReferencePrice] = {}
        self._rng = rng or random.Random()
        self._codec: bus.Codec[MarketData] = bus.Codec(MarketData, process=NAME, channel="md")
        self._auth = bus_curve.start_authenticator(cfg, process=NAME, serves=[("md", NAME)])
        self._sock = bus.pub(endpoint(cfg, "md", NAME), hwm=cfg.bus.send_hwm,
                             curve=bus_curve.server(cfg, NAME, "md", NAME))
        self._hb_seq = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then close every websocket and the PUB socket."""
        tasks = [asyncio.create_task(self._feed_loop(f), name=f"feed-{f.feed}") for f in self.feeds]
        tasks.append(asyncio.create_task(self._heartbeat_loop(), name="heartbeat"))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            await reap(stopper, *tasks, grace_s=STOP_GRACE_S, what="reference")
            self._sock.close(linger=0)
            if self._auth is not None:
                self._auth.stop()

    async def publish(self, msg: ReferencePrice) -> None:
        """Put one price on the bus and remember it for the heartbeat repeat."""
        self.latest[msg.feed] = msg
        await bus.send_pub(self._sock, topics.reference(msg.feed), self._codec.encode(msg))
        metrics.REFERENCE_UPDATES.labels(feed=msg.feed).inc()
        metrics.REFERENCE_PRICE.labels(feed=msg.feed).set(msg.price)

    async def on_frame(self, feed: ReferenceFeedConfig, frame: str | bytes) -> None:
        """Parse one feed message; publish it, or drop and count it if malformed."""
        try:
            msg = parse(frame, feed.feed, time.time_ns())
        except Malformed as exc:
            metrics.REFERENCE_DROPPED.labels(feed=feed.feed).inc()
            log.warning("dropped malformed reference message (%s): %.200r", exc, frame,
                        extra={"feed": feed.feed})
            return
        if msg is not None:
            await self.publish(msg)

    async def _feed_loop(self, feed: ReferenceFeedConfig) -> None:
        silence_s = feed.silence_timeout_ms / 1000
        async with wsconnect.connections(
                feed.url, what="reference feed", extra={"feed": feed.feed},
                initial_delay=0.5, min_delay=0.2, max_delay=10.0, rng=self._rng,
                reconnects=metrics.REFERENCE_RECONNECTS.labels(feed=feed.feed),
                open_timeout=10, max_size=2**20, compression=None) as conns:
            async for ws in conns:
                log.info("reference feed connected: %s", feed.url, extra={"feed": feed.feed})
                try:
                    while True:
                        try:
                            frame = await asyncio.wait_for(ws.recv(), silence_s)
                        except asyncio.TimeoutError:
                            log.warning("reference feed silent for %.1fs; reconnecting",
                                        silence_s, extra={"feed": feed.feed})
                            break
                        await self.on_frame(feed, frame)
                except ConnectionClosed as exc:
                    log.warning("reference feed closed: %s", exc, extra={"feed": feed.feed})

    async def _heartbeat_loop(self) -> None:
        topic = topics.heartbeat(NAME)
        names = tuple(f.feed for f in self.feeds)
        while True:
            self._hb_seq += 1
            hb = Heartbeat(sender=NAME, role=NAME, seq=self._hb_seq, ts_ns=time.time_ns(),
                           markets=names)
            await bus.send_pub(self._sock, topic, self._codec.encode(hb))
            for msg in list(self.latest.values()):
                await bus.send_pub(self._sock, topics.reference(msg.feed), self._codec.encode(msg))
            await asyncio.sleep(self.cfg.ingest.heartbeat_interval_ms / 1000)
