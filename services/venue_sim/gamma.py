"""Gamma's `GET /gamma/markets` on the simulator: the Polymarket listing `pmm scan` reads.

`?limit=&offset=&closed=&condition_ids=`; nothing in the simulator is closed, so
`closed=true` lists nothing.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from common.prices import PRICE_SCALE, SIZE_SCALE
from services.venue_sim.engine import Engine
from services.venue_sim.listing import Listing
from services.venue_sim.model import SimMarket
from services.venue_sim.pm_rewards import COLLATERAL
from services.venue_sim.rewards import Programme, Rewards

__all__ = ["GAMMA_PREFIX", "add_gamma_routes", "gamma_market"]

GAMMA_PREFIX = "/gamma"


def gamma_market(listing: Listing, index: int, m: SimMarket,
                 programme: Programme | None = None) -> dict[str, Any]:
    """One market as Gamma's `GET /markets` returns it (the fields pmm reads, and some),
    with its reward programme as polymarket-client's `MarketRewards` reads it."""
    st = listing.stats(m)
    last = st["last"]
    yes_price = (last / PRICE_SCALE) if last is not None else m.start_probability
    end = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.resolves_at_s))
           if m.resolves_at_s else None)
    enc = msgspec.json.encode
    return {
        "id": str(index + 1), "question": m.name, "conditionId": m.condition_id,
        "slug": m.name.lower().replace(" ", "-"), "endDate": end,
        "liquidity": str(st["liquidity_usd"]), "liquidityNum": st["liquidity_usd"],
        "volume": str(st["volume_usd"]), "volumeNum": st["volume_usd"],
        "volume24hr": st["volume_usd"], "active": True, "closed": False,
        "acceptingOrders": True, "enableOrderBook": True,
        "outcomes": enc(["Yes", "No"]).decode(),
        "outcomePrices": enc([f"{yes_price:.4f}", f"{1 - yes_price:.4f}"]).decode(),
        "clobTokenIds": enc([m.yes_token, m.no_token]).decode(),
        "orderPriceMinTickSize": m.tick / PRICE_SCALE,
        "orderMinSize": m.min_size / SIZE_SCALE, "negRisk": m.neg_risk,
        "bestBid": st["best_bid"], "bestAsk": st["best_ask"], "spread": st["spread"],
        "lastTradePrice": yes_price, "oneDayPriceChange": st["price_change"],
        "clobRewards": [] if programme is None else [{
            "id": str(index + 1), "conditionId": m.condition_id, "assetAddress": COLLATERAL,
            "rewardsAmount": 0, "rewardsDailyRate": programme.daily_usd,
            "startDate": "2026-01-01", "endDate": "2500-12-31"}],
        "rewardsMinSize": 0 if programme is None else programme.min_size / SIZE_SCALE,
        "rewardsMaxSpread": 0 if programme is None else programme.max_spread / 100,
    }


def add_gamma_routes(app: web.Application, engine: Engine, listing: Listing,
                     rewards: Rewards | None = None) -> None:
    """`GET /gamma/markets?limit=&offset=&closed=&condition_ids=`: Polymarket markets."""

    async def markets(request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            limit = max(1, min(500, int(q.get("limit", "100"))))
            offset = max(0, int(q.get("offset", "0")))
        except ValueError:
            return web.json_response({"error": "limit and offset must be integers"}, status=400)
        wanted = {c for c in q.get("condition_ids", "").split(",") if c}
        rows = [
            gamma_market(listing, i, m, rewards.programme(m.condition_id) if rewards else None)
            for i, m in enumerate(engine.markets.values())
            if m.venue == "polymarket" and (not wanted or m.condition_id in wanted)
        ]
        if q.get("closed", "").lower() == "true":
            rows = []  # nothing in the simulator is closed
        return web.Response(body=msgspec.json.encode(rows[offset:offset + limit]),
                            content_type="application/json")

    app.router.add_get(GAMMA_PREFIX + "/markets", markets)
