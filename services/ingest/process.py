"""The ingest actor: one venue market websocket in, normalized books on the md PUB out.

The shell owns the socket, the timers and the books; translation lives in the feed
adapter and book maths in book.py. Every delta is applied, but a market's
BookSnapshot (top `depth` levels, per-market sequence) is published once per batch of
frames: frames already waiting in the websocket's buffer are applied first, then each
changed market publishes its newest book (`_book_changed`, `_flush_books`). Below
ingest's capacity a batch is one frame, so nothing waits; past it the backlog collapses
to one book per market per batch instead of one per frame (conflation, not backlog).
Any other message on a market's topic (trade, status) first flushes that market's
pending book, so subscribers see the same order as before. When the connection drops
or falls silent every market is marked stale until its next full snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

import zmq
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from common import bus, bus_curve, hotloop, metrics, topics, wsconnect
from common.config import Config, endpoint
from common.messages import (
    BookSnapshot,
    Heartbeat,
    MarketData,
    MarketStatus,
    RewardProgramme,
    TradePrint,
)
from common.tasks import STOP_GRACE_S, reap
from services.ingest.adapter import (
    BookReplace,
    FeedAdapter,
    LevelChanges,
    MarketClosed,
    Resubscribe,
    TickChanged,
    TradeSeen,
)
from services.ingest.book import L2Book
from services.ingest.grid import GridSource, GridWatcher
from services.ingest.rewards import ProgrammeSource, RewardPoller, source_for

__all__ = ["IngestActor"]

log = logging.getLogger(__name__)

class IngestActor:
    """Books and publishing for one venue feed."""

    def __init__(
        self,
        cfg: Config,
        feed: FeedAdapter,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        rng: random.Random | None = None,
        grid: GridSource | None = None,
        rewards: ProgrammeSource | None = None,
    ) -> None:
        """`grid`: where to read price grids the venue does not push (Kalshi REST);
        `rewards`: where to read reward programmes (default: the venue's REST)."""
        self._cfg = cfg
        self._feed = feed
        self._venue = feed.venue
        self._name = f"ingest-{feed.venue}"
        self._clock_ns = clock_ns
        self._rng = rng or random.Random()
        self._markets = feed.markets()
        self._books = {m: L2Book() for m in self._markets}
        self._seq = dict.fromkeys(self._markets, 0)
        self._tick = {m: cfg.market(m).tick_pips for m in self._markets}
        self._min_size = {m: cfg.market(m).min_size_centi for m in self._markets}
        self._fresh = dict.fromkeys(self._markets, False)
        self._stale_reason = dict.fromkeys(self._markets, "starting")
        self._topics = {m: topics.md(self._venue, m) for m in self._markets}
        self._codec: bus.Codec[MarketData] = bus.Codec(
            MarketData, process=self._name, channel="md"
        )
        role = f"ingest-{self._venue}"  # CURVE on tcp:// (common/bus_curve.py)
        self._auth = bus_curve.start_authenticator(cfg, process=role, serves=[("md", self._venue)])
        self._sock = bus.pub(endpoint(cfg, "md", self._venue), hwm=cfg.bus.send_hwm,
                             curve=bus_curve.server(cfg, role, "md", self._venue))
        self._sock_now = hotloop.shadow(self._sock)
        """A synchronous shadow of the PUB socket: a NOBLOCK send per book, no future."""
        self._dropped = metrics.VENUE_MESSAGES_DROPPED.labels(venue=self._venue, channel="market")
        self._reconnects = metrics.FEED_RECONNECTS.labels(venue=self._venue, channel="market")
        self._gaps = metrics.FEED_SEQUENCE_GAPS.labels(venue=self._venue)
        self._updates = {
            m: metrics.BOOK_UPDATES.labels(venue=self._venue, market=m) for m in self._markets
        }
        self._stale_gauge = {
            m: metrics.FEED_STALE.labels(venue=self._venue, market=m) for m in self._markets
        }
        for gauge in self._stale_gauge.values():
            gauge.set(1)
        self._ws: ClientConnection | None = None
        self.grid = None if grid is None else GridWatcher(
            cfg, self._venue, grid, {m: cfg.market(m).venue_market for m in self._markets},
            self.apply_ticks)
        self._last_frame_ns = 0
        self._hb_seq = 0
        self._dirty: dict[str, tuple[int, int]] = {}
        """Markets whose book changed in the current batch: (ts_recv_ns, ts_venue_ms) of
        the newest frame that changed it. Published by `_flush_books`."""
        self._flush_handle: asyncio.Handle | None = None
        self._conflated = metrics.INGEST_BOOKS_CONFLATED.labels(venue=self._venue)
        i = cfg.ingest
        self.rewards = None if not i.reward_refresh_ms else RewardPoller(
            self._venue, rewards or source_for(cfg, self._venue, {
                m: cfg.market(m).venue_market for m in self._markets}),
            list(self._markets), self._publish_reward, refresh_s=i.reward_refresh_ms / 1000,
            republish_s=i.reward_republish_ms / 1000)

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then close the websocket and the PUB socket."""
        tasks = [
            asyncio.create_task(self._feed_loop(), name="feed"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._silence_loop(), name="silence"),
        ]
        if self.grid is not None:
            tasks.append(asyncio.create_task(self.grid.run(), name="grid"))
        if self.rewards is not None:
            tasks.append(asyncio.create_task(self.rewards.run(), name="rewards"))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            await reap(stopper, *tasks, grace_s=STOP_GRACE_S, what=f"ingest-{self._venue}")
            if self._flush_handle is not None:
                self._flush_handle.cancel()
            self._sock.close(linger=0)
            if self._auth is not None:
                self._auth.stop()

    # --- websocket ---------------------------------------------------------------------------

    async def _feed_loop(self) -> None:
        async with wsconnect.connections(
                self._feed.url(), what="market websocket", extra={"venue": self._venue},
                headers=self._feed.connect_headers, rng=self._rng, reconnects=self._reconnects,
                on_refused=self._feed.connect_failed,
                open_timeout=10, max_size=16 * 2**20, compression=None) as conns:
            async for ws in conns:
                self._ws = ws
                self._last_frame_ns = self._clock_ns()
                pinger = asyncio.create_task(self._ping_loop(ws), name="ping")
                try:
                    for text in self._feed.subscribe_messages():
                        await ws.send(text)
                    log.info("subscribed to %s", self._feed.url(), extra={"venue": self._venue})
                    if self.grid is not None:
                        self.grid.request()  # the grid may have changed while we were away
                    async for frame in ws:
                        ts_recv_ns = self._clock_ns()
                        self._last_frame_ns = ts_recv_ns
                        await self.on_frame(frame, ts_recv_ns)
                except ConnectionClosed as exc:
                    log.warning("market websocket closed: %s", exc, extra={"venue": self._venue})
                finally:
                    self._ws = None
                    await reap(pinger)
                await self.mark_all_stale("disconnected")

    async def _ping_loop(self, ws: ClientConnection) -> None:
        interval = self._cfg.ingest.ping_interval_ms / 1000
        text = self._feed.ping_message()
        if not text:
            return
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(interval)
                await ws.send(text)

    async def _silence_loop(self) -> None:
        timeout_ns = self._cfg.ingest.silence_timeout_ms * 1_000_000
        period = min(self._cfg.ingest.silence_timeout_ms / 4000, 1.0)
        while True:
            await asyncio.sleep(period)
            ws = self._ws
            if ws is not None and self._clock_ns() - self._last_frame_ns > timeout_ns:
                log.warning("market websocket silent; reconnecting", extra={"venue": self._venue})
                await self.mark_all_stale("silent")
                self._last_frame_ns = self._clock_ns()
                await ws.close()

    # --- frames -> books -> bus -------------------------------------------------------------

    async def on_frame(self, frame: str | bytes, ts_recv_ns: int) -> None:
        """Apply one frame to the books and publish what changed."""
        updates, bad = self._feed.parse(frame)
        if bad:
            self._dropped.inc(bad)
            log.debug(  # drop() warned once per field; a flood must not flood the log
                "dropped %d malformed market message(s): %.200s", bad, frame,
                extra={"venue": self._venue},
            )
        for update in updates:
            match update:
                case BookReplace(market=m):
                    if update.tick:
                        self._tick[m] = update.tick
                    if update.min_size:
                        self._min_size[m] = update.min_size
                    self._books[m].replace(update.bids, update.asks)
                    self._book_changed(m, ts_recv_ns, update.ts_venue_ms)
                    if not self._fresh[m]:
                        await self._set_fresh(m)
                case LevelChanges(market=m):
                    book = self._books[m]
                    applied = False
                    for ch in update.changes:
                        applied = book.set_level(ch.side, ch.price, ch.size) or applied
                    if applied:
                        self._book_changed(m, ts_recv_ns, update.ts_venue_ms)
                case TickChanged(market=m):
                    self._tick[m] = update.tick
                    self._invalidate(m)
                    await self._set_stale(m, "tick_size_change")
                case TradeSeen(market=m):
                    msg = TradePrint(
                        venue=self._venue, market=m, ts_recv_ns=ts_recv_ns,
                        ts_venue_ms=update.ts_venue_ms, price=update.price,
                        size=update.size, side=update.side,
                    )
                    self._flush_market(m)
                    await self._send(self._topics[m], self._codec.encode(msg))
                case MarketClosed(market=m):
                    self._invalidate(m)
                    await self._set_stale(m, update.reason)
                case Resubscribe(market=m):
                    self._invalidate(m)
                    self._gaps.inc()
                    log.warning("book invalid (%s): resubscribing", update.reason,
                                extra={"venue": self._venue, "market": m})
                    await self._set_stale(m, update.reason)
                    ws = self._ws
                    if ws is not None:
                        with contextlib.suppress(ConnectionClosed):
                            for text in update.messages:
                                await ws.send(text)

    async def apply_ticks(self, ticks: dict[str, int]) -> None:
        """Adopt price grids read from the venue; republish a valid book whose tick changed."""
        for market, tick in ticks.items():
            if market not in self._tick or tick == self._tick[market]:
                continue
            log.warning("price grid of %s changed: tick %d -> %d pips", market,
                        self._tick[market], tick, extra={"venue": self._venue, "market": market})
            self._tick[market] = tick
            if self._books[market].valid:
                self._flush_market(market)
                self._publish_book(market, self._clock_ns(), 0)

    async def _send(self, topic: bytes, payload: bytes) -> None:
        """Publish on the md PUB: NOBLOCK on the shadow (a PUB drops at its HWM rather than
        block, so this practically never falls back to the awaited send)."""
        try:
            hotloop.send_pub(self._sock_now, topic, payload)
        except zmq.Again:
            await bus.send_pub(self._sock, topic, payload)

    def _book_changed(self, market: str, ts_recv_ns: int, ts_venue_ms: int) -> None:
        """Mark `market`'s book for publishing once the frames already received are applied.

        The flush is a `call_soon` callback: the feed loop reads frames the websocket has
        buffered without suspending, so the callback runs when the buffer is empty."""
        if market in self._dirty:
            self._conflated.inc()
        self._dirty[market] = (ts_recv_ns, ts_venue_ms)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_books)

    def _flush_books(self) -> None:
        """Publish the newest book of every market changed since the last flush."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, {}
        for market, (ts_recv_ns, ts_venue_ms) in dirty.items():
            self._publish_book(market, ts_recv_ns, ts_venue_ms)

    def _flush_market(self, market: str) -> None:
        """Publish `market`'s pending book now, ahead of another message on its topic."""
        pending = self._dirty.pop(market, None)
        if pending is not None:
            self._publish_book(market, *pending)

    def _invalidate(self, market: str) -> None:
        """Drop `market`'s book, publishing any pending change first (as it was, valid)."""
        self._flush_market(market)
        self._books[market].invalidate()

    def _publish_book(self, market: str, ts_recv_ns: int, ts_venue_ms: int) -> None:
        bids, asks = self._books[market].top(self._cfg.ingest.depth)
        self._seq[market] += 1
        snap = BookSnapshot(
            venue=self._venue, market=market, seq=self._seq[market], ts_recv_ns=ts_recv_ns,
            ts_venue_ms=ts_venue_ms, tick=self._tick[market], bids=bids, asks=asks,
            min_size=self._min_size[market],
        )
        # A PUB drops at its high-water mark instead of raising Again, so this NOBLOCK send
        # never has to wait.
        with contextlib.suppress(zmq.Again):
            hotloop.send_pub(self._sock_now, self._topics[market], self._codec.encode(snap))
        self._updates[market].inc()

    async def _set_fresh(self, market: str) -> None:
        self._fresh[market] = True
        self._stale_reason[market] = ""
        self._stale_gauge[market].set(0)
        await self._publish_status(market, stale=False, reason="")

    async def _set_stale(self, market: str, reason: str) -> None:
        self._fresh[market] = False
        self._stale_reason[market] = reason
        self._stale_gauge[market].set(1)
        await self._publish_status(market, stale=True, reason=reason)

    async def mark_all_stale(self, reason: str) -> None:
        """Drop every book and publish every market as stale (disconnect, silence)."""
        for market in self._markets:
            self._invalidate(market)
            await self._set_stale(market, reason)

    async def _publish_reward(self, msg: RewardProgramme) -> None:
        self._flush_market(msg.market)
        await self._send(self._topics[msg.market], self._codec.encode(msg))

    async def _publish_status(self, market: str, *, stale: bool, reason: str) -> None:
        self._flush_market(market)
        msg = MarketStatus(
            venue=self._venue, market=market, ts_ns=time.time_ns(), stale=stale, reason=reason
        )
        await self._send(self._topics[market], self._codec.encode(msg))

    async def _heartbeat_loop(self) -> None:
        """Heartbeat, and repeat every market's feed status (stale or fresh): a late
        subscriber learns it, and a flip its PUB dropped at the HWM is repaired within one
        interval (a lost stale=False would otherwise keep that market's quotes pulled)."""
        topic = topics.heartbeat("ingest")
        markets = tuple(self._markets)
        while True:
            self._hb_seq += 1
            hb = Heartbeat(
                sender=self._name, role="ingest", seq=self._hb_seq, ts_ns=time.time_ns(),
                markets=markets,
            )
            await self._send(topic, self._codec.encode(hb))
            for market in self._markets:
                fresh = self._fresh[market]
                await self._publish_status(
                    market, stale=not fresh, reason="" if fresh else self._stale_reason[market]
                )
            await asyncio.sleep(self._cfg.ingest.heartbeat_interval_ms / 1000)
