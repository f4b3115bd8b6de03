"""The venues' published rate limits as the simulator enforces them: tables and arithmetic.

Polymarket has two layers (docs.polymarket.com api-reference/rate-limits and
api-reference/trading-rate-limits, fetched 2026-08):
- per-endpoint sliding windows (Cloudflare, per client IP), e.g. POST /order 5,000 per 10 s
  and 120,000 per 10 min;
- per-signer token buckets, one for orders and one for cancels, sized by the signer's tier
  (Standard: orders 40/s burst 60, cancels 80/s burst 120). POST /orders costs one token per
  order and is admitted only if the bucket covers all of them; cancel-all and
  cancel-market-orders cost 1 up front plus 1 per order actually cancelled, which may drive
  the cancel balance negative on the tiers that allow it.
Kalshi (docs.kalshi.com getting_started/rate_limits; kalshi-python-sync 3.34 `BucketLimit`):
one read and one write token bucket per API key, refilled at the tier's budget per second.
A request costs 10 tokens unless its page says otherwise (cancels 2, batch cancels 2 per
order); a batch costs the sum of its items. The read bucket holds one second of budget; the
write bucket two seconds at every tier but Basic, whose holds one (the SDK model's words;
the docs page says two for all: the SDK, generated from the newer spec, is followed).

Everything here is pure: the HTTP hook is in ratelimit_http.py.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "KALSHI_BATCH_ROUTES", "KALSHI_COSTS", "KALSHI_DEFAULT_COST", "KALSHI_TIERS",
    "KALSHI_TOO_MANY", "POLYMARKET_AUTH_WINDOW", "POLYMARKET_GENERAL", "POLYMARKET_TIERS",
    "POLYMARKET_WINDOWS", "KalshiTierLimits", "PolymarketTierLimits", "SlidingWindow",
    "TokenBucket", "kalshi_cost", "kalshi_is_write", "kalshi_route", "polymarket_after_cost",
    "polymarket_bucket", "polymarket_cost", "polymarket_windows",
]

Bucket = Literal["order", "cancel"]


@dataclass(frozen=True, slots=True)
class PolymarketTierLimits:
    order_per_s: float
    order_burst: float
    cancel_per_s: float
    cancel_burst: float
    negative_cancel_balance: bool


POLYMARKET_TIERS: dict[str, PolymarketTierLimits] = {
    "standard": PolymarketTierLimits(40, 60, 80, 120, True),
    "copper": PolymarketTierLimits(60, 90, 120, 180, True),
    "bronze": PolymarketTierLimits(80, 120, 160, 240, True),
    "silver": PolymarketTierLimits(200, 300, 400, 600, True),
    "gold": PolymarketTierLimits(400, 600, 800, 1200, True),
    "platinum": PolymarketTierLimits(450, 675, 900, 1350, False),
    "diamond": PolymarketTierLimits(525, 787, 1050, 1575, False),
    "elite": PolymarketTierLimits(600, 900, 1200, 1800, False),
}

Window = tuple[int, float]
"""(requests, seconds) of one sliding window."""

POLYMARKET_GENERAL: tuple[Window, ...] = ((9_000, 10.0),)
"""Every CLOB request also counts against the general window."""

POLYMARKET_WINDOWS: dict[tuple[str, str], tuple[str, tuple[Window, ...]]] = {
    # (method, path) -> (window group, windows); a group shared by several paths counts jointly
    ("POST", "/order"): ("post-order", ((5_000, 10.0), (120_000, 600.0))),
    ("DELETE", "/order"): ("delete-order", ((5_000, 10.0), (120_000, 600.0))),
    ("POST", "/orders"): ("post-orders", ((2_000, 10.0), (21_000, 600.0))),
    ("DELETE", "/orders"): ("delete-orders", ((2_000, 10.0), (15_000, 600.0))),
    ("DELETE", "/cancel-all"): ("cancel-all", ((250, 10.0), (6_000, 600.0))),
    ("DELETE", "/cancel-market-orders"): ("cancel-market", ((1_500, 10.0), (21_000, 600.0))),
    ("GET", "/ok"): ("ok", ((100, 10.0),)),
    ("GET", "/book"): ("book", ((1_500, 10.0),)),
    ("GET", "/books"): ("books", ((500, 10.0),)),
    ("POST", "/books"): ("books", ((500, 10.0),)),
    ("GET", "/price"): ("price", ((1_500, 10.0),)),
    ("GET", "/midpoint"): ("midpoint", ((1_500, 10.0),)),
    ("GET", "/tick-size"): ("tick-size", ((200, 10.0),)),
    ("GET", "/data/orders"): ("ledger", ((900, 10.0), (500, 10.0))),
    ("GET", "/data/trades"): ("ledger", ((900, 10.0), (500, 10.0))),
    ("GET", "/data/order"): ("ledger", ((900, 10.0),)),
    ("GET", "/balance-allowance"): ("balance", ((200, 10.0),)),
    ("GET", "/balance-allowance/update"): ("balance-update", ((50, 10.0),)),
}
"""The Cloudflare layer's per-endpoint windows (a ledger endpoint has the shared 900 / 10 s
of its group and, where published, its own 500 / 10 s: both are kept under one group key,
which is exact for the shared cap and conservative for the per-endpoint one)."""

POLYMARKET_AUTH_WINDOW: tuple[Window, ...] = ((100, 10.0),)
"""`/auth/*`."""


@dataclass(frozen=True, slots=True)
class KalshiTierLimits:
    read_per_s: float
    write_per_s: float
    write_capacity: float


KALSHI_TIERS: dict[str, KalshiTierLimits] = {
    "basic": KalshiTierLimits(200, 100, 100),
    "advanced": KalshiTierLimits(300, 300, 600),
    "premier": KalshiTierLimits(1_000, 1_000, 2_000),
    "paragon": KalshiTierLimits(2_000, 2_000, 4_000),
    "prime": KalshiTierLimits(4_000, 4_000, 8_000),
}
KALSHI_DEFAULT_COST = 10
KALSHI_COSTS: dict[tuple[str, str], int] = {
    # (method, route) -> cost per request, or per item for the batch routes
    ("DELETE", "/portfolio/events/orders/{order_id}"): 2,
    ("DELETE", "/portfolio/events/orders/batched"): 2,
    ("DELETE", "/portfolio/orders/{order_id}"): 2,
    ("DELETE", "/portfolio/orders/batched"): 2,
}
KALSHI_BATCH_ROUTES = frozenset({
    ("POST", "/portfolio/events/orders/batched"), ("POST", "/portfolio/orders/batched"),
    ("DELETE", "/portfolio/events/orders/batched"), ("DELETE", "/portfolio/orders/batched"),
})
KALSHI_TOO_MANY = {"error": "too many requests"}


def kalshi_route(method: str, path: str) -> str:
    """The route of a Kalshi path below /trade-api/v2 (an order id becomes `{order_id}`)."""
    parts = path.rstrip("/").split("/")
    if len(parts) == 5 and parts[1:4] == ["portfolio", "events", "orders"] and \
            parts[4] != "batched":
        parts[4] = "{order_id}"
    elif len(parts) == 4 and parts[1:3] == ["portfolio", "orders"] and parts[3] != "batched":
        parts[3] = "{order_id}"
    return "/".join(parts)


def kalshi_cost(method: str, route: str, items: int) -> int:
    """Tokens a Kalshi request costs: the route's cost, times its items for a batch."""
    each = KALSHI_COSTS.get((method, route), KALSHI_DEFAULT_COST)
    return each * max(1, items) if (method, route) in KALSHI_BATCH_ROUTES else each


def kalshi_is_write(method: str) -> bool:
    """Order placement, amends, cancels and order groups write; everything else reads."""
    return method in ("POST", "PUT", "DELETE")


@dataclass(slots=True)
class TokenBucket:
    """`rate_per_s` tokens a second up to `capacity`; starts full."""

    rate_per_s: float
    capacity: float
    tokens: float = math.nan
    stamp_s: float = math.nan

    def refill(self, now_s: float) -> float:
        if math.isnan(self.tokens):
            self.tokens, self.stamp_s = self.capacity, now_s
        elif now_s > self.stamp_s:
            self.tokens = min(self.capacity,
                              self.tokens + (now_s - self.stamp_s) * self.rate_per_s)
            self.stamp_s = now_s
        return self.tokens

    def wait_s(self, cost: float, now_s: float) -> float:
        """Seconds until `cost` is affordable (0: now; inf: more than the bucket holds)."""
        tokens = self.refill(now_s)
        if cost > self.capacity:
            return math.inf
        short = cost - tokens
        return max(0.0, short / self.rate_per_s)

    def refund(self, cost: float, now_s: float) -> None:
        """Give back what a request the venue did not evaluate was charged."""
        self.refill(now_s)
        self.tokens = min(self.capacity, self.tokens + cost)

    def spend(self, cost: float, now_s: float, *, floor: float = 0.0) -> None:
        """Spend `cost` (after the fact, e.g. orders a cancel-all found), never below `floor`."""
        self.refill(now_s)
        self.tokens = max(floor, self.tokens - cost)


@dataclass(slots=True)
class SlidingWindow:
    """At most `limit` admissions in any `window_s`."""

    limit: int
    window_s: float
    stamps: deque[float] = field(default_factory=deque)

    def wait_s(self, now_s: float) -> float:
        """Seconds until one more admission fits (0: now)."""
        while self.stamps and self.stamps[0] <= now_s - self.window_s:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            return 0.0
        return self.stamps[len(self.stamps) - self.limit] + self.window_s - now_s

    def admit(self, now_s: float) -> None:
        self.stamps.append(now_s)


def polymarket_bucket(method: str, path: str) -> Bucket | None:
    """Which per-signer bucket a Polymarket request draws from, if any."""
    if (method, path) in (("POST", "/order"), ("POST", "/orders")):
        return "order"
    if method == "DELETE" and path in ("/order", "/orders", "/cancel-all",
                                       "/cancel-market-orders"):
        return "cancel"
    return None


def polymarket_cost(method: str, path: str, body: object) -> int:
    """Tokens charged up front: one per order (or order id) of a batch, else one."""
    if path == "/orders" and isinstance(body, list):
        return max(1, len(body))
    return 1


def polymarket_after_cost(path: str, response_body: object) -> int:
    """Tokens charged after a cancel-all / cancel-market-orders: one per order cancelled."""
    if path not in ("/cancel-all", "/cancel-market-orders") or not isinstance(
            response_body, dict):
        return 0
    cancelled = response_body.get("canceled")
    return len(cancelled) if isinstance(cancelled, list) else 0


def polymarket_windows(method: str, path: str) -> tuple[tuple[str, tuple[Window, ...]], ...]:
    """(group, windows) pairs a Polymarket request counts against, the general one first."""
    out: list[tuple[str, tuple[Window, ...]]] = [("general", POLYMARKET_GENERAL)]
    key = (method, "/data/order" if path.startswith("/data/order/") else path)
    if key in POLYMARKET_WINDOWS:
        out.append(POLYMARKET_WINDOWS[key])
    elif path.startswith("/auth/"):
        out.append(("auth", POLYMARKET_AUTH_WINDOW))
    return tuple(out)
