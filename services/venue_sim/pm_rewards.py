"""Polymarket's liquidity-reward routes: the programmes (public) and order scoring (L2).

Shapes from Polymarket's own SDK, polymarket-client 0.14.0 (models/clob/rewards.py:
`CurrentReward`, `MarketReward`, `MarketRewardConfig`; _internal/actions/rewards.py: the
paths, `{"scoring": bool}` for one order and `{order_id: bool}` for a list), and
py-clob-client-v2 (`get_current_rewards` / `get_raw_rewards_for_market` page through
`{data, next_cursor}` until "LTE="). `rewards_max_spread` is in cents and
`rewards_min_size` in shares (docs.polymarket.com/market-makers/liquidity-rewards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from services.venue_sim.accounts import ApiKey, KeyStore
from services.venue_sim.engine import Engine
from services.venue_sim.model import SimMarket
from services.venue_sim.responses import reply
from services.venue_sim.rewards import Programme, Rewards
from services.venue_sim.trading import L2Handler

__all__ = ["COLLATERAL", "add_reward_routes", "scoring_routes"]

COLLATERAL = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
"""py-clob-client-v2 get_contract_config(137).collateral: the token pools are paid in."""
END_CURSOR = "LTE="
START_DATE = "2026-01-01"
END_DATE = "2500-12-31"



def _config(prog: Programme) -> dict[str, Any]:
    return {"id": 1, "asset_address": COLLATERAL, "start_date": START_DATE,
            "end_date": END_DATE, "rate_per_day": prog.daily_usd,
            "total_rewards": prog.daily_usd * 365}


def _common(m: SimMarket, prog: Programme) -> dict[str, Any]:
    return {"condition_id": m.condition_id, "rewards_max_spread": prog.max_spread / 100,
            "rewards_min_size": prog.min_size / 100, "rewards_config": [_config(prog)]}


def _page(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"limit": len(rows), "count": len(rows), "next_cursor": END_CURSOR, "data": rows}


def add_reward_routes(app: web.Application, *, engine: Engine, rewards: Rewards) -> None:
    """GET /rewards/markets/current and /rewards/markets/{condition_id} (public)."""

    def rewarded() -> list[tuple[SimMarket, Programme]]:
        return [(m, p) for m in engine.markets.values()
                if (p := rewards.programme(m.condition_id)) is not None]

    async def current(_: web.Request) -> web.StreamResponse:
        return reply(_page([_common(m, p) | {
            "sponsored_daily_rate": 0, "sponsors_count": 0, "native_daily_rate": p.daily_usd,
            "total_daily_rate": p.daily_usd} for m, p in rewarded()]))

    async def market(request: web.Request) -> web.StreamResponse:
        cid = request.match_info["condition_id"]
        rows = [_common(m, p) | {
            "question": m.name or m.condition_id, "market_slug": m.condition_id[:16],
            "event_slug": m.condition_id[:16], "image": "", "market_competitiveness": 0.0,
            "tokens": [{"token_id": m.yes_token, "outcome": "Yes", "price": 0.5},
                       {"token_id": m.no_token, "outcome": "No", "price": 0.5}],
        } for m, p in rewarded() if m.condition_id == cid]
        return reply(_page(rows))

    app.router.add_get("/rewards/markets/current", current)
    app.router.add_get("/rewards/markets/{condition_id}", market)


def scoring_routes(*, rewards: Rewards, keys: KeyStore,
                   clock_ms: Callable[[], int]) -> tuple[L2Handler, L2Handler]:
    """GET /order-scoring?order_id= and POST /orders-scoring (JSON list of ids): the
    handlers, for trading.py to register behind its L2 check."""

    def scores(key: ApiKey, order_id: str) -> bool:
        order = rewards.engine.orders.get(order_id)
        if order is None or order.account not in keys.accounts_of(key.address):
            return False
        return rewards.scoring(order.account, order_id, clock_ms())

    async def one(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        return reply({"scoring": scores(key, request.query.get("order_id", ""))})

    async def many(request: web.Request, key: ApiKey, body: str) -> web.StreamResponse:
        try:
            ids = msgspec.json.decode(body or "[]", type=list[str])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return reply({"error": "Invalid order ids"}, 400)
        return reply({oid: scores(key, oid) for oid in ids})

    return one, many
