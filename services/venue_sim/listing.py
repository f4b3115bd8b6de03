"""Market statistics a listing reports, for `pmm scan` (issue 5).

Volume is a seeded history (`base_volume_usd`) plus the notional (YES price x size)
traded in the simulator since it started; liquidity is the money the resting book
commits (bids at p, asks at 1 - p); the price change is the mid now less the start
probability; spread and best prices come from the live book. The seeded candidate
markets a scan ranks are made in markets.py; Gamma's listing is served by gamma.py,
Kalshi's listing fields are in kalshi_wire.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from common.prices import MONEY_SCALE, PRICE_SCALE
from services.venue_sim.book import ONE
from services.venue_sim.engine import Engine
from services.venue_sim.model import SimMarket, Trade

__all__ = ["Listing"]

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
