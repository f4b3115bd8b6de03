"""The simulator's rate-limit hook: an aiohttp middleware in front of every venue route.

Polymarket: the per-endpoint sliding windows (per client IP), then, for order and cancel
requests, the signer's token bucket (`POLY_ADDRESS`). A refused request gets 429 with
`Retry-After` (whole seconds) and, from the trading layer, `Poly-RateLimit-Remaining`,
`-Reset` (unix s when the request would be affordable) and `-Tier`; an admitted trading
request carries the same three headers. Kalshi: the key's read or write bucket
(`KALSHI-ACCESS-KEY`); a refused request gets 429 `{"error": "too many requests"}` and no
rate-limit headers, as Kalshi documents. A request that fails authentication (401) gets its
tokens back: the venue only evaluates the signers it knows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from common.config_sim import SimRateLimitsConfig
from common.kalshi_auth import KEY_HEADER
from services.venue_sim.ratelimit import (
    KALSHI_BATCH_ROUTES,
    KALSHI_COSTS,
    KALSHI_DEFAULT_COST,
    KALSHI_TIERS,
    KALSHI_TOO_MANY,
    POLYMARKET_TIERS,
    Bucket,
    SlidingWindow,
    TokenBucket,
    kalshi_cost,
    kalshi_is_write,
    kalshi_route,
    polymarket_after_cost,
    polymarket_bucket,
    polymarket_cost,
    polymarket_windows,
)

__all__ = [
    "KALSHI_BASE", "UNLIMITED_PREFIXES", "VenueLimits", "add_kalshi_limit_routes",
    "add_rate_limit_routes", "kalshi_endpoint_costs", "rate_limit_middleware",
]

KALSHI_BASE = "/trade-api/v2"
UNLIMITED_PREFIXES = ("/_sim", "/ws/", "/gamma", "/ref/", "/trade-api/ws/")
POLYMARKET_TOO_MANY = {"error": "Too Many Requests"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_enc = msgspec.json.Encoder()


def _json(raw: bytes) -> object:
    try:
        return msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        return None


def _too_many(body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_enc.encode(body), status=429, content_type="application/json",
                        headers=headers)


class VenueLimits:
    """Every bucket and window of the simulated venues, and what they refused."""

    def __init__(self, cfg: SimRateLimitsConfig, clock_s: Callable[[], float]) -> None:
        self.cfg = cfg
        self.clock_s = clock_s
        self.poly = POLYMARKET_TIERS[cfg.polymarket_tier]
        self.kalshi = KALSHI_TIERS[cfg.kalshi_tier]
        self._poly: dict[tuple[str, Bucket], TokenBucket] = {}
        self._kalshi: dict[tuple[str, bool], TokenBucket] = {}
        self._windows: dict[tuple[str, str, int], SlidingWindow] = {}
        self.refused: Counter[str] = Counter()
        """429s answered, by layer: polymarket_window, polymarket_signer, kalshi."""

    def poly_bucket(self, signer: str, which: Bucket) -> TokenBucket:
        b = self._poly.get((signer, which))
        if b is None:
            t = self.poly
            b = TokenBucket(t.order_per_s, t.order_burst) if which == "order" else \
                TokenBucket(t.cancel_per_s, t.cancel_burst)
            self._poly[(signer, which)] = b
        return b

    def kalshi_bucket(self, key: str, write: bool) -> TokenBucket:
        b = self._kalshi.get((key, write))
        if b is None:
            t = self.kalshi
            b = TokenBucket(t.write_per_s, t.write_capacity) if write else \
                TokenBucket(t.read_per_s, t.read_per_s)
            self._kalshi[(key, write)] = b
        return b

    def _poly_headers(self, b: TokenBucket, wait_s: float, now_s: float) -> dict[str, str]:
        reset = now_s + (0.0 if math.isinf(wait_s) else wait_s)
        return {"Poly-RateLimit-Remaining": str(math.floor(b.tokens)),
                "Poly-RateLimit-Reset": str(math.ceil(reset)),
                "Poly-RateLimit-Tier": self.cfg.polymarket_tier}

    async def polymarket(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = self.clock_s()
        method, path = request.method, request.path
        if self.cfg.polymarket_endpoint_windows:
            ip = request.remote or ""
            windows = []
            for group, spec in polymarket_windows(method, path):
                for i, (limit, seconds) in enumerate(spec):
                    w = self._windows.get((ip, group, i))
                    if w is None:
                        w = self._windows[(ip, group, i)] = SlidingWindow(limit, seconds)
                    windows.append(w)
            wait = max(w.wait_s(now) for w in windows)
            if wait > 0:
                self.refused["polymarket_window"] += 1
                return _too_many(POLYMARKET_TOO_MANY, {"Retry-After": str(math.ceil(wait))})
            for w in windows:
                w.admit(now)
        which = polymarket_bucket(method, path)
        signer = request.headers.get("POLY_ADDRESS", "").lower()
        if which is None or not signer:
            return await handler(request)
        cost = polymarket_cost(method, path, _json(await request.read()))
        bucket = self.poly_bucket(signer, which)
        wait = bucket.wait_s(cost, now)
        if wait > 0:
            self.refused["polymarket_signer"] += 1
            retry = str(math.ceil(wait)) if not math.isinf(wait) else "3600"
            return _too_many(POLYMARKET_TOO_MANY, {
                "Retry-After": retry, **self._poly_headers(bucket, wait, now)})
        bucket.spend(cost, now)
        resp = await handler(request)
        if resp.status == 401:
            bucket.refund(cost, now)
            return resp
        after = polymarket_after_cost(path, _json(getattr(resp, "body", b"") or b""))
        if after:
            floor = -math.inf if self.poly.negative_cancel_balance else 0.0
            bucket.spend(after, now, floor=floor)
        resp.headers.update(self._poly_headers(bucket, 0.0, now))
        return resp

    async def kalshi_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(KEY_HEADER, "")
        if not key:  # public market data is unsigned and not billed to anyone
            return await handler(request)
        now = self.clock_s()
        method = request.method
        route = kalshi_route(method, request.path[len(KALSHI_BASE):])
        items = 1
        if (method, route) in KALSHI_BATCH_ROUTES:
            body = _json(await request.read())
            if isinstance(body, dict):
                listed = body.get("orders") if body.get("orders") is not None else body.get("ids")
                items = len(listed) if isinstance(listed, list) else 1
        cost = kalshi_cost(method, route, items)
        bucket = self.kalshi_bucket(key, kalshi_is_write(method))
        if bucket.wait_s(cost, now) > 0:
            self.refused["kalshi"] += 1
            return _too_many(KALSHI_TOO_MANY)
        bucket.spend(cost, now)
        resp = await handler(request)
        if resp.status == 401:
            bucket.refund(cost, now)
        return resp

    def kalshi_limits(self) -> dict[str, Any]:
        """GET /account/limits (kalshi-python-sync `GetAccountApiLimitsResponse`)."""
        t = self.kalshi
        return {"usage_tier": self.cfg.kalshi_tier,
                "read": {"refill_rate": int(t.read_per_s), "bucket_capacity": int(t.read_per_s)},
                "write": {"refill_rate": int(t.write_per_s),
                          "bucket_capacity": int(t.write_capacity)},
                "grants": []}

    def state(self) -> dict[str, Any]:
        """`GET /_sim/rate_limits`: the configuration and the 429s answered so far."""
        return {"enabled": self.cfg.enabled, "polymarket_tier": self.cfg.polymarket_tier,
                "kalshi_tier": self.cfg.kalshi_tier, "refused": dict(self.refused)}


def kalshi_endpoint_costs() -> dict[str, Any]:
    """GET /account/endpoint_costs: the routes whose cost is not the default."""
    return {"default_cost": KALSHI_DEFAULT_COST,
            "endpoint_costs": [{"method": m, "path": KALSHI_BASE + route, "cost": c}
                               for (m, route), c in sorted(KALSHI_COSTS.items())]}


def rate_limit_middleware(limits: VenueLimits) -> Any:
    """The aiohttp middleware that puts `limits` in front of every venue route."""

    @web.middleware
    async def rate_limited(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not limits.cfg.enabled or path.startswith(UNLIMITED_PREFIXES):
            return await handler(request)
        if path.startswith(KALSHI_BASE + "/"):
            return await limits.kalshi_request(request, handler)
        return await limits.polymarket(request, handler)

    return rate_limited


def add_rate_limit_routes(app: web.Application, limits: VenueLimits) -> None:
    """`GET /_sim/rate_limits`: the simulator's own count of the 429s it answered."""

    async def view(_: web.Request) -> web.StreamResponse:
        return web.Response(body=_enc.encode(limits.state()), content_type="application/json")

    app.router.add_get("/_sim/rate_limits", view)


def add_kalshi_limit_routes(limits: VenueLimits, signed: Any, base: str,
                            router: web.UrlDispatcher) -> None:
    """GET /account/limits and /account/endpoint_costs (signed, like every account read)."""

    async def account_limits(r: web.Request, account: str, data: Any) -> web.Response:
        return web.Response(body=_enc.encode(limits.kalshi_limits()),
                            content_type="application/json")

    async def endpoint_costs(r: web.Request, account: str, data: Any) -> web.Response:
        return web.Response(body=_enc.encode(kalshi_endpoint_costs()),
                            content_type="application/json")

    router.add_get(base + "/account/limits", signed(account_limits))
    router.add_get(base + "/account/endpoint_costs", signed(endpoint_costs))
