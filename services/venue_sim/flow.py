"""Synthetic order flow: a hidden true probability per market, background makers, noise
traders and informed traders, all trading through the engine as internal accounts.

The decisions and parameters are the research market's (common/market_model.py,
common/market_params.py: the makers lag, pull after informed hits, overbid others' quotes
and repost emptied levels after `refill_s`; `[sim.flow]` sets them, 0 turns each off);
the orders go through the matching engine, so our quotes are in the book every taker
meets.
Every market draws from its own seeded streams, so a seed and a sequence of steps reproduce
a run exactly; the wall clock only schedules the steps.
"""

from __future__ import annotations

from collections.abc import Callable

from common.config import SimFlowConfig
from common.market_model import Makers, Takers, Truth, streams
from common.prices import PRICE_SCALE, SIZE_SCALE
from services.venue_sim.book import ONE
from services.venue_sim.engine import Engine, OrderRejected, OrderRequest, Placement, SimMarket

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


class _Market:
    """One market's part of the shared model (common/market_model.py), on its own streams."""

    __slots__ = ("eaten", "makers", "takers", "truth")

    def __init__(self, m: SimMarket, cfg: SimFlowConfig, seed: int) -> None:
        dt = cfg.step_ms / 1000
        rngs = streams(f"{seed}:{m.condition_id}")
        self.truth = Truth(rngs.truth, start=m.start_probability, volatility=cfg.volatility,
                           lag=cfg.maker_lag, jump_rate_hz=cfg.jump_probability / dt,
                           jump_size=cfg.jump_size, lo=TRUE_MIN, hi=TRUE_MAX)
        self.makers = Makers.of(cfg, rngs.rivals, tick=m.tick)
        self.takers = Takers.of(cfg, rngs.takers, tick=m.tick, min_size=m.min_size)
        self.eaten: dict[tuple[bool, int], int] = {}
        """(bid side, YES price) of maker levels the takers emptied -> the step it happened;
        the makers repost there `refill_s` later."""


class Flow:
    """Steps the hidden values and the synthetic traders of every market."""

    def __init__(self, engine: Engine, cfg: SimFlowConfig, seed: int) -> None:
        self.engine = engine
        self.cfg = cfg
        self.models = {cid: _Market(m, cfg, seed) for cid, m in engine.markets.items()}
        for address in INTERNAL_ACCOUNTS:
            engine.open_account(address, INTERNAL_COLLATERAL, internal=True)
        self.followers: dict[str, Callable[[], float]] = {}
        """Markets whose true probability follows a reference feed (services/venue_sim/
        reference.py): condition id -> the probability now. They draw nothing for the walk."""
        self.steps = 0
        self.refill_steps = round(cfg.refill_s * 1000 / cfg.step_ms)
        self.skipped_orders = 0
        """Maker levels that would have crossed and takers that found nothing to hit."""

    @property
    def true_p(self) -> dict[str, float]:
        """The hidden probability of every market."""
        return {cid: model.truth.p for cid, model in self.models.items()}

    def step(self) -> None:
        dt = self.cfg.step_ms / 1000
        self.steps += 1
        for cid, model in self.models.items():
            m = self.engine.markets[cid]
            model.makers.tick = model.takers.tick = m.tick
            follow = self.followers.get(cid)
            if follow is not None:
                model.truth.follow(follow())
            else:
                model.truth.step(dt)
            model.makers.age()
            self._make(m, model)
            for buy_yes, size in model.takers.noise(dt, m.activity):
                self._noise(m, model, buy_yes, size)
            informed = model.takers.informed(dt, model.truth.p)
            if informed is not None:
                self._inform(m, model, *informed)

    # --- background makers ----------------------------------------------------------------

    def _others(self, market: str) -> tuple[int | None, int | None]:
        """The best bid and ask of everyone but the internal traders (the makers compete
        with them)."""
        book = self.engine.books[market]
        out: list[int | None] = []
        for side in (book.bids, book.asks):
            best = None
            for price, _ in side.depth():
                if any(o.account not in INTERNAL_ACCOUNTS for o in side.levels[price]):
                    best = price
                    break
            out.append(best)
        return out[0], out[1]

    def _make(self, m: SimMarket, model: _Market) -> None:
        cfg = self.cfg
        if cfg.maker_levels == 0:
            return
        others = self._others(m.condition_id) if cfg.compete_hz > 0 else None
        bids, asks = model.makers.ladder(*model.makers.tops(model.truth.view, others),
                                         cfg.maker_levels)
        want = {(True, p) for p in bids} | {(False, p) for p in asks}
        refilling = {key for key, at in model.eaten.items() if self.steps - at < self.refill_steps}
        for key in [k for k in model.eaten if k not in refilling]:
            del model.eaten[key]
        want -= refilling
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

    def _noise(self, m: SimMarket, model: _Market, buy_yes: bool, size: int) -> None:
        bid, ask = self.engine.best(m.condition_id)
        slip = self.cfg.noise_slippage * m.tick
        if buy_yes and ask is not None:
            self._take(model, NOISE, m.yes_token, min(ask + slip, ONE - m.tick), size)
        elif not buy_yes and bid is not None:
            self._take(model, NOISE, m.no_token, ONE - max(bid - slip, m.tick), size)

    def _inform(self, m: SimMarket, model: _Market, buy_limit: int, sell_limit: int,
                size: int) -> None:
        bid, ask = self.engine.best(m.condition_id)
        if ask is not None and ask <= buy_limit and buy_limit >= m.tick:
            self._take(model, INFORMED, m.yes_token, buy_limit, size)
        elif bid is not None and bid >= sell_limit and sell_limit <= ONE - m.tick:
            self._take(model, INFORMED, m.no_token, ONE - sell_limit, size)

    def _take(self, model: _Market, account: str, token: str, price: int, size: int) -> None:
        """A taker's FAK; maker levels it empties refill later, and an informed one that
        takes the makers' levels makes them widen."""
        placed = self._send(account, token, price, size, "FAK")
        if placed is None:
            return
        maker_bid = not placed.order.yes_bid  # the makers it hit rest on the other side
        levels: set[int] = set()
        for t in placed.trades:
            if t.maker_account != MAKER:
                continue
            levels.add(t.yes_price)
            order = self.engine.orders.get(t.maker_order_id)
            if self.refill_steps and (order is None or order.remaining == 0):  # gone: wait
                model.eaten[(maker_bid, t.yes_price)] = self.steps
        if account == INFORMED and levels:
            model.makers.hit(len(levels))

    def _send(
        self, account: str, token: str, price: int, size: int, order_type: str,
        *, post_only: bool = False,
    ) -> Placement | None:
        req = OrderRequest(
            order_id=self.engine.new_id(), account=account, asset_id=token, side="BUY",
            price=price, size=size, order_type=order_type, post_only=post_only,
        )
        try:
            return self.engine.place(req)
        except OrderRejected:
            self.skipped_orders += 1  # a maker level that would cross, or a taker found nothing
            return None
