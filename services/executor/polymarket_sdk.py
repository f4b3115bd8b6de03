"""Polymarket's blocking SDK under asyncio: calls in worker threads, timed, rate limits obeyed.

The SDK (py_clob_client_v2) blocks on the network, so every call runs in the executor's
ThreadPoolExecutor and the event loop never waits. A 429 backs the budget's token bucket
off for the venue's Retry-After, which the SDK's exception drops: a response hook keeps
it per worker thread (ratelimit.RetryAfterHook) and the exception is tagged with it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from py_clob_client_v2.exceptions import PolyException
from py_clob_client_v2.http_helpers import helpers as sdk_http

from common import metrics
from services.executor.ratelimit import RetryAfterHook, TokenBucket, tag_retry_after

__all__ = ["RETRY_AFTER", "SdkCalls", "configure_sdk_http"]

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER = RetryAfterHook()
"""Retry-After of the SDK's last 429 per worker thread (the SDK's exception drops headers)."""


def configure_sdk_http(timeout_ms: int) -> None:
    """Set the SDK's (module-global) HTTP client's timeout and hook its 429 answers."""
    sdk_http._http_client.timeout = httpx.Timeout(timeout_ms / 1000)
    RETRY_AFTER.install(sdk_http._http_client)


def _tagged(fn: Callable[..., T], *args: Any) -> T:
    """Call `fn` in a worker thread; a venue error leaves with that thread's Retry-After."""
    try:
        return fn(*args)
    except PolyException as exc:
        tag_retry_after(exc, RETRY_AFTER)
        raise


class SdkCalls:
    """Run SDK calls in `pool`, timing each; pay and settle token buckets around them."""

    venue = "polymarket"

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._limited = metrics.VENUE_RATE_LIMITED.labels(venue=self.venue)

    async def call(self, endpoint: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, its latency observed under `endpoint`."""
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(_tagged, fn, *args))
        finally:
            metrics.VENUE_LATENCY.labels(venue=self.venue, endpoint=endpoint).observe(
                time.perf_counter() - start
            )

    async def spend(self, bucket: TokenBucket, cost: float) -> None:
        """Wait until `bucket` can pay `cost` (at least one token); count the wait."""
        waited = await bucket.take(max(1, cost), urgent=True)
        if waited:
            metrics.RATE_LIMIT_WAITS.labels(venue=self.venue).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(venue=self.venue).inc(waited)

    def note_status(self, bucket: TokenBucket, exc: Exception | None) -> None:
        """Settle `bucket` after a call: a 429 backs it off, a success (None) resets it."""
        if exc is not None and getattr(exc, "status_code", None) == 429:
            self._limited.inc()
            tag_retry_after(exc, RETRY_AFTER)  # no-op unless in the thread that saw the 429
            log.warning("polymarket rate limited (429); backing off %.2fs",
                        bucket.limited(getattr(exc, "retry_after_s", None)))
        elif exc is None:
            bucket.ok()
