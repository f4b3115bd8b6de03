"""HTTP routes for markets (list, start, stop, config) and /flatten, and the OpenAPI document.

Changes go through services/control/markets.py exactly as the CLI's do; programs that must
re-read the market list are restarted through supervisord in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from common import overlay
from common.config import Config, control_targets
from common.errors import ConfigError, PmmError
from services.control import markets, stack

__all__ = ["SPEC_PATH", "add_routes"]

SPEC_PATH = Path(__file__).with_name("openapi.json")


def _programs(cfg: Config) -> list[str]:
    venues = cfg.venues_in_use()
    return [*(f"ingest-{v}" for v in venues), "risk", *(f"executor-{v}" for v in venues), "quoter"]


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    """Accept flag names (`max-loss`) or field names (`max_loss_usd`)."""
    by_flag = {f.flag: f.field for f in markets.FLAGS}
    return {by_flag.get(k, k): v for k, v in data.items() if k not in ("venue", "market", "token", "id")}


def add_routes(app: web.Application, base: Config, guarded: Any, send: Any, body_of: Any) -> None:
    """Register /markets..., /flatten and /openapi.json on the control plane."""
    from common.messages import Flatten

    def error(exc: PmmError, status: int = 400) -> web.Response:
        return web.json_response({"error": str(exc)}, status=status)

    async def restart(cfg: Config) -> None:
        await asyncio.to_thread(stack.restart_programs, cfg.run_dir, _programs(cfg), progress=lambda _: None)

    async def list_markets(_: web.Request) -> web.Response:
        cfg = overlay.effective(base)
        return web.json_response([markets.settings(cfg, m.id) for m in cfg.markets])

    async def get_config(request: web.Request) -> web.Response:
        try:
            return web.json_response(markets.settings(overlay.effective(base), request.match_info["id"]))
        except ConfigError as exc:
            return error(exc, 404)

    async def set_config(request: web.Request) -> web.Response:
        data = await body_of(request)
        market_id = request.match_info["id"]
        try:
            overlay.effective(base).market(market_id)
        except ConfigError as exc:
            return error(exc, 404)
        try:
            new = markets.configure(base, market_id, _changes(data))
        except ConfigError as exc:
            return error(exc)
        return web.json_response(markets.settings(new, market_id))

    async def start(request: web.Request) -> web.Response:
        data = await body_of(request)
        try:
            new, market_id = markets.start(base, str(data.get("venue", "")), str(data.get("market", "")),
                                           str(data.get("token", "")), _changes(data), str(data.get("id", "")))
        except ConfigError as exc:
            return error(exc)
        await restart(new)
        return web.json_response(markets.settings(new, market_id), status=201)

    async def stop(request: web.Request) -> web.Response:
        try:
            old = overlay.effective(base)
            markets.stop(base, request.match_info["id"])
        except ConfigError as exc:
            return error(exc, 404)
        await restart(old)
        return web.json_response({"ok": True, "stopped": request.match_info["id"]})

    async def flatten(request: web.Request) -> web.Response:
        data = await body_of(request)
        market = str(data.get("market", ""))
        if market:
            try:
                overlay.effective(base).market(market)
            except ConfigError as exc:
                return error(exc, 404)
        reason = str(data.get("reason", "operator flatten"))
        return await send(lambda n, ts: Flatten(sender="control-http", nonce=n, ts_ns=ts, market=market,
                                                reason=reason),
                          targets={"risk": control_targets(base)["risk"]})

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(json.loads(SPEC_PATH.read_text()))

    r = app.router
    r.add_get("/markets", list_markets)
    r.add_post("/markets", guarded(start))
    r.add_delete("/markets/{id}", guarded(stop))
    r.add_get("/markets/{id}/config", get_config)
    r.add_patch("/markets/{id}/config", guarded(set_config))
    r.add_post("/flatten", guarded(flatten))
    r.add_get("/openapi.json", openapi)
