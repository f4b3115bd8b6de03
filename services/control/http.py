"""The HTTP control plane: read-only status for anyone on loopback, changes need the token.

The token is derived from the control secret (`common.auth.http_token`, shown by
`pmm token`), never the secret itself: a leaked token reaches this plane only, it cannot
sign bus messages. Any missing, malformed (empty, non-ASCII, other scheme) or wrong
token is a 401; the comparison is constant-time over bytes.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from common import bus_curve
from common.auth import http_token
from common.config import Config, control_targets
from common.messages import ControlMessage, Kill, Pause, Reset
from services.control.http_markets import add_routes as add_market_routes
from services.control.sender import deliver
from services.control.state import StatusView

__all__ = ["Handler", "bearer_ok", "make_app"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BEARER = re.compile(r"Bearer ([\x21-\x7e]+)", re.IGNORECASE | re.ASCII)
"""RFC 6750: the scheme (any case), one space, then printable ASCII without spaces."""


def bearer_ok(header: str, token: str) -> bool:
    """Whether an Authorization header carries exactly `token`; never raises."""
    found = _BEARER.fullmatch(header) if header.isascii() else None
    if found is None:
        return False
    return hmac.compare_digest(found.group(1).encode("ascii"), token.encode("ascii"))


def make_app(cfg: Config, view: StatusView, secret: bytes, metrics_dir: str | None) -> web.Application:
    """Build the aiohttp application serving /health, /state, /metrics and the control verbs."""
    token = http_token(secret)

    def authorised(request: web.Request) -> bool:
        return bearer_ok(request.headers.get("Authorization", ""), token)

    async def send(make: Callable[[str, int], ControlMessage],
                   targets: dict[str, str] | None = None) -> web.Response:
        targets = targets or control_targets(cfg)
        acks = await deliver(
            targets, make, secret,
            ack_timeout_ms=cfg.control.ack_timeout_ms, retries=cfg.control.retries,
            curves=bus_curve.control_curves(cfg, targets),
        )
        body = {name: (a.ok if a else None) for name, a in acks.items()}
        ok = all(a is not None and a.ok for a in acks.values())
        return web.json_response({"ok": ok, "acks": body}, status=200 if ok else 502)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "risk_seen": view.risk is not None})

    async def state(_: web.Request) -> web.Response:
        return web.json_response(view.document())

    async def metrics(_: web.Request) -> web.Response:
        registry = CollectorRegistry()
        if metrics_dir:
            MultiProcessCollector(registry, path=metrics_dir)
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def body_of(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            data = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not authorised(request):
                return web.json_response(
                    {"error": "missing or wrong bearer token (`pmm token` prints it)"},
                    status=401,
                )
            return await handler(request)

        return wrapper

    async def kill(request: web.Request) -> web.Response:
        data = await body_of(request)
        reason = str(data.get("reason", "")).strip()
        if not reason:
            raise web.HTTPBadRequest(text="`reason` is required")
        venue, market = str(data.get("venue", "")), str(data.get("market", ""))
        return await send(lambda n, ts: Kill(sender="control-http", nonce=n, ts_ns=ts,
                                             reason=reason, venue=venue, market=market))

    async def reset(_: web.Request) -> web.Response:
        return await send(lambda n, ts: Reset(sender="control-http", nonce=n, ts_ns=ts))

    def pauser(paused: bool) -> Handler:
        async def handler(_: web.Request) -> web.Response:
            return await send(lambda n, ts: Pause(sender="control-http", nonce=n, ts_ns=ts,
                                                  paused=paused))
        return handler

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/state", state)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/kill", guarded(kill))
    app.router.add_post("/reset", guarded(reset))
    app.router.add_post("/pause", guarded(pauser(True)))
    app.router.add_post("/resume", guarded(pauser(False)))
    add_market_routes(app, cfg, guarded, send, body_of)
    return app
