"""What risk remembers of the quote intents it receives, per market, apart from the limits:
quoter liveness, the intent rate bucket, and the ladder it last forwarded.

The forwarded ladder serves three checks: duplicate suppression (`[risk]
duplicate_window_ms`), the event's self-cross check (the live quotes of the other markets
of an event, limits.EventContext), and a quoter timeout's cancel (sent once, until the
quoter is heard again). A kill, a halt or a flatten forgets it (`forget`), so the next
intent goes out even if it equals the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from common.messages import Level
from services.risk import limits

__all__ = ["Intake", "Ladder"]

log = logging.getLogger(__name__)

Ladder = tuple[tuple[Level, ...], ...]
"""(bids, asks, exit bids, exit asks) as forwarded to the executor."""


class Intake:
    """Per-market intake state; every time is monotonic ns, passed in."""

    def __init__(self, markets: Iterable[str], start_ns: int) -> None:
        self.quoter_seen_ns: dict[str, int] = {m: start_ns for m in markets}
        self.quoter_cancelled: set[str] = set()
        """Markets whose quotes were cancelled for a silent quoter (until it is heard)."""
        self.buckets: dict[str, tuple[float, int]] = {}
        """(tokens, refill time) of each throttled market's token bucket."""
        self.live: dict[str, Ladder] = {}
        """The ladder last forwarded per market."""
        self.live_ns: dict[str, int] = {}

    def seen(self, market: str, now_ns: int) -> None:
        """A quoter spoke for the market (an intent or a heartbeat)."""
        if market in self.quoter_seen_ns:
            self.quoter_seen_ns[market] = now_ns
            if market in self.quoter_cancelled:
                self.quoter_cancelled.discard(market)
                log.info("quoter back", extra={"market": market})

    def silent(self, now_ns: int, timeout_ns: int) -> list[str]:
        """Markets whose quoter has been silent past the timeout, each reported once; their
        forwarded ladders are forgotten."""
        out = [m for m, seen in self.quoter_seen_ns.items()
               if m not in self.quoter_cancelled and now_ns - seen > timeout_ns]
        for market in out:
            self.quoter_cancelled.add(market)
            self.live.pop(market, None)
        return out

    def throttled(self, market: str, now_ns: int, rate_per_s: float, burst: int) -> bool:
        """Take a token from the market's bucket; True when there was none. A rate of 0
        (the default) never throttles and keeps no bucket."""
        if rate_per_s <= 0:
            return False
        tokens, last = self.buckets.get(market, (float(burst), now_ns))
        allowed, tokens, last = limits.throttle(tokens, last, now_ns, rate_per_s, burst)
        self.buckets[market] = (tokens, last)
        return not allowed

    def duplicate(self, market: str, ladder: Ladder, now_ns: int, window_ms: int) -> bool:
        """True if `ladder` equals the one forwarded within the last `window_ms` (0: off)."""
        window = window_ms * 1_000_000
        return bool(window) and self.live.get(market) == ladder and \
            now_ns - self.live_ns.get(market, 0) < window

    def forwarded(self, market: str, ladder: Ladder, now_ns: int) -> None:
        """Remember the ladder just forwarded."""
        self.live[market] = ladder
        self.live_ns[market] = now_ns

    def forget(self, market: str | None = None) -> None:
        """Forget the forwarded ladder of one market, or of every market (None)."""
        if market is None:
            self.live.clear()
        else:
            self.live.pop(market, None)

    def event_context(self, others: Iterable[str], other_net: int) -> limits.EventContext:
        """The live quotes of the other markets of an event, and their net position."""
        others = tuple(others)
        if not others:
            return limits.EventContext()
        empty: Ladder = ((), ())
        bids = tuple(lv.price for m in others for lv in self.live.get(m, empty)[0])
        asks = tuple(lv.price for m in others for lv in self.live.get(m, empty)[1])
        return limits.EventContext(other_net=other_net, bids=bids, asks=asks)
