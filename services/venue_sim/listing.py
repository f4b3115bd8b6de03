"""Market listings with stats, for `pmm scan` (issue 5): the Gamma-shaped `GET /gamma/markets`
and the listing fields of Kalshi's Market object.

The seeded candidate markets a scan ranks are made in markets.py. Volume is a seeded history (`base_volume_usd`) plus the notional
(YES price x size) traded in the simulator since it started; liquidity is the money the
resting book commits (bids at p, asks at 1 - p); `oneDayPriceChange` is the mid now less
the start probability; spread and best prices come from the live book.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import msgspec
from aiohttp import web

from common.prices import MONEY_SCALE, PRICE_SCALE, SIZE_SCALE
from services.venue_sim.book import ONE
from services.venue_sim.engine import Engine
from services.venue_sim.model import SimMarket, Trade

GAMMA_PREFIX = "/gamma"
class Listing:
    """Traded notional per market since start, and the stats a listing reports."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.traded_micro: Counter[str] = Counter()

    def on_trade(self, trade: Trade) -> None:
        self.traded_micro[trade.market] += trade.yes_price * trade.size

    def stats(self, m: SimMarket) -> dict[str, Any]:
        """Volume, liquidity (USD), best prices, spread and price change of one market."""
        bids, asks = self.engine.depth(m.condition_id)
        committed = sum(p * s for p, s in bids) + sum((ONE - p) * s for p, s in asks)
        bid = bids[0][0] if bids else None
        ask = asks[0][0] if asks else None
        mid = None if bid is None or ask is None else (bid + ask) / 2 / PRICE_SCALE
        return {
            "volume_usd": round(m.base_volume_usd + self.traded_micro[m.condition_id] / MONEY_SCALE, 2),
            "liquidity_usd": round(committed / MONEY_SCALE, 2),
            "best_bid": None if bid is None else bid / PRICE_SCALE,
            "best_ask": None if ask is None else ask / PRICE_SCALE,
            "spread": None if bid is None or ask is None else (ask - bid) / PRICE_SCALE,
            "price_change": 0.0 if mid is None else round(mid - m.start_probability, 4),
            "last": self.engine.last_trade.get(m.condition_id, (None,))[0],
        }

    def gamma_market(self, index: int, m: SimMarket) -> dict[str, Any]:
        """One market as Gamma's `GET /markets` returns it (the fields pmm reads, and some)."""
        st = self.stats(m)
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
        }

    def kalshi_fields(self, m: SimMarket) -> dict[str, Any]:
        """Kalshi Market fields the scanner reads, beyond what kalshi_wire.market_json has."""
        st = self.stats(m)
        prev = round(m.start_probability * PRICE_SCALE)
        out: dict[str, Any] = {
            "volume_fp": f"{st['volume_usd'] / max(m.start_probability, 0.01):.2f}",
            "volume_24h_fp": f"{st['volume_usd'] / max(m.start_probability, 0.01):.2f}",
            "liquidity_dollars": f"{st['liquidity_usd']:.4f}",
            "previous_price_dollars": f"{prev / PRICE_SCALE:.4f}",
        }
        if m.resolves_at_s:
            out["close_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.resolves_at_s))
        return out


def add_gamma_routes(app: web.Application, engine: Engine, listing: Listing) -> None:
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
            listing.gamma_market(i, m) for i, m in enumerate(engine.markets.values())
            if m.venue == "polymarket" and (not wanted or m.condition_id in wanted)
        ]
        if q.get("closed", "").lower() == "true":
            rows = []  # nothing in the simulator is closed
        return web.Response(body=msgspec.json.encode(rows[offset:offset + limit]),
                            content_type="application/json")

    app.router.add_get(GAMMA_PREFIX + "/markets", markets)
