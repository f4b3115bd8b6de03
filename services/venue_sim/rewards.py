"""Liquidity reward programmes of the simulated Polymarket markets, and which orders score.

Polymarket pays each rewarded market's daily pool to resting orders near the midpoint
(docs.polymarket.com/market-makers/liquidity-rewards). Its `/order-scoring` page lists
what makes an order score: live on a rewards-eligible market, at or above the minimum
size, within the valid spread range, live for the required duration. The simulator
checks exactly those: the distance is from the size-cutoff-adjusted midpoint (the mean of
the first bid and the first ask price at which the book's depth from the touch reaches
the min size) and must be under the max spread. Written from the venue's pages, apart
from the strategy's own scoring maths, so that the two can disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.config_sim import SimRewardsConfig
from services.venue_sim.engine import Engine

__all__ = ["Programme", "Rewards"]


@dataclass(frozen=True)
class Programme:
    daily_usd: float
    max_spread: int
    """Pips."""
    min_size: int
    """Centi-contracts."""
    min_age_ms: int


class Rewards:
    """Which markets pay rewards and which orders score now."""

    def __init__(self, engine: Engine, cfg: SimRewardsConfig) -> None:
        self.engine = engine
        self.cfg = cfg

    def programme(self, market: str) -> Programme | None:
        """The programme of a Polymarket market; None for Kalshi ones or when none runs."""
        m = self.engine.markets.get(market)
        if m is None or m.venue != "polymarket" or self.cfg.daily_usd <= 0:
            return None
        return Programme(daily_usd=self.cfg.daily_usd,
                         max_spread=round(self.cfg.max_spread_cents * 100),
                         min_size=round(self.cfg.min_size * 100), min_age_ms=self.cfg.min_age_ms)

    def adjusted_mid(self, market: str, min_size: int) -> int | None:
        bids, asks = self.engine.depth(market)
        cut = []
        for levels in (bids, asks):
            depth, price = 0, None
            for p, size in levels:
                depth += size
                if depth >= max(min_size, 1):
                    price = p
                    break
            if price is None:
                return None
            cut.append(price)
        return (cut[0] + cut[1]) // 2

    def scoring(self, account: str, order_id: str, now_ms: int) -> bool:
        """True if `account`'s order `order_id` scores now (False for anyone else's)."""
        order = self.engine.orders.get(order_id)
        if order is None or order.account != account or order.status != "LIVE":
            return False
        prog = self.programme(order.market)
        if prog is None or order.remaining < prog.min_size \
                or now_ms - order.created_ms < prog.min_age_ms:
            return False
        mid = self.adjusted_mid(order.market, prog.min_size)
        return mid is not None and abs(order.yes_price - mid) < prog.max_spread
