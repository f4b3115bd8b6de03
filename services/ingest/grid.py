"""Keeping a venue's price grids current when the venue does not push grid changes (Kalshi).

A `GridSource` reads the tick of markets from the venue's REST market data. The
`GridWatcher` asks it for every market on each (re)subscribe and every
`[ingest] grid_refresh_ms`, and for one market as soon as the executor reports a
rejected order there (an `OrderEvent` with status `rejected` on `events-<venue>`; a
price off a new grid is refused by the venue). Post-only crosses, balance and
duplicate-id refusals say nothing about the grid and are ignored. Reads are at least
`MIN_GAP_S` apart; requests arriving meanwhile are coalesced into the next read. New
ticks go to the ingest actor, which republishes the book with `BookSnapshot.tick`, so
quoters and the executor re-price at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from common import bus, bus_curve, metrics
from common.config import Config, endpoint
from common.errors import VenueError
from common.messages import EventChannel, OrderEvent, Venue
from common.tasks import reap

__all__ = ["MIN_GAP_S", "NOT_ABOUT_THE_GRID", "GridSource", "GridWatcher", "suggests_grid_change"]

log = logging.getLogger(__name__)

MIN_GAP_S = 0.25
"""Least time between two REST reads of the grid (rejection storms coalesce)."""
NOT_ABOUT_THE_GRID = ("post_only", "post only", "balance", "duplicate")
"""Rejection reasons (lower case substrings) that do not suggest a changed price grid."""


class GridSource(Protocol):
    """Reads market price grids from a venue's REST API."""

    async def ticks(self, tickers: Sequence[str]) -> tuple[dict[str, int], int]:
        """(venue market -> tick in pips, how many markets were malformed); VenueError."""
        ...

    async def close(self) -> None: ...


def suggests_grid_change(ev: OrderEvent) -> bool:
    """True for a rejected order whose reason could be a price off the market's grid."""
    reason = ev.reason.lower()
    return ev.status == "rejected" and not any(w in reason for w in NOT_ABOUT_THE_GRID)


class GridWatcher:
    """Decides when to read the grid, reads it, and hands new ticks to `apply`."""

    def __init__(self, cfg: Config, venue: Venue, source: GridSource,
                 venue_markets: dict[str, str],
                 apply: Callable[[dict[str, int]], Awaitable[None]]) -> None:
        """`venue_markets`: pmm market id -> venue market (ticker) of every market served."""
        self._cfg = cfg
        self._venue = venue
        self._source = source
        self._tickers = venue_markets
        self._apply = apply
        self._wanted: set[str] = set()
        self._wake = asyncio.Event()
        self._codec: bus.Codec[EventChannel] = bus.Codec(
            EventChannel, process=f"ingest-{venue}", channel="events")
        self._dropped = metrics.VENUE_MESSAGES_DROPPED.labels(venue=venue, channel="rest")
        self.reads = 0

    def request(self, markets: Sequence[str] | None = None) -> None:
        """Read the grid of `markets` (None: every market) as soon as allowed."""
        self._wanted.update(self._tickers if markets is None else
                            [m for m in markets if m in self._tickers])
        self._wake.set()

    async def run(self) -> None:
        """Read on request and on the timer; follow the executor's rejections."""
        sock = bus.sub([endpoint(self._cfg, "events", self._venue)],
                       [f"ev.{self._venue}.".encode()], hwm=self._cfg.bus.recv_hwm,
                       curve=bus_curve.client(self._cfg, f"ingest-{self._venue}",
                                              [("events", self._venue)]))
        events = asyncio.create_task(self._events_loop(sock), name="grid-events")
        try:
            await self._read_loop()
        finally:
            await reap(events)
            if not events.cancelled() and events.exception() is not None:
                log.error("the grid's events loop had died: %r", events.exception())
            sock.close(linger=0)
            await self._source.close()

    async def _events_loop(self, sock: Any) -> None:
        while True:
            payload = bus.payload_of(await sock.recv_multipart())
            msg = self._codec.decode(payload) if payload is not None else None
            if isinstance(msg, OrderEvent) and msg.market in self._tickers \
                    and suggests_grid_change(msg):
                self.request([msg.market])

    async def _read_loop(self) -> None:
        period = self._cfg.ingest.grid_refresh_ms / 1000
        last = 0.0
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), period)
            if not self._wake.is_set():
                self._wanted.update(self._tickers)  # the slow timer: every market
            await asyncio.sleep(max(0.0, last + MIN_GAP_S - time.monotonic()))
            self._wake.clear()
            wanted, self._wanted = sorted(self._wanted), set()
            if not wanted:
                continue
            last = time.monotonic()
            await self.read(wanted)

    async def read(self, markets: Sequence[str]) -> None:
        """Read the grid of `markets` once and apply what came back; log a failure."""
        by_ticker = {self._tickers[m]: m for m in markets}
        try:
            ticks, bad = await self._source.ticks(list(by_ticker))
        except VenueError as exc:
            log.warning("price grid read failed (%s); the next (re)subscribe, rejection or "
                        "refresh retries", exc, extra={"venue": self._venue})
            self._wanted.update(markets)  # keep them for the next read
            return
        finally:
            self.reads += 1
        if bad:
            self._dropped.inc(bad)
            log.warning("%d market(s) with an unreadable price grid skipped", bad,
                        extra={"venue": self._venue})
        await self._apply({by_ticker[t]: tick for t, tick in ticks.items()
                           if t in by_ticker and tick > 0})
