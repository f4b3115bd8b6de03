"""Fault injection for the venue simulator: `POST /_sim/fault {"kind": ..., "count": n}`.

Kinds (each armed for the next `count` occurrences unless noted):
- `http_429`: trading requests answer 429 without acting (rate-limit burst).
- `http_500`: trading requests answer 500 without acting.
- `http_500_after`: trading requests act, then answer 500 (an ambiguous outcome).
- `slow`: trading requests are delayed by `ms` first.
- `post_only_reject`: order placements (and Kalshi amends) are refused as crossing
  post-only orders.
- `seq_gap`: the next Kalshi book delta (to one subscription) is not sent; its seq is used.
- `drop_ws`: every websocket is closed now (count ignored).
- `tick_size_change`: market `market` (condition id / ticker) switches to tick `tick` now
  (Polymarket: a `tick_size_change` message; Kalshi: only REST `price_ranges` change).
- `trade_failed`: the next Polymarket trades with an external party go MATCHED ->
  RETRYING -> FAILED (ghost fills) and are undone (lifecycle.py).
- `engine_restart`: Polymarket's weekly matching-engine restart, now (count ignored): for
  `ms` (default 3000) every trading request answers 425 Too Early without acting, then for
  `post_only_ms` (default 5000) orders that are not post-only answer 503 `post_only_mode`
  with `retry_after_seconds` and Retry-After (venues.md A8). Kalshi is not affected.
- `clock_skew`: from now on the venue's clock reads `ms` (may be negative) off ours, as a
  venue on another machine would (count ignored; `DELETE` sets it back to 0). It moves what
  the venue says the time is (Polymarket `GET /time`, every answer's `Date` header) and
  the clock it checks request timestamps against (Polymarket L1/L2, Kalshi signatures);
  its matching engine and timers keep the simulator's own clock.
Trading faults apply to both venues' order and cancel routes (Polymarket: POST /order(s),
DELETE /order(s), /cancel-all, /cancel-market-orders; Kalshi: every write).
`DELETE /_sim/fault` disarms everything (the routes are in sim_routes.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["KINDS", "Faults", "trading_faults"]

Answer = TypeVar("Answer")

KINDS = frozenset({
    "http_429", "http_500", "http_500_after", "slow", "post_only_reject", "seq_gap",
    "drop_ws", "tick_size_change", "trade_failed", "engine_restart", "clock_skew",
})


class Faults:
    """Armed faults and how many fired, per kind."""

    def __init__(self) -> None:
        self.armed: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        self.slow_ms = 0
        self.restart_until_ms = 0
        self.post_only_until_ms = 0
        self.skew_ms = 0
        """How far the venue's clock reads off the simulator's (`clock_skew`)."""

    def restart(self, now_ms: int, *, ms: int, post_only_ms: int) -> None:
        """Start a matching-engine restart window now, then its post-only window."""
        self.restart_until_ms = now_ms + ms
        self.post_only_until_ms = self.restart_until_ms + post_only_ms
        self.fired["engine_restart"] += 1

    def arm(self, kind: str, count: int = 1, **params: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        if kind == "clock_skew":
            self.skew_ms = int(params.get("ms", 0))
            self.fired[kind] += 1
            return
        self.armed[kind] += max(1, count)
        if kind == "slow":
            self.slow_ms = int(params.get("ms", 1000))

    def take(self, kind: str) -> bool:
        """Consume one armed occurrence of `kind`; True if it fires."""
        if self.armed[kind] <= 0:
            return False
        self.armed[kind] -= 1
        self.fired[kind] += 1
        return True

    def clear(self) -> None:
        self.armed.clear()
        self.slow_ms = 0
        self.skew_ms = 0
        self.restart_until_ms = self.post_only_until_ms = 0

    def view(self) -> dict[str, Any]:
        return {"armed": {k: v for k, v in self.armed.items() if v > 0},
                "fired": dict(self.fired), "skew_ms": self.skew_ms}


async def trading_faults(
    faults: Faults, rate_limited: Callable[[], Answer], server_error: Callable[[], Answer],
) -> tuple[Answer | None, bool]:
    """Apply the armed trading faults to one request.

    Returns (an answer to send instead of acting, or None; whether to act and then
    answer 500 anyway).
    """
    if faults.take("slow"):
        await asyncio.sleep(faults.slow_ms / 1000)
    if faults.take("http_429"):
        return rate_limited(), False
    if faults.take("http_500"):
        return server_error(), False
    return None, faults.take("http_500_after")
