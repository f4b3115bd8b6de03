"""Synthetic order flow: a hidden true probability per market, background makers, noise
traders and informed traders, all trading through the engine as internal accounts.

Every decision comes from one seeded random.Random, so a seed and a sequence of
steps reproduce a run exactly; the wall clock only schedules the steps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from common.config import SimFlowConfig
from common.prices import PRICE_SCALE, SIZE_SCALE, snap_down, snap_up
from services.venue_sim.book import ONE
from services.venue_sim.engine import Engine, OrderRejected, OrderRequest, SimMarket

__all__ = ["INFORMED", "INTERNAL_ACCOUNTS", "INTERNAL_COLLATERAL", "MAKER", "NOISE", "TRUE_MAX",
           "TRUE_MIN", "Flow"]

MAKER = "0x00000000000000000000000000000000000a0001"
NOISE = "0x00000000000000000000000000000000000a0002"
INFORMED = "0x00000000000000000000000000000000000a0003"
INTERNAL_ACCOUNTS = (MAKER, NOISE, INFORMED)
INTERNAL_COLLATERAL = 10**9 * PRICE_SCALE * SIZE_SCALE
"""A billion dollars each: internal traders never run out."""

TRUE_MIN, TRUE_MAX = 0.03, 0.97
"""The true probability stays inside the 0.01-tick regime (no tick_size_change)."""
MAKER_LAG = 0.15
"""Fraction of the gap to the true probability the makers' estimate closes per step."""
NOISE_SLIPPAGE_TICKS = 2


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class Flow:
    """Steps the hidden values and the synthetic traders of every market."""

    def __init__(self, engine: Engine, cfg: SimFlowConfig, seed: int) -> None:
        self.engine = engine
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.markets: list[SimMarket] = list(engine.markets.values())
        self.true_p = {m.condition_id: m.start_probability for m in self.markets}
        self.view = dict(self.true_p)
        for address in INTERNAL_ACCOUNTS:
            engine.open_account(address, INTERNAL_COLLATERAL, internal=True)
        self.followers: dict[str, Callable[[], float]] = {}
        """Markets whose true probability follows a reference feed (services/venue_sim/
        reference.py): condition id -> the probability now. They draw nothing from `rng`."""
        self.steps = 0
        self.skipped_orders = 0
        """Maker levels that would have crossed and takers that found nothing to hit."""

    def step(self) -> None:
        dt = self.cfg.step_ms / 1000
        self.steps += 1
        for m in self.markets:
            self._walk(m, dt)
            self._make(m)
            self._noise(m, dt)
            self._inform(m, dt)

    # --- hidden value ---------------------------------------------------------------------

    def _walk(self, m: SimMarket, dt: float) -> None:
        follow = self.followers.get(m.condition_id)
        if follow is not None:
            p = min(TRUE_MAX, max(TRUE_MIN, follow()))
            self.true_p[m.condition_id] = p
            self.view[m.condition_id] += MAKER_LAG * (p - self.view[m.condition_id])
            return
        cfg, rng = self.cfg, self.rng
        x = _logit(self.true_p[m.condition_id]) + cfg.volatility * math.sqrt(dt) * rng.gauss()
        p = _expit(x)
        if rng.random() < cfg.jump_probability:
            p += cfg.jump_size if rng.random() < 0.5 else -cfg.jump_size
        p = min(TRUE_MAX, max(TRUE_MIN, p))
        self.true_p[m.condition_id] = p
        self.view[m.condition_id] += MAKER_LAG * (p - self.view[m.condition_id])

    # --- background makers ----------------------------------------------------------------

    def _make(self, m: SimMarket) -> None:
        cfg, tick = self.cfg, m.tick
        if cfg.maker_levels == 0:
            return
        view = self.view[m.condition_id]
        top_bid = snap_down(round((view - cfg.maker_half_spread) * PRICE_SCALE), tick)
        top_ask = snap_up(round((view + cfg.maker_half_spread) * PRICE_SCALE), tick)
        top_bid = min(max(top_bid, tick), ONE - 2 * tick)
        top_ask = max(min(top_ask, ONE - tick), top_bid + tick)
        want = {(True, top_bid - k * tick) for k in range(cfg.maker_levels)}
        want |= {(False, top_ask + k * tick) for k in range(cfg.maker_levels)}
        want = {(bid, p) for bid, p in want if tick <= p <= ONE - tick}
        acct = self.engine.accounts[MAKER]
        have: set[tuple[bool, int]] = set()
        for order in [o for o in acct.open_orders.values() if o.market == m.condition_id]:
            key = (order.yes_bid, order.yes_price)
            if key in want and key not in have:
                have.add(key)
            else:
                self.engine.cancel(MAKER, order.id)
        size = max(round(cfg.maker_size * m.depth * SIZE_SCALE), m.min_size)
        for yes_bid, price in sorted(want - have):
            token, own = (m.yes_token, price) if yes_bid else (m.no_token, ONE - price)
            self._send(MAKER, token, own, size, "GTC", post_only=True)

    # --- takers ---------------------------------------------------------------------------

    def _noise(self, m: SimMarket, dt: float) -> None:
        expected = self.cfg.noise_rate_hz * dt * m.activity
        count = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            buy_yes = self.rng.random() < 0.5
            size = max(
                round(self.cfg.noise_size * (0.5 + self.rng.random()) * SIZE_SCALE), m.min_size
            )
            bid, ask = self.engine.best(m.condition_id)
            slip = NOISE_SLIPPAGE_TICKS * m.tick
            if buy_yes and ask is not None:
                self._send(NOISE, m.yes_token, min(ask + slip, ONE - m.tick), size, "FAK")
            elif not buy_yes and bid is not None:
                self._send(NOISE, m.no_token, ONE - max(bid - slip, m.tick), size, "FAK")

    def _inform(self, m: SimMarket, dt: float) -> None:
        if self.rng.random() >= self.cfg.informed_rate_hz * dt:
            return
        p = self.true_p[m.condition_id]
        edge = self.cfg.informed_edge
        size = max(round(self.cfg.informed_size * SIZE_SCALE), m.min_size)
        bid, ask = self.engine.best(m.condition_id)
        limit_buy = snap_down(round((p - edge) * PRICE_SCALE), m.tick)
        limit_sell = snap_up(round((p + edge) * PRICE_SCALE), m.tick)
        if ask is not None and ask <= limit_buy and limit_buy >= m.tick:
            self._send(INFORMED, m.yes_token, limit_buy, size, "FAK")
        elif bid is not None and bid >= limit_sell and limit_sell <= ONE - m.tick:
            self._send(INFORMED, m.no_token, ONE - limit_sell, size, "FAK")

    def _send(
        self, account: str, token: str, price: int, size: int, order_type: str,
        *, post_only: bool = False,
    ) -> None:
        req = OrderRequest(
            order_id=self.engine.new_id(), account=account, asset_id=token, side="BUY",
            price=price, size=size, order_type=order_type, post_only=post_only,
        )
        try:
            self.engine.place(req)
        except OrderRejected:
            self.skipped_orders += 1  # a maker level that would cross, or a taker found nothing
