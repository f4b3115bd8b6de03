"""A token bucket per venue budget, with cancels ahead of placements and 429 back-off.

Placements may only spend tokens above a reserve kept for cancels, so a burst of
placements can never leave a cancel waiting; cancels (`urgent`) may spend down to
zero. A placement costing more than the bucket holds above its reserve waits for a full
bucket and then pays its whole cost: the venue charges every token, so the bucket does too.
A 429 from the venue empties the bucket and blocks it for the venue's Retry-After where it
sends one (Polymarket), else for an exponentially growing pause reset by the next success
(Kalshi sends no Retry-After).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

__all__ = [
    "CANCEL_RESERVE", "MAX_PAUSE_S", "Prepaid", "RetryAfterHook", "TokenBucket", "placement_batch",
    "retry_after_s", "tag_retry_after",
]

CANCEL_RESERVE = 0.25
"""Share of the bucket placements may not touch."""
MAX_PAUSE_S = 5.0


class TokenBucket:
    """`rate` tokens per second up to `capacity`; `take` waits until a cost is affordable."""

    def __init__(self, rate: float, capacity: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.reserve = self.capacity * CANCEL_RESERVE
        self.tokens = self.capacity
        self._clock = clock
        self._stamp = clock()
        self._blocked_until = 0.0
        self._pause = 0.0
        self.rate_limited = 0

    def _refill(self) -> float:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def wait_needed(self, cost: float, *, urgent: bool) -> float:
        """Seconds until `cost` is affordable (0 if now); never more than one refill of it."""
        now = self._refill()
        floor = 0.0 if urgent else self.reserve
        need = min(cost + floor, self.capacity)
        blocked = max(0.0, self._blocked_until - now)
        short = need - self.tokens
        return max(blocked, short / self.rate if short > 0 else 0.0)

    def try_take(self, cost: float, *, urgent: bool = False) -> float:
        """Spend `cost` now and return 0 if it is affordable; else spend nothing and return
        the seconds until it would be."""
        delay = self.wait_needed(cost, urgent=urgent)
        if delay <= 0:
            self.tokens -= cost
        return delay

    async def take(self, cost: float, *, urgent: bool = False) -> float:
        """Wait for and spend `cost` tokens; return the seconds waited."""
        waited = 0.0
        while cost > 0:
            delay = self.try_take(cost, urgent=urgent)
            if delay <= 0:
                break
            await asyncio.sleep(delay)
            waited += delay
        return waited

    def limited(self, retry_after_s: float | None = None) -> float:
        """The venue said 429: empty the bucket and pause for `retry_after_s` if the venue
        said how long, else for a doubling pause; return the pause in seconds."""
        self._refill()
        self.rate_limited += 1
        self._pause = min(MAX_PAUSE_S, self._pause * 2 if self._pause else 0.1)
        pause = self._pause if retry_after_s is None else min(MAX_PAUSE_S, retry_after_s)
        self.tokens = min(self.tokens, 0.0)
        self._blocked_until = max(self._blocked_until, self._clock() + pause)
        return pause

    def ok(self) -> None:
        """A request went through: the next 429 starts the back-off afresh."""
        self._pause = 0.0


class Prepaid:
    """Tokens reserved from a bucket for a market's next requests, spent down as they go.

    The executor reserves a whole ladder's cost before sending any of it (apply.affordable),
    so markets cannot race each other for the same tokens; each request then pays the bucket
    only what the market's remaining credit does not cover. A new reservation replaces any
    credit left over (requests skipped after reserving): erring towards paying twice, never
    towards spending tokens the bucket did not grant.
    """

    def __init__(self, bucket: TokenBucket, *, urgent: bool = False) -> None:
        self.bucket = bucket
        self._urgent = urgent
        self._credit: dict[str, float] = {}

    def reserve(self, market: str, cost: float) -> float:
        """Take `cost` from the bucket as `market`'s credit and return 0, or take nothing and
        return the seconds until it would be affordable."""
        wait = self.bucket.try_take(cost, urgent=self._urgent)
        if wait <= 0:
            self._credit[market] = cost
        return wait

    def owed(self, market: str, cost: float) -> float:
        """What a request of `cost` for `market` still has to take from the bucket."""
        credit = self._credit.pop(market, 0.0)
        if credit > cost:
            self._credit[market] = credit - cost
        return max(0.0, cost - credit)

    def credit(self, market: str) -> float:
        """The tokens `market` still has reserved."""
        return self._credit.get(market, 0.0)


def placement_batch(max_batch: int, capacity: float, order_cost: float) -> int:
    """Orders per batched placement that the bucket pays for above its cancel reserve
    (at least 1): a venue that bills a batch per item refuses, every time, a batch costing
    more than its bucket holds (Kalshi Basic: 100 tokens, 10 per order)."""
    if order_cost <= 0:
        return max_batch
    return max(1, min(max_batch, int(capacity * (1 - CANCEL_RESERVE) // order_cost)))


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds; an HTTP date is not used by the
    venues); None if absent or unreadable."""
    try:
        seconds = float(value) if value else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class RetryAfterHook:
    """Keeps the Retry-After of the last response each thread received through an httpx
    client (install it as a response event hook), so an SDK that raises on 429 without the
    headers can still be honoured: read it in the same thread right after the call."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, response: httpx.Response) -> None:
        self._local.value = (retry_after_s(response.headers.get("Retry-After"))
                             if response.status_code == 429 else None)

    def install(self, client: httpx.Client) -> None:
        hooks: list[Any] = client.event_hooks.get("response", [])
        if self not in hooks:
            client.event_hooks = {**client.event_hooks, "response": [*hooks, self]}

    def take(self) -> float | None:
        """This thread's last Retry-After (once)."""
        value: float | None = getattr(self._local, "value", None)
        self._local.value = None
        return value


def tag_retry_after(exc: BaseException, hook: RetryAfterHook) -> None:
    """Attach this thread's last Retry-After to `exc` as `retry_after_s`."""
    if getattr(exc, "retry_after_s", None) is None:
        exc.retry_after_s = hook.take()  # type: ignore[attr-defined]
