"""Our estimate of a venue's clock, for the timestamps the venue checks.

Both venues refuse a signed request whose timestamp is too far from their own clock
(Kalshi's `KALSHI-ACCESS-TIMESTAMP`, Polymarket's `POLY_TIMESTAMP` on L1 and L2 headers).
A machine whose clock drifted would then be refused everything, cancels included. So
whatever signs reads the time from a `VenueClock`: our wall clock plus the offset last
measured from the venue's own statement of the time, the `Date` header every HTTP answer
carries (RFC 9110; one-second resolution) or an explicit time endpoint.

One reading says: at some local instant between sending and receiving, the venue's clock
was inside [d, d + resolution). That bounds the offset to an interval. The offset moves only
when a reading's interval excludes the one in use, to the interval's middle, so a clock in
step stays at offset 0 (no jitter from the one-second resolution) and a skewed one is
followed to within half a second plus half the round trip. A move of more than
`CONFIRM_MS` needs a second reading that agrees (their intervals overlap): one stray
`Date` (a proxy's, a cached answer's) must not move every signature off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from common import metrics

__all__ = ["VenueClock", "wall_ms"]

_SENT = "pmm_sent_ms"
"""The httpx request extension the hooks time a request with."""

log = logging.getLogger(__name__)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class VenueClock:
    """A venue's time as we best know it: `now_ms()`; fed by `observe_*`."""

    WARN_MS = 1000
    """An offset beyond this is logged: the machine's clock should be fixed (NTP)."""
    CONFIRM_MS = 2000
    """A move larger than this waits for a second reading that agrees."""

    def __init__(self, venue: str, *, wall: Callable[[], int] = wall_ms) -> None:
        self.venue = venue
        self._wall = wall
        self.offset_ms = 0
        """Venue clock minus ours, in ms."""
        self._pending: tuple[int, int] | None = None
        """The offset interval of a large move seen once, waiting for a second reading."""
        self._gauge = metrics.VENUE_CLOCK_OFFSET.labels(venue=venue)

    def now_ms(self) -> int:
        """The venue's time now, by our estimate (unix ms)."""
        return self._wall() + self.offset_ms

    def now_s(self) -> int:
        return self.now_ms() // 1000

    def observe(self, venue_ms: int, resolution_ms: int, sent_ms: int, received_ms: int) -> None:
        """The venue said its time was in [venue_ms, venue_ms + resolution_ms) at some
        local instant in [sent_ms, received_ms]; adopt a new offset only if this excludes
        the one in use."""
        low = venue_ms - received_ms
        high = venue_ms + resolution_ms - sent_ms
        if low <= self.offset_ms <= high:
            self._pending = None
            return
        if abs((low + high) // 2 - self.offset_ms) > self.CONFIRM_MS:
            pending, self._pending = self._pending, (low, high)
            if pending is None or pending[1] < low or high < pending[0]:
                return  # the first reading of a large move, or one that disagrees
            low, high = max(low, pending[0]), min(high, pending[1])
            self._pending = None
        old, self.offset_ms = self.offset_ms, (low + high) // 2
        self._gauge.set(self.offset_ms / 1000)
        if abs(self.offset_ms) >= self.WARN_MS or abs(old) >= self.WARN_MS:
            log.warning("%s's clock reads %+.1f s from ours (was %+.1f s): signing with its "
                        "time. Fix this machine's clock (NTP)", self.venue,
                        self.offset_ms / 1000, old / 1000, extra={"venue": self.venue})

    def observe_date(self, header: str | None, sent_ms: int, received_ms: int) -> None:
        """Read an HTTP `Date` header (one-second resolution); a missing or unreadable one
        is ignored."""
        if not header:
            return
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if when.tzinfo is None:
            return
        self.observe(int(when.timestamp()) * 1000, 1000, sent_ms, received_ms)

    def watch(self, client: httpx.Client) -> None:
        """Read the `Date` of every answer `client` (a blocking client: the Polymarket
        SDK's, module-global) receives; replaces the hooks of a clock that watched it
        before."""
        mine = {k: [h for h in v if not isinstance(getattr(h, "__self__", None), VenueClock)]
                for k, v in client.event_hooks.items()}
        client.event_hooks = self._add_hooks(mine, self._sent, self._answered)

    def watch_async(self, client: httpx.AsyncClient) -> None:
        """Read the `Date` of every answer the asyncio `client` receives."""

        async def sent(request: httpx.Request) -> None:
            self._sent(request)

        async def answered(response: httpx.Response) -> None:
            self._answered(response)

        client.event_hooks = self._add_hooks(client.event_hooks, sent, answered)

    @staticmethod
    def _add_hooks(hooks: dict[str, list[Callable[..., Any]]],
                   sent: Callable[[httpx.Request], Any],
                   answered: Callable[[httpx.Response], Any]) -> dict[str, list[Any]]:
        return {**hooks, "request": [*hooks.get("request", []), sent],
                "response": [*hooks.get("response", []), answered]}

    def _sent(self, request: httpx.Request) -> None:
        request.extensions[_SENT] = self._wall()

    def _answered(self, response: httpx.Response) -> None:
        sent = response.request.extensions.get(_SENT)
        now = self._wall()
        self.observe_date(response.headers.get("date"),
                          sent if isinstance(sent, int) else now - 1000, now)

    def observe_rejection(self, exc: BaseException) -> None:
        """A refused websocket handshake (websockets' InvalidStatus) still says the time."""
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            now = self._wall()
            self.observe_date(headers.get("Date"), now - 1000, now)
