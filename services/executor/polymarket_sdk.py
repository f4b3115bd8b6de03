"""Polymarket's blocking SDK under asyncio: calls in worker threads, timed, rate limits obeyed.

The SDK (py_clob_client_v2) blocks on the network, so every call runs in the executor's
ThreadPoolExecutor and the event loop never waits. A 429 backs the budget's token bucket
off for the venue's Retry-After, which the SDK's exception drops: a response hook keeps
it per worker thread (ratelimit.RetryAfterHook) and the exception is tagged with it.

A 401 on an L2 (API-key) call means the venue no longer knows our key (it was revoked,
or the venue lost it): the call fails as it would anyway, and the next `call` first runs
the adapter's `reauthenticate` (create-or-derive again, L1-signed), at most once per
`REAUTH_MIN_INTERVAL_S` (a cancel may force it sooner), so the executor recovers instead
of failing every call for ever. Each derivation starts a new key generation; a 401 to a
call sent under an older generation is not counted, so calls still in flight when the
key was renewed do not ask for another derivation.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from py_clob_client_v2.exceptions import PolyException
from py_clob_client_v2.http_helpers import helpers as sdk_http

from common import metrics
from services.executor.ratelimit import RetryAfterHook, TokenBucket, tag_retry_after

__all__ = ["REAUTH_MIN_INTERVAL_S", "RETRY_AFTER", "SdkCalls", "configure_sdk_http", "sdk_http"]

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER = RetryAfterHook()
"""Retry-After of the SDK's last 429 per worker thread (the SDK's exception drops headers)."""
REAUTH_MIN_INTERVAL_S = 5.0
"""A burst of 401s (every worker at once) derives the key once; a venue that keeps
refusing the new key is asked again no more often than this."""


def configure_sdk_http(timeout_ms: int) -> None:
    """Set the SDK's (module-global) HTTP client's timeout and hook its 429 answers."""
    sdk_http._http_client.timeout = httpx.Timeout(timeout_ms / 1000)
    RETRY_AFTER.install(sdk_http._http_client)


class SdkCalls:
    """Run SDK calls in `pool`, timing each; pay and settle token buckets around them."""

    venue = "polymarket"

    def __init__(self, pool: ThreadPoolExecutor,
                 reauthenticate: Callable[[], Awaitable[None]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = pool
        self._limited = metrics.VENUE_RATE_LIMITED.labels(venue=self.venue)
        self._reauthenticate = reauthenticate
        self._clock = clock
        self.key_refused = False
        """Set (from any thread) when the venue answered 401: our API key is unknown there."""
        self.key_gen = 0
        """Successful derivations so far: which key a call was sent under."""
        self._reauth_at = -REAUTH_MIN_INTERVAL_S
        self._reauth_lock = asyncio.Lock()

    def _tagged(self, gen: int, fn: Callable[..., T], *args: Any) -> T:
        """Call `fn` in a worker thread; a venue error leaves with that thread's
        Retry-After, and a 401 is noted for `reauthenticate`."""
        try:
            return fn(*args)
        except PolyException as exc:
            tag_retry_after(exc, RETRY_AFTER)
            self.note_refused(exc, gen)
            raise

    def note_refused(self, exc: Exception, gen: int | None = None) -> None:
        """Note a 401 to a call sent under key generation `gen` (None: the current one);
        one attribute write, callable from a worker thread."""
        if getattr(exc, "status_code", None) == 401 and (gen is None or gen == self.key_gen):
            self.key_refused = True

    async def call(self, endpoint: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, its latency observed under `endpoint`; a 401
        noted since the last call re-derives the API key first (not while a derivation
        runs: that one's own call comes through here)."""
        if self.key_refused and not self._reauth_lock.locked():
            await self.reauthenticate()
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            return await loop.run_in_executor(
                self._pool, functools.partial(self._tagged, self.key_gen, fn, *args))
        finally:
            metrics.VENUE_LATENCY.labels(venue=self.venue, endpoint=endpoint).observe(
                time.perf_counter() - start
            )

    async def reauthenticate(self, *, force: bool = False) -> bool:
        """Run the adapter's key re-derivation once for a burst of 401s (see module doc);
        `force` skips the interval (a cancel must not wait). Its own failure is logged and
        retried later, never raised. True if a new key is in use."""
        async with self._reauth_lock:
            if not self.key_refused or self._reauthenticate is None:
                return False
            if not force and self._clock() - self._reauth_at < REAUTH_MIN_INTERVAL_S:
                return False
            self._reauth_at = self._clock()
            metrics.VENUE_REAUTH.labels(venue=self.venue).inc()
            try:
                await self._reauthenticate()
            except Exception as exc:  # noqa: BLE001 - logged; the next 401 asks again
                log.error("polymarket API key re-derivation failed: %s. Check the signing "
                          "key and the machine's clock (L1 auth is time-stamped)", exc)
                return False
            self.key_gen += 1
            self.key_refused = False
            return True

    async def spend(self, bucket: TokenBucket, cost: float) -> None:
        """Wait until `bucket` can pay `cost` (at least one token); count the wait."""
        waited = await bucket.take(max(1, cost), urgent=True)
        if waited:
            metrics.RATE_LIMIT_WAITS.labels(venue=self.venue).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(venue=self.venue).inc(waited)

    def note_status(self, bucket: TokenBucket, exc: Exception | None) -> None:
        """Settle `bucket` after a call: a 429 backs it off, a success (None) resets it."""
        if exc is not None:
            self.note_refused(exc)
        if exc is not None and getattr(exc, "status_code", None) == 429:
            self._limited.inc()
            tag_retry_after(exc, RETRY_AFTER)  # no-op unless in the thread that saw the 429
            log.warning("polymarket rate limited (429); backing off %.2fs",
                        bucket.limited(getattr(exc, "retry_after_s", None)))
        elif exc is None:
            bucket.ok()
