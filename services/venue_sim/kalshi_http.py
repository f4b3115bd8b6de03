"""The envelope of every Kalshi REST route on the simulator: signature, faults, JSON, publish.

Portfolio routes verify the request signature first (401 otherwise); market data is
public as on Kalshi (served unsigned; a signed request is answered the same). Trading
routes also honour the armed faults (`faults.py`). A handler raises `KalshiReject` for
a definitive error; whatever it did, the engine's events are published afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from aiohttp import web

from services.venue_sim import kalshi_wire as kw
from services.venue_sim.accounts import AuthFailed
from services.venue_sim.counters import VenueCounters
from services.venue_sim.faults import Faults, trading_faults
from services.venue_sim.kalshi_keys import KalshiKeys
from services.venue_sim.kalshi_wire import KalshiReject
from services.venue_sim.responses import reply

__all__ = ["BASE", "Handler", "Route", "Signed", "signer"]

BASE = "/trade-api/v2"

Handler = Callable[[web.Request, str, Any], Awaitable[web.Response]]
"""A Kalshi route's body: (request, signed-in account or "", decoded JSON body or None)."""
Route = Callable[[web.Request], Awaitable[web.Response]]


class Signed(Protocol):
    """Wrap a Handler into an aiohttp route (see `signer`)."""

    def __call__(self, handler: Handler, *, trading: bool = False,
                 public: bool = False) -> Route: ...


def signer(keys: KalshiKeys, faults: Faults, counters: VenueCounters,
           publish: Callable[[], None]) -> Signed:
    """The wrapper every Kalshi route is registered through."""

    def signed(handler: Handler, *, trading: bool = False, public: bool = False) -> Route:
        async def wrapped(request: web.Request) -> web.Response:
            path = request.raw_path.split("?", 1)[0]
            account = ""
            try:
                if not public:
                    account = keys.authenticate(request.headers, request.method, path)
            except AuthFailed:
                counters.count_malformed("kalshi_auth")
                return reply(kw.err(kw.AUTH_FAILED, "invalid signature or timestamp"), 401)
            after = False
            if trading:
                instead, after = await trading_faults(
                    faults, lambda: reply(kw.RATE_LIMITED, 429),
                    lambda: reply(kw.err("internal_error", "internal server error"), 500))
                if instead is not None:
                    return instead
            raw = await request.read()
            try:
                data = msgspec.json.decode(raw) if raw else None
            except (msgspec.DecodeError, UnicodeDecodeError):
                counters.count_malformed("kalshi_rest")
                return reply(kw.err(kw.BAD_REQUEST, "body is not JSON"), 400)
            try:
                resp = await handler(request, account, data)
            except KalshiReject as exc:
                resp = reply(exc.body(), exc.status)
            finally:
                publish()
            if after:
                return reply(kw.err("internal_error", "internal server error"), 500)
            return resp

        return wrapped

    return signed
