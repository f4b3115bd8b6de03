"""Kalshi's incentive programmes: GET /incentive_programs (public).

The shape is kalshi-python-sync 3.34.0's `GetIncentiveProgramsResponse` and
`IncentiveProgram` (the SDK validates every field): `period_reward` in centi-cents,
`discount_factor_bps`, `target_size_fp` a two-decimal contract count, `start_date` and
`end_date` date-times; filters `status` (all, active, upcoming, closed, paid_out) and
`type` (all, liquidity, volume, ...), `limit` and `cursor`. Each simulated Kalshi market
runs one liquidity programme ([sim.rewards] kalshi_*): a week from the start of today
(UTC), so it is always active.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from common.config_sim import SimRewardsConfig
from services.venue_sim import kalshi_wire as kw
from services.venue_sim.engine import Engine
from services.venue_sim.kalshi_http import BASE, Signed
from services.venue_sim.responses import reply

__all__ = ["PERIOD_DAYS", "add_incentive_routes", "programmes"]

PERIOD_DAYS = 7
STATUSES = ("all", "active", "upcoming", "closed", "paid_out")
TYPES = ("all", "liquidity", "volume", "margin_maker_volume", "margin_taker_volume")


def programmes(engine: Engine, cfg: SimRewardsConfig, now_ms: int) -> list[dict[str, Any]]:
    """One active liquidity programme per Kalshi market (none if kalshi_daily_usd is 0)."""
    if cfg.kalshi_daily_usd <= 0:
        return []
    start = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=PERIOD_DAYS)
    return [{
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "lip/" + m.condition_id)),
        "market_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "market/" + m.condition_id)),
        "market_ticker": m.condition_id, "incentive_type": "liquidity",
        "incentive_description": f"Liquidity incentive for {m.condition_id}",
        "start_date": start.isoformat().replace("+00:00", "Z"),
        "end_date": end.isoformat().replace("+00:00", "Z"),
        "period_reward": round(cfg.kalshi_daily_usd * PERIOD_DAYS * 10_000),
        "paid_out": False,
        "discount_factor_bps": round(cfg.kalshi_discount_factor * 10_000),
        "target_size_fp": f"{cfg.kalshi_target_size:.2f}",
    } for m in engine.markets.values() if m.venue == "kalshi"]


def add_incentive_routes(app: web.Application, *, engine: Engine, cfg: SimRewardsConfig,
                         signed: Signed, clock_ms: Callable[[], int]) -> None:
    async def incentive_programs(r: web.Request, account: str, data: Any) -> web.Response:
        status = r.query.get("status", "all")
        kind = r.query.get("type", "all")
        if status not in STATUSES or kind not in TYPES:
            return reply(kw.err(kw.BAD_REQUEST, "invalid status or type"), 400)
        try:
            limit = int(r.query.get("limit", "100"))
            offset = int(r.query.get("cursor") or 0)
        except ValueError:
            return reply(kw.err(kw.BAD_REQUEST, "invalid limit or cursor"), 400)
        if not 1 <= limit <= 10_000:
            return reply(kw.err(kw.BAD_REQUEST, "limit must be 1-10000"), 400)
        rows = [p for p in programmes(engine, cfg, clock_ms())
                if status in ("all", "active") and kind in ("all", "liquidity")]
        page = rows[offset:offset + limit]
        more = offset + limit < len(rows)
        return reply({"incentive_programs": page,
                      "next_cursor": str(offset + limit) if more else ""})

    app.router.add_get(BASE + "/incentive_programs", signed(incentive_programs, public=True))
