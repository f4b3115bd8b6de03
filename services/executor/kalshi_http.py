"""Kalshi's REST transport: RSA-PSS signed requests through httpx, paid from token buckets.

Writes and reads have their own buckets sized from config (`[venues.kalshi]`); cancels
are `urgent` and may spend the reserve placements never touch. A 429 backs the bucket
off (Kalshi sends no Retry-After: the pause grows until the next success). Tokens that
`reserve` set aside for a market's next placements and amends are spent first (`owed`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import httpx

from common import metrics
from common.config import KalshiConfig
from common.errors import VenueError
from common.kalshi_auth import KalshiSigner, path_of
from services.executor.ratelimit import Prepaid, TokenBucket

__all__ = ["KalshiHttp"]

log = logging.getLogger(__name__)


class KalshiHttp:
    """Signed, rate-limited requests to one Kalshi REST base URL for one API key."""

    venue = "kalshi"

    def __init__(self, k: KalshiConfig, signer: KalshiSigner) -> None:
        self._k = k
        self.signer = signer
        self._base = k.rest_url.rstrip("/")
        self._base_path = path_of(self._base)
        self._http = httpx.AsyncClient(timeout=k.request_timeout_ms / 1000)
        signer.clock.watch_async(self._http)  # every answer dates Kalshi's clock
        self.write = TokenBucket(k.write_tokens_per_s, k.write_tokens_per_s * k.write_burst_s)
        self._prepaid = Prepaid(self.write)
        """Tokens `reserve` took ahead for a market's next placements and amends."""
        self.read = TokenBucket(k.read_tokens_per_s, k.read_tokens_per_s)
        self.sign_ns: deque[int] = deque(maxlen=10_000)
        """How long signing each request took (ns), newest last."""
        self._limited = metrics.VENUE_RATE_LIMITED.labels(venue=self.venue)
        self._waits = metrics.RATE_LIMIT_WAITS.labels(venue=self.venue)
        self._wait_s = metrics.RATE_LIMIT_WAIT_SECONDS.labels(venue=self.venue)

    async def request(self, method: str, path: str, *, body: Any = None,
                      params: dict[str, Any] | None = None, cost: float | None = None,
                      write: bool = False, urgent: bool = False) -> httpx.Response:
        """One signed request after its rate-limit tokens; raise VenueError if nothing came back."""
        bucket = self.write if write else self.read
        waited = await bucket.take(self._k.read_cost if cost is None else cost, urgent=urgent)
        if waited:
            self._waits.inc()
            self._wait_s.inc(waited)
        t0 = time.perf_counter_ns()
        headers = self.signer.headers(method, self._base_path + path)
        self.sign_ns.append(time.perf_counter_ns() - t0)
        start = time.perf_counter()
        try:
            resp = await self._http.request(method, self._base + path, json=body, params=params,
                                            headers=headers)
        except httpx.HTTPError as exc:
            raise VenueError(f"{method} {path}: {type(exc).__name__}", definitive=False) from None
        finally:
            metrics.VENUE_LATENCY.labels(venue=self.venue, endpoint=path.split("/")[1]).observe(
                time.perf_counter() - start)
        if resp.status_code == 429:
            self._limited.inc()
            pause = bucket.limited()
            log.warning("kalshi rate limited (429); backing off %.2fs", pause)
        elif resp.status_code < 500:
            bucket.ok()
        return resp

    def owed(self, market: str, cost: float) -> float:
        """What a write for `market` still has to pay after its reserved tokens."""
        return self._prepaid.owed(market, cost)

    def reserve(self, market: str, cost: float) -> float:
        """Set `cost` write tokens aside for `market`'s next writes (ratelimit.Prepaid)."""
        return self._prepaid.reserve(market, cost)

    async def close(self) -> None:
        await self._http.aclose()
